package schedule

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// t0 is a time between scheduled times: */5 fires at 10:05, 10:10, ...
var t0 = time.Date(2026, 3, 1, 10, 2, 30, 0, time.UTC)

func at(hh, mm int) time.Time { return time.Date(2026, 3, 1, hh, mm, 0, 0, time.UTC) }

func mustSchedule(t *testing.T, name, cron string, mod func(*Schedule)) Schedule {
	t.Helper()
	spec, msg := parseCron(cron)
	if msg != "" {
		t.Fatal(msg)
	}
	s := Schedule{Name: name, Cron: cron, Operation: OpBackup, BackupType: TypeDifferential, Concurrency: Forbid, spec: spec}
	if mod != nil {
		mod(&s)
	}
	return s
}

// call is one invocation of the fake runner.
type call struct {
	sch     Schedule
	at      time.Time
	ctx     context.Context
	release chan error
}

// fakeRunner records runs; when block is set each run waits for its
// release (or for its context).
type fakeRunner struct {
	block   bool
	fail    error
	started chan call

	mu                    sync.Mutex
	inflight, maxInflight int
}

func newFakeRunner(block bool) *fakeRunner {
	return &fakeRunner{block: block, started: make(chan call, 100)}
}

func (f *fakeRunner) run(ctx context.Context, sch Schedule, scheduled time.Time) (Result, error) {
	f.mu.Lock()
	f.inflight++
	f.maxInflight = max(f.maxInflight, f.inflight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inflight--
		f.mu.Unlock()
	}()
	c := call{sch: sch, at: scheduled, ctx: ctx, release: make(chan error, 1)}
	f.started <- c
	res := Result{Summary: "ok"}
	if sch.Operation == OpBackup {
		res.Backup = sch.BackupName(scheduled)
	}
	if !f.block {
		return res, f.fail
	}
	select {
	case err := <-c.release:
		return res, err
	case <-ctx.Done():
		return Result{}, fmt.Errorf("backup aborted, no manifest written: %w", ctx.Err())
	}
}

func (f *fakeRunner) max() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxInflight
}

// rig runs one scheduler on a fake clock.
type rig struct {
	t     *testing.T
	clock *FakeClock
	run   *fakeRunner
	s     *Scheduler
	log   *syncBuffer
	stop  context.CancelFunc
	errc  chan error
	once  sync.Once
	err   error
}

// wait returns what Run returned.
func (r *rig) wait() error {
	r.once.Do(func() { r.err = <-r.errc })
	return r.err
}

func startRig(t *testing.T, now time.Time, o Options, runner *fakeRunner) *rig {
	t.Helper()
	r := &rig{t: t, clock: NewFakeClock(now), run: runner, log: &syncBuffer{}, errc: make(chan error, 1)}
	o.Clock, o.Run = r.clock, runner.run
	o.Log = slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	r.s = s
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	go func() { r.errc <- s.Run(ctx) }()
	t.Cleanup(func() {
		s.Abort()
		cancel()
		r.wait()
	})
	return r
}

// tick waits until the scheduler sleeps until when, then sets the clock to
// it.
func (r *rig) tick(when time.Time) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.clock.WaitTimer(ctx, when); err != nil {
		r.t.Fatalf("the scheduler never waited for %s (timers %v): %v", when.Format(time.TimeOnly), r.clock.Timers(), err)
	}
	r.clock.Set(when)
}

func (r *rig) waitTimer(when time.Time) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.clock.WaitTimer(ctx, when); err != nil {
		r.t.Fatalf("the scheduler never waited for %s (timers %v): %v", when.Format(time.TimeOnly), r.clock.Timers(), err)
	}
}

func (r *rig) nextCall() call {
	r.t.Helper()
	select {
	case c := <-r.run.started:
		return c
	case <-time.After(5 * time.Second):
		r.t.Fatal("no run started")
		return call{}
	}
}

