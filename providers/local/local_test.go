package local_test

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/local"
	"github.com/cassette-backup/cassette/providers/providertest"
)

func TestConformance(t *testing.T) {
	providertest.Run(t, func(t *testing.T) providers.Storage {
		s, err := local.Create(t.Context(), t.TempDir()+"/repo", local.Options{ListPageSize: 7})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOpenMissingFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nothing-here")
	_, err := local.Open(t.Context(), dir, local.Options{})
	if !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("Open of a missing folder = %v, want ErrNotFound", err)
	}
	for _, want := range []string{dir, "cassette init"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open error %q does not mention %q", err, want)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open created the folder: %v", err)
	}
}

func TestOpenFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := local.Open(t.Context(), file, local.Options{}); err == nil {
		t.Fatal("Open of a file succeeded")
	}
	if _, err := local.Create(t.Context(), file, local.Options{}); err == nil {
		t.Fatal("Create over a file succeeded")
	}
}

func TestCreateThenOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "repo")
	s, err := local.Create(t.Context(), dir, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), "packs/ab/xyz", providers.Bytes([]byte("pack")), providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "packs", "ab", "xyz"))
	if err != nil || string(b) != "pack" {
		t.Fatalf("object file = %q, %v; want %q", b, err, "pack")
	}
	fi, err := os.Stat(filepath.Join(dir, "packs", "ab", "xyz"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("object file permissions = %o, want 600", perm)
	}
	s2, err := local.Open(t.Context(), dir, local.Options{})
	if err != nil {
		t.Fatalf("Open after Create: %v", err)
	}
	if p := s2.Properties(); p.Name != "local:"+dir || !p.ConditionalCreate {
		t.Errorf("Properties = %+v", p)
	}
	if _, err := local.Create(t.Context(), dir, local.Options{}); err != nil {
		t.Errorf("Create of an existing repository folder: %v", err)
	}
}

func TestStaleTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	s, err := local.Create(t.Context(), dir, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), "packs/ab/live", providers.Bytes([]byte("x")), providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "packs", "ab", ".tmp-crashed")
	fresh := filepath.Join(dir, "packs", "ab", ".tmp-running")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	twoHoursAgo := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, twoHoursAgo, twoHoursAgo); err != nil {
		t.Fatal(err)
	}
	var keys []providers.Key
	if err := s.List(t.Context(), "", func(oi providers.ObjectInfo) error { keys = append(keys, oi.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "packs/ab/live" {
		t.Errorf("List = %q, want only packs/ab/live (temporary files ignored)", keys)
	}
	if _, err := local.Open(t.Context(), dir, local.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open left the stale temporary file: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("Open removed a recent temporary file (a running Put's): %v", err)
	}
}

func TestKeyLimitations(t *testing.T) {
	s, err := local.Create(t.Context(), t.TempDir(), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	body := providers.Bytes([]byte("x"))
	if err := s.Put(ctx, "a/.tmp-x", body, providers.PutOptions{}); !errors.Is(err, providers.ErrNotSupported) {
		t.Errorf("Put of a key with the temporary prefix = %v, want ErrNotSupported", err)
	}
	if err := s.Put(ctx, "a/b", body, providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "a/b/c", body, providers.PutOptions{}); !errors.Is(err, providers.ErrNotSupported) {
		t.Errorf("Put under an object = %v, want ErrNotSupported", err)
	}
	if err := s.Put(ctx, "a", body, providers.PutOptions{}); !errors.Is(err, providers.ErrNotSupported) {
		t.Errorf("Put of a folder's key = %v, want ErrNotSupported", err)
	}
	if err := s.Put(ctx, "a", body, providers.PutOptions{IfNotExists: true}); !errors.Is(err, providers.ErrNotSupported) {
		t.Errorf("Put(IfNotExists) of a folder's key = %v, want ErrNotSupported", err)
	}
	if _, err := s.Stat(ctx, "a/b/c"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("Stat under an object = %v, want ErrNotFound", err)
	}
	if err := s.Get(ctx, "a/b/c", 0, -1, func(io.Reader) error { return nil }); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("Get under an object = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "a/b/c"); err != nil {
		t.Errorf("Delete under an object = %v, want nil", err)
	}
	if err := s.List(ctx, "a/b/", func(oi providers.ObjectInfo) error {
		t.Errorf("List(a/b/) reported %q", oi.Key)
		return nil
	}); err != nil {
		t.Errorf("List under an object: %v", err)
	}
}

func TestDeleteRemovesEmptyFolders(t *testing.T) {
	dir := t.TempDir()
	s, err := local.Create(t.Context(), dir, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, k := range []providers.Key{"backups/b1/n1/manifest", "backups/b2/n1/manifest"} {
		if err := s.Put(ctx, k, providers.Bytes([]byte("m")), providers.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "backups/b1/n1/manifest"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "backups", "b1")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty folder backups/b1 left behind: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "backups", "b2", "n1", "manifest")); err != nil {
		t.Errorf("sibling object gone: %v", err)
	}
	if err := s.Delete(ctx, "backups/b2/n1/manifest"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the repository folder itself was removed: %v", err)
	}
}

// TestPutDeleteRace puts and deletes keys in the same folders at once: a
// Delete removing a folder it emptied must not make a concurrent Put fail.
func TestPutDeleteRace(t *testing.T) {
	s, err := local.Create(t.Context(), t.TempDir(), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				k := providers.Key(fmt.Sprintf("race/%d/%d/obj-%d", i%2, i%3, w))
				if err := s.Put(ctx, k, providers.Bytes([]byte("x")), providers.PutOptions{}); err != nil {
					t.Errorf("Put(%q): %v", k, err)
					return
				}
				if err := s.Delete(ctx, k); err != nil {
					t.Errorf("Delete(%q): %v", k, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestGetClosesFiles checks Get closes the object's file however fn ends.
func TestGetClosesFiles(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd")
	}
	s, err := local.Create(t.Context(), t.TempDir(), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.Put(ctx, "obj", providers.Bytes(make([]byte, 1000)), providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	before := openFiles(t)
	errFn := errors.New("stop")
	for range 100 {
		_ = s.Get(ctx, "obj", 0, -1, func(r io.Reader) error { return errFn })
		_ = s.Get(ctx, "obj", 10, 10, func(r io.Reader) error { _, err := io.ReadFull(r, make([]byte, 5)); return err })
		_ = s.Get(ctx, "obj", 999, 2, func(r io.Reader) error { return nil })
	}
	if after := openFiles(t); after > before+5 {
		t.Errorf("open files grew from %d to %d over 300 Gets", before, after)
	}
}

func openFiles(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}
