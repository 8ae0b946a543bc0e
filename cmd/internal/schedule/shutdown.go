package schedule

import (
	"context"
	"fmt"
	"time"
)

// shutdown lets running runs finish within the grace (none when aborted),
// cancels them after it, and waits at most AbandonAfter more.
func (s *Scheduler) shutdown(aborted bool) error {
	s.stoppingOnce.Do(func() { close(s.stopping) })
	now := s.now()
	s.mu.Lock()
	for _, e := range s.entries {
		if !e.pending.IsZero() {
			s.addMissed(e, e.pending, e.pending, 1, false, reasonStopped, now)
			s.state.get(e.sch.Name).Waiting = time.Time{}
			e.pending = time.Time{}
		}
	}
	s.save(now)
	n := s.inflight
	s.mu.Unlock()
	if n == 0 {
		return nil
	}
	var graceC, abandonC <-chan time.Time
	stopGrace, stopAbandon := func() {}, func() {}
	defer func() { stopGrace(); stopAbandon() }()
	cancel := func() {
		s.cancelRuns()
		abandonC, stopAbandon = s.clock.At(s.now().Add(s.o.AbandonAfter))
	}
	if aborted || s.o.ShutdownGrace <= 0 {
		s.log.Warn("stopping: cancelling the running scheduled runs", "running", n)
		cancel()
	} else {
		s.log.Warn("stopping: letting the running scheduled runs finish", "running", n, "grace", s.o.ShutdownGrace)
		graceC, stopGrace = s.clock.At(now.Add(s.o.ShutdownGrace))
	}
	abort := s.abort
	if aborted {
		abort = nil
	}
	for s.running() > 0 {
		select {
		case d := <-s.done:
			s.finish(d)
		case <-graceC:
			graceC = nil
			s.log.Warn("shutdown grace is over: cancelling the running scheduled runs", "running", s.running(), "grace", s.o.ShutdownGrace)
			cancel()
		case <-abort:
			abort, graceC = nil, nil
			s.log.Warn("stopping at once: cancelling the running scheduled runs", "running", s.running())
			cancel()
		case <-abandonC:
			return s.abandon()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.interrupted > 0 {
		return fmt.Errorf("%w (%d run(s) cancelled; see `cassette schedule status`): %w", ErrInterrupted, s.interrupted, context.Canceled)
	}
	return nil
}

func (s *Scheduler) running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight
}

// abandon records the runs that did not return after being cancelled.
func (s *Scheduler) abandon() error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.entries {
		ss := s.record(e)
		for _, r := range ss.Running {
			r.Finished, r.Status, r.Interrupted = now, StatusFailed, true
			r.Error = fmt.Sprintf("abandoned: the run did not stop within %s of being cancelled", s.o.AbandonAfter)
			s.log.Error("scheduled run abandoned: it did not stop after being cancelled", "schedule", e.sch.Name, "scheduled", r.Scheduled, "backup", r.Backup)
			ss.LastResult = &r
			s.interrupted++
		}
		ss.Running = nil
	}
	s.save(now)
	return fmt.Errorf("%w (%d run(s) did not stop within %s of being cancelled): %w", ErrInterrupted, s.inflight, s.o.AbandonAfter, context.Canceled)
}