func (r *rig) noCall() {
	r.t.Helper()
	select {
	case c := <-r.run.started:
		r.t.Fatalf("unexpected run of %s scheduled %s", c.sch.Name, c.at)
	default:
	}
}

// eventually waits until cond holds for the scheduler's state.
func (r *rig) eventually(what string, cond func(*State) bool) *State {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := r.s.Status()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: never happened; state %+v", what, dump(st))
		}
		time.Sleep(time.Millisecond)
	}
}

func dump(st *State) string {
	var b strings.Builder
	for name, ss := range st.Schedules {
		fmt.Fprintf(&b, "%s: %+v last=%+v missed=%+v; ", name, *ss, ss.LastResult, ss.Missed)
	}
	return b.String()
}

func finished(name string, scheduled time.Time) func(*State) bool {
	return func(st *State) bool {
		ss := st.Schedules[name]
		return ss != nil && ss.LastResult != nil && ss.LastResult.Scheduled.Equal(scheduled)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunsAtScheduledTimesWithNames(t *testing.T) {
	nightly := mustSchedule(t, "nightly", "*/5 * * * *", nil)
	purge := mustSchedule(t, "purge", "0 11 * * *", func(s *Schedule) { s.Operation = OpPurge })
	r := startRig(t, t0, Options{Schedules: []Schedule{nightly, purge}, Node: "node1"}, newFakeRunner(false))

	r.tick(at(10, 5))
	c := r.nextCall()
	if c.sch.Name != "nightly" || !c.at.Equal(at(10, 5)) {
		t.Fatalf("run %s at %s", c.sch.Name, c.at)
	}
	st := r.eventually("first run recorded", finished("nightly", at(10, 5)))
	ss := st.Schedules["nightly"]
	want := fmt.Sprintf("nightly-%d", at(10, 5).Unix())
	if ss.LastResult.Backup != want || ss.LastResult.Status != StatusSuccess || ss.LastResult.Summary != "ok" {
		t.Fatalf("last result %+v, want backup %s SUCCESS", ss.LastResult, want)
	}
	if !ss.LastExecution.Equal(at(10, 5)) || !ss.NextSchedule.Equal(at(10, 10)) || st.Node != "node1" {
		t.Fatalf("lastExecution %s nextSchedule %s node %q", ss.LastExecution, ss.NextSchedule, st.Node)
	}
	// Every scheduled time runs once, with its own name, also when the
	// clock gets there late.
	for _, m := range []int{10, 15, 20} {
		r.waitTimer(at(10, m))
		r.clock.Set(at(10, m).Add(7 * time.Second))
		if c := r.nextCall(); !c.at.Equal(at(10, m)) {
			t.Fatalf("run for %s, want 10:%d", c.at, m)
		}
		r.eventually("run recorded", finished("nightly", at(10, m)))
	}
	// The purge schedule: a run without a backup name.
	for _, m := range []int{25, 30, 35, 40, 45, 50, 55} {
		r.tick(at(10, m))
		r.nextCall()
	}
	r.tick(at(11, 0))
	got := map[string]time.Time{}
	for range 2 {
		c := r.nextCall()
		got[c.sch.Name] = c.at
	}
	if !got["purge"].Equal(at(11, 0)) || !got["nightly"].Equal(at(11, 0)) {
		t.Fatalf("runs at 11:00: %v", got)
	}
	st = r.eventually("purge recorded", finished("purge", at(11, 0)))
	if lr := st.Schedules["purge"].LastResult; lr.Backup != "" || lr.Status != StatusSuccess {
		t.Fatalf("purge result %+v", lr)
	}
	if st.Schedules["nightly"].Missed != nil {
		t.Fatalf("missed %+v", st.Schedules["nightly"].Missed)
	}
}

func TestFailedRunIsRecorded(t *testing.T) {
	fr := newFakeRunner(false)
	fr.fail = errors.New("list backups: connection refused\nretry later")
	r := startRig(t, t0, Options{Schedules: []Schedule{mustSchedule(t, "nightly", "*/5 * * * *", nil)}}, fr)
	r.tick(at(10, 5))
	r.nextCall()
	st := r.eventually("failure recorded", finished("nightly", at(10, 5)))
	lr := st.Schedules["nightly"].LastResult
	if lr.Status != StatusFailed || lr.Error != "list backups: connection refused retry later" || lr.Interrupted {
		t.Fatalf("%+v", lr)
	}
	if !strings.Contains(r.log.String(), "scheduled run failed") {
		t.Fatal(r.log.String())
	}
	// The schedule goes on.
	r.tick(at(10, 10))
	r.nextCall()
}

func TestForbidWaitsForThePreviousRun(t *testing.T) {
	fr := newFakeRunner(true)
	r := startRig(t, t0, Options{Schedules: []Schedule{mustSchedule(t, "nightly", "*/5 * * * *", nil)}, MaxRunning: 4}, fr)
	r.tick(at(10, 5))
	first := r.nextCall()

	// 10:10 is due while 10:05 still runs: it waits, nothing starts.
	r.tick(at(10, 10))
	r.eventually("10:10 waits", func(st *State) bool { return st.Schedules["nightly"].Waiting.Equal(at(10, 10)) })
	r.noCall()
	// 10:15 and 10:20 pass too: one run waits, these are missed, no
	// queue builds up.
	r.tick(at(10, 15))
	r.tick(at(10, 20))
	st := r.eventually("10:15 and 10:20 missed", func(st *State) bool {
		m := st.Schedules["nightly"].Missed
		return m != nil && m.Count == 2
	})
	m := st.Schedules["nightly"].Missed
	if !m.First.Equal(at(10, 15)) || !m.Last.Equal(at(10, 20)) || m.Reason != reasonBusy {
		t.Fatalf("missed %+v", m)
	}
	if len(st.Schedules["nightly"].Running) != 1 {
		t.Fatalf("running %+v", st.Schedules["nightly"].Running)
	}
	r.noCall()

	// When 10:05 finishes, the waiting 10:10 runs, named for 10:10.
	first.release <- nil
	second := r.nextCall()
	if !second.at.Equal(at(10, 10)) || second.sch.BackupName(second.at) != fmt.Sprintf("nightly-%d", at(10, 10).Unix()) {
		t.Fatalf("second run %s", second.at)
	}
	second.release <- nil
	st = r.eventually("10:10 finished", finished("nightly", at(10, 10)))
	if ss := st.Schedules["nightly"]; !ss.Waiting.IsZero() || len(ss.Running) != 0 || !ss.LastExecution.Equal(at(10, 10)) {
		t.Fatalf("%+v", ss)
	}
	if fr.max() != 1 {
		t.Fatalf("%d runs overlapped under Forbid", fr.max())
	}
	r.noCall()
}

func TestAllowOverlapsUpToMaxRunning(t *testing.T) {
	fr := newFakeRunner(true)
	sch := mustSchedule(t, "often", "*/5 * * * *", func(s *Schedule) { s.Concurrency = Allow })
	r := startRig(t, t0, Options{Schedules: []Schedule{sch}, MaxRunning: 2}, fr)
	r.tick(at(10, 5))
	c1 := r.nextCall()
	r.tick(at(10, 10))
	c2 := r.nextCall()
	if !c2.at.Equal(at(10, 10)) {
		t.Fatal(c2.at)
	}
	// A third would exceed MaxRunning: it waits.
	r.tick(at(10, 15))
	r.eventually("10:15 waits for a slot", func(st *State) bool { return st.Schedules["often"].Waiting.Equal(at(10, 15)) })
	r.noCall()
	c1.release <- nil
	c3 := r.nextCall()
	if !c3.at.Equal(at(10, 15)) {
		t.Fatal(c3.at)
	}
	c2.release <- nil
	c3.release <- nil
	r.eventually("all finished", func(st *State) bool {
		ss := st.Schedules["often"]
		return len(ss.Running) == 0 && ss.LastResult != nil && ss.LastResult.Scheduled.Equal(at(10, 15))
	})
	if fr.max() != 2 {
		t.Fatalf("at most %d runs at once, want 2", fr.max())
	}
}

func TestDisabledNeverRuns(t *testing.T) {
	on := mustSchedule(t, "on", "*/5 * * * *", nil)
	off := mustSchedule(t, "off", "*/5 * * * *", func(s *Schedule) { s.Disabled = true })
	r := startRig(t, t0, Options{Schedules: []Schedule{off, on}}, newFakeRunner(false))
	for _, m := range []int{5, 10, 15} {
		r.tick(at(10, m))
		if c := r.nextCall(); c.sch.Name != "on" {
			t.Fatalf("%s ran", c.sch.Name)
		}
	}
	st := r.eventually("on ran 3 times", finished("on", at(10, 15)))
	if ss := st.Schedules["off"]; ss == nil || !ss.NextSchedule.IsZero() || !ss.LastExecution.IsZero() || ss.LastResult != nil {
		t.Fatalf("disabled state %+v", ss)
	}
	rep := Report([]Schedule{off, on}, st, at(10, 16), true)
	if !rep[0].Disabled || rep[0].NextSchedule != nil || rep[1].NextSchedule == nil || !rep[1].NextSchedule.Equal(at(10, 20)) {
		t.Fatalf("report %+v", rep)
	}
	r.noCall()
}

func TestMissedWhileDownAreReportedNotRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "schedules", "node1.json")
	// The last scheduler ran the 00:00 backup, then stopped during a
	// 03:00 run.
	prev := &State{Format: StateFormat, Node: "node1", Schedules: map[string]*ScheduleState{
		"hourly": {LastExecution: at(3, 0), NextSchedule: at(4, 0),
			Running: []Run{{Scheduled: at(3, 0), Started: at(3, 0), Backup: fmt.Sprintf("hourly-%d", at(3, 0).Unix())}}},
	}}
	if err := SaveState(path, prev); err != nil {
		t.Fatal(err)
	}
	hourly := mustSchedule(t, "hourly", "0 * * * *", nil)
	r := startRig(t, t0, Options{Schedules: []Schedule{hourly}, StatePath: path, Node: "node1"}, newFakeRunner(false))

	// 04:00 to 10:00 passed while down: seven missed, none run; the next
	// is 11:00.
	r.waitTimer(at(11, 0))
	st := r.s.Status()
	ss := st.Schedules["hourly"]
	if m := ss.Missed; m == nil || m.Count != 7 || !m.First.Equal(at(4, 0)) || !m.Last.Equal(at(10, 0)) || m.Reason != reasonDown || ss.MissedTotal != 7 {
		t.Fatalf("missed %+v total %d", ss.Missed, ss.MissedTotal)
	}
	if !ss.NextSchedule.Equal(at(11, 0)) || len(ss.Running) != 0 {
		t.Fatalf("%+v", ss)
	}
	if lr := ss.LastResult; lr == nil || !lr.Interrupted || lr.Status != StatusFailed || !lr.Scheduled.Equal(at(3, 0)) {
		t.Fatalf("the run the dead process left: %+v", lr)
	}
	if l := r.log.String(); !strings.Contains(l, "missed=7") || !strings.Contains(l, "were missed while cassette was not running") {
		t.Fatalf("log: %s", l)
	}
	r.noCall()
	// The file says the same.
	if disk, err := LoadState(path); err != nil || disk.Schedules["hourly"].Missed == nil || disk.Schedules["hourly"].Missed.Count != 7 {
		t.Fatalf("state file: %+v %v", disk, err)
	}
	// One run at the next time, none for the missed ones.
	r.tick(at(11, 0))
	if c := r.nextCall(); !c.at.Equal(at(11, 0)) {
		t.Fatal(c.at)
	}
	r.eventually("11:00 ran", finished("hourly", at(11, 0)))
	r.waitTimer(at(12, 0))
	r.noCall()
}

func TestStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node1.json")
	sch := []Schedule{mustSchedule(t, "nightly", "*/5 * * * *", nil)}
	r := startRig(t, t0, Options{Schedules: sch, StatePath: path, Node: "node1"}, newFakeRunner(false))
	r.tick(at(10, 5))
	r.nextCall()
	r.eventually("10:05 recorded", finished("nightly", at(10, 5)))
	r.waitTimer(at(10, 10))
	r.stop()
	if err := r.wait(); err != nil {
		t.Fatal(err)
	}

	// A new scheduler before 10:10: nothing missed, same record.
	r2 := startRig(t, at(10, 7), Options{Schedules: sch, StatePath: path, Node: "node1"}, newFakeRunner(false))
	r2.waitTimer(at(10, 10))
	ss := r2.s.Status().Schedules["nightly"]
	if !ss.LastExecution.Equal(at(10, 5)) || ss.LastResult == nil || ss.LastResult.Backup != fmt.Sprintf("nightly-%d", at(10, 5).Unix()) || ss.Missed != nil {
		t.Fatalf("after restart: %+v last %+v missed %+v", ss, ss.LastResult, ss.Missed)
	}
	r2.stop()
	r2.wait()

	// Down from 10:07 to 10:22: 10:10, 10:15 and 10:20 are missed.
	r3 := startRig(t, at(10, 22), Options{Schedules: sch, StatePath: path, Node: "node1"}, newFakeRunner(false))
	r3.waitTimer(at(10, 25))
	ss = r3.s.Status().Schedules["nightly"]
	if ss.Missed == nil || ss.Missed.Count != 3 || !ss.Missed.First.Equal(at(10, 10)) || !ss.LastExecution.Equal(at(10, 5)) {
		t.Fatalf("after downtime: %+v missed %+v", ss, ss.Missed)
	}
}

