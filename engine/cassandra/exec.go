package cassandra

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// waitDelay bounds how long Run waits for output pipes after the process
// was killed (a grandchild that escaped the process group could hold them).
const waitDelay = 3 * time.Second

// errTimeout marks a command killed because its own timeout expired, as
// opposed to the caller's context ending.
var errTimeout = errors.New("timed out")

// execute runs name with args, stdin closed, and returns what it printed.
// The error is the start error (exec.ErrNotFound, ...), the caller's
// ctx.Err(), errTimeout joined with context.DeadlineExceeded, or the
// *exec.ExitError.
func execute(ctx context.Context, timeout time.Duration, name string, args []string) (stdout, stderr []byte, err error) {
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, name, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.WaitDelay = waitDelay
	isolate(cmd)
	err = cmd.Run()
	switch {
	case err == nil:
	case ctx.Err() != nil:
		err = ctx.Err()
	case runCtx.Err() != nil:
		err = fmt.Errorf("%w after %s, killed (%w)", errTimeout, timeout, context.DeadlineExceeded)
	}
	return out.Bytes(), errOut.Bytes(), err
}

// commandLine renders a command for messages with secrets replaced by
// "***": the value after any of secretFlags, and any argument equal to
// secret.
func commandLine(name string, args []string, secret string, secretFlags ...string) string {
	parts := []string{name}
	mask := false
	for _, a := range args {
		shown := a
		switch {
		case mask || (secret != "" && a == secret):
			shown = "***"
		case a == "" || strings.ContainsAny(a, " \t\"'"):
			shown = fmt.Sprintf("%q", a)
		}
		mask = slices.Contains(secretFlags, a)
		parts = append(parts, shown)
	}
	return strings.Join(parts, " ")
}

// noise reports lines that are not the tool's own words: JVM and Python
// warnings, stack frames, and nodetool's usage reminder.
func noise(line string) bool {
	for _, p := range []string{"WARN", "OpenJDK", "Picked up", "Java HotSpot", "See 'nodetool help'", "at ", "... ", "Caused by:", "DeprecationWarning", "warnings.warn"} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// lastMessage picks the line that explains a failure: the last meaningful
// line before any "-- StackTrace --", from stderr, else from stdout. It is
// cut to one line of at most 300 bytes with secret masked.
func lastMessage(stderr, stdout []byte, secret string) string {
	pick := func(b []byte) string {
		text, _, _ := strings.Cut(string(b), "-- StackTrace --")
		msg := ""
		for _, l := range strings.Split(text, "\n") {
			if l = strings.TrimSpace(l); l != "" && !noise(l) {
				msg = l
			}
		}
		return msg
	}
	msg := pick(stderr)
	if msg == "" {
		msg = pick(stdout)
	}
	if msg == "" {
		return "no error message"
	}
	if secret != "" {
		msg = strings.ReplaceAll(msg, secret, "***")
	}
	msg = strings.Map(func(r rune) rune {
		if r < ' ' {
			return ' '
		}
		return r
	}, msg)
	if len(msg) > 300 {
		msg = strings.ToValidUTF8(msg[:300], "") + "..."
	}
	return msg
}
