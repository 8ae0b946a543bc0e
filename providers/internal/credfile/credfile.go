// Package credfile reads the credentials files of the remote backends (the
// mounted storageSecretRef secret) and reports what is wrong with one in a
// single line that names the file and the format it must have, and never
// repeats a value from it.
package credfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/cassette-backup/cassette/providers"
)

// Error is a missing, unreadable or malformed credentials file. It wraps
// providers.ErrPermission and, for a file that cannot be read, the reason
// (fs.ErrNotExist, fs.ErrPermission, …).
type Error struct {
	// Backend names the backend in the message: "s3", "gcs", "azure".
	Backend string
	// File is the credentials file's path.
	File string
	// Problem says what is wrong, without quoting the file.
	Problem string
	// Format describes what the file must hold.
	Format string
	cause  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s credentials file %s: %s; expected %s", e.Backend, e.File, e.Problem, e.Format)
}

// Unwrap returns providers.ErrPermission and the cause, if any.
func (e *Error) Unwrap() []error {
	if e.cause == nil {
		return []error{providers.ErrPermission}
	}
	return []error{providers.ErrPermission, e.cause}
}

// Read returns the content of file, or an *Error saying why it cannot.
func Read(backend, file, format string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if err == nil {
		return data, nil
	}
	cause := err
	var pe *fs.PathError
	if errors.As(err, &pe) {
		cause = pe.Err
	}
	problem := "cannot be read (" + cause.Error() + ")"
	switch {
	case errors.Is(err, fs.ErrNotExist):
		problem = "does not exist"
	case errors.Is(err, fs.ErrPermission):
		problem = "is not readable (permission denied)"
	}
	return nil, &Error{Backend: backend, File: file, Problem: problem, Format: format, cause: cause}
}

// DecodeJSON decodes data, the content of file, into v. Its errors give
// only positions and field names: a syntax error's text can quote the file.
func DecodeJSON(backend, file, format string, data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var (
		serr *json.SyntaxError
		terr *json.UnmarshalTypeError
	)
	problem := "is not a JSON object"
	switch {
	case errors.As(err, &serr):
		problem = fmt.Sprintf("is not valid JSON (error at byte %d)", serr.Offset)
	case errors.As(err, &terr) && terr.Field != "":
		problem = fmt.Sprintf("field %q has the wrong type", terr.Field)
	}
	return &Error{Backend: backend, File: file, Problem: problem, Format: format}
}