func TestShutdownLetsTheRunFinishWithinGrace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node1.json")
	fr := newFakeRunner(true)
	r := startRig(t, t0, Options{Schedules: []Schedule{mustSchedule(t, "nightly", "*/5 * * * *", nil)}, StatePath: path, ShutdownGrace: 2 * time.Minute}, fr)
	r.tick(at(10, 5))
	c := r.nextCall()
	r.stop() // SIGTERM
	// The scheduler waits for the run until the grace is over; the run
	// finishes first.
	r.waitTimer(at(10, 7))
	if c.ctx.Err() != nil {
		t.Fatal("the run was cancelled before the grace was over")
	}
	c.release <- nil
	if err := r.wait(); err != nil {
		t.Fatalf("clean stop returned %v", err)
	}
	st, err := LoadState(path)
	if err != nil {
		t.Fatal(err)
	}
	ss := st.Schedules["nightly"]
	if len(ss.Running) != 0 || ss.LastResult == nil || ss.LastResult.Status != StatusSuccess || !ss.NextSchedule.Equal(at(10, 10)) {
		t.Fatalf("state after a clean stop: %+v last %+v", ss, ss.LastResult)
	}
}

func TestShutdownCancelsAfterGrace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node1.json")
	fr := newFakeRunner(true)
	r := startRig(t, t0, Options{Schedules: []Schedule{mustSchedule(t, "nightly", "*/5 * * * *", nil)}, StatePath: path, ShutdownGrace: 2 * time.Minute}, fr)
	r.tick(at(10, 5))
	c := r.nextCall()
	r.stop()
	r.tick(at(10, 7)) // the grace is over
	<-c.ctx.Done()
	err := r.wait()
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	st, lerr := LoadState(path)
	if lerr != nil {
		t.Fatal(lerr)
	}
	ss := st.Schedules["nightly"]
	lr := ss.LastResult
	if len(ss.Running) != 0 || lr == nil || lr.Status != StatusFailed || !lr.Interrupted || !strings.Contains(lr.Error, "interrupted") ||
		lr.Backup != fmt.Sprintf("nightly-%d", at(10, 5).Unix()) {
		t.Fatalf("state after an interrupted run: %+v last %+v", ss, lr)
	}
}

