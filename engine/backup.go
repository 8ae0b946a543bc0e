package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/providers"
)

// Engine runs backups and restores against one open repository.
type Engine struct {
	Repo *chunkstore.Repo
	// CacheDir holds the file-metadata cache (beside the index cache).
	CacheDir string
	Log      *slog.Logger
	Now      func() time.Time
	Progress Progress
	// Locks tunes repository locking (stale timeout, wait).
	Locks LockOptions
}

// Progress receives counters while a backup or restore runs. Implementations
// must be safe for concurrent use; cmd renders them.
type Progress interface {
	// Total announces how much work there is, when it is known.
	Total(files, bytes int64)
	// File reports one finished file; fromCache means it was not read.
	File(path string, bytes int64, fromCache bool)
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now().UTC()
	}
	return time.Now().UTC()
}

func (e *Engine) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.New(slog.DiscardHandler)
}

// BackupOptions describe one node backup.
type BackupOptions struct {
	Name     string
	Node     string
	Type     string // TypeDifferential (default) or TypeFull
	DataDirs []string
	// Workers is how many files are read and chunked at once (default
	// GOMAXPROCS+1: chunking is CPU-bound, reading overlaps).
	Workers int
	Walk    WalkOptions
	// Identity is this node's place in the ring (datacenter, rack, tokens,
	// version); Identity.Host is set to Node.
	Identity NodeInfo
	// Expected is the cluster topology this node expects to take part in
	// the backup, so nodes that never start still count.
	Expected []NodeInfo
	// Snapshot, when set, makes the point-in-time copy the backup reads;
	// nil reads the data directories as they are (snapshot: none).
	Snapshot Snapshotter
	// Schema is the node's schema (DESCRIBE SCHEMA), stored beside the
	// manifest when not empty.
	Schema []byte
	// Stop, when closed, asks the backup to stop early and cleanly: no new
	// file is started, the files being read are finished, their packs are
	// completed and indexed (so a rerun does not upload them again), and the
	// backup fails with ErrStopped, writing no manifest.
	Stop <-chan struct{}
}

// BackupResult is what a node backup did.
type BackupResult struct {
	Header   Header
	Duration time.Duration
}

