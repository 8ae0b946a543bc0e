package schedule

import (
	"errors"
	"fmt"

	"github.com/cassette-backup/cassette/cmd/internal/fileerr"
)

// Sentinel errors of the package.
var (
	// ErrInvalid marks a schedules file that cannot be used as written:
	// bad YAML, a bad cron expression, unknown values. Every *Error matches
	// it, so the command can map it to its usage exit code.
	ErrInvalid = errors.New("invalid schedules")
	// ErrBadState marks a state file that cannot be read (not JSON, or a
	// newer format). The file is only a record: moving it aside loses the
	// history, not a backup.
	ErrBadState = errors.New("unreadable schedule state")
	// ErrInterrupted is what Scheduler.Run returns when it had to cancel
	// running runs because the shutdown grace was over. It wraps
	// context.Canceled too.
	ErrInterrupted = errors.New("scheduled runs interrupted by shutdown")
	// ErrLocked means another scheduler holds the state file's lock.
	ErrLocked = errors.New("another cassette schedule process runs for this node")
	// ErrNoSchedule means a runtime change (SetDisabled, Remove) names a
	// schedule the scheduler does not have.
	ErrNoSchedule = errors.New("no such schedule")
	// ErrBusy means a schedule cannot be removed while one of its runs is
	// in progress.
	ErrBusy = errors.New("schedule has a run in progress")
)

// Error is one problem in a schedules file, as one line: "file:line: what is
// wrong; what to do" (the line is omitted when unknown).
type Error struct {
	File string
	Line int
	Msg  string
}

// Error returns the one-line message.
func (e *Error) Error() string {
	if e.File == "" {
		return fileerr.OneLine(e.Msg) // an expression checked on its own (ParseCron)
	}
	return fileerr.Message(e.File, e.Line, e.Msg)
}

// Is reports whether target is ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

func errorf(file string, line int, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}