func TestAbortCancelsAtOnce(t *testing.T) {
	fr := newFakeRunner(true)
	r := startRig(t, t0, Options{Schedules: []Schedule{mustSchedule(t, "nightly", "*/5 * * * *", nil)}, ShutdownGrace: time.Hour}, fr)
	r.tick(at(10, 5))
	c := r.nextCall()
	r.stop()
	r.waitTimer(at(11, 5)) // waiting for the grace
	r.s.Abort()            // a second SIGTERM
	<-c.ctx.Done()
	if err := r.wait(); !errors.Is(err, ErrInterrupted) {
		t.Fatal(err)
	}
	if lr := r.s.Status().Schedules["nightly"].LastResult; lr == nil || !lr.Interrupted {
		t.Fatalf("%+v", lr)
	}
}

func TestStateFile(t *testing.T) {
	dir := t.TempDir()
	path := StatePath(dir, "node1")
	if st, err := LoadState(path); err != nil || len(st.Schedules) != 0 {
		t.Fatal(st, err)
	}
	st := &State{Format: StateFormat, Node: "node1", Schedules: map[string]*ScheduleState{"a": {LastExecution: at(1, 0), LastResult: &Run{Scheduled: at(1, 0), Status: StatusSuccess, Backup: "a-1"}}}}
	if err := SaveState(path, st); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(path)
	if err != nil || !got.Schedules["a"].LastExecution.Equal(at(1, 0)) || got.Schedules["a"].LastResult.Backup != "a-1" {
		t.Fatal(got, err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "schedules", "*.tmp")); len(leftovers) != 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
	os.WriteFile(path, []byte("{not json"), 0o600)
	if _, err := LoadState(path); !errors.Is(err, ErrBadState) || !strings.Contains(err.Error(), "move it aside") {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte(`{"format": 99, "schedules": {}}`), 0o600)
	if _, err := LoadState(path); !errors.Is(err, ErrBadState) || !strings.Contains(err.Error(), "upgrade") {
		t.Fatal(err)
	}
}

