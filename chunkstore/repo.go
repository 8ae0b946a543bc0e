package chunkstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/restic/chunker"

	"github.com/cassette-backup/cassette/index"
	"github.com/cassette-backup/cassette/providers"
)

// Repo is an open repository: its storage, config, codec and local index
// cache.
type Repo struct {
	st     providers.Storage
	cfg    Config
	pol    chunker.Pol
	codec  *codec
	cache  *index.Cache
	log    *slog.Logger
	synced bool
}

// Options for opening a repository.
type Options struct {
	// CacheDir holds the local index cache, one file per repository ID.
	CacheDir string
	// Logger receives progress-independent diagnostics; nil discards.
	Logger *slog.Logger
}

// Init writes a new repository config to st (create-if-absent) and opens
// the repository. It fails with ErrRepositoryExists if one is there.
func Init(ctx context.Context, st providers.Storage, o InitOptions, opts Options) (*Repo, error) {
	cfg, err := o.config()
	if err != nil {
		return nil, err
	}
	if err := writeConfig(ctx, st, cfg); err != nil {
		if errors.Is(err, ErrRepositoryExists) {
			return nil, fmt.Errorf("%w at %s: refusing to initialise over it (use it as it is, or choose another bucketName/prefix)", ErrRepositoryExists, st.Properties().Name)
		}
		return nil, fmt.Errorf("write repository config to %s: %w", st.Properties().Name, err)
	}
	return open(st, cfg, opts)
}

// Open opens the repository in st. It never creates one.
func Open(ctx context.Context, st providers.Storage, opts Options) (*Repo, error) {
	cfg, err := readConfig(ctx, st)
	if err != nil {
		return nil, err
	}
	return open(st, cfg, opts)
}

func open(st providers.Storage, cfg Config, opts Options) (*Repo, error) {
	pol, err := cfg.Polynomial()
	if err != nil {
		return nil, err
	}
	c, err := newCodec(cfg.Compression)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.CacheDir == "" {
		return nil, errors.New("no cache folder given: set cacheDir")
	}
	cache, err := index.OpenCache(filepath.Join(opts.CacheDir, cfg.ID, "index.db"))
	if err != nil {
		return nil, err
	}
	return &Repo{st: st, cfg: cfg, pol: pol, codec: c, cache: cache, log: log}, nil
}

// Close releases the local cache.
func (r *Repo) Close() error { return r.cache.Close() }

// Config is the repository's config.
func (r *Repo) Config() Config { return r.cfg }

// Storage is the storage the repository lives in.
func (r *Repo) Storage() providers.Storage { return r.st }

// Cache is the local index cache.
func (r *Repo) Cache() *index.Cache { return r.cache }

// Logger is the repository's logger.
func (r *Repo) Logger() *slog.Logger { return r.log }

// ListSegments returns the IDs of the index segments in the repository.
func (r *Repo) ListSegments(ctx context.Context) ([]index.ID, error) {
	var ids []index.ID
	err := r.st.List(ctx, IndexPrefix, func(oi providers.ObjectInfo) error {
		id, err := index.ParseID(strings.TrimPrefix(string(oi.Key), IndexPrefix))
		if err != nil {
			r.log.Warn("ignoring foreign object under index/", "key", oi.Key)
			return nil
		}
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list index segments: %w", err)
	}
	return ids, nil
}

// LoadSegment downloads, verifies and decodes one index segment.
func (r *Repo) LoadSegment(ctx context.Context, id index.ID) (*index.Segment, error) {
	var b []byte
	err := r.st.Get(ctx, IndexKey(id), 0, -1, func(rd io.Reader) error {
		var err error
		b, err = io.ReadAll(io.LimitReader(rd, int64(index.MaxSegmentBlobs)*64+int64(index.MaxSegmentPacks)*96+1024))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read index segment %s: %w", IndexKey(id), err)
	}
	if index.Hash(b) != id {
		return nil, fmt.Errorf("%w: index segment %s: content does not match its name", ErrIntegrity, IndexKey(id))
	}
	seg, err := index.DecodeSegment(b)
	if err != nil {
		return nil, fmt.Errorf("index segment %s: %w", IndexKey(id), err)
	}
	return seg, nil
}

// SyncIndex brings the local cache in line with the repository's segments.
// Every backup and restore calls it first, so dedup works across machines
// and a blob removed by garbage collection is never assumed present.
func (r *Repo) SyncIndex(ctx context.Context) (index.SyncStats, error) {
	ids, err := r.ListSegments(ctx)
	if err != nil {
		return index.SyncStats{}, err
	}
	st, err := r.cache.Sync(ctx, ids, r.st.Properties().Concurrency, r.LoadSegment)
	if err != nil {
		return st, err
	}
	r.synced = true
	r.log.Debug("index synced", "loaded", st.Loaded, "dropped", st.Dropped, "known", st.Known)
	return st, nil
}

// Lookup returns where blob id lives.
func (r *Repo) Lookup(id index.ID) (index.Entry, error) {
	e, ok, err := r.cache.Get(id)
	if err != nil {
		return e, err
	}
	if !ok {
		return e, fmt.Errorf("%w: blob %s", ErrBlobNotFound, id)
	}
	return e, nil
}
