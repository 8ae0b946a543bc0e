package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Usage is what one tool process cost, from the OS.
type Usage struct {
	Wall     time.Duration `json:"wall"`
	User     time.Duration `json:"user"`
	Sys      time.Duration `json:"sys"`
	MaxRSS   int64         `json:"maxrss"` // bytes
	ExitCode int           `json:"exit"`
}

// CPU is user plus system time.
func (u Usage) CPU() time.Duration { return u.User + u.Sys }

// Why a launcher: Go starts children with vfork semantics (CLONE_VM), and
// Linux then charges the parent's peak RSS to the child's ru_maxrss at exec.
// The harness holds the proxy's buffers, so its RSS would leak into every
// measurement. The launcher (the harness binary's "measure" subcommand) is
// a fresh, small process: the tool it starts inherits only the launcher's
// few megabytes as a floor, and the launcher reports the tool's rusage.

// MeasureMain is the launcher: it runs argv with the launcher's standard
// streams, waits, and writes the child's Usage as JSON to out. It returns
// the exit code to exit with.
func MeasureMain(out string, argv []string) int {
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "measure: no command")
		return 2
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	u := Usage{Wall: time.Since(start)}
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "measure:", err)
		return 1
	}
	u.ExitCode = cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		u.User = time.Duration(ru.Utime.Nano())
		u.Sys = time.Duration(ru.Stime.Nano())
		u.MaxRSS = ru.Maxrss << 10 // KiB on Linux
	}
	b, _ := json.Marshal(u)
	if werr := os.WriteFile(out, b, 0o644); werr != nil {
		fmt.Fprintln(os.Stderr, "measure:", werr)
		return 1
	}
	return 0
}

// Runner runs tools as measured subprocesses through the launcher.
type Runner struct {
	// Self is the harness binary (holding the measure subcommand).
	Self string
	// LogDir receives one log file per run.
	LogDir string
	// Env is added to every run's environment.
	Env []string
	// StepTimeout bounds one run.
	StepTimeout time.Duration
	seq         int
}

// Run runs argv measured. It returns the usage, the tool's standard output
// and an error that holds the tail of its output when it failed.
func (r *Runner) Run(ctx context.Context, name string, env []string, argv ...string) (Usage, string, error) {
	r.seq++
	ctx, cancel := context.WithTimeoutCause(ctx, r.StepTimeout, fmt.Errorf("timed out after %s", r.StepTimeout))
	defer cancel()
	logPath := filepath.Join(r.LogDir, fmt.Sprintf("%02d-%s.log", r.seq, sanitize(name)))
	usagePath := logPath + ".usage.json"
	logf, err := os.Create(logPath)
	if err != nil {
		return Usage{}, "", err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "$ %s\n", strings.Join(argv, " "))
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, r.Self, append([]string{"measure", "-o", usagePath, "--"}, argv...)...)
	cmd.Env = append(append(os.Environ(), r.Env...), env...)
	cmd.Stdout = io.MultiWriter(&limitedBuffer{b: &stdout, max: 1 << 20}, logf)
	cmd.Stderr = io.MultiWriter(&limitedBuffer{b: &stderr, max: 1 << 20}, logf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	var u Usage
	b, rerr := os.ReadFile(usagePath)
	if rerr == nil {
		rerr = json.Unmarshal(b, &u)
	}
	switch {
	case ctx.Err() != nil:
		return u, stdout.String(), fmt.Errorf("%s: %w (log %s)\n%s", name, context.Cause(ctx), logPath, tail(stderr.String(), 2000))
	case runErr != nil || u.ExitCode != 0:
		return u, stdout.String(), fmt.Errorf("%s failed (exit %d, %v; log %s)\n%s%s", name, u.ExitCode, runErr, logPath, tail(stdout.String(), 1000), tail(stderr.String(), 2000))
	case rerr != nil:
		return u, stdout.String(), fmt.Errorf("%s: read usage: %w", name, rerr)
	}
	return u, stdout.String(), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}

// limitedBuffer keeps the first max bytes and drops the rest.
type limitedBuffer struct {
	b   *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
