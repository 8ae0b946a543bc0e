package schedule

import (
	"sort"
	"time"
)

// Status is one schedule as `cassette schedule status` shows it: the
// MedusaBackupSchedule status fields (lastExecution, nextSchedule) with the
// schedule's spec and cassette's additions.
type Status struct {
	Name              string `json:"name" yaml:"name"`
	OperationType     string `json:"operationType,omitempty" yaml:"operationType,omitempty"`
	BackupType        string `json:"backupType,omitempty" yaml:"backupType,omitempty"`
	CronSchedule      string `json:"cronSchedule,omitempty" yaml:"cronSchedule,omitempty"`
	ConcurrencyPolicy string `json:"concurrencyPolicy,omitempty" yaml:"concurrencyPolicy,omitempty"`
	Disabled          bool   `json:"disabled" yaml:"disabled"`
	// LastExecution is the scheduled time of the last run started.
	LastExecution *time.Time `json:"lastExecution,omitempty" yaml:"lastExecution,omitempty"`
	// NextSchedule is the next scheduled time: the running scheduler's,
	// or the one a scheduler started now would use.
	NextSchedule *time.Time `json:"nextSchedule,omitempty" yaml:"nextSchedule,omitempty"`
	Waiting      *time.Time `json:"waiting,omitempty" yaml:"waiting,omitempty"`
	Running      []Run      `json:"running,omitempty" yaml:"running,omitempty"`
	LastResult   *Run       `json:"lastResult,omitempty" yaml:"lastResult,omitempty"`
	Missed       *Missed    `json:"missed,omitempty" yaml:"missed,omitempty"`
	MissedTotal  int        `json:"missedTotal,omitempty" yaml:"missedTotal,omitempty"`
}

// Report combines schedules with their state. With no schedules it reports
// every schedule the state knows. active says whether a scheduler runs:
// when none does, nextSchedule is computed from now and Running runs are
// shown as they were recorded.
func Report(schedules []Schedule, st *State, now time.Time, active bool) []Status {
	if st == nil {
		st = &State{}
	}
	if len(schedules) == 0 {
		names := make([]string, 0, len(st.Schedules))
		for name := range st.Schedules {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			ss := st.Schedules[name]
			schedules = append(schedules, Schedule{Name: name, Cron: ss.CronSchedule, Operation: ss.OperationType,
				BackupType: ss.BackupType, Disabled: ss.Disabled})
		}
	}
	out := make([]Status, 0, len(schedules))
	for _, sch := range schedules {
		r := Status{Name: sch.Name, OperationType: sch.Operation, CronSchedule: sch.Cron, ConcurrencyPolicy: sch.Concurrency, Disabled: sch.Disabled}
		if sch.Operation == OpBackup || sch.Operation == "" {
			r.BackupType = sch.BackupType
		}
		ss := st.Schedules[sch.Name]
		if ss == nil {
			ss = &ScheduleState{}
		}
		r.LastExecution, r.Waiting = timePtr(ss.LastExecution), timePtr(ss.Waiting)
		r.Running, r.LastResult, r.Missed, r.MissedTotal = ss.Running, ss.LastResult, ss.Missed, ss.MissedTotal
		if sch.spec == nil && sch.Cron != "" {
			sch.spec, _ = parseCron(sch.Cron)
		}
		next := ss.NextSchedule
		if !active && sch.spec != nil {
			next = sch.Next(now)
		}
		if !sch.Disabled {
			r.NextSchedule = timePtr(next)
		}
		out = append(out, r)
	}
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
