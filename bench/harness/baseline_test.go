package harness

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/mem"
)

func keys(t *testing.T, st providers.Storage, prefix string) []string {
	t.Helper()
	var out []string
	if err := st.List(context.Background(), prefix, func(oi providers.ObjectInfo) error {
		out = append(out, string(oi.Key))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBaselineDifferential(t *testing.T) {
	ctx := context.Background()
	st := mem.New(mem.Options{ListPageSize: 2})
	data := t.TempDir()
	writeFiles(t, data, map[string]string{"ks/t/nb-1-big-Data.db": "one", "ks/t/nb-2-big-Data.db": "two!", "ks/t/snapshots/s/x": "skip"})
	s, err := BaselineBackup(ctx, st, "n1", "day1", ModeDifferential, data, 2)
	if err != nil {
		t.Fatal(err)
	}
	if s.Files != 2 || s.Transferred != 2 || s.TransferBytes != 7 {
		t.Errorf("day1 stats %+v", s)
	}
	// Compaction: one file replaced, one new; the unchanged one is skipped.
	os.Remove(filepath.Join(data, "ks/t/nb-1-big-Data.db"))
	writeFiles(t, data, map[string]string{"ks/t/nb-3-big-Data.db": "three"})
	s, err = BaselineBackup(ctx, st, "n1", "day2", ModeDifferential, data, 2)
	if err != nil {
		t.Fatal(err)
	}
	if s.Files != 2 || s.Transferred != 1 || s.TransferBytes != 5 {
		t.Errorf("day2 stats %+v", s)
	}
	got := strings.Join(keys(t, st, "n1/"), " ")
	want := "n1/data/ks/t/nb-1-big-Data.db n1/data/ks/t/nb-2-big-Data.db n1/data/ks/t/nb-3-big-Data.db n1/day1/meta/manifest.json n1/day2/meta/manifest.json"
	if got != want {
		t.Errorf("keys\n got %s\nwant %s", got, want)
	}
	dst := filepath.Join(t.TempDir(), "restore")
	s, err = BaselineRestore(ctx, st, "n1", "day2", dst, 3, true)
	if err != nil {
		t.Fatal(err)
	}
	if s.Files != 2 || s.Bytes != 9 {
		t.Errorf("restore stats %+v", s)
	}
	if err := CompareTrees(data, dst); err != nil {
		t.Error(err)
	}
}

func TestBaselineFull(t *testing.T) {
	ctx := context.Background()
	st := mem.New(mem.Options{})
	data := t.TempDir()
	writeFiles(t, data, map[string]string{"ks/t/a": "a", "ks/t/.idx/b": "bb"})
	for _, name := range []string{"b1", "b2"} {
		s, err := BaselineBackup(ctx, st, "n1", name, ModeFull, data, 1)
		if err != nil {
			t.Fatal(err)
		}
		if s.Transferred != 2 {
			t.Errorf("%s: full mode uploads every file, got %+v", name, s)
		}
	}
	if n := len(keys(t, st, "n1/b2/data/")); n != 2 {
		t.Errorf("%d objects under n1/b2/data/, want 2", n)
	}
	if _, err := BaselineBackup(ctx, st, "n1", "b3", "weekly", data, 1); err == nil {
		t.Error("unknown mode: no error")
	}
	if _, err := BaselineRestore(ctx, st, "n1", "missing", t.TempDir(), 1, false); err == nil {
		t.Error("missing backup: no error")
	}
}
