package faulty_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/faulty"
	"github.com/cassette-backup/cassette/providers/mem"
	"github.com/cassette-backup/cassette/providers/providertest"
)

func TestConformanceWithoutRules(t *testing.T) {
	providertest.Run(t, func(t *testing.T) providers.Storage {
		return faulty.New(mem.New(mem.Options{ListPageSize: 7}))
	})
}

// TestConformanceWithDelays checks delay rules change nothing but timing.
func TestConformanceWithDelays(t *testing.T) {
	providertest.Run(t, func(t *testing.T) providers.Storage {
		return faulty.New(mem.New(mem.Options{ListPageSize: 7}),
			faulty.Rule{Action: faulty.Delay, Delay: time.Microsecond, Every: 5})
	})
}

var noOpts providers.PutOptions

func newStore(t *testing.T, rules ...faulty.Rule) (*faulty.Storage, *mem.Storage) {
	t.Helper()
	m := mem.New(mem.Options{})
	return faulty.New(m, rules...), m
}

func putN(t *testing.T, s providers.Storage, n int) []error {
	t.Helper()
	errs := make([]error, n)
	for i := range errs {
		errs[i] = s.Put(t.Context(), providers.Key(fmt.Sprintf("k/%d", i)), providers.Bytes([]byte("x")), noOpts)
	}
	return errs
}

// failed returns the 1-based indexes of the calls that failed.
func failed(errs []error) []int {
	var out []int
	for i, err := range errs {
		if err != nil {
			out = append(out, i+1)
		}
	}
	return out
}

func TestWhichCallsFail(t *testing.T) {
	cases := []struct {
		name string
		rule faulty.Rule
		want string
	}{
		{"Nth", faulty.Rule{Nth: 3}, "[3]"},
		{"After", faulty.Rule{After: 4}, "[5 6 7 8]"},
		{"Every", faulty.Rule{Every: 3}, "[3 6]"},
		{"AfterEvery", faulty.Rule{After: 1, Every: 2}, "[3 5 7]"},
		{"Times", faulty.Rule{After: 2, Times: 2}, "[3 4]"},
		{"All", faulty.Rule{}, "[1 2 3 4 5 6 7 8]"},
		{"OtherOp", faulty.Rule{Op: faulty.OpGet}, "[]"},
		{"OtherPrefix", faulty.Rule{KeyPrefix: "packs/"}, "[]"},
		{"MatchingPrefix", faulty.Rule{Op: faulty.OpPut, KeyPrefix: "k/", Nth: 2}, "[2]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, _ := newStore(t, c.rule)
			errs := putN(t, f, 8)
			if got := fmt.Sprint(failed(errs)); got != c.want {
				t.Errorf("failed calls = %s, want %s", got, c.want)
			}
			for _, err := range errs {
				if err != nil && (!errors.Is(err, faulty.ErrInjected) || !errors.Is(err, providers.ErrTransient)) {
					t.Errorf("default error %v does not wrap ErrInjected and ErrTransient", err)
				}
			}
		})
	}
}

func TestFailDoesNotCallThrough(t *testing.T) {
	f, m := newStore(t, faulty.Rule{Op: faulty.OpPut, Err: providers.ErrPermission})
	err := f.Put(t.Context(), "a", providers.Bytes([]byte("x")), noOpts)
	if !errors.Is(err, providers.ErrPermission) {
		t.Fatalf("Put = %v, want the rule's error", err)
	}
	if _, err := m.Stat(t.Context(), "a"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("a failed Put reached the wrapped storage: %v", err)
	}
}

func TestFailAfterCallsThrough(t *testing.T) {
	f, m := newStore(t, faulty.Rule{Op: faulty.OpPut, Action: faulty.FailAfter})
	if err := f.Put(t.Context(), "a", providers.Bytes([]byte("x")), noOpts); !errors.Is(err, faulty.ErrInjected) {
		t.Fatalf("Put = %v, want the injected error", err)
	}
	if _, err := m.Stat(t.Context(), "a"); err != nil {
		t.Errorf("a lost-response Put did not store the object: %v", err)
	}
}

