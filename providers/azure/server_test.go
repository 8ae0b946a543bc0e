package azure

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/providertest"
)

// testContainer is the container the conformance tests share; each open
// gets its own prefix in it.
const testContainer = "cassette-test"

// testPartSize is the block size in tests: small (blocks may have any
// size), so the large-object tests stage several blocks quickly.
const testPartSize = 1 << 20

// Azurite's well-known development account and key (published in Azure's
// documentation; not a secret).
const (
	devAccount = "devstoreaccount1"
	devKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// azurite is an Azurite blob server started for this package's tests.
type azurite struct {
	port int
	dir  string
	proc *providertest.Process
}

// server is started by the first test that needs it and stopped by
// TestMain after all tests ran.
var server struct {
	once sync.Once
	az   *azurite
	err  error
	// missing is set when the binary is not installed.
	missing bool
}

func TestMain(m *testing.M) {
	code := m.Run()
	if server.az != nil {
		if err := server.az.proc.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop azurite-blob:", err)
		}
		_ = os.RemoveAll(server.az.dir)
	}
	if p, err := devCredentials(); err == nil {
		_ = os.RemoveAll(filepath.Dir(p))
	}
	os.Exit(code)
}

// needServer returns the running azurite-blob, starting it on first use.
// A missing binary skips the test, or fails it when servers are required
// (CI=true or CASSETTE_REQUIRE_SERVERS=1).
func needServer(t *testing.T) *azurite {
	t.Helper()
	server.once.Do(func() {
		bin, err := providertest.ServerBin("azurite-blob")
		if err != nil {
			server.err, server.missing = err, true
			return
		}
		server.az, server.err = startAzurite(bin)
	})
	switch {
	case server.missing && !providertest.RequireServers():
		t.Skipf("azurite-blob is not installed; run scripts/install-servers.sh azurite (%v)", server.err)
	case server.err != nil:
		t.Fatalf("azurite-blob: %v", server.err)
	}
	return server.az
}

// startAzurite starts Azurite's blob service on a free port of 127.0.0.1,
// keeping its data in memory, retrying when another process took the port.
func startAzurite(bin string) (*azurite, error) {
	var lastErr error
	for range 3 {
		port, err := providertest.FreePort()
		if err != nil {
			return nil, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		dir, err := os.MkdirTemp("", "cassette-azurite-")
		if err != nil {
			return nil, err
		}
		args := []string{
			"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port), "--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--silent",
			"--disableTelemetry", "--disableProductStyleUrl",
		}
		proc, err := providertest.StartProcess("azurite-blob", bin, args, nil, dir)
		if err != nil {
			return nil, err
		}
		if err := waitListening(proc, addr, 30*time.Second); err != nil {
			lastErr = fmt.Errorf("not listening on %s: %v\n%s", addr, err, proc.Log())
			_ = proc.Stop()
			_ = os.RemoveAll(dir)
			continue
		}
		return &azurite{port: port, dir: dir, proc: proc}, nil
	}
	return nil, lastErr
}

// devCredentials writes Azurite's account and key in the credentials-file
// format once per test binary.
var devCredentials = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "cassette-azure-creds-")
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "azure.json")
	body := `{"storage_account": "` + devAccount + `", "key": "` + devKey + `"}`
	return p, os.WriteFile(p, []byte(body), 0o600)
})

// waitListening waits until addr accepts connections, giving up early when
// the server exits (a bad flag, a taken port).
func waitListening(proc *providertest.Process, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := providertest.WaitTCP(addr, 200*time.Millisecond)
		switch {
		case err == nil:
			return nil
		case proc.Exited():
			return fmt.Errorf("the server exited")
		case time.Now().After(deadline):
			return err
		}
	}
}

// props returns storage properties addressing the emulator with the
// development account.
func (f *azurite) props(t *testing.T, container, prefix string) providers.StorageProperties {
	t.Helper()
	creds, err := devCredentials()
	if err != nil {
		t.Fatal(err)
	}
	insecure := false
	return providers.StorageProperties{
		StorageProvider:   "azure_blobs",
		CredentialsFile:   creds,
		BucketName:        container,
		Prefix:            prefix,
		Host:              "127.0.0.1",
		Port:              f.port,
		Secure:            &insecure,
		MultipartPartSize: testPartSize,
		ListPageSize:      7,
	}
}

var prefixSeq atomic.Int64

// uniquePrefix returns a prefix no other open in this run uses.
func uniquePrefix(t *testing.T) string {
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	return fmt.Sprintf("run%d/%03d-%s", time.Now().UnixNano()%1e9, prefixSeq.Add(1), name)
}

var createOnce sync.Once

// openFresh returns a Storage on the shared test container under a new prefix,
// closed when the test ends.
func openFresh(t *testing.T) *Storage {
	t.Helper()
	f := needServer(t)
	createOnce.Do(func() {
		s, err := Create(context.Background(), f.props(t, testContainer, ""), Options{})
		if err == nil {
			_ = s.Close(context.Background())
		}
	})
	s, err := Open(t.Context(), f.props(t, testContainer, uniquePrefix(t)), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}
