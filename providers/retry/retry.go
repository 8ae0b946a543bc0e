// Package retry is a providers.Storage decorator that retries transient
// failures with capped exponential backoff and full jitter.
//
// Only errors wrapping providers.ErrTransient are retried; ErrNotFound,
// ErrPermission, ErrAlreadyExists, ErrInvalidRange and context errors never
// are, even when joined with a transient one. Each retry is logged at Debug
// with the attributes op, key, attempt, err and delay.
//
// What each operation does on retry:
//
//   - Put of a replayable payload (Bytes, Reopenable) is sent again. Put of a
//     one-shot Stream is retried only while the wrapped storage has not read
//     from it; once it has, the error wraps providers.ErrPayloadConsumed and
//     the original failure, and the caller must rebuild the payload.
//   - Put with IfNotExists: when an attempt fails transiently the server may
//     still have created the object (the response was lost), so a retry can
//     meet ErrAlreadyExists caused by our own earlier attempt. The decorator
//     cannot tell the two apart and returns ErrAlreadyExists, noting the
//     earlier failure in the message; callers that care (lock files) read
//     the object back and compare it with what they wrote.
//   - Get is run again from the start, calling fn again (the contract allows
//     it: fn must reset what it accumulated).
//   - List resumes after the last key fn received, so fn never sees a key
//     twice. An error returned by fn itself is never retried.
//   - Stat, Delete and DeleteMany are idempotent and simply run again.
package retry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/cassette-backup/cassette/providers"
)

// Defaults of Options.
const (
	DefaultMaxAttempts = 5
	DefaultBaseDelay   = 200 * time.Millisecond
	DefaultMaxDelay    = 10 * time.Second
)

// Options configure the retries. The zero value means the defaults.
type Options struct {
	// MaxAttempts is the number of attempts of one call, the first
	// included; 0 means DefaultMaxAttempts, 1 disables retries.
	MaxAttempts int
	// BaseDelay caps the wait before the first retry; each further retry
	// doubles the cap, up to MaxDelay. The wait is uniformly random between
	// zero and the cap (full jitter). 0 means DefaultBaseDelay.
	BaseDelay time.Duration
	// MaxDelay bounds the cap; 0 means DefaultMaxDelay.
	MaxDelay time.Duration
	// Logger receives a Debug record per retry; nil discards.
	Logger *slog.Logger
	// Sleep waits d or until ctx is done (then returning ctx's error). Tests
	// replace it to run without waiting; nil means a real timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (o Options) withDefaults() Options {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = DefaultBaseDelay
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = DefaultMaxDelay
	}
	if o.MaxDelay < o.BaseDelay {
		o.MaxDelay = o.BaseDelay
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	return o
}

// sleep waits d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Retryable reports whether err is worth another attempt: it wraps
// providers.ErrTransient and none of the errors that retrying cannot fix
// (not found, permission, already exists, invalid range, not supported,
// consumed payload, cancelled or expired context).
func Retryable(err error) bool {
	if err == nil || !errors.Is(err, providers.ErrTransient) {
		return false
	}
	for _, never := range []error{
		providers.ErrNotFound, providers.ErrPermission, providers.ErrAlreadyExists,
		providers.ErrInvalidRange, providers.ErrNotSupported, providers.ErrPayloadConsumed,
		context.Canceled, context.DeadlineExceeded,
	} {
		if errors.Is(err, never) {
			return false
		}
	}
	return true
}

// Backoff returns the cap of the wait before retry number n (1 for the
// first retry): base·2^(n-1), at most max. The actual wait is uniformly
// random in [0, Backoff].
func Backoff(base, max time.Duration, n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := base
	for i := 1; i < n; i++ {
		if d >= max/2 {
			return max
		}
		d *= 2
	}
	return min(d, max)
}

// Storage retries the transient failures of the Storage it wraps.
type Storage struct {
	s providers.Storage
	o Options
}

var (
	_ providers.Storage = (*Storage)(nil)
	_ providers.Wrapper = (*Storage)(nil)
)

// New wraps s so its transient failures are retried as o says.
func New(s providers.Storage, o Options) *Storage {
	return &Storage{s: s, o: o.withDefaults()}
}

// Unwrap returns the wrapped Storage.
func (r *Storage) Unwrap() providers.Storage { return r.s }

// Properties returns the wrapped storage's properties.
func (r *Storage) Properties() providers.Properties { return r.s.Properties() }

// Close closes the wrapped storage; it is not retried.
func (r *Storage) Close(ctx context.Context) error { return r.s.Close(ctx) }

// do runs call until it succeeds, fails with an error that is not
// Retryable, the attempts run out or ctx ends. call receives the attempt
// number, starting at 1.
func (r *Storage) do(ctx context.Context, op, key string, call func(attempt int) error) error {
	for attempt := 1; ; attempt++ {
		err := call(attempt)
		if f, ok := err.(final); ok {
			return f.err
		}
		if err == nil || !Retryable(err) {
			return err
		}
		if attempt >= r.o.MaxAttempts {
			if attempt > 1 {
				return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
			}
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (not retried: %w)", err, ctx.Err())
		}
		d := r.delay(attempt)
		r.o.Logger.Debug("retrying storage operation", "op", op, "key", key, "attempt", attempt, "err", err, "delay", d)
		if serr := r.o.Sleep(ctx, d); serr != nil {
			return fmt.Errorf("%w (retry abandoned: %w)", err, serr)
		}
	}
}

// final carries an error that do returns as it is, without retrying (an
// error of the caller's own callback).
type final struct{ err error }

func (f final) Error() string { return f.err.Error() }

// delay is the randomised wait before retry number n.
func (r *Storage) delay(n int) time.Duration {
	return time.Duration(rand.Int64N(int64(Backoff(r.o.BaseDelay, r.o.MaxDelay, n)) + 1))
}