func TestDelay(t *testing.T) {
	f, _ := newStore(t, faulty.Rule{Op: faulty.OpStat, Action: faulty.Delay, Delay: 30 * time.Millisecond})
	start := time.Now()
	if _, err := f.Stat(t.Context(), "a"); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("Stat = %v, want the wrapped storage's ErrNotFound", err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("Stat returned after %s, want a 30ms delay", d)
	}
	f.ClearRules()
	f.AddRule(faulty.Rule{Action: faulty.Delay, Delay: time.Hour})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if _, err := f.Stat(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stat delayed past its deadline = %v, want DeadlineExceeded", err)
	}
}

func TestFailPayload(t *testing.T) {
	for _, p := range []struct {
		name    string
		payload func([]byte) providers.Payload
	}{
		{"Bytes", providers.Bytes},
		{"Stream", func(b []byte) providers.Payload { return providers.Stream(bytes.NewReader(b), -1) }},
	} {
		t.Run(p.name, func(t *testing.T) {
			f, m := newStore(t, faulty.Rule{Op: faulty.OpPut, Action: faulty.FailPayload, Bytes: 100})
			err := f.Put(t.Context(), "a", p.payload(make([]byte, 1000)), noOpts)
			if !errors.Is(err, faulty.ErrInjected) {
				t.Fatalf("Put = %v, want the injected error from the payload", err)
			}
			if _, err := m.Stat(t.Context(), "a"); !errors.Is(err, providers.ErrNotFound) {
				t.Errorf("a Put whose payload failed stored something: %v", err)
			}
		})
	}
	// A payload shorter than the failure point is stored whole.
	f, m := newStore(t, faulty.Rule{Op: faulty.OpPut, Action: faulty.FailPayload, Bytes: 100})
	if err := f.Put(t.Context(), "short", providers.Bytes(make([]byte, 50)), noOpts); err != nil {
		t.Fatalf("Put of 50 bytes with a failure at 100: %v", err)
	}
	if oi, err := m.Stat(t.Context(), "short"); err != nil || oi.Size != 50 {
		t.Errorf("Stat = %+v, %v", oi, err)
	}
}

func readAll(f providers.Storage, ctx context.Context, key providers.Key, offset, length int64) ([]byte, error) {
	var got []byte
	err := f.Get(ctx, key, offset, length, func(r io.Reader) error {
		var err error
		got, err = io.ReadAll(r)
		return err
	})
	return got, err
}

func TestTruncateAndCorruptReads(t *testing.T) {
	body := []byte("0123456789abcdef")
	f, m := newStore(t)
	if err := m.Put(t.Context(), "obj", providers.Bytes(body), noOpts); err != nil {
		t.Fatal(err)
	}
	f.AddRule(faulty.Rule{Op: faulty.OpGet, Nth: 1, Action: faulty.Truncate, Bytes: 5})
	got, err := readAll(f, t.Context(), "obj", 0, -1)
	if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, providers.ErrTransient) || string(got) != "01234" {
		t.Errorf("truncated Get = %q, %v; want %q and an unexpected-EOF transient error", got, err, "01234")
	}
	f.ClearRules()
	f.AddRule(faulty.Rule{Op: faulty.OpGet, Action: faulty.Truncate, Bytes: 3, Err: io.EOF})
	if got, err := readAll(f, t.Context(), "obj", 4, 8); err != nil || string(got) != "456" {
		t.Errorf("silently short Get = %q, %v; want %q, nil", got, err, "456")
	}
	f.ClearRules()
	f.AddRule(faulty.Rule{Op: faulty.OpGet, Action: faulty.Corrupt, Bytes: 2})
	got, err = readAll(f, t.Context(), "obj", 4, 8)
	want := []byte("456789ab")
	want[2] ^= 0xff
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("corrupted Get = %q, %v; want %q", got, err, want)
	}
	if stored, _ := readAll(m, t.Context(), "obj", 0, -1); !bytes.Equal(stored, body) {
		t.Error("Corrupt altered the stored object")
	}
}

