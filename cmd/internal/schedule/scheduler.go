package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/cassette-backup/cassette/cmd/internal/fileerr"
)

// Defaults of Options.
const (
	DefaultMaxRunning   = 2
	DefaultAbandonAfter = time.Minute
	// maxCount bounds how many missed times are counted one by one.
	maxCount = 10000
)

// Reasons recorded with missed runs.
const (
	reasonDown    = "cassette was not running"
	reasonBusy    = "a run of this schedule was already waiting for the previous one to finish"
	reasonLate    = "cassette woke up late (the machine was suspended or the clock jumped)"
	reasonStopped = "cassette stopped before the waiting run could start"
)

// Options configure a Scheduler.
type Options struct {
	// Schedules to run; disabled ones are kept in the state and status
	// but never start.
	Schedules []Schedule
	// Run runs one scheduled operation.
	Run Runner
	// StatePath is the state file (StatePath(cacheDir, node)); "" keeps
	// the state in memory.
	StatePath string
	// Node is recorded in the state.
	Node string
	// Clock is RealClock when nil.
	Clock Clock
	// Log receives what the scheduler does; nil discards.
	Log *slog.Logger
	// MaxRunning bounds the runs in progress at once, over every schedule
	// (DefaultMaxRunning when 0).
	MaxRunning int
	// ShutdownGrace is how long running runs may go on once the context
	// given to Run is cancelled; then their context is cancelled. 0
	// cancels them at once.
	ShutdownGrace time.Duration
	// AbandonAfter bounds the wait for runs to return once their context
	// is cancelled (DefaultAbandonAfter when 0).
	AbandonAfter time.Duration
}

// Scheduler starts runs at their scheduled times. Create it with New and
// start it with Run; Status may be called at any time.
type Scheduler struct {
	o       Options
	clock   Clock
	log     *slog.Logger
	entries []*entry

	runCtx     context.Context
	cancelRuns context.CancelFunc
	done       chan runDone
	abort      chan struct{}
	abortOnce  sync.Once
	// stopping is closed when shutdown begins: runs finish their current
	// work early and cleanly (a backup completes the packs it has open).
	stopping     chan struct{}
	stoppingOnce sync.Once
	// kick wakes the loop after a schedule changed at runtime (Put,
	// SetDisabled, Remove), so that it sleeps until the right time.
	kick chan struct{}

	mu          sync.Mutex // guards state
	state       *State
	inflight    int
	interrupted int
	saveErr     bool
	// started is set once Run has settled the state (startup): schedules
	// changed after it are given their next time at once.
	started bool
}

// entry is a schedule's place in the loop (guarded by Scheduler.mu: the
// loop and the runtime changes of scheduler_edit.go both use it).
type entry struct {
	sch     Schedule
	next    time.Time // the next scheduled time not yet due
	pending time.Time // a due time whose run has not started
	running int
}

type runDone struct {
	e   *entry
	run Run
	res Result
	err error
}

