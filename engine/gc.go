package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/index"
	"github.com/cassette-backup/cassette/providers"
)

// Garbage collection (docs/format.md, "Garbage collection").
//
// Under the exclusive lock: mark every blob the remaining manifests
// reference (the mark set lives in a bbolt file, so memory does not grow
// with the repository), then sweep: packs without a live blob are deleted,
// packs mostly dead are repacked, and the index is rewritten as
// consolidated segments covering the kept packs only. The order makes every
// crash point safe: new packs and segments are written first, then the old
// segments are deleted, and only then the packs they named. An interrupted
// GC leaves unindexed packs, which the next run deletes.

// GCOptions tune a garbage collection.
type GCOptions struct {
	// Grace: packs younger than this are never deleted (they may belong to
	// a backup that is still running or about to be retried).
	Grace time.Duration
	// RepackBelow: packs whose live bytes are below this fraction of their
	// size are repacked (0: DefaultRepackBelow; negative: never).
	RepackBelow float64
	// DryRun computes the plan and changes nothing.
	DryRun bool
}

// DefaultRepackBelow is the live fraction under which a pack is repacked.
const DefaultRepackBelow = 0.5

// GCResult reports what a garbage collection did (or would do).
type GCResult struct {
	Manifests       int
	LiveBlobs       int64
	PacksTotal      int
	PacksDeleted    int
	PacksRepacked   int
	BlobsRepacked   int64
	PacksKeptGrace  int // unreferenced or mostly dead, but within the grace period
	SegmentsWritten int
	SegmentsDeleted int
	ObjectsDeleted  int64
	BytesFreed      int64
	Duration        time.Duration
}