// Backup backs up one node's data directories as backup o.Name. The manifest
// is written last; on any failure no manifest exists and nothing already
// stored is harmed.
func (e *Engine) Backup(ctx context.Context, o BackupOptions) (res *BackupResult, err error) {
	if err := ValidateName("backup", o.Name); err != nil {
		return nil, err
	}
	if err := ValidateName("node", o.Node); err != nil {
		return nil, err
	}
	if o.Type == "" {
		o.Type = TypeDifferential
	}
	if o.Type != TypeDifferential && o.Type != TypeFull {
		return nil, fmt.Errorf("backup type %q: want %s or %s", o.Type, TypeDifferential, TypeFull)
	}
	if len(o.DataDirs) == 0 {
		return nil, errors.New("no data directory to back up: set cassandra.dataDirs or --data-dir")
	}
	st := e.Repo.Storage()
	mkey := ManifestKey(o.Name, o.Node)
	if _, err := st.Stat(ctx, mkey); err == nil {
		return nil, fmt.Errorf("%w: %s for node %s is complete (%s); choose another --name or delete it first", ErrBackupExists, o.Name, o.Node, mkey)
	} else if !errors.Is(err, providers.ErrNotFound) {
		return nil, fmt.Errorf("check %s: %w", mkey, err)
	}
	lo := e.Locks
	lo.Node = o.Node
	lock, err := e.AcquireLock(ctx, LockShared, "backup "+o.Name, lo)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	started := e.now()
	h := Header{Format: ManifestFormat, Backup: o.Name, Node: o.Node, Type: o.Type, Started: started, Repository: e.Repo.Config().ID}
	for _, d := range o.DataDirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, err
		}
		h.DataDirs = append(h.DataDirs, abs)
	}
	o.Identity.Host = o.Node
	h.Identity = o.Identity
	marker, _ := json.Marshal(Marker{Backup: o.Name, Node: o.Node, Type: o.Type, Started: started, Identity: o.Identity, Expected: o.Expected})
	if err := st.Put(ctx, StartedKey(o.Name, o.Node), providers.Bytes(marker), providers.PutOptions{}); err != nil {
		return nil, fmt.Errorf("write %s: %w", StartedKey(o.Name, o.Node), err)
	}
	// A stale failure marker from an earlier attempt of this name goes.
	if err := st.Delete(ctx, FailedKey(o.Name, o.Node)); err != nil {
		return nil, fmt.Errorf("delete %s: %w", FailedKey(o.Name, o.Node), err)
	}
	if err := e.writeSummary(ctx, o.Name); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.recordFailure(o.Name, o.Node, err)
		}
	}()
	if o.Snapshot != nil {
		tag, err := o.Snapshot.Create(ctx)
		if err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		o.Walk.SnapshotTag, h.Snapshot = tag, tag
		defer func() {
			// A fresh context: clear the snapshot even when the backup was
			// cancelled, or its hard links pin disk space until someone
			// notices.
			rctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if rerr := o.Snapshot.Release(rctx); rerr != nil {
				e.log().Warn("snapshot not cleared: remove it with nodetool clearsnapshot -t "+tag, "err", rerr)
			}
		}()
	}
	if len(o.Schema) > 0 {
		key := SchemaKey(o.Name, o.Node)
		if err := st.Put(ctx, key, providers.Bytes(o.Schema), providers.PutOptions{}); err != nil {
			return nil, fmt.Errorf("write %s: %w", key, err)
		}
		h.Schema = string(key)
	}
	if _, err := e.Repo.SyncIndex(ctx); err != nil {
		return nil, err
	}
	fc, err := OpenFileCache(filepath.Join(e.CacheDir, e.Repo.Config().ID, "files.db"))
	if err != nil {
		return nil, err
	}
	defer fc.Close()
	sess, err := e.Repo.NewSession(ctx, chunkstore.SessionOptions{VerifyPacksExist: o.Type == TypeFull})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			sess.Abort(err)
		}
	}()

	scratch, err := e.tmpDir()
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(scratch, "manifest-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("create manifest staging file in %s: %w", scratch, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	mw, err := NewManifestWriter(tmp)
	if err != nil {
		return nil, err
	}
	b := &nodeBackup{e: e, o: o, sess: sess, fc: fc, mw: mw}
	if e.Progress != nil {
		// A metadata-only walk: cheap next to reading, and it gives the
		// progress bar its size.
		var files, bytes int64
		if err := WalkDataDirs(ctx, o.DataDirs, o.Walk, func(sf SourceFile) error {
			files++
			bytes += sf.Info.Size()
			return nil
		}, func(string, string) {}); err != nil {
			return nil, err
		}
		e.Progress.Total(files, bytes)
	}
	if err := b.run(ctx); err != nil {
		if errors.Is(err, ErrStopped) {
			if ferr := sess.Flush(ctx); ferr != nil {
				return nil, fmt.Errorf("%w (and indexing the finished packs failed: %v)", err, ferr)
			}
		}
		return nil, err
	}
	if err := sess.Flush(ctx); err != nil {
		return nil, err
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("manifest staging file: %w", err)
	}
	ss := sess.Stats()
	h.Summary = Summary{
		Files: b.files.Load(), Bytes: b.bytes.Load(), ReadFiles: b.readFiles.Load(), ReadBytes: b.readBytes.Load(),
		NewChunks: ss.NewBlobs.Load(), NewBytes: ss.NewRawBytes.Load(), StoredBytes: ss.StoredBytes.Load(), Packs: ss.Packs.Load(), Segments: ss.IndexSegments.Load(),
	}
	h.Finished = e.now()
	h.Summary.Seconds = h.Finished.Sub(started).Seconds()
	// Last look before the backup becomes visible: if our lock went stale, a
	// sweep may have collected chunks this backup found in the index.
	if err := lock.Check(ctx); err != nil {
		return nil, err
	}
	if err := e.putManifest(ctx, mkey, &h, tmp); err != nil {
		return nil, err
	}
	if err := e.writeSummary(ctx, o.Name); err != nil {
		e.log().Warn("backup complete, but its summary was not updated; list derives it", "backup", o.Name, "err", err)
	}
	if err := fc.Record(o.Node, b.cached); err != nil {
		e.log().Warn("could not update the file cache; the next differential backup re-reads files", "err", err)
	}
	return &BackupResult{Header: h, Duration: h.Finished.Sub(started)}, nil
}

