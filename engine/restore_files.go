package engine

// The restore's output side: temporary files, verified commits, background
// flushes.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/index"
)

// flushEvery is how many restored bytes start a background flush of the
// target file systems.
const flushEvery = 64 << 20

// flusher writes restored files back to disk while the restore goes on
// (syncfs in the background, one at a time, every flushEvery bytes), so
// that the flush at the end, which the restore waits for, finds little
// left to write. Where syncfs is missing every file is fsynced instead and
// the flusher does nothing.
type flusher struct {
	targets []string
	pending atomic.Int64
	busy    atomic.Bool
	wg      sync.WaitGroup
}

func (f *flusher) add(n int64) {
	if perFileFsync || f.pending.Add(n) < flushEvery || !f.busy.CompareAndSwap(false, true) {
		return
	}
	f.pending.Store(0)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer f.busy.Store(false)
		for _, t := range f.targets {
			_ = syncFS(t) // the flush at the end reports what fails
		}
	}()
}

// wait waits for a background flush to finish.
func (f *flusher) wait() { f.wg.Wait() }

// alreadyRestored reports whether dst already holds f's content: same size,
// and the same whole-file hash computed locally (no download).
func (r *restorer) alreadyRestored(ctx context.Context, dst string, fi os.FileInfo, f *FileEntry) (bool, error) {
	if !fi.Mode().IsRegular() || fi.Size() != f.Size {
		return false, nil
	}
	in, err := os.Open(dst)
	if err != nil {
		return false, fmt.Errorf("restore %s: %w", dst, err)
	}
	defer in.Close()
	_, h, err := r.e.Repo.HashFile(ctx, in)
	if err != nil {
		return false, fmt.Errorf("restore %s: read existing file: %w", dst, err)
	}
	return h == f.Hash, nil
}

func (r *restorer) destination(f *FileEntry) (string, error) {
	if !validPath(f.Path) {
		return "", fmt.Errorf("%w: %q would escape the restore target; the manifest is damaged or hostile", ErrUnsafePath, f.Path)
	}
	base := r.o.Target
	if len(r.o.TargetDirs) > 0 {
		base = r.o.TargetDirs[f.Dir]
	}
	return filepath.Join(base, filepath.FromSlash(f.Path)), nil
}

// outFile is a file being restored under a temporary name.
type outFile struct {
	f       *os.File
	dst     string
	meta    *FileEntry
	written int64 // bytes written from offset 0 (single-chunk files)
	done    bool  // renamed into place, or already discarded
}

// discard closes and removes a temporary file that was not committed.
func (o *outFile) discard() {
	if o.done {
		return
	}
	o.done = true
	o.f.Close()
	os.Remove(o.f.Name())
}

// writePiece is the most one write call hands the kernel (what cp uses).
// Whole-chunk writes (1 MiB on average) make the page cache allocate large
// folios; on the bench machine (a VM whose free memory the host reclaims)
// copying into those cost more CPU than hashing the chunks, and smaller
// writes made that cost disappear from the profile.
const writePiece = 128 << 10

// writeAt writes p at off in pieces of writePiece.
func (o *outFile) writeAt(p []byte, off int64) error {
	for len(p) > 0 {
		n := min(len(p), writePiece)
		if _, err := o.f.WriteAt(p[:n], off); err != nil {
			return err
		}
		p, off = p[n:], off+int64(n)
	}
	return nil
}

// create opens a temporary file for f, or returns nil when the target
// already holds exactly f's content (a resumed restore).
func (r *restorer) create(ctx context.Context, f *FileEntry) (*outFile, error) {
	dst, err := r.destination(f)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(dst); err == nil {
		same, err := r.alreadyRestored(ctx, dst, fi, f)
		if err != nil {
			return nil, err
		}
		if same {
			r.inPlace.Add(1)
			return nil, nil
		}
		if !r.o.Overwrite {
			return nil, fmt.Errorf("restore %s: a different file is already there; restore into an empty folder or pass --overwrite", dst)
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, fmt.Errorf("restore %s: %w", dst, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".cassette-*")
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", dst, err)
	}
	return &outFile{f: tmp, dst: dst, meta: f}, nil
}

// commit checks the whole-file hash and the size written (the temporary
// file was written from offset 0 to exactly size bytes), fsyncs where
// syncfs is missing, sets mode and mtime and renames the file into place.
func (r *restorer) commit(o *outFile, got index.ID, written int64) error {
	defer o.discard()
	if got != o.meta.Hash {
		return fmt.Errorf("%w: restored %s does not match the whole-file hash in the manifest", chunkstore.ErrIntegrity, o.dst)
	}
	if written != o.meta.Size {
		return fmt.Errorf("%w: restored %s has %d bytes, manifest says %d", chunkstore.ErrIntegrity, o.dst, written, o.meta.Size)
	}
	if err := o.f.Chmod(os.FileMode(o.meta.Mode & 0o777)); err != nil {
		return fmt.Errorf("restore %s: %w", o.dst, err)
	}
	if perFileFsync {
		if err := o.f.Sync(); err != nil {
			return fmt.Errorf("restore %s: fsync: %w", o.dst, err)
		}
	}
	mt := time.Unix(0, o.meta.MTime)
	if err := os.Chtimes(o.f.Name(), mt, mt); err != nil {
		return fmt.Errorf("restore %s: %w", o.dst, err)
	}
	if err := os.Rename(o.f.Name(), o.dst); err != nil {
		return fmt.Errorf("restore %s: %w", o.dst, err)
	}
	o.done = true
	o.f.Close()
	r.files.Add(1)
	r.bytes.Add(o.meta.Size)
	r.flush.add(o.meta.Size)
	if p := r.e.Progress; p != nil {
		p.File(o.dst, o.meta.Size, false)
	}
	return nil
}
