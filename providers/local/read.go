package local

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/cassette-backup/cassette/providers"
)

// Get opens the object's file, checks the range against the size of that
// very file (an overwrite during the Get replaces the name, not the file
// being read) and calls fn with a reader over the range. The file is closed
// when fn returns; fn's error is returned as it is.
func (s *Storage) Get(ctx context.Context, key providers.Key, offset, length int64, fn func(io.Reader) error) error {
	path, err := s.path(key)
	if err != nil {
		return fmt.Errorf("get %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("get %s: %w", key, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("get %s: %w", key, translateError(err))
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("get %s: %w", key, translateError(err))
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("get %s: %w", key, providers.ErrNotFound)
	}
	size := fi.Size()
	if length < 0 {
		length = size - offset
	}
	if offset < 0 || length < 0 || offset > size || length > size-offset {
		return fmt.Errorf("get %s [%d,+%d) of %d bytes: %w", key, offset, length, size, providers.ErrInvalidRange)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return fmt.Errorf("get %s: %w", key, translateError(err))
	}
	return fn(ctxReader{ctx: ctx, r: io.LimitReader(f, length)})
}

// Stat returns the object's size and modification time.
func (s *Storage) Stat(ctx context.Context, key providers.Key) (providers.ObjectInfo, error) {
	path, err := s.path(key)
	if err != nil {
		return providers.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return providers.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return providers.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, translateError(err))
	}
	if !fi.Mode().IsRegular() {
		return providers.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, providers.ErrNotFound)
	}
	return providers.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}
