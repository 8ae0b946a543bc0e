package engine

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// ReadTokens reads a node's tokens: integers separated by commas, spaces or
// new lines ('#' starts a comment), as `nodetool info -T | awk` or an
// operator's tokens file gives them.
func ReadTokens(r io.Reader, name string) ([]int64, error) {
	var out []int64
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text, _, _ := strings.Cut(sc.Text(), "#")
		for _, f := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			v, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %q is not a token (want integers separated by commas or new lines)", name, line, f)
			}
			out = append(out, v)
			if len(out) > 1<<16 {
				return nil, fmt.Errorf("%s: more than 65536 tokens", name)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// ReadTokensFile reads ReadTokens from a file.
func ReadTokensFile(path string) ([]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file: %w (check cassandra.tokensFile / --tokens-file)", err)
	}
	defer f.Close()
	return ReadTokens(f, path)
}

// ParseExpected reads the expected topology: "host[:dc[:rack]]" entries
// separated by commas or new lines.
func ParseExpected(s string) ([]NodeInfo, error) {
	var out []NodeInfo
	seen := map[string]bool{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' }) {
		parts := strings.Split(f, ":")
		if len(parts) > 3 {
			return nil, fmt.Errorf("expected node %q: write host, host:datacenter or host:datacenter:rack", f)
		}
		n := NodeInfo{Host: parts[0]}
		if len(parts) > 1 {
			n.Datacenter = parts[1]
		}
		if len(parts) > 2 {
			n.Rack = parts[2]
		}
		if err := ValidateName("node", n.Host); err != nil {
			return nil, err
		}
		if seen[n.Host] {
			return nil, fmt.Errorf("expected node %q is listed twice", n.Host)
		}
		seen[n.Host] = true
		out = append(out, n)
	}
	return out, nil
}