func TestTruncateList(t *testing.T) {
	f, m := newStore(t, faulty.Rule{Op: faulty.OpList, Action: faulty.Truncate, Bytes: 2})
	putN(t, m, 5)
	n := 0
	err := f.List(t.Context(), "k/", func(providers.ObjectInfo) error { n++; return nil })
	if !errors.Is(err, faulty.ErrInjected) || n != 2 {
		t.Errorf("truncated List = %v after %d objects, want the injected error after 2", err, n)
	}
	errFn := errors.New("fn")
	if err := f.List(t.Context(), "k/", func(providers.ObjectInfo) error { return errFn }); err != errFn {
		t.Errorf("List whose fn fails first = %v, want fn's error", err)
	}
}

func TestCountsAndCalls(t *testing.T) {
	f, _ := newStore(t, faulty.Rule{Op: faulty.OpPut, KeyPrefix: "packs/", Nth: 1})
	ctx := t.Context()
	_ = f.Put(ctx, "packs/aa/1", providers.Bytes(nil), noOpts)
	_ = f.Put(ctx, "packs/aa/2", providers.Bytes(nil), noOpts)
	_ = f.Put(ctx, "index/1", providers.Bytes(nil), noOpts)
	_, _ = f.Stat(ctx, "packs/aa/2")
	_ = f.List(ctx, "packs/", func(providers.ObjectInfo) error { return nil })
	_ = f.DeleteMany(ctx, []providers.Key{"index/1", "packs/aa/1"})
	_ = f.Delete(ctx, "index/1")
	checks := []struct {
		op     faulty.Op
		prefix string
		want   int
	}{
		{faulty.OpPut, "packs/", 2},
		{faulty.OpPut, "", 3},
		{faulty.OpPut, "index/", 1},
		{faulty.OpStat, "", 1},
		{faulty.OpList, "packs/", 1},
		{faulty.OpDeleteMany, "packs/", 1},
		{faulty.OpDeleteMany, "config", 0},
		{faulty.OpDelete, "index/", 1},
		{"", "", 7},
		{"", "packs/", 5},
	}
	for _, c := range checks {
		if got := f.Count(c.op, c.prefix); got != c.want {
			t.Errorf("Count(%q, %q) = %d, want %d", c.op, c.prefix, got, c.want)
		}
	}
	if calls := f.Calls(); len(calls) != 7 || calls[0].Key != "packs/aa/1" || len(calls[5].Keys) != 2 {
		t.Errorf("Calls = %+v", calls)
	}
	if f.Injected() != 1 {
		t.Errorf("Injected = %d, want 1", f.Injected())
	}
	f.ResetCalls()
	if f.Count("", "") != 0 {
		t.Error("ResetCalls kept calls")
	}
}

func TestConcurrentRules(t *testing.T) {
	f, _ := newStore(t, faulty.Rule{Op: faulty.OpPut, Every: 2})
	var wg sync.WaitGroup
	var mu sync.Mutex
	fails := 0
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				err := f.Put(t.Context(), providers.Key(fmt.Sprintf("w%d/%d", w, i)), providers.Bytes([]byte("x")), noOpts)
				if err != nil {
					mu.Lock()
					fails++
					mu.Unlock()
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			f.AddRule(faulty.Rule{Op: faulty.OpGet})
			_ = f.Calls()
		}
	})
	wg.Wait()
	if fails != 200 || f.Injected() != 200 || f.Count(faulty.OpPut, "") != 400 {
		t.Errorf("fails = %d, injected = %d, puts = %d; want 200, 200, 400", fails, f.Injected(), f.Count(faulty.OpPut, ""))
	}
}

func TestUnwrap(t *testing.T) {
	f, m := newStore(t)
	if f.Unwrap() != providers.Storage(m) {
		t.Error("Unwrap does not return the wrapped storage")
	}
	if f.Properties() != m.Properties() {
		t.Error("Properties differ from the wrapped storage's")
	}
}
