package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cassette-backup/cassette/providers"
)

// Delete removes the object's file; a missing key (or a key that is only a
// folder of other keys) is not an error. Folders left empty are removed up
// to the repository's root; a Put racing with that recreates them.
func (s *Storage) Delete(ctx context.Context, key providers.Key) error {
	path, err := s.path(key)
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		if errors.Is(translateError(err), providers.ErrNotFound) {
			return nil
		}
		return fmt.Errorf("delete %s: %w", key, translateError(err))
	}
	if fi.IsDir() {
		return nil // not an object
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, translateError(err))
	}
	s.removeEmptyParents(filepath.Dir(path))
	return nil
}

// removeEmptyParents removes dir and its parents below the root while they
// are empty. Failures (a folder not empty, or already gone) end it silently:
// empty folders are harmless.
func (s *Storage) removeEmptyParents(dir string) {
	for dir != s.root && strings.HasPrefix(dir, s.root+string(filepath.Separator)) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// DeleteMany deletes the keys one by one and joins the failures.
func (s *Storage) DeleteMany(ctx context.Context, keys []providers.Key) error {
	return providers.DeleteAll(ctx, s, keys)
}

// removeStaleTemps removes temporary files older than StaleTempAge, left
// behind by writers that crashed. Failures are logged, not returned: stale
// files only waste space.
func (s *Storage) removeStaleTemps(ctx context.Context) error {
	cutoff := s.opts.Now().Add(-StaleTempAge)
	removed := 0
	err := filepath.WalkDir(s.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				s.opts.Logger.Warn("cannot scan for stale temporary files", "path", path, "err", err)
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !strings.HasPrefix(d.Name(), tmpPrefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil || !fi.ModTime().Before(cutoff) {
			return nil
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.opts.Logger.Warn("cannot remove stale temporary file", "path", path, "err", err)
			return nil
		}
		removed++
		return nil
	})
	if err != nil {
		return fmt.Errorf("open local storage %s: %w", s.root, err)
	}
	if removed > 0 {
		s.opts.Logger.Info("removed stale temporary files", "path", s.root, "count", removed)
	}
	return nil
}
