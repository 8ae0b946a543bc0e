package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
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
	packsInStore := map[index.ID]bool{}
	err = st.List(ctx, chunkstore.PackPrefix, func(oi providers.ObjectInfo) error {
		k := string(oi.Key)
		if i := strings.LastIndexByte(k, '/'); i >= 0 {
			if id, err := index.ParseID(k[i+1:]); err == nil {
				packsInStore[id] = true
			}
		}
		return nil
	})
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
	used := map[index.ID]bool{}
	badPacks := map[index.ID]string{}
	for _, nb := range selected {
		res.Backups++
		_, err := e.ReadManifest(ctx, nb.Name, nb.Node, func(f *FileEntry) error {
			res.Files++
			err := e.Repo.ChunkIDs(ctx, f.Content, func(id index.ID) error {
				res.Chunks++
				ent, err := e.Repo.Lookup(id)
				if err != nil {
					res.Problems = append(res.Problems, fmt.Sprintf("backup %s node %s file %s: chunk %s is not in the index", nb.Name, nb.Node, f.Path, id))
					return nil
				}
				used[ent.Pack] = true
				if !packsInStore[ent.Pack] {
					badPacks[ent.Pack] = "missing"
				}
				return nil
			})
			// A content list that cannot be read (damaged, or its pack
			// gone) is this file's problem: name it and go on with the
			// other files.
			if errors.Is(err, chunkstore.ErrIntegrity) || errors.Is(err, chunkstore.ErrBlobNotFound) || errors.Is(err, providers.ErrNotFound) {
				res.Problems = append(res.Problems, fmt.Sprintf("backup %s node %s file %s: %v", nb.Name, nb.Node, f.Path, err))
				return nil
			}
			return err
		})
		if err != nil {
			if errors.Is(err, chunkstore.ErrIntegrity) || errors.Is(err, chunkstore.ErrBlobNotFound) || errors.Is(err, ErrBadManifest) {
				res.Problems = append(res.Problems, fmt.Sprintf("backup %s node %s: %v", nb.Name, nb.Node, err))
				continue
			}
			return nil, err
		}
	}
	res.Packs = len(used)
	if o.ReadData {
		if o.Sample > 0 && o.Sample < 100 {
			for id := range used {
				if rand.Float64()*100 >= o.Sample {
					delete(used, id)
				}
			}
		}
		res.PacksRead = len(used)
		if err := e.readPacks(ctx, used, badPacks); err != nil {
			return nil, err
		}
	}
	if len(badPacks) > 0 {
		e.blameFiles(ctx, selected, badPacks, res)
	}
	return res, nil
}

// readPacks re-reads every used pack in parallel and records damaged ones.
func (e *Engine) readPacks(ctx context.Context, used map[index.ID]bool, bad map[index.ID]string) error {
	var mu sync.Mutex
	found := map[index.ID]string{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(2, e.Repo.Storage().Properties().Concurrency))
	if p := e.Progress; p != nil {
		var bytes int64
		for id := range used {
			if info, ok, _ := e.Repo.Cache().Pack(id); ok {
				bytes += int64(info.Size)
			}
		}
		p.Total(int64(len(used)), bytes)
	}
	for id := range used {
		if _, already := bad[id]; already {
			continue
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
	}
	err := g.Wait()
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
