package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/cassette-backup/cassette/providers"
)

// Put stores p under key, retrying transient failures. See the package
// comment for one-shot payloads and IfNotExists.
func (r *Storage) Put(ctx context.Context, key providers.Key, p providers.Payload, opts providers.PutOptions) error {
	var lazy *lazyReader
	if !p.Replayable() {
		lazy = &lazyReader{p: p}
	}
	var earlier error // the last transient failure, for IfNotExists
	return r.do(ctx, "put", string(key), func(attempt int) error {
		payload := p
		if lazy != nil {
			// A fresh one-shot payload over the same, still unread, stream.
			payload = providers.Stream(lazy, p.Size())
		}
		err := r.s.Put(ctx, key, payload, opts)
		switch {
		case err == nil:
			return nil
		case opts.IfNotExists && earlier != nil && errors.Is(err, providers.ErrAlreadyExists):
			return fmt.Errorf("%w (attempt %d; attempt %d failed with %q and may have created the object itself)", err, attempt, attempt-1, earlier.Error())
		case Retryable(err) && lazy != nil && lazy.touched.Load():
			return fmt.Errorf("%w: cannot retry: %w", providers.ErrPayloadConsumed, err)
		}
		earlier = err
		return err
	})
}

// lazyReader opens the payload on its first Read and remembers that it did,
// so Put knows whether the stream may still be sent again.
type lazyReader struct {
	p       providers.Payload
	touched atomic.Bool
	once    sync.Once
	r       io.Reader
	err     error
}

func (l *lazyReader) Read(b []byte) (int, error) {
	l.touched.Store(true)
	l.once.Do(func() { l.r, l.err = l.p.Reader() })
	if l.err != nil {
		return 0, l.err
	}
	return l.r.Read(b)
}

// Get reads the range, running the whole Get (and fn) again on transient
// failures.
func (r *Storage) Get(ctx context.Context, key providers.Key, offset, length int64, fn func(io.Reader) error) error {
	return r.do(ctx, "get", string(key), func(int) error {
		return r.s.Get(ctx, key, offset, length, fn)
	})
}

// Stat returns the object's info, retrying transient failures.
func (r *Storage) Stat(ctx context.Context, key providers.Key) (providers.ObjectInfo, error) {
	var oi providers.ObjectInfo
	err := r.do(ctx, "stat", string(key), func(int) error {
		var err error
		oi, err = r.s.Stat(ctx, key)
		return err
	})
	return oi, err
}

// List lists prefix, resuming after the last key fn received when a
// transient failure interrupts the listing. fn's own errors end the List
// and are returned as they are.
func (r *Storage) List(ctx context.Context, prefix string, fn func(providers.ObjectInfo) error) error {
	var last providers.Key
	seen := false
	var fnErr error
	return r.do(ctx, "list", prefix, func(int) error {
		err := r.s.List(ctx, prefix, func(oi providers.ObjectInfo) error {
			if seen && oi.Key <= last {
				return nil // delivered before the failure
			}
			if err := fn(oi); err != nil {
				fnErr = err
				return err
			}
			last, seen = oi.Key, true
			return nil
		})
		if fnErr != nil {
			return final{fnErr}
		}
		return err
	})
}

// Delete removes the object, retrying transient failures.
func (r *Storage) Delete(ctx context.Context, key providers.Key) error {
	return r.do(ctx, "delete", string(key), func(int) error {
		return r.s.Delete(ctx, key)
	})
}

// DeleteMany removes the keys, retrying the whole batch on transient
// failures (deleting a missing key is not an error, so this is safe).
func (r *Storage) DeleteMany(ctx context.Context, keys []providers.Key) error {
	name := fmt.Sprintf("%d keys", len(keys))
	return r.do(ctx, "delete", name, func(int) error {
		return r.s.DeleteMany(ctx, keys)
	})
}
