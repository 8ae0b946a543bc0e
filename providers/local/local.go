// Package local is a providers.Storage on a local (or mounted network) file
// system: every object is one file, key "packs/ab/xyz" being the file
// <dir>/packs/ab/xyz.
//
// Writes are atomic and durable: a Put writes a temporary file in the
// target's folder (named ".tmp-…", which List ignores), fsyncs it, renames it
// into place (or, for IfNotExists, hard-links it, which fails when the target
// exists, so exactly one of many concurrent creators wins) and fsyncs the
// folder. A crash leaves at most stale temporary files; Open removes those
// older than an hour.
//
// Limitations of mapping keys to paths: a key cannot be both an object and
// the folder of other keys ("a" and "a/b"), and key segments starting with
// ".tmp-" are reserved; both are refused with ErrNotSupported. Symbolic
// links and other non-regular files in the folder are ignored.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cassette-backup/cassette/providers"
)

// Defaults of Options.
const (
	DefaultConcurrency  = 4
	DefaultListPageSize = 1000
	// StaleTempAge is how old a temporary file must be for Open to remove
	// it: far longer than any Put takes, so a running Put never loses its
	// file.
	StaleTempAge = time.Hour
)

// tmpPrefix starts the names of temporary files; keys may not use it.
const tmpPrefix = ".tmp-"

// File and folder permissions: repositories hold database contents, so
// only the owner may read them.
const (
	filePerm = 0o600
	dirPerm  = 0o700
)

// Options configure a Storage. The zero value is ready to use.
type Options struct {
	// Concurrency is what Properties reports (concurrentTransfers); 0 means
	// DefaultConcurrency.
	Concurrency int
	// ListPageSize is what Properties reports; listing a folder tree has no
	// pages, so it only guides callers. 0 means DefaultListPageSize.
	ListPageSize int
	// Logger receives the removal of stale temporary files; nil discards.
	Logger *slog.Logger
	// Now is the clock deciding which temporary files are stale; nil means
	// time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.ListPageSize <= 0 {
		o.ListPageSize = DefaultListPageSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Storage is a repository in a folder. Create it with Create or Open.
type Storage struct {
	root string // absolute, cleaned
	opts Options
}

var _ providers.Storage = (*Storage)(nil)

// Create creates the folder dir (and its parents) when missing and opens it.
// An existing folder is opened as it is.
func Create(ctx context.Context, dir string, opts Options) (*Storage, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("create local storage %s: %w", dir, err)
	}
	if err := mkdirAllSync(abs); err != nil {
		return nil, fmt.Errorf("create local storage %s: %w", abs, translateError(err))
	}
	return Open(ctx, abs, opts)
}

// Open opens the existing folder dir; it never creates it. A missing folder
// is an error wrapping ErrNotFound. Open removes temporary files older than
// StaleTempAge left by crashed writers.
func Open(ctx context.Context, dir string, opts Options) (*Storage, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open local storage %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("open local storage: folder %s does not exist (run `cassette init` to create a repository there, or fix basePath/bucketName): %w", abs, providers.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("open local storage %s: %w", abs, translateError(err))
	case !fi.IsDir():
		return nil, fmt.Errorf("open local storage: %s is not a folder: %w", abs, providers.ErrNotFound)
	}
	s := &Storage{root: abs, opts: opts.withDefaults()}
	if err := s.removeStaleTemps(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Root is the repository's folder (absolute).
func (s *Storage) Root() string { return s.root }

// Properties reports an atomic conditional create (hard links) and no batch
// delete.
func (s *Storage) Properties() providers.Properties {
	return providers.Properties{
		Name:              "local:" + s.root,
		ConditionalCreate: true,
		DeleteBatch:       1,
		ListPageSize:      s.opts.ListPageSize,
		Concurrency:       s.opts.Concurrency,
	}
}

// Close releases nothing: the storage holds no open files between calls.
func (s *Storage) Close(context.Context) error { return nil }

// path validates key and returns its file's path.
func (s *Storage) path(key providers.Key) (string, error) {
	if err := providers.ValidateKey(key); err != nil {
		return "", err
	}
	for seg := range strings.SplitSeq(string(key), "/") {
		if strings.HasPrefix(seg, tmpPrefix) {
			return "", fmt.Errorf("key segment %q starts with %q, reserved for temporary files: %w", seg, tmpPrefix, providers.ErrNotSupported)
		}
	}
	return filepath.Join(s.root, filepath.FromSlash(string(key))), nil
}

// ctxReader fails reads once ctx is done, so long copies stop on cancel.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
