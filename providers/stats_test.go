package providers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

func TestCounters(t *testing.T) {
	var c Counters
	for _, k := range []RequestKind{RequestPut, RequestPut, RequestGet, RequestHead, RequestList, RequestDelete, RequestOther, RequestKind(99)} {
		c.Request(k)
	}
	c.Up(10)
	c.Down(7)
	got := c.Snapshot()
	want := Stats{Puts: 2, Gets: 1, Heads: 1, Lists: 1, Deletes: 1, Others: 2, BytesUp: 10, BytesDown: 7}
	if got != want {
		t.Fatalf("Snapshot = %+v, want %+v", got, want)
	}
	if got.Requests() != 8 {
		t.Errorf("Requests = %d, want 8", got.Requests())
	}
	c.Request(RequestGet)
	if d := c.Snapshot().Sub(got); d != (Stats{Gets: 1}) {
		t.Errorf("Sub = %+v, want one Get", d)
	}
}

func TestDeleteBatches(t *testing.T) {
	keys := make([]Key, 25)
	for i := range keys {
		keys[i] = Key(fmt.Sprintf("k%02d", i))
	}
	var (
		mu            sync.Mutex
		seen          []Key
		running, peak atomic.Int64
		calls         atomic.Int64
	)
	boom := errors.New("boom")
	err := DeleteBatches(context.Background(), keys, 10, 2, func(_ context.Context, ks []Key) error {
		n := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		calls.Add(1)
		if len(ks) > 10 {
			t.Errorf("batch of %d keys, want at most 10", len(ks))
		}
		mu.Lock()
		seen = append(seen, ks...)
		mu.Unlock()
		if ks[0] == "k20" {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || calls.Load() != 3 || len(seen) != 25 || peak.Load() > 2 {
		t.Errorf("DeleteBatches = %v after %d calls over %d keys, peak %d; want boom, 3 calls, 25 keys, at most 2 at once",
			err, calls.Load(), len(seen), peak.Load())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = DeleteBatches(ctx, keys, 1, 4, func(context.Context, []Key) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("DeleteBatches with a cancelled context = %v, want context.Canceled", err)
	}
}
