package local

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/cassette-backup/cassette/providers"
)

func TestTranslateError(t *testing.T) {
	pathErr := func(errno syscall.Errno) error {
		return &os.PathError{Op: "open", Path: "/repo/packs/ab/x", Err: errno}
	}
	cases := []struct {
		in       error
		sentinel error
		text     string
	}{
		{pathErr(syscall.ENOENT), providers.ErrNotFound, "no such file"},
		{pathErr(syscall.ENOTDIR), providers.ErrNotFound, "not a directory"},
		{pathErr(syscall.EACCES), providers.ErrPermission, "permission denied"},
		{pathErr(syscall.EPERM), providers.ErrPermission, "not permitted"},
		{pathErr(syscall.EROFS), providers.ErrPermission, "read-only"},
		{pathErr(syscall.ENOSPC), syscall.ENOSPC, "disk holding the repository is full"},
		{pathErr(syscall.EIO), syscall.EIO, "input/output error"},
	}
	for _, c := range cases {
		got := translateError(c.in)
		if !errors.Is(got, c.sentinel) {
			t.Errorf("translateError(%v) = %v, want it to wrap %v", c.in, got, c.sentinel)
		}
		if !errors.Is(got, c.in) {
			t.Errorf("translateError(%v) = %v lost the original error", c.in, got)
		}
		if !strings.Contains(got.Error(), c.text) {
			t.Errorf("translateError(%v) = %q, want it to say %q", c.in, got, c.text)
		}
	}
	if translateError(nil) != nil {
		t.Error("translateError(nil) != nil")
	}
}
