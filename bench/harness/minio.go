package harness

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/providertest"
	"github.com/cassette-backup/cassette/providers/s3"
)

// MinIO is a MinIO server the harness started on 127.0.0.1.
type MinIO struct {
	Port     int
	CredFile string
	dir      string
	cmd      *exec.Cmd
	done     chan struct{}
}

const (
	minioUser   = "cassette-bench"
	minioSecret = "cassette-bench-secret-91d2"
)

// StartMinIO starts bin (empty: the cached .cache/servers/bin/minio) with
// its data in a new folder under dir, waits until it is ready and creates
// bucket.
func StartMinIO(ctx context.Context, bin, dir, bucket string) (*MinIO, error) {
	if bin == "" {
		var err error
		if bin, err = providertest.ServerBin("minio"); err != nil {
			return nil, err
		}
	}
	m := &MinIO{dir: filepath.Join(dir, "minio"), CredFile: filepath.Join(dir, "minio-credentials")}
	if err := os.MkdirAll(m.dir, 0o755); err != nil {
		return nil, err
	}
	creds := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", minioUser, minioSecret)
	if err := os.WriteFile(m.CredFile, []byte(creds), 0o600); err != nil {
		return nil, err
	}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = m.start(bin); err == nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	sp := Repo{Provider: s3.KindCompatible, Host: "127.0.0.1", Port: m.Port, Bucket: bucket, CredentialsFile: m.CredFile, Concurrency: 4}.Props()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	yes := true
	for {
		st, err := s3.Create(cctx, sp, s3.Options{ConditionalCreate: &yes})
		if err == nil {
			_ = st.Close(cctx)
			return m, nil
		}
		if !errors.Is(err, providers.ErrTransient) || cctx.Err() != nil {
			_ = m.Stop()
			return nil, fmt.Errorf("create bucket %s: %w", bucket, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (m *MinIO) start(bin string) error {
	port, err := providertest.FreePort()
	if err != nil {
		return err
	}
	console, err := providertest.FreePort()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(m.dir, "..", "minio.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "server", "--quiet", "--address", addr, "--console-address", "127.0.0.1:"+strconv.Itoa(console), m.dir)
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+minioUser, "MINIO_ROOT_PASSWORD="+minioSecret, "MINIO_BROWSER=off", "MINIO_UPDATE=off")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start minio (%s): %w", bin, err)
	}
	m.cmd, m.done, m.Port = cmd, make(chan struct{}), port
	go func() { _ = cmd.Wait(); logf.Close(); close(m.done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-m.done:
			return errors.New("minio exited during start-up (see minio.log)")
		default:
		}
		resp, err := http.Get("http://" + addr + "/minio/health/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			_ = m.Stop()
			return fmt.Errorf("minio not ready at %s after 60s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// CPU is the server's CPU time so far (user + system), from /proc; 0 where
// /proc is missing.
func (m *MinIO) CPU() time.Duration {
	if m == nil || m.cmd == nil || m.cmd.Process == nil {
		return 0
	}
	return procCPU(m.cmd.Process.Pid)
}

// procCPU reads utime+stime of pid from /proc/<pid>/stat.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	// After the command: state(0) ppid pgrp session tty tpgid flags minflt
	// cminflt majflt cmajflt utime(11) stime(12).
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100) // USER_HZ is 100 on Linux
}

// Stop ends the server (SIGTERM, then SIGKILL after five seconds) and
// removes its data.
func (m *MinIO) Stop() error {
	if m.cmd == nil || m.cmd.Process == nil {
		return nil
	}
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-m.done
	}
	return os.RemoveAll(m.dir)
}
