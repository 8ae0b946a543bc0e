package schedule

import (
	"errors"
	"testing"
	"time"
)

// TestRuntimeChanges: schedules added, disabled, enabled again and removed
// while the scheduler runs take effect at once, without missed runs.
func TestRuntimeChanges(t *testing.T) {
	a := mustSchedule(t, "a", "*/5 * * * *", nil)
	r := startRig(t, t0, Options{Schedules: []Schedule{a}}, newFakeRunner(false))
	r.waitTimer(at(10, 5))

	b := mustSchedule(t, "b", "*/3 * * * *", func(s *Schedule) { s.BackupType = TypeFull })
	if err := r.s.Put(b); err != nil {
		t.Fatal(err)
	}
	r.tick(at(10, 3))
	if c := r.nextCall(); c.sch.Name != "b" || !c.at.Equal(at(10, 3)) {
		t.Fatalf("run of %s at %s, want b at 10:03", c.sch.Name, c.at)
	}
	r.eventually("b's run recorded", finished("b", at(10, 3)))

	if err := r.s.SetDisabled("a", true); err != nil {
		t.Fatal(err)
	}
	st := r.s.Status()
	if ss := st.Schedules["a"]; !ss.Disabled || !ss.NextSchedule.IsZero() {
		t.Fatalf("disabled a: %+v", ss)
	}
	// 10:06 passes 10:05: only b runs.
	r.tick(at(10, 6))
	if c := r.nextCall(); c.sch.Name != "b" {
		t.Fatalf("%s ran while disabled", c.sch.Name)
	}
	r.eventually("b's second run recorded", finished("b", at(10, 6)))
	if err := r.s.SetDisabled("a", false); err != nil {
		t.Fatal(err)
	}
	st = r.eventually("a enabled", func(st *State) bool { return st.Schedules["a"].NextSchedule.Equal(at(10, 10)) })
	if ss := st.Schedules["a"]; ss.Disabled || ss.Missed != nil || ss.MissedTotal != 0 {
		t.Fatalf("enabled a: %+v", ss)
	}
	if err := r.s.Remove("b"); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.s.Status().Schedules["b"]; ok || len(r.s.Schedules()) != 1 {
		t.Fatalf("b still there: %v", r.s.Schedules())
	}
	r.tick(at(10, 10))
	if c := r.nextCall(); c.sch.Name != "a" || !c.at.Equal(at(10, 10)) {
		t.Fatalf("run of %s at %s, want a at 10:10", c.sch.Name, c.at)
	}
	r.eventually("a's run recorded", finished("a", at(10, 10)))
	r.noCall()

	if err := r.s.SetDisabled("nope", true); !errors.Is(err, ErrNoSchedule) {
		t.Fatalf("unknown schedule: %v", err)
	}
	if err := r.s.Put(Schedule{Name: "raw", Cron: "* * * * *"}); err == nil {
		t.Fatal("a schedule without a parsed expression was accepted")
	}
}

func TestRemoveRefusedWhileRunning(t *testing.T) {
	r := startRig(t, t0, Options{Schedules: []Schedule{mustSchedule(t, "a", "*/5 * * * *", nil)}}, newFakeRunner(true))
	r.tick(at(10, 5))
	c := r.nextCall()
	if err := r.s.Remove("a"); !errors.Is(err, ErrBusy) {
		t.Fatalf("remove while running: %v", err)
	}
	c.release <- nil
	r.eventually("run recorded", finished("a", at(10, 5)))
	if err := r.s.Remove("a"); err != nil {
		t.Fatal(err)
	}
}

func TestParseCronAndNextRuns(t *testing.T) {
	runs, err := NextRuns("30 1 * * *", at(10, 0), 5)
	if err != nil || len(runs) != 5 || !runs[0].Equal(time.Date(2026, 3, 2, 1, 30, 0, 0, time.UTC)) || !runs[4].Equal(time.Date(2026, 3, 6, 1, 30, 0, 0, time.UTC)) {
		t.Fatalf("%v %v", runs, err)
	}
	for _, bad := range []string{"", "61 * * * *", "@every 1h", "0 0 30 2 *", "CRON_TZ=Nowhere/Else 0 1 * * *"} {
		if _, err := NextRuns(bad, at(10, 0), 5); !errors.Is(err, ErrInvalid) || err.Error() == "" || err.Error()[0] == ':' {
			t.Errorf("%q: %v", bad, err)
		}
	}
	s, err := ParseCron("nightly", "0 1 * * *")
	if err != nil || s.Next(at(10, 0)) != time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC) {
		t.Fatalf("%+v %v", s, err)
	}
}
