package providertest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFreePortAndWaitTCP(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := WaitTCP(addr, 50*time.Millisecond); err == nil {
		t.Fatalf("WaitTCP(%s) succeeded with nothing listening", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on the free port: %v", err)
	}
	defer func() { _ = l.Close() }()
	if err := WaitTCP(addr, time.Second); err != nil {
		t.Fatalf("WaitTCP(%s) with a listener: %v", addr, err)
	}
}

func TestRepoRootAndServerBin(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("RepoRoot() = %s without go.mod: %v", root, err)
	}
	_, err = ServerBin("no-such-server-binary")
	if err == nil || !strings.Contains(err.Error(), "scripts/install-servers.sh") {
		t.Fatalf("ServerBin of a missing binary = %v, want an error naming scripts/install-servers.sh", err)
	}
}

func TestRequireServers(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("CASSETTE_REQUIRE_SERVERS", "")
	if RequireServers() {
		t.Error("RequireServers() = true without CI or CASSETTE_REQUIRE_SERVERS")
	}
	t.Setenv("CI", "true")
	if !RequireServers() {
		t.Error("RequireServers() = false with CI=true")
	}
	t.Setenv("CI", "")
	t.Setenv("CASSETTE_REQUIRE_SERVERS", "1")
	if !RequireServers() {
		t.Error("RequireServers() = false with CASSETTE_REQUIRE_SERVERS=1")
	}
}

func TestProcess(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh:", err)
	}
	dir := t.TempDir()
	// The child starts a grandchild; Stop must end both.
	p, err := StartProcess("sleeper", sh, []string{"-c", "echo started $GREETING; sleep 60 & wait"}, []string{"GREETING=hello"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.Log(), "started hello") {
		if time.Now().After(deadline) {
			t.Fatalf("no output from the process; log: %q", p.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if p.Exited() {
		t.Fatal("process exited early")
	}
	start := time.Now()
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Stop took %s: SIGTERM did not reach the process group", d)
	}
	if !p.Exited() {
		t.Error("process still running after Stop")
	}
	if err := p.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := os.Stat(p.LogPath()); err != nil {
		t.Errorf("log file: %v", err)
	}
}

func TestProcessExitedEarly(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh:", err)
	}
	p, err := StartProcess("failing", sh, []string{"-c", "echo cannot bind >&2; exit 3"}, nil, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !p.Exited() {
		if time.Now().After(deadline) {
			t.Fatal("process did not exit")
		}
		time.Sleep(10 * time.Millisecond)
	}
	err = p.Stop()
	if err == nil || !strings.Contains(err.Error(), "cannot bind") {
		t.Fatalf("Stop of a process that failed = %v, want its exit and log", err)
	}
}