func TestLockState(t *testing.T) {
	path := StatePath(t.TempDir(), "node1")
	release, err := LockState(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockState(path)
	if err == nil {
		release()
		t.Skip("no state locking on this platform")
	}
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprint(os.Getpid())) {
		t.Fatal(err)
	}
	if pid, running := Holder(path); !running || pid != os.Getpid() {
		t.Fatalf("holder %d %v", pid, running)
	}
	release()
	if _, running := Holder(path); running {
		t.Fatal("still held after release")
	}
	again, err := LockState(path)
	if err != nil {
		t.Fatal(err)
	}
	again()
}

func TestReportWithoutScheduler(t *testing.T) {
	sch := mustSchedule(t, "nightly", "30 1 * * *", nil)
	st := &State{Schedules: map[string]*ScheduleState{
		"nightly": {LastExecution: at(1, 30), NextSchedule: at(1, 30).Add(24 * time.Hour)},
		"old":     {LastExecution: at(0, 0)},
	}}
	// No scheduler runs: nextSchedule is what one started now would use.
	rep := Report([]Schedule{sch}, st, time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC), false)
	if len(rep) != 1 || !rep[0].NextSchedule.Equal(time.Date(2026, 3, 6, 1, 30, 0, 0, time.UTC)) || !rep[0].LastExecution.Equal(at(1, 30)) || rep[0].BackupType != TypeDifferential {
		t.Fatalf("%+v", rep)
	}
	// Without the schedules file: every schedule the state knows.
	rep = Report(nil, st, t0, false)
	if len(rep) != 2 || rep[0].Name != "nightly" || rep[1].Name != "old" {
		t.Fatalf("%+v", rep)
	}
}
