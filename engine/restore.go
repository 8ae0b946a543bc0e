package engine

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/index"
	"github.com/cassette-backup/cassette/providers"
)

// RestoreOptions describe one node restore.
type RestoreOptions struct {
	Name string
	Node string
	// Target is the folder files are restored under (<target>/<keyspace>/
	// <table>-<id>/<file>). TargetDirs, when set instead, has one folder per
	// data directory of the backup (JBOD restored in place).
	Target     string
	TargetDirs []string
	// Filter keeps only some keyspaces/tables (see TableFilter).
	Filter func(keyspace, table string) bool
	// Overwrite replaces files that already exist in the target with other
	// content. Files whose content already matches the backup are always
	// kept as they are (an interrupted restore resumes).
	Overwrite bool
	// SkipSpaceCheck skips the free-space check before writing.
	SkipSpaceCheck bool
	// Workers bounds files restored at once (default: the storage's
	// concurrency, at least 4).
	Workers int
}

// RestoreResult counts what a restore did.
type RestoreResult struct {
	Header   Header
	Files    int64 // files written
	Bytes    int64
	InPlace  int64 // files found already restored and verified, not downloaded
	Duration time.Duration
}

// ReadManifest fetches and decodes the manifest of backup name on node,
// calling fn for every file entry (fn may be nil for the header only).
func (e *Engine) ReadManifest(ctx context.Context, name, node string, fn func(*FileEntry) error) (*Header, error) {
	var h *Header
	err := e.getManifest(ctx, name, node, func(r io.Reader) error {
		var err error
		h, err = DecodeManifest(r, fn)
		return err
	})
	return h, err
}

// getManifest runs fn on the manifest object's bytes, translating a missing
// manifest into ErrBackupNotFound with what to do.
func (e *Engine) getManifest(ctx context.Context, name, node string, fn func(io.Reader) error) error {
	key := ManifestKey(name, node)
	err := e.Repo.Storage().Get(ctx, key, 0, -1, fn)
	if errors.Is(err, providers.ErrNotFound) {
		return fmt.Errorf("%w: no complete backup %q for node %q (%s): run `cassette list` to see what exists", ErrBackupNotFound, name, node, key)
	}
	if err != nil {
		return fmt.Errorf("manifest %s: %w", key, err)
	}
	return nil
}

// spooledManifest is a manifest copied to a temporary file, so that a
// restore reads it twice (preflight, then restore) with one download, and
// its workers never run inside a Get that holds one of the storage's
// transfer slots (with concurrentTransfers 1 they would wait for it forever).
type spooledManifest struct {
	f   *os.File
	key providers.Key
}

func (e *Engine) spoolManifest(ctx context.Context, name, node string) (*spooledManifest, error) {
	f, err := os.CreateTemp("", "cassette-manifest-*")
	if err != nil {
		return nil, fmt.Errorf("manifest spool: %w (set TMPDIR to a writable folder)", err)
	}
	os.Remove(f.Name()) // unlinked: gone with the process whatever happens
	err = e.getManifest(ctx, name, node, func(r io.Reader) error {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := f.Truncate(0); err != nil {
			return err
		}
		_, err := io.Copy(f, r)
		return err
	})
	if err != nil {
		f.Close()
		return nil, err
	}
	return &spooledManifest{f: f, key: ManifestKey(name, node)}, nil
}

// decode reads the spooled manifest from the start.
func (m *spooledManifest) decode(fn func(*FileEntry) error) (*Header, error) {
	if _, err := m.f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("manifest spool: %w", err)
	}
	h, err := DecodeManifest(bufio.NewReaderSize(m.f, 1<<16), fn)
	if err != nil && errors.Is(err, ErrBadManifest) {
		return nil, fmt.Errorf("manifest %s: %w", m.key, err)
	}
	return h, err
}

func (m *spooledManifest) Close() error { return m.f.Close() }

// smallBatch is how many single-chunk files are restored together, so their
// chunks come out of shared packs in a few range reads.
const smallBatch = 64

