package schedule

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Clock is the scheduler's time: the wall clock in production, a FakeClock
// in tests.
type Clock interface {
	Now() time.Time
	// At returns a channel that receives once the clock has reached t, and
	// a function that releases the timer. It may fire early: the scheduler
	// looks at Now again whenever it wakes.
	At(t time.Time) (<-chan time.Time, func())
}

// RealClock is the wall clock.
type RealClock struct{}

// realMaxSleep bounds one sleep of RealClock.At, so that a wall-clock jump
// or a suspended machine is noticed within a minute: timers count
// monotonic time, schedules are wall-clock times.
const realMaxSleep = time.Minute

// Now returns the current time.
func (RealClock) Now() time.Time { return time.Now() }

// At fires at t, or after a minute, whichever comes first.
func (RealClock) At(t time.Time) (<-chan time.Time, func()) {
	d := min(max(time.Until(t), 0), realMaxSleep)
	tm := time.NewTimer(d)
	return tm.C, func() { tm.Stop() }
}

// FakeClock is a Clock that moves only when told to, for tests. It is safe
// for concurrent use.
type FakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  map[*fakeTimer]struct{}
	changed chan struct{} // closed and replaced whenever timers change
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

// NewFakeClock returns a FakeClock that reads now.
func NewFakeClock(now time.Time) *FakeClock {
	return &FakeClock{now: now, timers: map[*fakeTimer]struct{}{}, changed: make(chan struct{})}
}

// Now returns the fake time.
func (f *FakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// At registers a timer that fires when the clock is set to t or later.
func (f *FakeClock) At(t time.Time) (<-chan time.Time, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ft := &fakeTimer{at: t, ch: make(chan time.Time, 1)}
	if !t.After(f.now) {
		ft.ch <- f.now
		return ft.ch, func() {}
	}
	f.timers[ft] = struct{}{}
	f.signal()
	return ft.ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.timers[ft]; ok {
			delete(f.timers, ft)
			f.signal()
		}
	}
}

// Set moves the clock to t (backwards too) and fires the timers due.
func (f *FakeClock) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = t
	for ft := range f.timers {
		if !ft.at.After(t) {
			ft.ch <- t
			delete(f.timers, ft)
		}
	}
	f.signal()
}

// Advance moves the clock forward by d.
func (f *FakeClock) Advance(d time.Duration) { f.Set(f.Now().Add(d)) }

// Timers returns the times of the timers waiting, earliest first.
func (f *FakeClock) Timers() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]time.Time, 0, len(f.timers))
	for ft := range f.timers {
		out = append(out, ft.at)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// WaitTimer blocks until a timer for exactly t is waiting (someone sleeps
// until t), or ctx is done.
func (f *FakeClock) WaitTimer(ctx context.Context, t time.Time) error {
	for {
		f.mu.Lock()
		ch := f.changed
		for ft := range f.timers {
			if ft.at.Equal(t) {
				f.mu.Unlock()
				return nil
			}
		}
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (f *FakeClock) signal() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// RunAt drives a scheduler that runs on clock f to time at: it waits until
// the scheduler sleeps until at, sets the clock to it, and returns the run
// of schedule name scheduled at at once it ended (its LastResult). It is
// for tests of what is built on the scheduler; ctx bounds the wait.
func (f *FakeClock) RunAt(ctx context.Context, s *Scheduler, name string, at time.Time) (*Run, error) {
	if err := f.WaitTimer(ctx, at); err != nil {
		return nil, fmt.Errorf("the scheduler never waited for %s: %w", at, err)
	}
	f.Set(at)
	for {
		if ss := s.Status().Schedules[name]; ss != nil && ss.LastResult != nil && ss.LastResult.Scheduled.Equal(at) {
			return ss.LastResult, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no result for %s at %s: %w", name, at, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}
