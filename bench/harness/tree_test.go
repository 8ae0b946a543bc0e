package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWalkNodeSkipsSnapshots(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"ks/t-1/nb-1-big-Data.db":                  "data",
		"ks/t-1/.idx/nb-1-big-Data.db":             "idx",
		"ks/t-1/snapshots/s1/nb-1-big-Data.db":     "snap",
		"ks/t-1/backups/nb-1-big-Data.db":          "inc",
		"ks/t-1/nb-2-big-TOC.txt":                  "toc",
		"system_schema/tables-2/nb-1-big-Data.db":  "s",
		"ks/t-1/snapshots-not/nb-1-big-Data.db":    "kept",
		"backups/t-3/nb-1-big-Data.db":             "keyspace named backups",
		"ks/t-1/.idx/snapshots/x/nb-1-big-Data.db": "index snapshot",
	})
	files, err := WalkNode(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Rel)
	}
	want := "backups/t-3/nb-1-big-Data.db ks/t-1/.idx/nb-1-big-Data.db ks/t-1/nb-1-big-Data.db ks/t-1/nb-2-big-TOC.txt ks/t-1/snapshots-not/nb-1-big-Data.db system_schema/tables-2/nb-1-big-Data.db"
	if strings.Join(got, " ") != want {
		t.Errorf("WalkNode\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if TotalBytes(files) != int64(len("keyspace named backups")+3+4+3+4+1) {
		t.Errorf("TotalBytes = %d", TotalBytes(files))
	}
}

func TestCompareTrees(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	big := strings.Repeat("x", 3<<20)
	files := map[string]string{"ks/t/a": "hello", "ks/t/big": big, "ks/t/empty": ""}
	writeFiles(t, a, files)
	writeFiles(t, a, map[string]string{"ks/t/snapshots/s/a": "ignored"})
	writeFiles(t, b, files)
	if err := CompareTrees(a, b); err != nil {
		t.Fatalf("equal trees: %v", err)
	}
	writeFiles(t, b, map[string]string{"ks/t/big": big[:2<<20] + "y" + big[2<<20+1:]})
	if err := CompareTrees(a, b); err == nil || !strings.Contains(err.Error(), "offset 2097152") {
		t.Errorf("changed byte: %v", err)
	}
	writeFiles(t, b, map[string]string{"ks/t/big": big, "ks/t/extra": "e"})
	if err := CompareTrees(a, b); err == nil || !strings.Contains(err.Error(), "extra ks/t/extra") {
		t.Errorf("extra file: %v", err)
	}
	os.Remove(filepath.Join(b, "ks/t/extra"))
	writeFiles(t, b, map[string]string{"ks/t/a": "hellO"})
	if err := CompareTrees(a, b); err == nil {
		t.Error("changed small file: no error")
	}
}

func TestNewFilesAndCopyTree(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "copy")
	writeFiles(t, src, map[string]string{"ks/t/a": "1", "ks/t/b": "22"})
	before, _ := WalkNode(src)
	writeFiles(t, src, map[string]string{"ks/t/b": "333", "ks/t/c": "4"})
	after, _ := WalkNode(src)
	nf := NewFiles(before, after)
	if len(nf) != 2 || nf[0].Rel != "ks/t/b" || nf[1].Rel != "ks/t/c" || TotalBytes(nf) != 4 {
		t.Errorf("NewFiles = %+v", nf)
	}
	if err := CopyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	if err := CompareTrees(src, dst); err != nil {
		t.Error(err)
	}
}
