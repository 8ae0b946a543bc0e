package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
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
	var b strings.Builder
	b.WriteString(sourceName(e.File))
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return oneLine(b.String())
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
// Comparison ignores case, '_' and '-', so bucket_name finds bucketName.
func suggest(key string, known []string, aliases map[string]string) string {
	if s, ok := aliases[key]; ok {
		return s
	}
	if s, ok := aliases[strings.ToLower(key)]; ok {
		return s
	}
	norm := normalizeKey(key)
	if norm == "" {
		return ""
	}
	sorted := append([]string(nil), known...)
	sort.Strings(sorted) // deterministic among ties
	best, bestDist := "", -1
	for _, k := range sorted {
		d := editDistance(norm, normalizeKey(k))
		if bestDist < 0 || d < bestDist {
			best, bestDist = k, d
		}
	}
	if bestDist < 0 || bestDist > maxSuggestDistance(len(norm)) {
		return ""
	}
	return best
}

// maxSuggestDistance is how many edits a suggestion may be away: enough for
// a typo or two, never so many that unrelated words match.
func maxSuggestDistance(n int) int {
	switch {
	case n <= 3:
		return 1
	case n <= 8:
		return 2
	default:
		return 3
	}
}

// normalizeKey lower-cases key and drops '_' and '-'.
func normalizeKey(key string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(key) {
		if r != '_' && r != '-' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// editDistance is the Levenshtein distance between a and b, in runes.
// Inputs are capped at 64 runes, which is longer than any key, so hostile
// input cannot make it quadratic in a large size.
func editDistance(a, b string) int {
	ra, rb := capRunes(a, 64), capRunes(b, 64)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func capRunes(s string, n int) []rune {
	r := []rune(s)
	if len(r) > n {
		r = r[:n]
	}
	return r
}

// oneLine replaces line breaks, so that a message stays one line whatever
// odd key names a file holds.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}
