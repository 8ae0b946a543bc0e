package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/cmd/internal/schedule"
	"github.com/cassette-backup/cassette/engine"
)

// schedBuffer is a bytes.Buffer safe for a command writing while the test
// reads.
type schedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *schedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *schedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// schedProcess is one `cassette schedule run` running in the background on
// a fake clock.
type schedProcess struct {
	t        *testing.T
	clock    *schedule.FakeClock
	sched    *schedule.Scheduler
	stop     context.CancelFunc
	code     chan int
	once     sync.Once
	exitCode int
	out, err *schedBuffer
}

func startSchedule(t *testing.T, clock *schedule.FakeClock, args ...string) *schedProcess {
	t.Helper()
	started := make(chan *schedule.Scheduler, 1)
	scheduleHooks.clock = clock
	scheduleHooks.started = func(s *schedule.Scheduler) { started <- s }
	ctx, cancel := context.WithCancel(context.Background())
	p := &schedProcess{t: t, clock: clock, stop: cancel, code: make(chan int, 1), out: &schedBuffer{}, err: &schedBuffer{}}
	go func() {
		p.code <- run(ctx, append([]string{"cassette", "--log-level", "info"}, args...), p.out, p.err)
	}()
	select {
	case p.sched = <-started:
	case code := <-p.code:
		t.Fatalf("schedule run exited with %d before starting: %s %s", code, p.out, p.err)
	case <-time.After(10 * time.Second):
		t.Fatal("schedule run did not start")
	}
	t.Cleanup(func() {
		p.sched.Abort()
		cancel()
		p.exit()
	})
	return p
}

// tick waits until the scheduler sleeps until when, then moves the clock
// there.
func (p *schedProcess) tick(when time.Time) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.clock.WaitTimer(ctx, when); err != nil {
		p.t.Fatalf("the scheduler never waited for %s: %v; stderr: %s", when, err, p.err)
	}
	p.clock.Set(when)
}

