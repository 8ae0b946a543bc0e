package providers

import (
	"context"
	"errors"
	"sync"

	"golang.org/x/sync/errgroup"
)

// DeleteAll is the straightforward DeleteMany for backends without a batch
// API: it deletes keys one at a time and joins the failures.
func DeleteAll(ctx context.Context, s interface {
	Delete(context.Context, Key) error
}, keys []Key) error {
	var errs []error
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.Delete(ctx, k); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// DeleteBatches is DeleteMany for backends that delete batches of keys (or
// single keys: batch 1) one request each: it calls del with consecutive
// groups of at most batch keys, at most limit calls at once, and joins the
// failures. Once ctx ends it starts no more calls and reports ctx's error.
func DeleteBatches(ctx context.Context, keys []Key, batch, limit int, del func(context.Context, []Key) error) error {
	var (
		mu   sync.Mutex
		errs []error
	)
	var g errgroup.Group
	g.SetLimit(max(limit, 1))
	for start := 0; start < len(keys); start += max(batch, 1) {
		if ctx.Err() != nil {
			break
		}
		group := keys[start:min(start+max(batch, 1), len(keys))]
		g.Go(func() error {
			if err := del(ctx, group); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
