package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cassette-backup/cassette/cmd/internal/fileerr"
	suggestpkg "github.com/cassette-backup/cassette/cmd/internal/suggest"
)

// Sentinel errors of the package.
var (
	// ErrInvalid marks a configuration that cannot be used as written:
	// unknown keys, malformed values, missing required settings. Every
	// *Error matches it with errors.Is, so the command can map it to its
	// usage exit code.
	ErrInvalid = errors.New("invalid configuration")
)

// Error is one configuration problem: where it is and what to do about it.
// Its message is a single line, "file:line: problem" (the line is omitted
// when unknown), and never contains a secret value.
type Error struct {
	// File is the configuration file; "" when the configuration did not
	// come from a file (defaults and flags only).
	File string
	// Line is the 1-based line of the offending key, 0 when unknown.
	Line int
	// Key is the offending key as spelled in File's format, e.g.
	// "storageProperties.bucketName" or "[storage] bucket_name".
	Key string
	// Msg says what is wrong and what to do; it names Key.
	Msg string
}

// Error returns the one-line message.
func (e *Error) Error() string {
	return fileerr.Message(sourceName(e.File), e.Line, e.Msg)
}

// Is reports whether target is ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// sourceName is how messages name a configuration source.
func sourceName(file string) string {
	if file == "" {
		return "configuration"
	}
	return file
}

// errorf builds an *Error.
func errorf(file string, line int, key, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// didYouMean returns ` (did you mean "x"?)` when one of known is close to
// key, and "" otherwise. aliases maps foreign spellings (medusa.ini names
// in YAML, YAML names in medusa.ini) to the name to suggest.
func didYouMean(key string, known []string, aliases map[string]string) string {
	if s := suggest(key, known, aliases); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// suggest returns the known key closest to key, or "" when none is close.
// aliases are checked first (exact, then lower-cased).
func suggest(key string, known []string, aliases map[string]string) string {
	if s, ok := aliases[key]; ok {
		return s
	}
	if s, ok := aliases[strings.ToLower(key)]; ok {
		return s
	}
	return suggestpkg.Closest(key, known)
}
