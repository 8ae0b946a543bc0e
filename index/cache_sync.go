package index

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"
)

// SyncStats tells what a Sync did.
type SyncStats struct {
	Loaded, Dropped, Known int
}

// Sync makes the cache mirror the segments listed in the repository: those
// not yet loaded are fetched with load (up to parallel at once) and added,
// then those no longer listed are dropped — new ones first, so entries that
// moved to a consolidated segment survive the removal of the old one.
func (c *Cache) Sync(ctx context.Context, listed []ID, parallel int, load func(context.Context, ID) (*Segment, error)) (SyncStats, error) {
	var st SyncStats
	have, err := c.Segments()
	if err != nil {
		return st, err
	}
	inRepo := make(map[ID]bool, len(listed))
	var missing []ID
	for _, id := range listed {
		inRepo[id] = true
		if have[id] {
			st.Known++
		} else {
			missing = append(missing, id)
		}
	}
	if parallel < 1 {
		parallel = 1
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	var mu sync.Mutex
	for _, id := range missing {
		g.Go(func() error {
			seg, err := load(gctx, id)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if err := c.AddSegment(id, seg); err != nil {
				return fmt.Errorf("index cache %s: add segment %s: %w", c.path, id.Short(), err)
			}
			st.Loaded++
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return st, err
	}
	var gone []ID
	for id := range have {
		if !inRepo[id] {
			gone = append(gone, id)
		}
	}
	st.Dropped = len(gone)
	if err := c.DropSegments(gone); err != nil {
		return st, fmt.Errorf("index cache %s: drop segments: %w", c.path, err)
	}
	return st, nil
}
