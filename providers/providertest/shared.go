package providertest

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Shared is a test server that the tests of one test binary share: the
// first Require starts it, Main stops it after the last test. Declare one
// per server as a package variable:
//
//	var minio = providertest.Shared{Start: providertest.StartMinIO, Setup: createBucket}
//
//	func TestMain(m *testing.M) { providertest.Main(m) }
type Shared struct {
	// Start starts the server in a fresh temporary folder.
	Start StartFunc
	// Setup, when set, prepares the server once it runs, typically
	// creating DefaultBucket through the caller's provider.
	Setup func(*Server) error

	once sync.Once
	srv  *Server
	err  error
}

// mainRuns is set by Main: a shared server is stopped only when Main runs.
var mainRuns atomic.Bool

// started are the shared servers to stop, and their folders to remove,
// when Main ends.
var started struct {
	sync.Mutex
	servers []*Server
	dirs    []string
}

// Require returns the shared server, starting it (and running Setup) on
// first use. When the binary is missing it skips the test, or fails it when
// RequireServers. Any other start-up failure fails the test, and every
// later Require with it.
func (s *Shared) Require(t testing.TB) *Server {
	t.Helper()
	if !mainRuns.Load() {
		t.Fatal("providertest.Shared needs the package's TestMain to call providertest.Main, which stops the server")
	}
	s.once.Do(func() { s.srv, s.err = s.start() })
	if s.err != nil {
		skipOrFail(t, s.err)
	}
	return s.srv
}

func (s *Shared) start() (*Server, error) {
	dir, err := os.MkdirTemp("", "cassette-server-")
	if err != nil {
		return nil, err
	}
	srv, err := s.Start(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	started.Lock()
	started.servers = append(started.servers, srv)
	started.dirs = append(started.dirs, dir)
	started.Unlock()
	if s.Setup != nil {
		if err := s.Setup(srv); err != nil {
			return nil, fmt.Errorf("set up %s: %w\n%s", srv.name, err, srv.Log())
		}
	}
	return srv, nil
}

// Main runs the tests, then stops every Shared server they started and
// removes its folder, and exits with the tests' status. Call it from the
// TestMain of every package that uses Shared.
func Main(m *testing.M) {
	mainRuns.Store(true)
	code := m.Run()
	started.Lock()
	for _, srv := range started.servers {
		if err := srv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop %s: %v\n", srv.name, err)
		}
	}
	for _, dir := range started.dirs {
		_ = os.RemoveAll(dir)
	}
	started.Unlock()
	os.Exit(code)
}

// Start starts a server for test t alone, in a folder of t.TempDir(), and
// stops it when t ends. A missing binary skips t, or fails it when
// RequireServers.
func Start(t testing.TB, start StartFunc) *Server {
	t.Helper()
	srv, err := start(t.TempDir())
	if err != nil {
		skipOrFail(t, err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stop %s: %v", srv.name, err)
		}
	})
	return srv
}

// skipOrFail ends t because a server could not start.
func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrNotInstalled) && !RequireServers() {
		t.Skipf("%v; run scripts/install-servers.sh (set CASSETTE_REQUIRE_SERVERS=1 to fail instead)", err)
	}
	t.Fatalf("test server: %v", err)
}

// prefixSeq numbers the prefixes UniquePrefix hands out.
var prefixSeq atomic.Int64

// UniquePrefix returns a bucket prefix no other test of this run, nor of
// an earlier run against the same server, uses: a run stamp, a sequence
// number and the end of the test's name.
func UniquePrefix(t testing.TB) string {
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	return fmt.Sprintf("run%d/%03d-%s", time.Now().UnixNano()%1e9, prefixSeq.Add(1), name)
}
