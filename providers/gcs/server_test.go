package gcs

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/providertest"
)

// testBucket is the bucket the conformance tests share; each open gets its
// own prefix in it.
const testBucket = "cassette-test"

// testPartSize is the chunk size in tests: small (GCS allows 256 KiB
// multiples), so the large-object tests cross several chunks quickly.
const testPartSize = 1 << 20

// fakeGCS is a fake-gcs-server started for this package's tests.
type fakeGCS struct {
	port int
	dir  string
	proc *providertest.Process
}

// server is started by the first test that needs it and stopped by
// TestMain after all tests ran.
var server struct {
	once sync.Once
	fs   *fakeGCS
	err  error
	// missing is set when the binary is not installed.
	missing bool
}

func TestMain(m *testing.M) {
	code := m.Run()
	if server.fs != nil {
		if err := server.fs.proc.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop fake-gcs-server:", err)
		}
		_ = os.RemoveAll(server.fs.dir)
	}
	os.Exit(code)
}

// needServer returns the running fake-gcs-server, starting it on first use.
// A missing binary skips the test, or fails it when servers are required
// (CI=true or CASSETTE_REQUIRE_SERVERS=1).
func needServer(t *testing.T) *fakeGCS {
	t.Helper()
	server.once.Do(func() {
		bin, err := providertest.ServerBin("fake-gcs-server")
		if err != nil {
			server.err, server.missing = err, true
			return
		}
		server.fs, server.err = startFakeGCS(bin)
	})
	switch {
	case server.missing && !providertest.RequireServers():
		t.Skipf("fake-gcs-server is not installed; run scripts/install-servers.sh fake_gcs (%v)", server.err)
	case server.err != nil:
		t.Fatalf("fake-gcs-server: %v", server.err)
	}
	return server.fs
}

// startFakeGCS starts fake-gcs-server on a free port of 127.0.0.1 with the
// in-memory backend, retrying when another process took the port.
func startFakeGCS(bin string) (*fakeGCS, error) {
	var lastErr error
	for range 3 {
		port, err := providertest.FreePort()
		if err != nil {
			return nil, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		dir, err := os.MkdirTemp("", "cassette-fake-gcs-")
		if err != nil {
			return nil, err
		}
		args := []string{
			"-scheme", "http", "-host", "127.0.0.1", "-port", strconv.Itoa(port),
			"-backend", "memory", "-public-host", addr, "-external-url", "http://" + addr,
			"-log-level", "warn",
		}
		proc, err := providertest.StartProcess("fake-gcs-server", bin, args, nil, dir)
		if err != nil {
			return nil, err
		}
		if err := waitListening(proc, addr, 30*time.Second); err != nil {
			lastErr = fmt.Errorf("not listening on %s: %v\n%s", addr, err, proc.Log())
			_ = proc.Stop()
			_ = os.RemoveAll(dir)
			continue
		}
		return &fakeGCS{port: port, dir: dir, proc: proc}, nil
	}
	return nil, lastErr
}

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

// props returns storage properties addressing the emulator without
// credentials.
func (f *fakeGCS) props(bucket, prefix string) providers.StorageProperties {
	insecure := false
	return providers.StorageProperties{
		StorageProvider:   "google_storage",
		BucketName:        bucket,
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

// openFresh returns a Storage on the shared test bucket under a new prefix,
// closed when the test ends.
func openFresh(t *testing.T) *Storage {
	t.Helper()
	f := needServer(t)
	createOnce.Do(func() {
		s, err := Create(context.Background(), f.props(testBucket, ""), Options{})
		if err == nil {
			_ = s.Close(context.Background())
		}
	})
	s, err := Open(t.Context(), f.props(testBucket, uniquePrefix(t)), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}
