package harness

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// FileEntry is one file of a node's data directory.
type FileEntry struct {
	Rel  string // slash-separated, relative to the data directory
	Size int64
}

// WalkNode lists the files a backup of root covers, sorted by path:
// everything except the snapshots/ and backups/ folders inside table
// folders (<keyspace>/<table>/snapshots), which neither cassette nor Medusa
// back up.
func WalkNode(root string) ([]FileEntry, error) {
	var out []FileEntry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if depth := strings.Count(rel, "/"); depth >= 2 && (d.Name() == "snapshots" || d.Name() == "backups") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, FileEntry{Rel: rel, Size: fi.Size()})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Rel < out[j].Rel })
	return out, err
}

// TotalBytes adds up the sizes.
func TotalBytes(fs []FileEntry) int64 {
	var n int64
	for _, f := range fs {
		n += f.Size
	}
	return n
}

// NewFiles returns the files of after that before does not hold (by path
// and size).
func NewFiles(before, after []FileEntry) []FileEntry {
	old := make(map[string]int64, len(before))
	for _, f := range before {
		old[f.Rel] = f.Size
	}
	var out []FileEntry
	for _, f := range after {
		if s, ok := old[f.Rel]; !ok || s != f.Size {
			out = append(out, f)
		}
	}
	return out
}

// CompareTrees checks that the backed-up files of want (per WalkNode) are in
// got with the same bytes, and that got holds nothing else. Files are
// compared streaming, a megabyte at a time.
func CompareTrees(want, got string) error {
	wf, err := WalkNode(want)
	if err != nil {
		return fmt.Errorf("compare: walk %s: %w", want, err)
	}
	gf, err := WalkNode(got)
	if err != nil {
		return fmt.Errorf("compare: walk %s: %w", got, err)
	}
	if len(wf) != len(gf) {
		return fmt.Errorf("compare: %s has %d files, %s has %d (first difference: %s)", want, len(wf), got, len(gf), firstDiff(wf, gf))
	}
	a, b := make([]byte, 1<<20), make([]byte, 1<<20)
	for i, f := range wf {
		if gf[i] != f {
			return fmt.Errorf("compare: %s (%d bytes) vs %s (%d bytes)", f.Rel, f.Size, gf[i].Rel, gf[i].Size)
		}
		if err := compareFile(filepath.Join(want, f.Rel), filepath.Join(got, f.Rel), a, b); err != nil {
			return err
		}
	}
	return nil
}

func firstDiff(a, b []FileEntry) string {
	for i := 0; i < min(len(a), len(b)); i++ {
		if a[i] != b[i] {
			return fmt.Sprintf("%s vs %s", a[i].Rel, b[i].Rel)
		}
	}
	if len(a) > len(b) {
		return "extra " + a[len(b)].Rel
	}
	if len(b) > len(a) {
		return "extra " + b[len(a)].Rel
	}
	return "none"
}

func compareFile(p, q string, a, b []byte) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	defer f.Close()
	g, err := os.Open(q)
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	defer g.Close()
	var off int64
	for {
		n, errA := io.ReadFull(f, a)
		m, errB := io.ReadFull(g, b)
		if n != m || !bytes.Equal(a[:n], b[:m]) {
			return fmt.Errorf("compare: %s and %s differ in the megabyte at offset %d", p, q, off)
		}
		off += int64(n)
		endA := errA == io.EOF || errA == io.ErrUnexpectedEOF
		endB := errB == io.EOF || errB == io.ErrUnexpectedEOF
		switch {
		case errA != nil && !endA:
			return fmt.Errorf("compare: read %s: %w", p, errA)
		case errB != nil && !endB:
			return fmt.Errorf("compare: read %s: %w", q, errB)
		case endA != endB:
			return fmt.Errorf("compare: %s and %s differ in length", p, q)
		case endA:
			return nil
		}
	}
}

// CopyTree copies the regular files and folders of src into dst (a replica
// node starts as a copy of the data).
func CopyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(p, target)
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
