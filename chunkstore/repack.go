package chunkstore

import (
	"context"
	"fmt"

	"github.com/cassette-backup/cassette/index"
)

// Repack copies the given blobs (live blobs of mostly dead packs) into new
// packs and indexes them there; the index segments written for the new packs
// make the new locations win over the old ones, so the old packs can then be
// deleted. Blobs are read pack by pack with span merging and re-verified on
// the way, so a damaged blob fails the repack instead of being copied.
func (r *Repo) Repack(ctx context.Context, entries []index.Entry) (*SessionStats, error) {
	s, err := r.NewSession(ctx, SessionOptions{Rewrite: true})
	if err != nil {
		return nil, err
	}
	bufs := r.getBuffers(nil)
	defer bufPool.Put(bufs)
	byPack := map[index.ID][]index.Entry{}
	var order []index.ID
	for _, e := range entries {
		if _, ok := byPack[e.Pack]; !ok {
			order = append(order, e.Pack)
		}
		byPack[e.Pack] = append(byPack[e.Pack], e)
	}
	for _, p := range order {
		err := r.ReadBlobs(ctx, byPack[p], func(e index.Entry, plain []byte) error {
			_, _, err := s.putBlob(ctx, &bufs.stage, e.Type, plain, bufs.enc)
			return err
		})
		if err == nil {
			err = s.flushStage(&bufs.stage)
		}
		if err != nil {
			s.Abort(err)
			return nil, fmt.Errorf("repack pack %s: %w", PackKey(p), err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		s.Abort(err)
		return nil, err
	}
	return &s.stats, nil
}
