package retry_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/faulty"
	"github.com/cassette-backup/cassette/providers/mem"
	"github.com/cassette-backup/cassette/providers/providertest"
	"github.com/cassette-backup/cassette/providers/retry"
)

// noSleep makes retries immediate.
func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

func TestConformance(t *testing.T) {
	providertest.Run(t, func(t *testing.T) providers.Storage {
		return retry.New(mem.New(mem.Options{ListPageSize: 7}), retry.Options{Sleep: noSleep})
	})
}

// TestConformanceWithFaults runs the suite through transient failures the
// decorator must hide: failed calls of every kind (before the wrapped
// storage sees them, so payloads stay unread), lost Delete responses and
// Lists that break off part-way.
func TestConformanceWithFaults(t *testing.T) {
	var (
		mu       sync.Mutex // open runs in parallel subtests
		injected []*faulty.Storage
	)
	providertest.Run(t, func(t *testing.T) providers.Storage {
		f := faulty.New(mem.New(mem.Options{ListPageSize: 7}),
			faulty.Rule{Op: faulty.OpPut, Every: 3},
			faulty.Rule{Op: faulty.OpGet, Every: 4},
			faulty.Rule{Op: faulty.OpStat, Every: 3},
			faulty.Rule{Op: faulty.OpDelete, Every: 3, Action: faulty.FailAfter},
			faulty.Rule{Op: faulty.OpDeleteMany, Every: 2},
			faulty.Rule{Op: faulty.OpList, Every: 3, Action: faulty.Truncate, Bytes: 2},
		)
		mu.Lock()
		injected = append(injected, f)
		mu.Unlock()
		return retry.New(f, retry.Options{MaxAttempts: 3, Sleep: noSleep})
	})
	total := 0
	for _, f := range injected {
		total += f.Injected()
	}
	if total < 100 {
		t.Errorf("only %d faults were injected over the suite; the test no longer exercises retries", total)
	}
}
