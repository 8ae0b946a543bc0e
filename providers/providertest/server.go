package providertest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. A
// server started on it right away almost always gets it; tests that race
// other processes should retry on "address in use".
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	return port, nil
}

// WaitTCP waits until something accepts TCP connections on addr
// ("host:port"), or fails after timeout.
func WaitTCP(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	delay := 10 * time.Millisecond
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait for %s: nothing listening after %s: %w", addr, timeout, err)
		}
		time.Sleep(delay)
		delay = min(delay*2, 200*time.Millisecond)
	}
}

// RepoRoot returns the repository's root: the nearest folder at or above the
// working directory that holds go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod in the working directory or above it")
		}
		dir = parent
	}
}

// ServerBin returns the path of the test server binary name (minio,
// fake-gcs-server, azurite, …) under <RepoRoot>/.cache/servers/bin. The
// error of a missing binary says how to install it.
func ServerBin(name string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, ".cache", "servers", "bin", name)
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("test server %s not installed at %s (run scripts/install-servers.sh): %w", name, p, err)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("test server %s at %s is not an executable file (run scripts/install-servers.sh)", name, p)
	}
	return p, nil
}

// RequireServers reports whether tests must fail, not skip, when a test
// server is missing: true when CI=true or CASSETTE_REQUIRE_SERVERS=1.
func RequireServers() bool {
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		return true
	}
	return os.Getenv("CASSETTE_REQUIRE_SERVERS") == "1"
}

// logTail is how much of a server's output Log returns.
const logTail = 8 << 10

// Process is a test server started by StartProcess. Its standard output and
// error go to <dir>/<name>.log, whose tail Log returns for failure messages.
type Process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan struct{}
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// StartProcess starts bin with args in its own process group, with env added
// to the current environment and dir as working directory (created when
// missing). Output goes to <dir>/<name>.log. Stop the process with Stop,
// typically from t.Cleanup.
func StartProcess(name, bin string, args, env []string, dir string) (*Process, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	logPath := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = f
	cmd.Stderr = f
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	p := &Process{name: name, cmd: cmd, logPath: logPath, logFile: f, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Exited reports whether the process has ended (for example because it could
// not bind its port).
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop ends the process and everything it started: SIGTERM to its process
// group, then SIGKILL after five seconds. It is safe to call more than once.
// A process that already ended on its own reports how it ended.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		exitedBefore := p.Exited()
		if !exitedBefore {
			_ = signalGroup(p.cmd, false)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
				_ = signalGroup(p.cmd, true)
				<-p.done
			}
		} else {
			_ = signalGroup(p.cmd, true) // children may outlive the leader
		}
		if exitedBefore && p.waitErr != nil {
			p.stopErr = fmt.Errorf("%s had exited: %w\n%s", p.name, p.waitErr, p.Log())
		}
		if err := p.logFile.Close(); err != nil && p.stopErr == nil {
			p.stopErr = fmt.Errorf("stop %s: %w", p.name, err)
		}
	})
	return p.stopErr
}

// Log returns the last few kilobytes of the process's output.
func (p *Process) Log() string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log for %s: %v)", p.name, err)
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Sprintf("(no log for %s: %v)", p.name, err)
	}
	off := max(fi.Size()-logTail, 0)
	b := make([]byte, fi.Size()-off)
	n, _ := f.ReadAt(b, off)
	return string(b[:n])
}

// LogPath is the file holding the process's output.
func (p *Process) LogPath() string { return p.logPath }
