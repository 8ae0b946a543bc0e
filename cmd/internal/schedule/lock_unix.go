//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package schedule

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockState takes an exclusive lock beside the state file at path (path +
// ".lock"), so that one scheduler runs per node and cache folder, and writes
// the process ID into it for `schedule status`. A second scheduler gets an
// error matching ErrLocked. release drops the lock.
func LockState(path string) (release func(), err error) {
	lp := path + ".lock"
	if err := os.MkdirAll(filepath.Dir(lp), 0o700); err != nil {
		return nil, fmt.Errorf("lock schedule state: %w", err)
	}
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock schedule state: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (process %d holds %s): stop it first, or run this one with another --node or cacheDir", ErrLocked, readPID(lp), lp)
		}
		return nil, fmt.Errorf("lock schedule state %s: %w", lp, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { f.Close() }, nil
}

// Holder reports whether a scheduler holds the lock of the state file at
// path, and its process ID (0 when it cannot be read).
func Holder(path string) (pid int, running bool) {
	lp := path + ".lock"
	f, err := os.Open(lp)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return 0, false
	}
	return readPID(lp), true
}

func readPID(lp string) int {
	b, _ := os.ReadFile(lp)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}