// Restore restores one node backup. Every chunk is verified against its
// hash and every file against its whole-file hash before it is renamed into
// place; a file that fails never appears under its real name.
func (e *Engine) Restore(ctx context.Context, o RestoreOptions) (*RestoreResult, error) {
	if o.Target == "" && len(o.TargetDirs) == 0 {
		return nil, errors.New("no restore target: give --target")
	}
	unlock, err := e.readLock(ctx, "restore "+o.Name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := e.Repo.SyncIndex(ctx); err != nil {
		return nil, err
	}
	start := time.Now()
	workers := o.Workers
	if workers <= 0 {
		// Twice the transfers: while one worker verifies and writes what it
		// read, another has its next range read in flight.
		workers = max(4, 2*e.Repo.Storage().Properties().Concurrency)
	}
	m, err := e.spoolManifest(ctx, o.Name, o.Node)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	targets := o.TargetDirs
	if o.Target != "" {
		targets = []string{o.Target}
	}
	r := &restorer{e: e, o: o, flush: &flusher{targets: targets}}
	defer r.flush.wait()
	if err := r.preflight(m); err != nil {
		return nil, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	r.spawn = g.TryGo
	var batch []*FileEntry
	flush := func() {
		b := batch
		batch = nil
		g.Go(func() error { return r.smallFiles(gctx, b) })
	}
	h, err := m.decode(func(f *FileEntry) error {
		if o.Filter != nil && !o.Filter(f.Keyspace(), f.Table()) {
			return nil
		}
		if len(o.TargetDirs) > 0 && f.Dir >= len(o.TargetDirs) {
			return fmt.Errorf("backup has data directory #%d for %s but only %d target folders were given", f.Dir+1, f.Path, len(o.TargetDirs))
		}
		if f.Chunk != nil || f.Size == 0 {
			batch = append(batch, f)
			if len(batch) >= smallBatch {
				flush()
			}
			return nil
		}
		g.Go(func() error { return r.largeFile(gctx, f) })
		return gctx.Err()
	})
	if len(batch) > 0 && err == nil {
		flush()
	}
	// A worker's failure cancels the manifest read: report the cause.
	if werr := g.Wait(); werr != nil {
		err = werr
	}
	if err != nil {
		return nil, err
	}
	r.flush.wait()
	for _, t := range targets {
		if err := syncFS(t); err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("restore: flush %s to disk: %w", t, err)
		}
	}
	return &RestoreResult{Header: *h, Files: r.files.Load(), Bytes: r.bytes.Load(), InPlace: r.inPlace.Load(), Duration: time.Since(start)}, nil
}

type restorer struct {
	e                     *Engine
	o                     RestoreOptions
	flush                 *flusher
	spawn                 func(func() error) bool // the workers' TryGo
	files, bytes, inPlace atomic.Int64
}

// smallFiles restores files of at most one chunk, reading the chunks pack by
// pack.
func (r *restorer) smallFiles(ctx context.Context, files []*FileEntry) error {
	byChunk := map[index.ID][]*outFile{}
	var outs []*outFile
	defer func() {
		for _, o := range outs {
			o.discard()
		}
	}()
	byPack := map[index.ID][]index.Entry{}
	for _, f := range files {
		o, err := r.create(ctx, f)
		if err != nil {
			return err
		}
		if o == nil {
			continue
		}
		outs = append(outs, o)
		if f.Chunk == nil {
			continue
		}
		if _, seen := byChunk[*f.Chunk]; !seen {
			ent, err := r.e.Repo.Lookup(*f.Chunk)
			if err != nil {
				return fmt.Errorf("restore %s: %w", o.dst, err)
			}
			byPack[ent.Pack] = append(byPack[ent.Pack], ent)
		}
		byChunk[*f.Chunk] = append(byChunk[*f.Chunk], o)
	}
	for _, ents := range byPack {
		err := r.e.Repo.ReadBlobs(ctx, ents, func(e index.Entry, plain []byte) error {
			for _, o := range byChunk[e.ID] {
				if err := o.writeAt(plain, 0); err != nil {
					return fmt.Errorf("restore %s: %w", o.dst, err)
				}
				o.written = int64(len(plain))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, o := range outs {
		fh := chunkstore.NewFileHasher()
		if o.meta.Chunk != nil {
			fh.Add(*o.meta.Chunk)
		}
		if err := r.commit(o, fh.Sum(o.meta.Size), o.written); err != nil {
			return err
		}
	}
	return nil
}

// largeFile restores a file with content lists: runs of chunks that sit
// next to each other in one pack are fetched with one range read each. A
// run goes to an idle worker when there is one, so that the runs of a large
// file download side by side; otherwise the file's own worker reads it.
func (r *restorer) largeFile(ctx context.Context, f *FileEntry) error {
	o, err := r.create(ctx, f)
	if err != nil || o == nil {
		return err
	}
	defer o.discard()
	var runs runGroup
	fh := chunkstore.NewFileHasher()
	var (
		run     []index.Entry
		offsets = map[index.ID][]int64{}
		runLen  uint64
		pos     int64
	)
	// The last run is read here: the worker would only wait otherwise.
	flushRun := func(last bool) error {
		if len(run) == 0 {
			return nil
		}
		read := r.readRun(ctx, o, run, offsets)
		run, runLen, offsets = nil, 0, map[index.ID][]int64{}
		if last {
			return read()
		}
		return runs.do(r.spawn, read)
	}
	err = r.e.Repo.ChunkIDs(ctx, f.Content, func(id index.ID) error {
		fh.Add(id)
		ent, err := r.e.Repo.Lookup(id)
		if err != nil {
			return err
		}
		if len(run) > 0 && (ent.Pack != run[0].Pack || runLen+ent.Length > maxRun) {
			if err := flushRun(false); err != nil {
				return err
			}
		}
		if _, dup := offsets[id]; !dup {
			run = append(run, ent)
			runLen += ent.Length
		}
		offsets[id] = append(offsets[id], pos)
		pos += int64(ent.RawLength)
		return nil
	})
	if err == nil {
		err = flushRun(true)
	}
	// Runs still being read write into o: wait for them whatever happened.
	if werr := runs.wait(); err == nil {
		err = werr
	}
	if err != nil {
		// One place names the file, whichever step failed (content list,
		// lookup, chunk read, write).
		return fmt.Errorf("restore %s: %w", o.dst, err)
	}
	return r.commit(o, fh.Sum(f.Size), pos)
}

// maxRun bounds the stored bytes of one run of a large file (one range
// read, streamed: the run is never in memory whole).
const maxRun = 16 << 20

// readRun returns a function that reads the chunks of run and writes each
// at its offsets in o.
func (r *restorer) readRun(ctx context.Context, o *outFile, run []index.Entry, offsets map[index.ID][]int64) func() error {
	return func() error {
		return r.e.Repo.ReadBlobs(ctx, run, func(e index.Entry, plain []byte) error {
			for _, off := range offsets[e.ID] {
				if err := o.writeAt(plain, off); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// runGroup tracks the runs of one file handed to other workers.
type runGroup struct {
	wg  sync.WaitGroup
	mu  sync.Mutex
	err error
}

// do runs fn on another worker when spawn finds one idle, else here. The
// error of a run handed off is kept for wait, not returned to the workers'
// group, so that the file's worker reports it once, naming the file.
func (g *runGroup) do(spawn func(func() error) bool, fn func() error) error {
	g.wg.Add(1)
	if spawn != nil && spawn(func() error {
		defer g.wg.Done()
		if err := fn(); err != nil {
			g.mu.Lock()
			g.err = cmp.Or(g.err, err)
			g.mu.Unlock()
		}
		return nil
	}) {
		return nil
	}
	g.wg.Done()
	if err := g.first(); err != nil {
		return err
	}
	return fn()
}

func (g *runGroup) first() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// wait waits for the runs handed off and returns the first error.
func (g *runGroup) wait() error {
	g.wg.Wait()
	return g.first()
}

// freeSpaceFn is replaced by tests.
var freeSpaceFn = freeSpace

// preflight sums what the restore will write and checks that it fits in
// each target file system before anything is written.
func (r *restorer) preflight(m *spooledManifest) error {
	need := map[int]int64{}
	var files, bytes int64
	_, err := m.decode(func(f *FileEntry) error {
		if r.o.Filter != nil && !r.o.Filter(f.Keyspace(), f.Table()) {
			return nil
		}
		files++
		bytes += f.Size
		need[f.Dir] += f.Size
		return nil
	})
	if err != nil {
		return err
	}
	if p := r.e.Progress; p != nil {
		p.Total(files, bytes)
	}
	if r.o.SkipSpaceCheck {
		return nil
	}
	perTarget := map[string]int64{}
	for dir, n := range need {
		t := r.o.Target
		if len(r.o.TargetDirs) > dir {
			t = r.o.TargetDirs[dir]
		}
		perTarget[t] += n
	}
	for t, n := range perTarget {
		free, err := freeSpaceFn(t)
		if err != nil {
			return fmt.Errorf("restore target %s: %w", t, err)
		}
		// Files already in place count against the need, but finding them
		// costs a read; the margin keeps the check simple and safe.
		if n > free {
			return fmt.Errorf("restore needs %d bytes in %s but only %d are free: free space or restore fewer keyspaces (--keyspace/--table); nothing was written", n, t, free)
		}
	}
	return nil
}
