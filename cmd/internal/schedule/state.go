package schedule

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// StateFormat is the version of the state file; Load refuses newer ones.
const StateFormat = 1

// Statuses of a finished run, as MedusaBackup spells them.
const (
	StatusSuccess = "SUCCESS"
	StatusFailed  = "FAILED"
)

// State is what a scheduler records for one node: per schedule, the
// MedusaBackupSchedule status fields and cassette's additions.
type State struct {
	Format    int                       `json:"format"`
	Node      string                    `json:"node,omitempty"`
	Updated   time.Time                 `json:"updated,omitzero"`
	Schedules map[string]*ScheduleState `json:"schedules"`
}

// ScheduleState is one schedule's record.
type ScheduleState struct {
	// The schedule as the last scheduler read it, for `schedule status`
	// without the schedules file.
	CronSchedule  string `json:"cronSchedule,omitempty"`
	OperationType string `json:"operationType,omitempty"`
	BackupType    string `json:"backupType,omitempty"`
	Disabled      bool   `json:"disabled,omitempty"`
	// LastExecution is the scheduled time of the last run started (the
	// MedusaBackupSchedule status field).
	LastExecution time.Time `json:"lastExecution,omitzero"`
	// NextSchedule is the next scheduled time (zero while disabled).
	NextSchedule time.Time `json:"nextSchedule,omitzero"`
	// Waiting is the scheduled time of a due run that waits for the
	// previous run (Forbid) or for a free slot (MaxRunning).
	Waiting time.Time `json:"waiting,omitzero"`
	// Running are the runs in progress.
	Running []Run `json:"running,omitempty"`
	// LastResult is the finished run of the latest scheduled time.
	LastResult *Run `json:"lastResult,omitempty"`
	// Missed is the last time scheduled runs were missed; MissedTotal
	// counts every run ever missed.
	Missed      *Missed `json:"missed,omitempty"`
	MissedTotal int     `json:"missedTotal,omitempty"`
}

// Run is one run of a schedule.
type Run struct {
	Scheduled time.Time `json:"scheduled" yaml:"scheduled"`
	Started   time.Time `json:"started,omitzero" yaml:"started,omitempty"`
	Finished  time.Time `json:"finished,omitzero" yaml:"finished,omitempty"`
	// Status is StatusSuccess or StatusFailed once finished.
	Status  string `json:"status,omitempty" yaml:"status,omitempty"`
	Backup  string `json:"backup,omitempty" yaml:"backup,omitempty"`
	Summary string `json:"summary,omitempty" yaml:"summary,omitempty"`
	Error   string `json:"error,omitempty" yaml:"error,omitempty"`
	// Interrupted is set when the run stopped because cassette stopped.
	Interrupted bool `json:"interrupted,omitempty" yaml:"interrupted,omitempty"`
}

// Missed describes scheduled times that passed without a run.
type Missed struct {
	Count int `json:"count" yaml:"count"`
	// AtLeast is set when counting stopped early (a very frequent schedule
	// down for very long).
	AtLeast bool      `json:"atLeast,omitempty" yaml:"atLeast,omitempty"`
	First   time.Time `json:"first" yaml:"first"`
	Last    time.Time `json:"last" yaml:"last"`
	Reason  string    `json:"reason" yaml:"reason"`
	Noticed time.Time `json:"noticed" yaml:"noticed"`
}

// StatePath is where the state of node's schedules lives under cacheDir.
func StatePath(cacheDir, node string) string {
	return filepath.Join(cacheDir, "schedules", node+".json")
}

// LoadState reads a state file. A missing file is an empty state; a file
// that cannot be decoded is an error matching ErrBadState.
func LoadState(path string) (*State, error) {
	st := &State{Format: StateFormat, Schedules: map[string]*ScheduleState{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read schedule state %s: %w", path, err)
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("%w %s: %v; move it aside to start a fresh record (it holds no backup data)", ErrBadState, path, err)
	}
	if st.Format > StateFormat {
		return nil, fmt.Errorf("%w %s: format %d is newer than this cassette reads (%d); upgrade cassette", ErrBadState, path, st.Format, StateFormat)
	}
	if st.Schedules == nil {
		st.Schedules = map[string]*ScheduleState{}
	}
	for name, ss := range st.Schedules {
		if ss == nil {
			delete(st.Schedules, name)
		}
	}
	return st, nil
}

// SaveState writes st to path atomically: a reader sees the old file or the
// new one, never a part.
func SaveState(path string, st *State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save schedule state: %w", err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("save schedule state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save schedule state %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save schedule state %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save schedule state %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save schedule state %s: %w", path, err)
	}
	return nil
}

// clone deep-copies st, for readers outside the scheduler's loop.
func (st *State) clone() *State {
	out := &State{Format: st.Format, Node: st.Node, Updated: st.Updated, Schedules: make(map[string]*ScheduleState, len(st.Schedules))}
	for name, ss := range st.Schedules {
		c := *ss
		c.Running = append([]Run(nil), ss.Running...)
		if ss.LastResult != nil {
			r := *ss.LastResult
			c.LastResult = &r
		}
		if ss.Missed != nil {
			m := *ss.Missed
			c.Missed = &m
		}
		out.Schedules[name] = &c
	}
	return out
}

// get returns name's record, creating it.
func (st *State) get(name string) *ScheduleState {
	ss := st.Schedules[name]
	if ss == nil {
		ss = &ScheduleState{}
		st.Schedules[name] = ss
	}
	return ss
}