// GC runs a garbage collection.
func (e *Engine) GC(ctx context.Context, o GCOptions) (*GCResult, error) {
	start := time.Now()
	lock, err := e.AcquireLock(ctx, LockExclusive, "gc", e.Locks)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	if _, err := e.Repo.SyncIndex(ctx); err != nil {
		return nil, err
	}
	if o.RepackBelow == 0 {
		o.RepackBelow = DefaultRepackBelow
	}
	st := e.Repo.Storage()
	res := &GCResult{}

	segments, err := e.Repo.ListSegments(ctx)
	if err != nil {
		return nil, err
	}
	scratch, err := e.tmpDir()
	if err != nil {
		return nil, err
	}
	plan, err := newGCPlan(scratch)
	if err != nil {
		return nil, err
	}
	defer plan.close()
	if err := st.List(ctx, chunkstore.PackPrefix, func(oi providers.ObjectInfo) error {
		id, ok := packID(oi.Key)
		if !ok {
			return nil
		}
		res.PacksTotal++
		return plan.put(bktListed, id, listedValue(oi))
	}); err != nil {
		return nil, fmt.Errorf("list packs: %w", err)
	}
	if err := plan.flush(); err != nil {
		return nil, err
	}

	marks, err := newMarkSet(scratch)
	if err != nil {
		return nil, err
	}
	defer marks.close()
	if err := e.mark(ctx, marks, res); err != nil {
		return nil, err
	}
	err = plan.view(func(v planView) error {
		return marks.forEachPack(func(id index.ID) error {
			if !v.listed(id) {
				return fmt.Errorf("%w: pack %s holds chunks of remaining backups but is missing from the bucket; nothing was deleted: run `cassette verify` to see which backups are damaged", chunkstore.ErrIntegrity, chunkstore.PackKey(id))
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	// Packs holding an indexed blob that nothing references: only those
	// are worth repacking.
	err = marks.view(func(mv markView) error {
		return e.Repo.Cache().ForEachBlob(func(ent index.Entry) error {
			if mv.has(ent) {
				return nil
			}
			return plan.put(bktDead, ent.Pack, nil)
		})
	})
	if err == nil {
		err = plan.flush()
	}
	if err != nil {
		return nil, err
	}
	// Decide, pack by pack.
	if err := e.decide(plan, marks, o, res); err != nil {
		return nil, err
	}
	if o.DryRun || (res.PacksDeleted == 0 && res.PacksRepacked == 0) {
		res.Duration = time.Since(start)
		return res, nil
	}

	// Repack: live blobs of mostly dead packs move to new packs.
	if res.PacksRepacked > 0 {
		if err := e.repack(ctx, plan, marks, res); err != nil {
			return nil, err
		}
	}
	// The repack's segments are in the cache now; its packs are kept.
	newSegs, err := e.Repo.ListSegments(ctx)
	if err != nil {
		return nil, err
	}
	oldSegs := map[index.ID]bool{}
	for _, id := range segments {
		oldSegs[id] = true
	}
	for _, id := range newSegs {
		if !oldSegs[id] {
			segments = append(segments, id)
			seg, err := e.Repo.LoadSegment(ctx, id)
			if err != nil {
				return nil, err
			}
			for _, p := range seg.Packs {
				if err := plan.put(bktDecided, p.ID, []byte{planNew}); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := plan.flush(); err != nil {
		return nil, err
	}
	if err := lock.Check(ctx); err != nil {
		return nil, err
	}

	// Consolidate: new segments naming only kept packs, then the old
	// segments go, then the packs.
	var written int
	err = plan.view(func(v planView) error {
		return marks.view(func(mv markView) error {
			var err error
			written, err = e.writeConsolidated(ctx, v.kept, segments, func(ent index.Entry) bool {
				// A content list no backup references stays in its kept
				// pack but leaves the index: its chunks may have gone with
				// other packs, and a backup that finds a list in the index
				// (its file cache) takes the whole file as stored.
				if ent.Type != index.MetaBlob || v.decision(ent.Pack) == planNew {
					return true
				}
				return mv.has(ent)
			})
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	res.SegmentsWritten = written
	var oldKeys []providers.Key
	for _, id := range segments {
		oldKeys = append(oldKeys, chunkstore.IndexKey(id))
	}
	if err := deleteBatches(ctx, st, oldKeys); err != nil {
		return nil, fmt.Errorf("delete superseded index segments: %w", err)
	}
	res.SegmentsDeleted = len(oldKeys)
	// The lock again: a GC whose lock went stale (a long pause) must not
	// delete packs a backup that broke the lock may now rely on.
	if err := lock.Check(ctx); err != nil {
		return nil, err
	}
	deleted, err := deletePlanned(ctx, st, plan)
	if err != nil {
		return nil, fmt.Errorf("delete packs: %w", err)
	}
	res.ObjectsDeleted = int64(len(oldKeys) + deleted)
	if _, err := e.Repo.SyncIndex(ctx); err != nil {
		return nil, err
	}
	res.Duration = time.Since(start)
	return res, nil
}

// mark records every blob referenced by a complete manifest. A referenced
// blob missing from the index stops the GC: the repository is damaged and
// nothing must be deleted until `verify` has said what.
func (e *Engine) mark(ctx context.Context, m *markSet, res *GCResult) error {
	var manifests [][2]string
	err := e.Repo.Storage().List(ctx, backupsPrefix, func(oi providers.ObjectInfo) error {
		parts := strings.Split(strings.TrimPrefix(string(oi.Key), backupsPrefix), "/")
		if len(parts) == 3 && parts[2] == "manifest" {
			manifests = append(manifests, [2]string{parts[0], parts[1]})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list backups: %w", err)
	}
	res.Manifests = len(manifests)
	for _, mf := range manifests {
		sm, err := e.spoolManifest(ctx, mf[0], mf[1])
		if err != nil {
			if errors.Is(err, ErrBackupNotFound) {
				continue // deleted meanwhile by a purge of another node
			}
			return err
		}
		_, err = sm.decode(func(f *FileEntry) error {
			add := func(id index.ID) error {
				ent, err := e.Repo.Lookup(id)
				if err != nil {
					return fmt.Errorf("backup %s node %s file %s: %w; nothing was deleted: run `cassette verify` to see the damage", mf[0], mf[1], f.Path, err)
				}
				return m.add(ent)
			}
			if f.Chunk != nil {
				return add(*f.Chunk)
			}
			for _, l := range f.Lists {
				// An unchanged SSTable names the same content list in
				// every backup: a list already marked had its chunks
				// marked too, so it is not read again (one read per
				// distinct list, not per list per manifest).
				ent, err := e.Repo.Lookup(l)
				if err != nil {
					return add(l) // reports the damage
				}
				seen, err := m.marked(ent)
				if err != nil {
					return err
				}
				if seen {
					continue
				}
				if err := m.add(ent); err != nil {
					return err
				}
				if err := e.Repo.ChunkIDs(ctx, chunkstore.Content{Lists: []index.ID{l}}, add); err != nil {
					return err
				}
			}
			return nil
		})
		sm.Close()
		if err != nil {
			return err
		}
	}
	if err := m.flush(); err != nil {
		return err
	}
	res.LiveBlobs = m.n // counted as the set is written
	return nil
}

// writeConsolidated writes the index of the kept packs (the blobs in them
// that indexed says to keep) as new segments, each naming the segments it
// supersedes, and returns how many it wrote.
func (e *Engine) writeConsolidated(ctx context.Context, keep func(index.ID) bool, superseded []index.ID, indexed func(index.Entry) bool) (int, error) {
	// Group the cache's entries of kept packs by pack, on disk.
	scratch, err := e.tmpDir()
	if err != nil {
		return 0, err
	}
	tmp, err := newMarkSet(scratch)
	if err != nil {
		return 0, err
	}
	defer tmp.close()
	err = e.Repo.Cache().ForEachBlob(func(ent index.Entry) error {
		if !keep(ent.Pack) || !indexed(ent) {
			return nil
		}
		return tmp.add(ent)
	})
	if err == nil {
		err = tmp.flush()
	}
	if err != nil {
		return 0, err
	}
	if len(superseded) > 1<<16 {
		superseded = nil // informational only; the decoder's bound
	}
	seg := &index.Segment{Supersedes: superseded}
	written := 0
	flush := func() error {
		if len(seg.Packs) == 0 {
			return nil
		}
		b, id, err := index.EncodeSegment(seg)
		if err != nil {
			return err
		}
		if err := e.Repo.Storage().Put(ctx, chunkstore.IndexKey(id), providers.Bytes(b), providers.PutOptions{}); err != nil {
			return fmt.Errorf("write index segment %s: %w", chunkstore.IndexKey(id), err)
		}
		written++
		seg = &index.Segment{}
		return nil
	}
	var cur index.ID
	var have bool
	err = tmp.forEach(func(ent index.Entry) error {
		if !have || ent.Pack != cur {
			if len(seg.Packs) >= consolidatedPacks || len(seg.Blobs) >= consolidatedBlobs {
				if err := flush(); err != nil {
					return err
				}
			}
			info, _, err := e.Repo.Cache().Pack(ent.Pack)
			if err != nil {
				return err
			}
			seg.Packs = append(seg.Packs, info)
			cur, have = ent.Pack, true
		}
		seg.Blobs = append(seg.Blobs, ent)
		return nil
	})
	if err != nil {
		return written, err
	}
	return written, flush()
}

// A consolidated segment covers at most this many packs and blobs (then the
// next pack starts a new one). Far below the decoder's bounds: every node
// decodes a segment whole when it syncs its cache, several at once, so a
// 65,536-blob segment (about 6 MiB decoded) keeps that memory small
// whatever the size of the repository.
const (
	consolidatedPacks = 1 << 14
	consolidatedBlobs = 1 << 16
)

// deleteBatches deletes keys in batches of 1,000 (S3's DeleteObjects
// limit), several batches at once up to the storage's concurrency.
func deleteBatches(ctx context.Context, st providers.Storage, keys []providers.Key) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, st.Properties().Concurrency))
	for len(keys) > 0 {
		n := min(1000, len(keys))
		batch := keys[:n]
		keys = keys[n:]
		g.Go(func() error { return st.DeleteMany(gctx, batch) })
	}
	return g.Wait()
}

func packID(k providers.Key) (index.ID, bool) {
	s := string(k)
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	id, err := index.ParseID(s)
	return id, err == nil
}
