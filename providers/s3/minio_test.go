package s3

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/providertest"
)

// The MinIO server the package's tests share: started on first use, stopped
// by TestMain.
var (
	minioOnce sync.Once
	minioSrv  *minioServer
	minioErr  error
)

const (
	minioUser   = "cassette-test"
	minioSecret = "cassette-test-secret-7f3a9c" // asserted absent from errors
	testBucket  = "cassette-test"
	testPart    = 5 << 20
)

var errNotInstalled = errors.New("minio is not installed")

type minioServer struct {
	port     int
	dir      string
	credFile string
	proc     *providertest.Process
}

func TestMain(m *testing.M) {
	code := m.Run()
	if minioSrv != nil {
		if err := minioSrv.proc.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop minio:", err)
		}
		_ = os.RemoveAll(minioSrv.dir)
	}
	os.Exit(code)
}

// requireMinIO returns the shared server, starting it on first use. A
// missing binary skips the test, or fails it when servers are required.
func requireMinIO(t testing.TB) *minioServer {
	t.Helper()
	minioOnce.Do(func() { minioSrv, minioErr = startMinIO() })
	if minioErr != nil {
		if errors.Is(minioErr, errNotInstalled) && !providertest.RequireServers() {
			t.Skipf("%v; run scripts/install-servers.sh minio to run the S3 tests", minioErr)
		}
		t.Fatalf("MinIO test server: %v", minioErr)
	}
	return minioSrv
}

func startMinIO() (*minioServer, error) {
	bin, err := providertest.ServerBin("minio")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNotInstalled, err)
	}
	dir, err := os.MkdirTemp("", "cassette-minio-")
	if err != nil {
		return nil, err
	}
	srv := &minioServer{dir: dir, credFile: filepath.Join(dir, "credentials")}
	creds := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", minioUser, minioSecret)
	if err := os.WriteFile(srv.credFile, []byte(creds), 0o600); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		err = srv.start(bin)
		if err == nil || attempt == 2 {
			break
		}
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		// MinIO can answer 503 for a moment after its health check passes.
		s, err := Create(ctx, srv.props(KindCompatible, ""), Options{ConditionalCreate: ptr(true)})
		if err == nil {
			_ = s.Close(ctx)
			return srv, nil
		}
		if !errors.Is(err, providers.ErrTransient) || ctx.Err() != nil {
			_ = srv.proc.Stop()
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("create test bucket: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// start launches MinIO on fresh ports and waits until it serves requests.
func (m *minioServer) start(bin string) error {
	port, err := providertest.FreePort()
	if err != nil {
		return err
	}
	console, err := providertest.FreePort()
	if err != nil {
		return err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	proc, err := providertest.StartProcess("minio", bin,
		[]string{"server", "--quiet", "--address", addr, "--console-address", "127.0.0.1:" + strconv.Itoa(console), filepath.Join(m.dir, "data")},
		[]string{"MINIO_ROOT_USER=" + minioUser, "MINIO_ROOT_PASSWORD=" + minioSecret, "MINIO_BROWSER=off", "MINIO_UPDATE=off"},
		m.dir)
	if err != nil {
		return err
	}
	if err := waitReady(proc, "http://"+addr+"/minio/health/ready", 60*time.Second); err != nil {
		_ = proc.Stop()
		return fmt.Errorf("%w\n%s", err, proc.Log())
	}
	m.port, m.proc = port, proc
	return nil
}

func waitReady(proc *providertest.Process, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if proc.Exited() {
			return errors.New("minio exited during start-up")
		}
		resp, err := http.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("minio not ready at %s after %s", url, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var prefixSeq atomic.Int64

// props configures the test bucket the way an operator would: host, port,
// secure false and the credentials file, on a fresh prefix.
func (m *minioServer) props(kind, checksum string) providers.StorageProperties {
	return providers.StorageProperties{
		StorageProvider:     kind,
		BucketName:          testBucket,
		Prefix:              fmt.Sprintf("t%d-%d/", time.Now().UnixNano()%1e9, prefixSeq.Add(1)),
		Host:                "127.0.0.1",
		Port:                m.port,
		Secure:              ptr(false),
		CredentialsFile:     m.credFile,
		ConcurrentTransfers: 4,
		MultipartPartSize:   testPart,
		ListPageSize:        7,
		RequestChecksum:     checksum,
	}
}

// open opens sp with test options and closes it when t ends.
func openTest(t testing.TB, sp providers.StorageProperties, o Options) *Storage {
	t.Helper()
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	s, err := Open(t.Context(), sp, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func ptr[T any](v T) *T { return &v }

// pendingUploads lists the incomplete multipart uploads under s's prefix.
func pendingUploads(t testing.TB, s *Storage) []string {
	t.Helper()
	var ids []string
	err := s.listUploads(context.Background(), func(u types.MultipartUpload) error {
		ids = append(ids, *u.Key+" "+*u.UploadId)
		return nil
	})
	if err != nil {
		t.Fatalf("list multipart uploads: %v", err)
	}
	return ids
}