func (p *schedProcess) waitResult(name string, scheduled time.Time) *schedule.Run {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if ss := p.sched.Status().Schedules[name]; ss != nil && ss.LastResult != nil && ss.LastResult.Scheduled.Equal(scheduled) {
			return ss.LastResult
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.t.Fatalf("no result for %s scheduled %s; stderr: %s", name, scheduled, p.err)
	return nil
}

// exit waits for the process to end and returns its exit code.
func (p *schedProcess) exit() int {
	p.t.Helper()
	p.once.Do(func() {
		select {
		case p.exitCode = <-p.code:
		case <-time.After(20 * time.Second):
			p.t.Error("schedule run did not stop")
		}
	})
	return p.exitCode
}

// schedHeldProgress blocks a backup in its first finished file.
type schedHeldProgress struct {
	ctx       context.Context
	release   chan struct{}
	entered   chan time.Time
	scheduled time.Time
	once      sync.Once
}

func (h *schedHeldProgress) Total(files, bytes int64) {}

func (h *schedHeldProgress) File(string, int64, bool) {
	h.once.Do(func() {
		h.entered <- h.scheduled
		select {
		case <-h.release:
		case <-h.ctx.Done():
		}
	})
}

const schedTestManifests = `apiVersion: medusa.k8ssandra.io/v1alpha1
kind: MedusaBackupSchedule
metadata:
  name: nightly
  namespace: demo-dc1
spec:
  backupSpec:
    backupType: differential
    cassandraDatacenter: demo-dc1
  cronSchedule: "*/5 * * * *"
  disabled: false
---
apiVersion: medusa.k8ssandra.io/v1alpha1
kind: MedusaBackupSchedule
metadata:
  name: purge
spec:
  cronSchedule: "0 4 * * *"
  operationType: purge
  disabled: true
`

// TestCLIScheduleRun runs `cassette schedule run` on a fake clock against a
// local repository: a scheduled backup appears as <schedule>-<unix seconds>,
// SIGTERM lets a running backup finish, a restart reports the time missed
// while down, and a backup still running when the shutdown grace is over is
// cancelled (no manifest) and recorded as interrupted.
func TestCLIScheduleRun(t *testing.T) {
	t.Setenv("CASSETTE_CONFIG", "")
	t.Cleanup(func() { scheduleHooks.clock, scheduleHooks.started, scheduleHooks.progress = nil, nil, nil })
	dir := t.TempDir()
	tbl := filepath.Join(dir, "data", "ks1", "users-0a1b2c")
	os.MkdirAll(tbl, 0o755)
	os.WriteFile(filepath.Join(tbl, "nb-1-big-Data.db"), bytes.Repeat([]byte("scheduled row "), 50000), 0o644)
	cfg := writeConfig(t, dir)
	if code, _, stderr := runCLI(t, "--config", cfg, "init"); code != 0 {
		t.Fatal(stderr)
	}
	schedFile := filepath.Join(dir, "schedules.yaml")
	os.WriteFile(schedFile, []byte(schedTestManifests), 0o600)
	at := func(hh, mm int) time.Time { return time.Date(2026, 3, 1, hh, mm, 0, 0, time.UTC) }
	name := func(t time.Time) string { return fmt.Sprintf("nightly-%d", t.Unix()) }

	// Held backups: the backups of 10:10 and 10:20 stop after their first
	// file until the test releases them or their context is cancelled.
	release := make(chan struct{})
	entered := make(chan time.Time, 4)
	scheduleHooks.progress = func(ctx context.Context, scheduled time.Time) engine.Progress {
		if !scheduled.Equal(at(10, 10)) && !scheduled.Equal(at(10, 20)) {
			return nil
		}
		return &schedHeldProgress{ctx: ctx, release: release, entered: entered, scheduled: scheduled}
	}

	clock := schedule.NewFakeClock(at(10, 2).Add(30 * time.Second))
	p := startSchedule(t, clock, "--config", cfg, "schedule", "run", "--schedules", schedFile, "--shutdown-grace", "1m")
	if out := p.out.String(); !strings.Contains(out, `nightly: backup (differential) "*/5 * * * *", next 2026-03-01 10:05:00 UTC`) || !strings.Contains(out, "purge: purge") {
		t.Fatalf("start message: %s", out)
	}
	p.tick(at(10, 5))
	if r := p.waitResult("nightly", at(10, 5)); r.Status != schedule.StatusSuccess || r.Backup != name(at(10, 5)) {
		t.Fatalf("first run: %+v; stderr: %s", r, p.err)
	}
	code, out, stderr := runCLI(t, "--config", cfg, "list")
	if code != 0 || !strings.Contains(out, name(at(10, 5))) || !strings.Contains(out, "SUCCESS") {
		t.Fatalf("list after the scheduled backup: %d %s %s", code, out, stderr)
	}
	code, out, _ = runCLI(t, "--config", cfg, "schedule", "status", "--schedules", schedFile)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("scheduler running (pid %d)", os.Getpid())) ||
		!strings.Contains(out, "2026-03-01 10:05:00") || !strings.Contains(out, "2026-03-01 10:10:00") || !strings.Contains(out, name(at(10, 5))) {
		t.Fatalf("status while running: %d\n%s", code, out)
	}
	// A second scheduler for the same node is refused.
	if code, _, stderr := runCLI(t, "--config", cfg, "schedule", "run", "--schedules", schedFile); code == 0 || !strings.Contains(stderr, "another cassette schedule process") {
		t.Fatalf("second scheduler: %d %s", code, stderr)
	}

	// SIGTERM while the 10:10 backup runs: it finishes within the grace,
	// the process exits 0 and the state is clean.
	p.tick(at(10, 10))
	<-entered
	p.stop()
	if err := clock.WaitTimer(context.Background(), at(10, 11)); err != nil { // the grace timer
		t.Fatal(err)
	}
	close(release)
	if code := p.exit(); code != 0 {
		t.Fatalf("clean stop: exit %d; %s", code, p.err)
	}
	st, err := schedule.LoadState(schedule.StatePath(filepath.Join(dir, "cache"), "node1"))
	if err != nil {
		t.Fatal(err)
	}
	ss := st.Schedules["nightly"]
	if len(ss.Running) != 0 || ss.LastResult.Status != schedule.StatusSuccess || ss.LastResult.Backup != name(at(10, 10)) || !ss.NextSchedule.Equal(at(10, 15)) {
		t.Fatalf("state after SIGTERM: %+v, last %+v", ss, ss.LastResult)
	}
	if _, out, _ := runCLI(t, "--config", cfg, "list"); !strings.Contains(out, name(at(10, 10))) {
		t.Fatalf("the backup that finished during the grace: %s", out)
	}

	// Restart at 10:16: 10:15 was missed. The 10:20 backup is still held
	// when the grace is over: it is cancelled and recorded as interrupted.
	release = make(chan struct{})
	clock = schedule.NewFakeClock(at(10, 16))
	p = startSchedule(t, clock, "--config", cfg, "schedule", "run", "--schedules", schedFile, "--shutdown-grace", "1m")
	if err := clock.WaitTimer(context.Background(), at(10, 20)); err != nil { // started: settled the downtime
		t.Fatal(err)
	}
	if ss := p.sched.Status().Schedules["nightly"]; ss.Missed == nil || ss.Missed.Count != 1 || !ss.Missed.First.Equal(at(10, 15)) {
		t.Fatalf("missed while down: %+v", ss.Missed)
	}
	p.tick(at(10, 20))
	<-entered
	p.stop()
	p.tick(at(10, 21)) // the grace is over
	if code := p.exit(); code != exitCancelled {
		t.Fatalf("stop with a cancelled run: exit %d; %s", code, p.err)
	}
	if !strings.Contains(p.err.String(), "were missed while cassette was not running") || !strings.Contains(p.err.String(), "shutdown grace is over") {
		t.Fatalf("log: %s", p.err)
	}
	code, out, _ = runCLI(t, "--config", cfg, "schedule", "status", "--schedules", schedFile, "-o", "json")
	var v scheduleStatusView
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil {
		t.Fatalf("status -o json: %d %v %s", code, err, out)
	}
	if v.Scheduler != "stopped" || v.Node != "node1" || len(v.Schedules) != 2 {
		t.Fatalf("%+v", v)
	}
	n, purge := v.Schedules[0], v.Schedules[1]
	if n.LastResult == nil || !n.LastResult.Interrupted || n.LastResult.Status != schedule.StatusFailed || n.LastResult.Backup != name(at(10, 20)) ||
		len(n.Running) != 0 || n.Missed == nil || n.LastExecution == nil || !n.LastExecution.Equal(at(10, 20)) {
		t.Fatalf("nightly status: %+v", n)
	}
	if !purge.Disabled || purge.NextSchedule != nil || purge.OperationType != "purge" {
		t.Fatalf("purge status: %+v", purge)
	}
	// The cancelled backup aborted cleanly: a failure marker, no manifest.
	nb := filepath.Join(dir, "buckets", "backups", "backups", name(at(10, 20)), "node1")
	if _, err := os.Stat(filepath.Join(nb, "manifest")); !os.IsNotExist(err) {
		t.Fatalf("the cancelled backup has a manifest: %v", err)
	}
	if _, err := os.Stat(filepath.Join(nb, "failed")); err != nil {
		t.Fatalf("the cancelled backup has no failure marker: %v", err)
	}
	if _, out, _ := runCLI(t, "--config", cfg, "list"); !strings.Contains(out, name(at(10, 20))) || strings.Count(out, "SUCCESS") != 2 || !strings.Contains(out, "FAILED") {
		t.Fatalf("list after the cancelled backup: %s", out)
	}
	code, out, _ = runCLI(t, "--config", cfg, "schedule", "status")
	if code != 0 || !strings.Contains(out, "scheduler not running") || !strings.Contains(out, "FAILED (interrupted)") || !strings.Contains(out, "missed 1 run(s)") {
		t.Fatalf("status table: %d\n%s", code, out)
	}
}