// New prepares a scheduler, reading the state file when there is one. A
// state file that cannot be read is an error matching ErrBadState.
func New(o Options) (*Scheduler, error) {
	if o.Run == nil {
		return nil, errors.New("schedule: Options.Run is nil")
	}
	if o.Clock == nil {
		o.Clock = RealClock{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxRunning <= 0 {
		o.MaxRunning = DefaultMaxRunning
	}
	if o.AbandonAfter <= 0 {
		o.AbandonAfter = DefaultAbandonAfter
	}
	st := &State{Format: StateFormat, Schedules: map[string]*ScheduleState{}}
	if o.StatePath != "" {
		var err error
		if st, err = LoadState(o.StatePath); err != nil {
			return nil, err
		}
	}
	st.Format, st.Node = StateFormat, o.Node
	s := &Scheduler{o: o, clock: o.Clock, log: o.Log, state: st,
		done: make(chan runDone, o.MaxRunning), abort: make(chan struct{}), stopping: make(chan struct{}), kick: make(chan struct{}, 1)}
	s.runCtx, s.cancelRuns = context.WithCancel(context.Background())
	for _, sch := range o.Schedules {
		s.entries = append(s.entries, &entry{sch: sch})
	}
	return s, nil
}

// Stopping is closed when the scheduler starts shutting down; a run should
// then stop at its next clean point instead of using the whole grace.
func (s *Scheduler) Stopping() <-chan struct{} { return s.stopping }

// Status returns a copy of the state as it is now.
func (s *Scheduler) Status() *State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.clone()
}

// Abort stops at once: Run returns without a shutdown grace, cancelling the
// running runs (for a second interrupt).
func (s *Scheduler) Abort() {
	s.abortOnce.Do(func() { close(s.abort) })
}

// Run starts runs at their times until ctx is cancelled, then lets running
// runs finish within Options.ShutdownGrace, cancels them after it, records
// their results and returns. It returns nil when every run finished on its
// own, and an error matching ErrInterrupted (and context.Canceled) when runs
// had to be cancelled.
func (s *Scheduler) Run(ctx context.Context) error {
	defer s.cancelRuns()
	s.startup(s.now())
	for {
		now := s.now()
		s.mu.Lock()
		changed := s.due(now)
		if s.startRunnable(now) {
			changed = true
		}
		if changed {
			s.save(now)
		}
		wake := s.wake()
		s.mu.Unlock()
		var timer <-chan time.Time
		stop := func() {}
		if !wake.IsZero() {
			timer, stop = s.clock.At(wake)
		}
		select {
		case <-ctx.Done():
			stop()
			return s.shutdown(false)
		case <-s.abort:
			stop()
			return s.shutdown(true)
		case d := <-s.done:
			stop()
			s.finish(d)
		case <-s.kick:
			stop()
		case <-timer:
		}
	}
}

// startup settles what happened while no scheduler ran: runs left running
// by a dead process, waiting runs, and scheduled times that passed.
func (s *Scheduler) startup(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.entries {
		ss := s.record(e)
		for _, r := range ss.Running {
			r.Status, r.Interrupted = StatusFailed, true
			r.Error = "interrupted: cassette stopped during the run (found when it started again)"
			s.log.Warn("a scheduled run was interrupted: cassette stopped during it", "schedule", e.sch.Name, "scheduled", r.Scheduled, "backup", r.Backup)
			ss.LastResult = &r
		}
		ss.Running = nil
		waiting := ss.Waiting
		ss.Waiting = time.Time{}
		if e.sch.Disabled {
			ss.NextSchedule = time.Time{}
			continue
		}
		from := ss.NextSchedule
		if from.IsZero() && !ss.LastExecution.IsZero() {
			from = e.sch.Next(ss.LastExecution)
		}
		n, last, atLeast := 0, time.Time{}, false
		if !from.IsZero() && !from.After(now) {
			n, last, atLeast = countSlots(e.sch, from, now)
		}
		first := from
		if !waiting.IsZero() {
			first, n = waiting, n+1
			if last.IsZero() {
				last = waiting
			}
		}
		e.next = e.sch.Next(now)
		ss.NextSchedule = e.next
		if n > 0 {
			s.addMissed(e, first, last, n, atLeast, reasonDown, now)
			s.log.Warn("scheduled runs were missed while cassette was not running; they are not run late",
				"schedule", e.sch.Name, "missed", n, "first", first, "last", last, "next", e.next)
		}
		if e.next.IsZero() {
			s.log.Warn("schedule never fires again", "schedule", e.sch.Name, "cron", e.sch.Cron)
		}
	}
	s.started = true
	s.save(now)
}

// record copies e's schedule into its state record, for `schedule status`
// without the schedules file, and returns the record.
func (s *Scheduler) record(e *entry) *ScheduleState {
	ss := s.state.get(e.sch.Name)
	ss.CronSchedule, ss.OperationType, ss.Disabled = e.sch.Cron, e.sch.Operation, e.sch.Disabled
	ss.BackupType = ""
	if e.sch.Operation == OpBackup {
		ss.BackupType = e.sch.BackupType
	}
	return ss
}

// countSlots counts the scheduled times from (itself one) to to.
func countSlots(sch Schedule, from, to time.Time) (n int, last time.Time, atLeast bool) {
	for t := from; !t.IsZero() && !t.After(to); t = sch.Next(t) {
		n, last = n+1, t
		if n >= maxCount {
			return n, last, true
		}
	}
	return n, last, false
}

// due moves the schedules whose time has come to pending, recording the
// times that cannot run as missed. It returns whether the state changed.
func (s *Scheduler) due(now time.Time) bool {
	changed := false
	for _, e := range s.entries {
		if e.sch.Disabled || e.next.IsZero() || e.next.After(now) {
			continue
		}
		changed = true
		fresh := e.pending.IsZero()
		if fresh {
			e.pending = e.next
			e.next = e.sch.Next(e.next)
		}
		reason := reasonBusy
		if fresh {
			reason = reasonLate
		}
		if !e.next.IsZero() && !e.next.After(now) {
			n, last, atLeast := countSlots(e.sch, e.next, now)
			s.addMissed(e, e.next, last, n, atLeast, reason, now)
			s.log.Warn("scheduled run skipped: "+reason, "schedule", e.sch.Name, "missed", n, "first", e.next, "last", last, "waiting", e.pending)
			e.next = e.sch.Next(now)
		}
		s.state.get(e.sch.Name).NextSchedule = e.next
	}
	return changed
}

// startRunnable starts the pending runs that may start, earliest first.
func (s *Scheduler) startRunnable(now time.Time) bool {
	var ready []*entry
	for _, e := range s.entries {
		if !e.pending.IsZero() {
			ready = append(ready, e)
		}
	}
	sort.SliceStable(ready, func(i, j int) bool { return ready[i].pending.Before(ready[j].pending) })
	started := false
	for _, e := range ready {
		ss := s.state.get(e.sch.Name)
		busy := e.sch.Concurrency == Forbid && e.running > 0
		if busy || s.inflight >= s.o.MaxRunning {
			if !ss.Waiting.Equal(e.pending) {
				ss.Waiting, started = e.pending, true
				why := "the previous run of its schedule (concurrencyPolicy Forbid)"
				if !busy {
					why = fmt.Sprintf("a free slot (%d runs at most at once)", s.o.MaxRunning)
				}
				s.log.Info("scheduled run waits for "+why, "schedule", e.sch.Name, "scheduled", e.pending)
			}
			continue
		}
		s.start(e, now)
		started = true
	}
	return started
}

func (s *Scheduler) start(e *entry, now time.Time) {
	slot := e.pending
	e.pending = time.Time{}
	run := Run{Scheduled: slot, Started: now}
	if e.sch.Operation == OpBackup {
		run.Backup = e.sch.BackupName(slot)
	}
	ss := s.state.get(e.sch.Name)
	ss.Waiting = time.Time{}
	ss.LastExecution = slot
	ss.Running = append(ss.Running, run)
	e.running++
	s.inflight++
	s.log.Info("scheduled run starts", "schedule", e.sch.Name, "operation", e.sch.Operation, "scheduled", slot, "backup", run.Backup)
	sch, ctx := e.sch, s.runCtx
	go func() {
		res, err := s.o.Run(ctx, sch, slot)
		s.done <- runDone{e: e, run: run, res: res, err: err}
	}()
}

// finish records a run that returned.
func (s *Scheduler) finish(d runDone) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	d.e.running--
	s.inflight--
	ss := s.state.get(d.e.sch.Name)
	ss.Running = removeRun(ss.Running, d.run.Scheduled)
	r := d.run
	r.Finished = now
	if d.res.Backup != "" {
		r.Backup = d.res.Backup
	}
	r.Summary = d.res.Summary
	attrs := []any{"schedule", d.e.sch.Name, "scheduled", r.Scheduled, "backup", r.Backup, "duration", now.Sub(r.Started)}
	if d.err == nil {
		r.Status = StatusSuccess
		s.log.Info("scheduled run finished", append(attrs, "summary", r.Summary)...)
	} else {
		r.Status, r.Error = StatusFailed, fileerr.OneLine(d.err.Error())
		if s.runCtx.Err() != nil {
			r.Interrupted = true
			r.Error = "interrupted: cassette stopped before the run finished: " + r.Error
			s.interrupted++
		}
		s.log.Error("scheduled run failed", append(attrs, "err", r.Error)...)
	}
	// Overlapping runs (Allow) may finish out of order: the status keeps
	// the result of the latest scheduled time.
	if ss.LastResult == nil || !r.Scheduled.Before(ss.LastResult.Scheduled) {
		ss.LastResult = &r
	}
	s.save(now)
}

