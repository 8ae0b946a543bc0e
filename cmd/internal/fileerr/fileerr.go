// Package fileerr formats the one-line messages that config, schedule and
// control give about a place in a file they read: "file:line: problem".
// Each of those packages keeps its own Error type and sentinels; this
// package only makes their messages read the same way.
package fileerr

import (
	"strconv"
	"strings"
)

// Message returns "file:line: msg" on one line; the line is left out when
// it is not positive (unknown).
func Message(file string, line int, msg string) string {
	var b strings.Builder
	b.WriteString(file)
	if line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(line))
	}
	b.WriteString(": ")
	b.WriteString(msg)
	return OneLine(b.String())
}

// newlines are the line breaks OneLine replaces.
var newlines = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

// OneLine replaces line breaks with spaces, so that a message stays one
// line whatever odd key names a file or a peer's reply held.
func OneLine(s string) string {
	return newlines.Replace(s)
}
