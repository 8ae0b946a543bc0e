package schedule

import (
	"errors"
	"fmt"
	"time"
)

// Runtime changes: a web console adds, enables, disables and removes
// schedules while the scheduler runs, without restarting it (which would
// count the runs of every other schedule as missed while it was down).

// Schedules returns the scheduler's schedules as they are now, in the
// order they were added.
func (s *Scheduler) Schedules() []Schedule {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Schedule, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, e.sch)
	}
	return out
}

// Put adds sch, or replaces the schedule of the same name. sch must come
// from Parse (or ParseCron's expression check): a schedule without a parsed
// cron expression is refused. A running scheduler gives it its next time
// from now: times that passed before the change are not missed runs. A run
// of the replaced schedule that is in progress goes on.
func (s *Scheduler) Put(sch Schedule) error {
	if sch.spec == nil {
		return fmt.Errorf("schedule %q: its cron expression was not parsed; build it with Parse", sch.Name)
	}
	if msg := checkName(sch.Name); msg != "" {
		return errors.New(msg)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.find(sch.Name)
	if e == nil {
		e = &entry{}
		s.entries = append(s.entries, e)
	}
	e.sch = sch
	s.rearm(e)
	return nil
}

// SetDisabled enables or disables the named schedule (spec.disabled). A
// disabled schedule starts nothing; a run in progress goes on, and a run
// waiting for its turn is dropped. Enabled again, it next fires at its first
// time from now.
func (s *Scheduler) SetDisabled(name string, disabled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.find(name)
	if e == nil {
		return fmt.Errorf("%w %q", ErrNoSchedule, name)
	}
	if e.sch.Disabled == disabled {
		return nil
	}
	e.sch.Disabled = disabled
	s.rearm(e)
	return nil
}

// Remove drops the named schedule and its state record. It is refused
// (ErrBusy) while a run of the schedule is in progress.
func (s *Scheduler) Remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.find(name)
	if e == nil {
		return fmt.Errorf("%w %q", ErrNoSchedule, name)
	}
	if e.running > 0 {
		return fmt.Errorf("%w: schedule %q is running; remove it once the run has finished", ErrBusy, name)
	}
	for i, o := range s.entries {
		if o == e {
			s.entries = append(s.entries[:i:i], s.entries[i+1:]...)
			break
		}
	}
	delete(s.state.Schedules, name)
	s.save(s.now())
	s.wakeLoop()
	return nil
}

func (s *Scheduler) find(name string) *entry {
	for _, e := range s.entries {
		if e.sch.Name == name {
			return e
		}
	}
	return nil
}

// rearm records e's schedule and, once the loop runs, gives it its next
// time from now and wakes the loop so that it sleeps until the right time.
// Before Run, startup does this for every schedule.
func (s *Scheduler) rearm(e *entry) {
	ss := s.record(e)
	if !s.started {
		return
	}
	now := s.now()
	e.pending, ss.Waiting = time.Time{}, time.Time{}
	e.next = time.Time{}
	if !e.sch.Disabled {
		e.next = e.sch.Next(now)
	}
	ss.NextSchedule = e.next
	s.save(now)
	s.wakeLoop()
}

func (s *Scheduler) wakeLoop() {
	select {
	case s.kick <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// ParseCron checks a cron expression as spec.cronSchedule is checked and
// returns the schedule it makes, named name, with the other fields at
// their defaults (a differential backup, Forbid). The error is one line
// matching ErrInvalid.
func ParseCron(name, expr string) (Schedule, error) {
	spec, msg := parseCron(expr)
	if msg != "" {
		return Schedule{}, &Error{Msg: msg}
	}
	return Schedule{Name: name, Cron: expr, Operation: OpBackup, BackupType: TypeDifferential, Concurrency: Forbid, spec: spec}, nil
}

// NextRuns returns the next n scheduled times of the cron expression after
// t (fewer when it stops firing), for a preview of a schedule.
func NextRuns(expr string, t time.Time, n int) ([]time.Time, error) {
	sch, err := ParseCron("preview", expr)
	if err != nil {
		return nil, err
	}
	out := make([]time.Time, 0, n)
	for range n {
		t = sch.Next(t)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out, nil
}
