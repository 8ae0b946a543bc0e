package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/cassette-backup/cassette/providers"
)

// mkdirAttempts bounds the retries when a concurrent Delete removes an empty
// folder between creating it and creating the temporary file in it.
const mkdirAttempts = 5

// Put writes the payload to a temporary file next to the target, fsyncs it
// and publishes it by rename (or by hard link for IfNotExists), then fsyncs
// the folder. A failed or cancelled Put removes its temporary file.
func (s *Storage) Put(ctx context.Context, key providers.Key, p providers.Payload, opts providers.PutOptions) error {
	path, err := s.path(key)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	tmp, err := s.createTemp(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("put %s: %w", key, s.putError(key, err))
	}
	published := false
	defer func() {
		if !published {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := writePayload(ctx, tmp, p); err != nil {
		return fmt.Errorf("put %s: %w", key, translateError(err))
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("put %s: %w", key, translateError(err))
	}
	// A cancellation seen before publishing wins: the caller was told
	// nothing yet, and a cancelled Put must leave nothing.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if opts.IfNotExists {
		err = os.Link(tmp.Name(), path)
		if err == nil {
			published = true
			_ = os.Remove(tmp.Name()) // the object lives on under its key
		}
	} else {
		err = os.Rename(tmp.Name(), path)
		published = err == nil
	}
	if err != nil {
		if opts.IfNotExists && errors.Is(err, os.ErrExist) {
			if fi, serr := os.Stat(path); serr == nil && !fi.IsDir() {
				return fmt.Errorf("put %s: %w", key, providers.ErrAlreadyExists)
			}
		}
		return fmt.Errorf("put %s: %w", key, s.putError(key, err))
	}
	if err := syncDir(filepath.Dir(path)); err != nil && !errors.Is(err, os.ErrNotExist) {
		// (A folder gone already was emptied by a concurrent Delete of
		// this very key, which then wins, as on any object store.)
		return fmt.Errorf("put %s: sync folder: %w", key, translateError(err))
	}
	return nil
}

// putError explains the errors of a key that clashes with the folder tree
// and translates the rest.
func (s *Storage) putError(key providers.Key, err error) error {
	switch {
	case errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("a parent of the key is an object, and the local backend cannot store both: %w (%w)", providers.ErrNotSupported, err)
	case errors.Is(err, syscall.EISDIR), errors.Is(err, os.ErrExist), errors.Is(err, syscall.ENOTEMPTY):
		return fmt.Errorf("the key is the folder of other keys, and the local backend cannot store both: %w (%w)", providers.ErrNotSupported, err)
	default:
		return translateError(err)
	}
}

// writePayload copies p into f, checks its declared size and fsyncs f.
func writePayload(ctx context.Context, f *os.File, p providers.Payload) error {
	r, err := p.Reader()
	if err != nil {
		return err
	}
	n, err := io.Copy(f, ctxReader{ctx: ctx, r: r})
	if err != nil {
		return fmt.Errorf("write payload: %w", err)
	}
	if p.Size() >= 0 && n != p.Size() {
		return fmt.Errorf("write payload: declared %d bytes but held %d", p.Size(), n)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	return nil
}

// createTemp creates the folder dir as needed and a temporary file in it,
// retrying when a concurrent Delete removes the folder it just emptied.
func (s *Storage) createTemp(dir string) (*os.File, error) {
	var lastErr error
	for range mkdirAttempts {
		if err := mkdirAllSync(dir); err != nil {
			lastErr = err
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, err
		}
		f, err := os.CreateTemp(dir, tmpPrefix+"*")
		if err == nil {
			return f, nil
		}
		lastErr = err
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	return nil, lastErr
}

// mkdirAllSync creates dir and its missing parents like os.MkdirAll, and
// fsyncs the parent of every folder it creates, so a new object's path
// survives a crash.
func mkdirAllSync(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return &os.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
		}
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllSync(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, dirPerm); err != nil {
		if errors.Is(err, os.ErrExist) {
			// Created concurrently, or a file is in the way.
			fi, serr := os.Stat(dir)
			if serr == nil && fi.IsDir() {
				return nil
			}
			if errors.Is(serr, os.ErrNotExist) {
				// Created and removed again by a concurrent Delete that
				// emptied it: not in the way, try again.
				return serr
			}
		}
		return err
	}
	return syncDir(parent)
}
