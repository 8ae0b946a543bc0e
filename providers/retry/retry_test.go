package retry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/faulty"
	"github.com/cassette-backup/cassette/providers/mem"
	"github.com/cassette-backup/cassette/providers/retry"
)

func TestRetryable(t *testing.T) {
	transient := fmt.Errorf("put k: 503 slow down: %w", providers.ErrTransient)
	cases := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{transient, true},
		{fmt.Errorf("get k: %w", transient), true},
		{errors.New("disk on fire"), false},
		{io.ErrUnexpectedEOF, false},
		{fmt.Errorf("x: %w", providers.ErrNotFound), false},
		{fmt.Errorf("x: %w", providers.ErrPermission), false},
		{fmt.Errorf("x: %w", providers.ErrAlreadyExists), false},
		{fmt.Errorf("x: %w", providers.ErrInvalidRange), false},
		{fmt.Errorf("x: %w", providers.ErrNotSupported), false},
		{context.Canceled, false},
		{context.DeadlineExceeded, false},
		{fmt.Errorf("%w: %w", providers.ErrTransient, context.DeadlineExceeded), false},
		{fmt.Errorf("%w: %w", providers.ErrTransient, providers.ErrNotFound), false},
		{fmt.Errorf("%w: %w", providers.ErrPayloadConsumed, transient), false},
		{errors.Join(transient, errors.New("other")), true},
		{errors.Join(transient, fmt.Errorf("k: %w", providers.ErrPermission)), false},
	}
	for _, c := range cases {
		if got := retry.Retryable(c.err); got != c.want {
			t.Errorf("Retryable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	base, maxDelay := 200*time.Millisecond, 10*time.Second
	want := []time.Duration{200, 400, 800, 1600, 3200, 6400, 10000, 10000}
	for i, w := range want {
		if got := retry.Backoff(base, maxDelay, i+1); got != w*time.Millisecond {
			t.Errorf("Backoff(retry %d) = %s, want %s", i+1, got, w*time.Millisecond)
		}
	}
	if got := retry.Backoff(base, maxDelay, 1000); got != maxDelay {
		t.Errorf("Backoff(retry 1000) = %s, want the cap %s (no overflow)", got, maxDelay)
	}
	if got := retry.Backoff(base, maxDelay, 0); got != base {
		t.Errorf("Backoff(0) = %s, want %s", got, base)
	}
}

// sleeps records the delays the decorator asked for.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func TestDelaysAreJitteredWithinBounds(t *testing.T) {
	var sl sleeps
	f := faulty.New(mem.New(mem.Options{}), faulty.Rule{Op: faulty.OpStat})
	r := retry.New(f, retry.Options{MaxAttempts: 8, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, Sleep: sl.sleep})
	for range 50 {
		if _, err := r.Stat(t.Context(), "k"); !errors.Is(err, faulty.ErrInjected) {
			t.Fatalf("Stat = %v, want the injected error", err)
		}
	}
	if len(sl.d) != 50*7 {
		t.Fatalf("%d sleeps, want %d (7 retries per call)", len(sl.d), 50*7)
	}
	distinct := map[time.Duration]bool{}
	for i, d := range sl.d {
		n := i%7 + 1
		if hi := retry.Backoff(100*time.Millisecond, time.Second, n); d < 0 || d > hi {
			t.Errorf("delay before retry %d = %s, want within [0, %s]", n, d, hi)
		}
		distinct[d] = true
	}
	if len(distinct) < 100 {
		t.Errorf("only %d distinct delays out of %d: not jittered", len(distinct), len(sl.d))
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	f := faulty.New(mem.New(mem.Options{}), faulty.Rule{Op: faulty.OpGet})
	r := retry.New(f, retry.Options{MaxAttempts: 4, Sleep: noSleep})
	err := r.Get(t.Context(), "k", 0, -1, func(io.Reader) error { return nil })
	if !errors.Is(err, providers.ErrTransient) || !strings.Contains(err.Error(), "4 attempts") {
		t.Errorf("Get = %v, want the transient error after 4 attempts", err)
	}
	if n := f.Count(faulty.OpGet, ""); n != 4 {
		t.Errorf("%d Get calls, want 4", n)
	}
}

func TestNonRetryableErrorsAreNotRetried(t *testing.T) {
	for _, sentinel := range []error{providers.ErrNotFound, providers.ErrPermission, providers.ErrInvalidRange, errors.New("plain")} {
		f := faulty.New(mem.New(mem.Options{}), faulty.Rule{Err: fmt.Errorf("injected: %w", sentinel)})
		r := retry.New(f, retry.Options{Sleep: noSleep})
		if err := r.Delete(t.Context(), "k"); !errors.Is(err, sentinel) {
			t.Errorf("Delete = %v, want %v", err, sentinel)
		}
		if n := f.Count("", ""); n != 1 {
			t.Errorf("%v: %d calls, want 1 (no retry)", sentinel, n)
		}
	}
	// A missing object is reported at once, not after five attempts.
	f := faulty.New(mem.New(mem.Options{}))
	r := retry.New(f, retry.Options{Sleep: noSleep})
	if _, err := r.Stat(t.Context(), "missing"); !errors.Is(err, providers.ErrNotFound) || f.Count(faulty.OpStat, "") != 1 {
		t.Errorf("Stat of a missing key = %v after %d calls, want ErrNotFound after 1", err, f.Count(faulty.OpStat, ""))
	}
}

func TestContextCancelledWhileWaiting(t *testing.T) {
	f := faulty.New(mem.New(mem.Options{}), faulty.Rule{Op: faulty.OpStat})
	r := retry.New(f, retry.Options{BaseDelay: time.Hour, MaxDelay: time.Hour})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err := r.Stat(ctx, "k")
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, faulty.ErrInjected) {
		t.Errorf("Stat = %v, want both the deadline and the injected error", err)
	}
}

func TestStreamRetriedWhenUnread(t *testing.T) {
	m := mem.New(mem.Options{})
	f := faulty.New(m, faulty.Rule{Op: faulty.OpPut, Times: 2})
	r := retry.New(f, retry.Options{Sleep: noSleep})
	body := bytes.Repeat([]byte("pack"), 1000)
	if err := r.Put(t.Context(), "packs/p", providers.Stream(bytes.NewReader(body), -1), providers.PutOptions{}); err != nil {
		t.Fatalf("Put of an unread stream after 2 failures: %v", err)
	}
	if n := f.Count(faulty.OpPut, ""); n != 3 {
		t.Errorf("%d Put calls, want 3", n)
	}
	checkObject(t, m, "packs/p", body)
}

func TestStreamNotRetriedOnceRead(t *testing.T) {
	m := mem.New(mem.Options{})
	f := faulty.New(m, faulty.Rule{Op: faulty.OpPut, Action: faulty.FailPayload, Bytes: 100})
	r := retry.New(f, retry.Options{Sleep: noSleep})
	err := r.Put(t.Context(), "packs/p", providers.Stream(bytes.NewReader(make([]byte, 1000)), -1), providers.PutOptions{})
	if !errors.Is(err, providers.ErrPayloadConsumed) || !errors.Is(err, faulty.ErrInjected) {
		t.Fatalf("Put whose stream failed after 100 bytes = %v, want ErrPayloadConsumed and the original error", err)
	}
	if retry.Retryable(err) {
		t.Error("the consumed-payload error is Retryable")
	}
	if n := f.Count(faulty.OpPut, ""); n != 1 {
		t.Errorf("%d Put calls, want 1", n)
	}
	// The same failure with a replayable payload is retried.
	f.ClearRules()
	f.AddRule(faulty.Rule{Op: faulty.OpPut, Action: faulty.FailPayload, Bytes: 100, Times: 1})
	if err := r.Put(t.Context(), "packs/q", providers.Bytes(make([]byte, 1000)), providers.PutOptions{}); err != nil {
		t.Fatalf("Put of replayable bytes after a failure half-way: %v", err)
	}
	checkObject(t, m, "packs/q", make([]byte, 1000))
}

func TestIfNotExistsAfterLostResponse(t *testing.T) {
	m := mem.New(mem.Options{})
	// The first attempt stores the object but its response is lost.
	f := faulty.New(m, faulty.Rule{Op: faulty.OpPut, Action: faulty.FailAfter, Times: 1})
	r := retry.New(f, retry.Options{Sleep: noSleep})
	err := r.Put(t.Context(), "config", providers.Bytes([]byte("mine")), providers.PutOptions{IfNotExists: true})
	if !errors.Is(err, providers.ErrAlreadyExists) {
		t.Fatalf("Put = %v, want ErrAlreadyExists (the caller decides whether it was ours)", err)
	}
	if !strings.Contains(err.Error(), "may have created") {
		t.Errorf("error %q does not mention the earlier attempt", err)
	}
	checkObject(t, m, "config", []byte("mine"))
}

func TestGetRerunsFn(t *testing.T) {
	m := mem.New(mem.Options{})
	body := []byte("0123456789")
	if err := m.Put(t.Context(), "k", providers.Bytes(body), providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	f := faulty.New(m, faulty.Rule{Op: faulty.OpGet, Action: faulty.Truncate, Bytes: 4, Times: 1})
	r := retry.New(f, retry.Options{Sleep: noSleep})
	calls := 0
	var got []byte
	err := r.Get(t.Context(), "k", 0, -1, func(rd io.Reader) error {
		calls++
		var err error
		got, err = io.ReadAll(rd)
		return err
	})
	if err != nil || !bytes.Equal(got, body) || calls != 2 {
		t.Errorf("Get = %q, %v after %d fn calls; want %q, nil after 2", got, err, calls, body)
	}
}

func TestListResumesAfterLastKey(t *testing.T) {
	m := mem.New(mem.Options{ListPageSize: 2})
	var want []providers.Key
	for i := range 10 {
		k := providers.Key(fmt.Sprintf("idx/%02d", i))
		want = append(want, k)
		if err := m.Put(t.Context(), k, providers.Bytes(nil), providers.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	f := faulty.New(m,
		faulty.Rule{Op: faulty.OpList, Nth: 1, Action: faulty.Truncate, Bytes: 3},
		faulty.Rule{Op: faulty.OpList, Nth: 2, Action: faulty.Truncate, Bytes: 6},
	)
	r := retry.New(f, retry.Options{Sleep: noSleep})
	var got []providers.Key
	if err := r.List(t.Context(), "idx/", func(oi providers.ObjectInfo) error { got = append(got, oi.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("List = %v, want %v (each key once, in order)", got, want)
	}
	if n := f.Count(faulty.OpList, ""); n != 3 {
		t.Errorf("%d List calls, want 3", n)
	}
}

func TestListFnErrorNotRetried(t *testing.T) {
	m := mem.New(mem.Options{})
	if err := m.Put(t.Context(), "a", providers.Bytes(nil), providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	f := faulty.New(m)
	r := retry.New(f, retry.Options{Sleep: noSleep})
	errFn := fmt.Errorf("fn: %w", providers.ErrTransient)
	if err := r.List(t.Context(), "", func(providers.ObjectInfo) error { return errFn }); err != errFn {
		t.Errorf("List = %v, want fn's own error, unchanged", err)
	}
	if n := f.Count(faulty.OpList, ""); n != 1 {
		t.Errorf("%d List calls, want 1", n)
	}
}

func TestLogsEachRetry(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := faulty.New(mem.New(mem.Options{}), faulty.Rule{Op: faulty.OpDelete, Times: 2})
	r := retry.New(f, retry.Options{Logger: log, Sleep: noSleep})
	if err := r.Delete(t.Context(), "locks/x"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log records, want 2:\n%s", len(lines), buf.String())
	}
	for i, l := range lines {
		for _, want := range []string{`"level":"DEBUG"`, `"key":"locks/x"`, fmt.Sprintf(`"attempt":%d`, i+1), `"err":"delete locks/x: faulty: injected failure`} {
			if !strings.Contains(l, want) {
				t.Errorf("log record %s lacks %s", l, want)
			}
		}
	}
}

func TestUnwrapAndProperties(t *testing.T) {
	m := mem.New(mem.Options{ListPageSize: 3})
	r := retry.New(m, retry.Options{})
	if r.Unwrap() != providers.Storage(m) {
		t.Error("Unwrap does not return the wrapped storage")
	}
	if r.Properties() != m.Properties() {
		t.Error("Properties differ from the wrapped storage's")
	}
}

func checkObject(t *testing.T, s providers.Storage, key providers.Key, want []byte) {
	t.Helper()
	var got []byte
	err := s.Get(t.Context(), key, 0, -1, func(r io.Reader) error {
		var err error
		got, err = io.ReadAll(r)
		return err
	})
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %d bytes, %v; want %d bytes", key, len(got), err, len(want))
	}
}