// recordFailure writes the failed marker and refreshes the summary, with a
// fresh context: the backup's own may be what was cancelled.
func (e *Engine) recordFailure(name, node string, cause error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, _ := json.Marshal(failedMarker{Failed: e.now(), Error: oneLineError(cause)})
	if err := e.Repo.Storage().Put(ctx, FailedKey(name, node), providers.Bytes(b), providers.PutOptions{}); err != nil {
		e.log().Warn("could not record the failed backup", "backup", name, "node", node, "err", err)
		return
	}
	if err := e.writeSummary(ctx, name); err != nil {
		e.log().Warn("could not update the backup summary", "backup", name, "err", err)
	}
}

func oneLineError(err error) string {
	s := err.Error()
	if len(s) > 1000 {
		s = s[:1000]
	}
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}

// putManifest writes header frame + entries frame as one object.
func (e *Engine) putManifest(ctx context.Context, key providers.Key, h *Header, entries *os.File) error {
	hb, err := EncodeHeader(h)
	if err != nil {
		return err
	}
	fi, err := entries.Stat()
	if err != nil {
		return err
	}
	size := int64(len(hb)) + fi.Size()
	payload := providers.Reopenable(size, func() (io.Reader, error) {
		return io.MultiReader(bytesReader(hb), io.NewSectionReader(entries, 0, fi.Size())), nil
	})
	if err := e.Repo.Storage().Put(ctx, key, payload, providers.PutOptions{}); err != nil {
		return fmt.Errorf("write manifest %s: %w", key, err)
	}
	return nil
}

type nodeBackup struct {
	e    *Engine
	o    BackupOptions
	sess *chunkstore.Session
	fc   *FileCache
	mw   *ManifestWriter

	mu     sync.Mutex // guards mw and cached
	cached []cachedFile

	files, bytes, readFiles, readBytes atomic.Int64
}

func (b *nodeBackup) run(ctx context.Context) error {
	workers := b.o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0) + 1
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	walkErr := WalkDataDirs(gctx, b.o.DataDirs, b.o.Walk, func(sf SourceFile) error {
		if err := gctx.Err(); err != nil {
			return err
		}
		select {
		case <-b.o.Stop:
			return ErrStopped
		default:
		}
		g.Go(func() error { return b.file(gctx, sf) })
		return nil
	}, func(p, why string) { b.e.log().Warn("skipping file", "path", p, "why", why) })
	err := g.Wait()
	if walkErr != nil && !errors.Is(walkErr, context.Canceled) {
		return walkErr
	}
	if err != nil {
		return err
	}
	return walkErr
}

func (b *nodeBackup) file(ctx context.Context, sf SourceFile) error {
	fe := FileEntry{Dir: sf.Dir, Path: sf.Rel, Size: sf.Info.Size(), MTime: sf.Info.ModTime().UnixNano(), Mode: uint32(sf.Info.Mode().Perm())}
	fromCache := false
	if b.o.Type == TypeDifferential {
		if ce, ok := b.fc.Lookup(b.o.Node, sf); ok && b.contentPresent(ce.C) {
			fe.Hash, fe.Content, fromCache = ce.Hash, ce.C, true
		}
	}
	if !fromCache {
		f, err := os.Open(sf.Abs)
		if err != nil {
			return fmt.Errorf("open %s: %w", sf.Abs, err)
		}
		res, err := b.sess.WriteFile(ctx, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("back up %s: %w", sf.Abs, err)
		}
		if res.Size != fe.Size {
			return fmt.Errorf("back up %s: file changed size while being read (%d -> %d bytes): back up from a snapshot (snapshot: nodetool or hardlink)", sf.Abs, fe.Size, res.Size)
		}
		fe.Hash, fe.Content = res.Hash, res.Content
		b.readFiles.Add(1)
		b.readBytes.Add(res.Size)
	}
	b.files.Add(1)
	b.bytes.Add(fe.Size)
	if p := b.e.Progress; p != nil {
		p.File(sf.Abs, fe.Size, fromCache)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cached = append(b.cached, cachedFile{abs: sf.Live, entry: fileCacheEntry{Size: fe.Size, MTime: fe.MTime, Inode: inodeOf(sf.Info), Hash: fe.Hash, C: fe.Content}})
	return b.mw.Add(&fe)
}

// contentPresent reports whether the index still holds a cached file's
// content (its inline chunk or content lists).
func (b *nodeBackup) contentPresent(c chunkstore.Content) bool {
	cache := b.e.Repo.Cache()
	if c.Chunk != nil {
		ok, err := cache.Has(*c.Chunk)
		return err == nil && ok
	}
	for _, id := range c.Lists {
		if ok, err := cache.Has(id); err != nil || !ok {
			return false
		}
	}
	return true
}
