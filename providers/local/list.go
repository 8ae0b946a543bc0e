package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/cassette-backup/cassette/providers"
)

// List walks only the folder named by prefix's part up to its last '/',
// and reports regular files whose keys start with prefix, in lexical key
// order. Temporary files and non-regular files are skipped. Objects written
// or deleted during a List may or may not be reported.
func (s *Storage) List(ctx context.Context, prefix string, fn func(providers.ObjectInfo) error) error {
	dirKey, namePrefix := "", prefix
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dirKey, namePrefix = prefix[:i], prefix[i+1:]
		if providers.ValidateKey(providers.Key(dirKey)) != nil {
			return nil // no valid key starts with this prefix
		}
	}
	dir := filepath.Join(s.root, filepath.FromSlash(dirKey))
	err := s.walk(ctx, dir, dirKey, namePrefix, fn)
	if errors.Is(err, errWalk) {
		return fmt.Errorf("list %s: %w", prefix, err)
	}
	return err
}

// errWalk marks the walk's own failures, as opposed to fn's errors, which
// List returns unwrapped.
var errWalk = errors.New("walk folder")

// walk reports the files under dir (whose key is dirKey) with names starting
// with namePrefix (only at this level), in lexical key order.
func (s *Storage) walk(ctx context.Context, dir, dirKey, namePrefix string, fn func(providers.ObjectInfo) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", errWalk, err)
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return nil // nothing there, or a file where the prefix wants a folder
	case err != nil:
		return fmt.Errorf("%w %s: %w", errWalk, dir, translateError(err))
	}
	entries = slices.DeleteFunc(entries, func(e fs.DirEntry) bool {
		return !strings.HasPrefix(e.Name(), namePrefix) || strings.HasPrefix(e.Name(), tmpPrefix) ||
			!(e.IsDir() || e.Type().IsRegular())
	})
	// A folder "a" holds keys "a/…", so it sorts as "a/": after "a-c",
	// before "a0". Sorting this way makes the depth-first walk emit keys in
	// lexical order.
	slices.SortFunc(entries, func(a, b fs.DirEntry) int {
		return strings.Compare(sortName(a), sortName(b))
	})
	for _, e := range entries {
		key := e.Name()
		if dirKey != "" {
			key = dirKey + "/" + key
		}
		if e.IsDir() {
			if err := s.walk(ctx, filepath.Join(dir, e.Name()), key, "", fn); err != nil {
				return err
			}
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted since ReadDir
		}
		if err != nil {
			return fmt.Errorf("%w %s: %w", errWalk, dir, translateError(err))
		}
		if err := fn(providers.ObjectInfo{Key: providers.Key(key), Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
			return err
		}
	}
	return nil
}

// sortName is the entry's name as it compares within keys.
func sortName(e fs.DirEntry) string {
	if e.IsDir() {
		return e.Name() + "/"
	}
	return e.Name()
}