func removeRun(runs []Run, scheduled time.Time) []Run {
	for i, r := range runs {
		if r.Scheduled.Equal(scheduled) {
			return append(runs[:i:i], runs[i+1:]...)
		}
	}
	return runs
}

// wake is the earliest time the loop must look again.
func (s *Scheduler) wake() time.Time {
	var w time.Time
	for _, e := range s.entries {
		if !e.sch.Disabled && !e.next.IsZero() && (w.IsZero() || e.next.Before(w)) {
			w = e.next
		}
	}
	return w
}

// addMissed records n missed times, extending the last record when these
// continue it.
func (s *Scheduler) addMissed(e *entry, first, last time.Time, n int, atLeast bool, reason string, now time.Time) {
	ss := s.state.get(e.sch.Name)
	ss.MissedTotal += n
	if m := ss.Missed; m != nil && m.Reason == reason && !m.AtLeast && e.sch.Next(m.Last).Equal(first) {
		m.Count += n
		m.Last, m.AtLeast, m.Noticed = last, atLeast, now
		return
	}
	ss.Missed = &Missed{Count: n, AtLeast: atLeast, First: first, Last: last, Reason: reason, Noticed: now}
}

// now is the clock's time in UTC, without a monotonic reading: what the
// state records.
func (s *Scheduler) now() time.Time { return s.clock.Now().UTC() }

// save writes the state file; a failure is logged (once until a save
// works again), never fatal: the runs matter more than their record.
func (s *Scheduler) save(now time.Time) {
	s.state.Updated = now
	if s.o.StatePath == "" {
		return
	}
	if err := SaveState(s.o.StatePath, s.state); err != nil {
		if !s.saveErr {
			s.log.Error("cannot save the schedule state; runs go on, `cassette schedule status` shows older data", "err", err)
		}
		s.saveErr = true
		return
	}
	s.saveErr = false
}
