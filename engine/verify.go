package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/index"
	"github.com/cassette-backup/cassette/providers"
)

// VerifyOptions select what to verify.
type VerifyOptions struct {
	// Name and Node restrict verification to one backup / node; empty means
	// every complete node backup.
	Name, Node string
	// ReadData downloads every referenced pack and re-hashes it and every
	// blob in it.
	ReadData bool
	// Sample, with ReadData, reads only a random Sample percent of the
	// referenced packs (0 or 100: all of them).
	Sample float64
}

// VerifyResult reports what was checked and what is damaged.
type VerifyResult struct {
	Backups   int
	Files     int64
	Chunks    int64
	Packs     int
	PacksRead int
	Problems  []string // one line each: which backup, node, file, pack and what
}

// Verify checks that every chunk referenced by the selected backups is in
// the index and its pack exists; with ReadData it also re-reads every such
// pack. Problems name the backup, node, file and pack.
func (e *Engine) Verify(ctx context.Context, o VerifyOptions) (*VerifyResult, error) {
	unlock, err := e.readLock(ctx, "verify")
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := e.Repo.SyncIndex(ctx); err != nil {
		return nil, err
	}
	st := e.Repo.Storage()
	// The packs in the bucket, the packs the backups use and the content
	// lists already read live in temporary bbolt files, so that memory does
	// not grow with the repository.
	scratch, err := e.tmpDir()
	if err != nil {
		return nil, err
	}
	stored, err := newGCPlan(scratch)
	if err != nil {
		return nil, err
	}
	defer stored.close()
	seen, err := newGCPlan(scratch)
	if err != nil {
		return nil, err
	}
	defer seen.close()
	err = st.List(ctx, chunkstore.PackPrefix, func(oi providers.ObjectInfo) error {
		if id, ok := packID(oi.Key); ok {
			return stored.put(bktListed, id, nil)
		}
		return nil
	})
	if err == nil {
		err = stored.flush()
	}
	if err != nil {
		return nil, fmt.Errorf("list packs: %w", err)
	}
	backups, err := e.ListBackups(ctx)
	if err != nil {
		return nil, err
	}
	res := &VerifyResult{}
	var selected []NodeBackup
	for _, nb := range backups {
		if !nb.Complete || (o.Name != "" && nb.Name != o.Name) || (o.Node != "" && nb.Node != o.Node) {
			continue
		}
		selected = append(selected, nb)
	}
	if len(selected) == 0 && (o.Name != "" || o.Node != "") {
		return nil, fmt.Errorf("%w: no complete backup matches name %q node %q", ErrBackupNotFound, o.Name, o.Node)
	}
	badPacks := map[index.ID]string{}
	// badLists: why a content list is damaged, so that every file using it
	// is named, though the list is read once.
	badLists := map[index.ID]string{}
	err = stored.view(func(sv planView) error {
		for _, nb := range selected {
			res.Backups++
			_, err := e.ReadManifest(ctx, nb.Name, nb.Node, func(f *FileEntry) error {
				res.Files++
				problem := func(why string) {
					res.Problems = append(res.Problems, fmt.Sprintf("backup %s node %s file %s: %s", nb.Name, nb.Node, f.Path, why))
				}
				check := func(id index.ID) (string, error) {
					res.Chunks++
					ent, err := e.Repo.Lookup(id)
					if err != nil {
						return fmt.Sprintf("chunk %s is not in the index", id), nil
					}
					if !sv.listed(ent.Pack) {
						badPacks[ent.Pack] = "missing"
					}
					return "", seen.put(bktUsed, ent.Pack, nil)
				}
				if f.Chunk != nil {
					if why, err := check(*f.Chunk); err != nil {
						return err
					} else if why != "" {
						problem(why)
					}
				}
				for _, l := range f.Lists {
					if done, err := seen.has(bktLists, l); err != nil {
						return err
					} else if done {
						if why, bad := badLists[l]; bad {
							problem(why)
						}
						continue
					}
					if err := seen.put(bktLists, l, nil); err != nil {
						return err
					}
					var why string
					err := e.Repo.ChunkIDs(ctx, chunkstore.Content{Lists: []index.ID{l}}, func(id index.ID) error {
						w, err := check(id)
						if why == "" {
							why = w
						}
						return err
					})
					// A content list that cannot be read (damaged, or its
					// pack gone) is this file's problem: name it and go on.
					if errors.Is(err, chunkstore.ErrIntegrity) || errors.Is(err, chunkstore.ErrBlobNotFound) || errors.Is(err, providers.ErrNotFound) {
						why, err = err.Error(), nil
					}
					if err != nil {
						return err
					}
					if why != "" {
						badLists[l] = why
						problem(why)
					}
				}
				return nil
			})
			if err != nil {
				if errors.Is(err, chunkstore.ErrIntegrity) || errors.Is(err, chunkstore.ErrBlobNotFound) || errors.Is(err, ErrBadManifest) {
					res.Problems = append(res.Problems, fmt.Sprintf("backup %s node %s: %v", nb.Name, nb.Node, err))
					continue
				}
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = seen.flush()
	}
	if err != nil {
		return nil, err
	}
	if res.Packs, err = seen.count(bktUsed); err != nil {
		return nil, err
	}
	if o.ReadData {
		if err := e.readPacks(ctx, seen, stored, o.Sample, badPacks, res); err != nil {
			return nil, err
		}
	}
	if len(badPacks) > 0 {
		e.blameFiles(ctx, selected, badPacks, res)
	}
	return res, nil
}

// readPacks re-reads the used packs (a random sample percent of them when
// 0 < sample < 100) in parallel and records damaged ones. The packs drawn
// are put in a bucket of scratch first: the progress total needs their
// count and bytes before the first read.
func (e *Engine) readPacks(ctx context.Context, seen, scratch *gcPlan, sample float64, bad map[index.ID]string, res *VerifyResult) error {
	var bytes int64
	err := seen.view(func(v planView) error {
		return v.forEach(bktUsed, func(id index.ID) error {
			if sample > 0 && sample < 100 && rand.Float64()*100 >= sample {
				return nil
			}
			res.PacksRead++
			if info, ok, _ := e.Repo.Cache().Pack(id); ok {
				bytes += int64(info.Size)
			}
			return scratch.put(bktDecided, id, nil)
		})
	})
	if err == nil {
		err = scratch.flush()
	}
	if err != nil {
		return err
	}
	if p := e.Progress; p != nil {
		p.Total(int64(res.PacksRead), bytes)
	}
	var mu sync.Mutex
	found := map[index.ID]string{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(2, e.Repo.Storage().Properties().Concurrency))
	err = scratch.view(func(v planView) error {
		return v.forEach(bktDecided, func(id index.ID) error {
			if _, already := bad[id]; already {
				return nil
			}
			if gctx.Err() != nil {
				return nil // g.Wait reports why
			}
			g.Go(func() error {
				info, ok, err := e.Repo.Cache().Pack(id)
				if err != nil {
					return err
				}
				if !ok {
					mu.Lock()
					found[id] = "not in the index"
					mu.Unlock()
					return nil
				}
				if p := e.Progress; p != nil {
					defer p.File(string(chunkstore.PackKey(id)), int64(info.Size), false)
				}
				if _, err := e.Repo.VerifyPack(gctx, info); err != nil {
					if errors.Is(err, chunkstore.ErrIntegrity) || errors.Is(err, providers.ErrNotFound) {
						mu.Lock()
						found[id] = err.Error()
						mu.Unlock()
						return nil
					}
					return err
				}
				return nil
			})
			return nil
		})
	})
	if werr := g.Wait(); werr != nil {
		err = werr
	}
	for id, why := range found {
		bad[id] = why
	}
	return err
}

// blameFiles walks the selected manifests again and names every file with
// a chunk in a damaged pack.
func (e *Engine) blameFiles(ctx context.Context, selected []NodeBackup, bad map[index.ID]string, res *VerifyResult) {
	for _, nb := range selected {
		_, _ = e.ReadManifest(ctx, nb.Name, nb.Node, func(f *FileEntry) error {
			var hit index.ID
			found := false
			_ = e.Repo.ChunkIDs(ctx, f.Content, func(id index.ID) error {
				if ent, err := e.Repo.Lookup(id); err == nil {
					if _, isBad := bad[ent.Pack]; isBad && !found {
						hit, found = ent.Pack, true
					}
				}
				return nil
			})
			if found {
				res.Problems = append(res.Problems, fmt.Sprintf("backup %s node %s file %s: pack %s: %s", nb.Name, nb.Node, f.Path, chunkstore.PackKey(hit), bad[hit]))
			}
			return nil
		})
	}
}
