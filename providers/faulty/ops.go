package faulty

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/cassette-backup/cassette/providers"
)

// Put records the call and applies Fail, Delay, FailPayload and FailAfter
// rules.
func (f *Storage) Put(ctx context.Context, key providers.Key, p providers.Payload, opts providers.PutOptions) error {
	fired := f.record(Call{Op: OpPut, Key: string(key)})
	if err := before(ctx, OpPut, string(key), fired); err != nil {
		return err
	}
	for _, r := range fired {
		if r.Action == FailPayload {
			p = failingPayload(p, r.Bytes, r.err(OpPut, string(key), false))
		}
	}
	return after(OpPut, string(key), fired, f.s.Put(ctx, key, p, opts))
}

// failingPayload wraps p so its reader fails with err after n bytes. The
// wrapped payload opens p only when first read, so a Put that fails before
// reading leaves a one-shot p unconsumed.
func failingPayload(p providers.Payload, n int64, err error) providers.Payload {
	if p.Replayable() {
		return providers.Reopenable(p.Size(), func() (io.Reader, error) {
			r, rerr := p.Reader()
			if rerr != nil {
				return nil, rerr
			}
			return &failingReader{r: r, n: n, err: err}, nil
		})
	}
	return providers.Stream(&failingReader{open: p.Reader, n: n, err: err}, p.Size())
}

// failingReader reads r (opened by open on first use when r is nil) and
// fails with err once n bytes have been read.
type failingReader struct {
	open    func() (io.Reader, error)
	once    sync.Once
	r       io.Reader
	openErr error
	n       int64
	err     error
}

func (fr *failingReader) Read(b []byte) (int, error) {
	if fr.open != nil {
		fr.once.Do(func() { fr.r, fr.openErr = fr.open() })
		if fr.openErr != nil {
			return 0, fr.openErr
		}
	}
	if fr.n <= 0 {
		return 0, fr.err
	}
	if int64(len(b)) > fr.n {
		b = b[:fr.n]
	}
	c, err := fr.r.Read(b)
	fr.n -= int64(c)
	return c, err
}

// Get records the call and applies Fail, Delay, Truncate, Corrupt and
// FailAfter rules. Truncate and Corrupt act on the reader fn receives.
func (f *Storage) Get(ctx context.Context, key providers.Key, offset, length int64, fn func(io.Reader) error) error {
	fired := f.record(Call{Op: OpGet, Key: string(key)})
	if err := before(ctx, OpGet, string(key), fired); err != nil {
		return err
	}
	inner := fn
	for _, r := range fired {
		next := inner
		switch r.Action {
		case Truncate:
			err := r.err(OpGet, string(key), true)
			inner = func(rd io.Reader) error { return next(&failingReader{r: rd, n: r.Bytes, err: err}) }
		case Corrupt:
			inner = func(rd io.Reader) error { return next(&corruptingReader{r: rd, at: r.Bytes}) }
		}
	}
	return after(OpGet, string(key), fired, f.s.Get(ctx, key, offset, length, inner))
}

// corruptingReader flips the byte at offset at of what it reads.
type corruptingReader struct {
	r   io.Reader
	pos int64
	at  int64
}

func (c *corruptingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if i := c.at - c.pos; i >= 0 && i < int64(n) {
		b[i] ^= 0xff
	}
	c.pos += int64(n)
	return n, err
}

// Stat records the call and applies Fail, Delay and FailAfter rules.
func (f *Storage) Stat(ctx context.Context, key providers.Key) (providers.ObjectInfo, error) {
	fired := f.record(Call{Op: OpStat, Key: string(key)})
	if err := before(ctx, OpStat, string(key), fired); err != nil {
		return providers.ObjectInfo{}, err
	}
	oi, err := f.s.Stat(ctx, key)
	if err = after(OpStat, string(key), fired, err); err != nil {
		return providers.ObjectInfo{}, err
	}
	return oi, nil
}

// List records the call and applies Fail, Delay, Truncate (fail after
// Bytes objects) and FailAfter rules.
func (f *Storage) List(ctx context.Context, prefix string, fn func(providers.ObjectInfo) error) error {
	fired := f.record(Call{Op: OpList, Key: prefix})
	if err := before(ctx, OpList, prefix, fired); err != nil {
		return err
	}
	for _, r := range fired {
		if r.Action != Truncate {
			continue
		}
		next, left, err := fn, r.Bytes, r.err(OpList, prefix, false)
		fn = func(oi providers.ObjectInfo) error {
			if left <= 0 {
				return &truncated{err}
			}
			left--
			return next(oi)
		}
	}
	err := f.s.List(ctx, prefix, fn)
	if t := (*truncated)(nil); errors.As(err, &t) {
		err = t.err
	}
	return after(OpList, prefix, fired, err)
}

// truncated carries a List fault through the wrapped List's fn error path.
type truncated struct{ err error }

func (t *truncated) Error() string { return t.err.Error() }
func (t *truncated) Unwrap() error { return t.err }

// Delete records the call and applies Fail, Delay and FailAfter rules.
func (f *Storage) Delete(ctx context.Context, key providers.Key) error {
	fired := f.record(Call{Op: OpDelete, Key: string(key)})
	if err := before(ctx, OpDelete, string(key), fired); err != nil {
		return err
	}
	return after(OpDelete, string(key), fired, f.s.Delete(ctx, key))
}

// DeleteMany records the call and applies Fail, Delay and FailAfter rules.
func (f *Storage) DeleteMany(ctx context.Context, keys []providers.Key) error {
	c := Call{Op: OpDeleteMany, Keys: append([]providers.Key(nil), keys...)}
	fired := f.record(c)
	if err := before(ctx, OpDeleteMany, "keys", fired); err != nil {
		return err
	}
	return after(OpDeleteMany, "keys", fired, f.s.DeleteMany(ctx, keys))
}
