package control

import (
	"errors"
	"fmt"

	"github.com/cassette-backup/cassette/cmd/internal/fileerr"
)

// Sentinel errors of the package.
var (
	// ErrInvalid marks an inventory or schedules file that cannot be used as
	// written. Every *Error matches it.
	ErrInvalid = errors.New("invalid inventory")
	// ErrNotFound means a cluster, datacenter or backup that is not there.
	ErrNotFound = errors.New("not found")
	// ErrFailed means an operation ran but did not succeed on every node of
	// the datacenter; its report says which nodes and why.
	ErrFailed = errors.New("operation failed")
	// ErrRefused means a restore was refused: the backup does not fit the
	// datacenter (the operator's checks).
	ErrRefused = errors.New("restore refused")
)

// Error is one problem in a file the package reads, as one line: "file:line:
// what is wrong; what to do" (the line is omitted when unknown).
type Error struct {
	File string
	Line int
	// Key is the offending key, e.g. clusters[0].datacenters[1].nodes[0].address.
	Key string
	Msg string
}

// Error returns the one-line message.
func (e *Error) Error() string {
	return fileerr.Message(e.File, e.Line, e.Msg)
}

// Is reports whether target is ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// failedError is an operation that did not succeed everywhere: its message
// alone, matching ErrFailed.
type failedError struct{ msg string }

func (e *failedError) Error() string        { return e.msg }
func (e *failedError) Is(target error) bool { return target == ErrFailed }

func failure(format string, args ...any) error {
	return &failedError{msg: fileerr.OneLine(fmt.Sprintf(format, args...))}
}