func TestCLIScheduleUsageErrors(t *testing.T) {
	t.Setenv("CASSETTE_CONFIG", "")
	t.Setenv("CASSETTE_SCHEDULES", "")
	dir := t.TempDir()
	cfg := writeConfig(t, dir)
	if code, _, stderr := runCLI(t, "--config", cfg, "schedule", "run"); code != exitUsage || !strings.Contains(stderr, "--schedules") {
		t.Fatalf("no schedules: %d %s", code, stderr)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("kind: MedusaBackupSchedule\nmetadata: {name: n}\nspec:\n  cronSchedule: \"0 1 * *\"\n"), 0o600)
	code, _, stderr := runCLI(t, "--config", cfg, "schedule", "--schedules", bad)
	if code != exitUsage || !strings.Contains(stderr, bad+":4: ") || !strings.Contains(stderr, "five fields") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("bad cron: %d %q", code, stderr)
	}
	os.WriteFile(bad, []byte("kind: MedusaBackupSchedule\nmetadata: {name: n}\nspec:\n  cronSchedule: \"0 1 * * *\"\n  concurrencyPolicy: alow\n"), 0o600)
	if code, _, stderr := runCLI(t, "--config", cfg, "schedule", "run", "--schedules", bad); code != exitUsage || !strings.Contains(stderr, `did you mean "Allow"`) {
		t.Fatalf("bad policy: %d %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "--config", cfg, "schedule", "status"); code != exitUsage || !strings.Contains(stderr, "no schedule state for node node1") {
		t.Fatalf("status without state: %d %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "--config", cfg, "schedule", "bogus"); code != exitUsage || !strings.Contains(stderr, "run or status") {
		t.Fatalf("unknown subcommand: %d %q", code, stderr)
	}
}
