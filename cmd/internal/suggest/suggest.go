// Package suggest finds the closest known word to a mistyped one, for
// "did you mean" hints in configuration errors and unknown backup names.
package suggest

import (
	"fmt"
	"sort"
	"strings"
)

// Closest returns the candidate closest to word, or "" when none is close
// enough to be a typo. Comparison ignores case, '_' and '-', so bucket_name
// finds bucketName. Ties resolve to the lexically smallest candidate.
func Closest(word string, candidates []string) string {
	norm := normalize(word)
	if norm == "" {
		return ""
	}
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	best, bestDist := "", -1
	for _, k := range sorted {
		d := editDistance(norm, normalize(k))
		if bestDist < 0 || d < bestDist {
			best, bestDist = k, d
		}
	}
	if bestDist < 0 || bestDist > maxDistance(len(norm)) {
		return ""
	}
	return best
}

// Hint returns ` (did you mean "x"?)` for the candidate closest to word,
// or "" when none is close: the tail of a one-line error.
func Hint(word string, candidates []string) string {
	if s := Closest(word, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// maxDistance is how many edits a suggestion may be away: enough for a typo
// or two, never so many that unrelated words match.
func maxDistance(n int) int {
	switch {
	case n <= 3:
		return 1
	case n <= 8:
		return 2
	default:
		return 3
	}
}

// normalize lower-cases s and drops '_' and '-'.
func normalize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r != '_' && r != '-' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// editDistance is the Levenshtein distance between a and b, in runes.
// Inputs are capped at 64 runes, so hostile input cannot make it quadratic
// in a large size.
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
