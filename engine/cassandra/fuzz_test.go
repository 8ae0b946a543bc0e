package cassandra

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The parsers read output of a program cassette does not control; whatever
// bytes come, they return values or an ErrBadOutput line, never panic.
// Every nodetool sample is a seed for every target, besides the corpora in
// testdata/fuzz.

func addSeeds(f *testing.F) {
	for _, dir := range []string{filepath.Join("testdata", "nodetool"), sharedDir} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
}

// checkParseErr asserts the shape of a parser error.
func checkParseErr(t *testing.T, err error) {
	if !errors.Is(err, ErrBadOutput) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %q: want one line wrapping ErrBadOutput", err)
	}
}

func FuzzParseStatus(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		nodes, err := ParseStatus(bytes.NewReader(b))
		if err != nil {
			checkParseErr(t, err)
			return
		}
		for _, n := range nodes {
			if n.Address == "" || n.Load == "" || n.Rack == "" || n.Tokens < 0 || len(n.Status) != 1 || len(n.State) != 1 {
				t.Fatalf("incomplete node %+v", n)
			}
		}
	})
}

func FuzzParseRing(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		ring, err := ParseRing(bytes.NewReader(b))
		if err != nil {
			checkParseErr(t, err)
			return
		}
		for _, e := range ring {
			if e.Address == "" || e.Load == "" || e.Owns == "" {
				t.Fatalf("incomplete entry %+v", e)
			}
		}
	})
}

func FuzzParseInfo(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ParseInfo(bytes.NewReader(b))
		if err != nil {
			checkParseErr(t, err)
			return
		}
		if info.ID == "" || info.TokenCount < len(info.Tokens) || info.Uptime < 0 {
			t.Fatalf("inconsistent info %+v", info)
		}
	})
}

func FuzzParseVersion(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ParseVersion(bytes.NewReader(b))
		if err != nil {
			checkParseErr(t, err)
			return
		}
		if v == "" || strings.ContainsAny(v, "\r\n") {
			t.Fatalf("version %q", v)
		}
	})
}

func FuzzParseListSnapshots(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		snaps, err := ParseListSnapshots(bytes.NewReader(b))
		if err != nil {
			checkParseErr(t, err)
			return
		}
		for _, s := range snaps {
			if s.Name == "" || s.Keyspace == "" || s.Table == "" || s.TrueSize == "" || s.SizeOnDisk == "" {
				t.Fatalf("incomplete snapshot %+v", s)
			}
		}
	})
}
