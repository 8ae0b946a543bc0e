package cassandra

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// liveFiles is a small data directory as Cassandra lays it out, with the
// folders a snapshot must leave alone: backups/, older snapshots and
// cassette's own .cassette-aside.
var liveFiles = map[string]string{
	"ks1/users-1a2b/nb-1-big-Data.db":                            "users data",
	"ks1/users-1a2b/nb-1-big-Index.db":                           "users index",
	"ks1/users-1a2b/.users_email_idx/nb-1-big-Data.db":           "index data",
	"ks1/users-1a2b/backups/nb-0-big-Data.db":                    "incremental backup",
	"ks1/users-1a2b/snapshots/old/nb-0-big-Data.db":              "old snapshot",
	"ks2/events-3c4d/nb-7-big-Data.db":                           "events",
	"system/local-7ad5/nb-1-big-Data.db":                         "local",
	".cassette-aside/1700000000/ks1/users-1a2b/nb-0-big-Data.db": "moved aside",
}

// snapshotOf is what a snapshot "T" of every table of liveFiles holds.
var snapshotOf = []string{
	"ks1/users-1a2b/snapshots/T/.users_email_idx/nb-1-big-Data.db",
	"ks1/users-1a2b/snapshots/T/nb-1-big-Data.db",
	"ks1/users-1a2b/snapshots/T/nb-1-big-Index.db",
	"ks2/events-3c4d/snapshots/T/nb-7-big-Data.db",
	"system/local-7ad5/snapshots/T/nb-1-big-Data.db",
}

func makeDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for rel, content := range liveFiles {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// snapshotFiles lists the files of snapshot tag in dir, and checks each is
// a hard link of the live file it copies.
func snapshotFiles(t *testing.T, dir, tag string) []string {
	t.Helper()
	var got []string
	marker := "/snapshots/" + tag + "/"
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if !strings.Contains(rel, marker) {
			return nil
		}
		got = append(got, rel)
		live, _ := os.Stat(filepath.Join(dir, strings.Replace(rel, marker, "/", 1)))
		snap, _ := os.Stat(p)
		if live == nil || snap == nil || !os.SameFile(live, snap) {
			t.Errorf("%s is not a hard link of the live file", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	return got
}

func TestHardlinkSnapshot(t *testing.T) {
	dir := makeDataDir(t)
	if err := HardlinkSnapshot([]string{dir}, "T", nil); err != nil {
		t.Fatal(err)
	}
	if got := snapshotFiles(t, dir, "T"); !reflect.DeepEqual(got, snapshotOf) {
		t.Fatalf("snapshot holds %q\nwant %q", got, snapshotOf)
	}
	if ok, err := SnapshotExists([]string{dir}, "T"); !ok || err != nil {
		t.Errorf("SnapshotExists = %v, %v", ok, err)
	}

	err := HardlinkSnapshot([]string{dir}, "T", nil)
	if !errors.Is(err, ErrSnapshotExists) || strings.Contains(err.Error(), "\n") {
		t.Errorf("second snapshot: %v, want one line wrapping ErrSnapshotExists", err)
	}

	for range 2 { // clearing twice is fine
		if err := ClearSnapshot([]string{dir}, "T"); err != nil {
			t.Fatal(err)
		}
	}
	if got := snapshotFiles(t, dir, "T"); len(got) != 0 {
		t.Errorf("left after clear: %q", got)
	}
	if ok, err := SnapshotExists([]string{dir}, "T"); ok || err != nil {
		t.Errorf("SnapshotExists after clear = %v, %v", ok, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ks1/users-1a2b/snapshots/old/nb-0-big-Data.db")); err != nil {
		t.Errorf("another snapshot was touched: %v", err)
	}
}

func TestHardlinkSnapshotKeep(t *testing.T) {
	a, b := makeDataDir(t), makeDataDir(t)
	keep := func(ks, table string) bool { return ks == "ks1" && table == "users" || ks == "system" }
	if err := HardlinkSnapshot([]string{a, b}, "T", keep); err != nil {
		t.Fatal(err)
	}
	want := []string{snapshotOf[0], snapshotOf[1], snapshotOf[2], snapshotOf[4]}
	for _, dir := range []string{a, b} {
		if got := snapshotFiles(t, dir, "T"); !reflect.DeepEqual(got, want) {
			t.Errorf("snapshot holds %q\nwant %q", got, want)
		}
	}
}

// A tag that exists in a table the snapshot would not even take is still
// refused: clearing our snapshot later would remove it.
func TestHardlinkSnapshotRefusesForeignTag(t *testing.T) {
	dir := makeDataDir(t)
	if err := os.MkdirAll(filepath.Join(dir, "ks2/events-3c4d/snapshots/T"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := HardlinkSnapshot([]string{dir}, "T", func(ks, _ string) bool { return ks == "ks1" })
	if !errors.Is(err, ErrSnapshotExists) {
		t.Fatalf("got %v, want ErrSnapshotExists", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ks1/users-1a2b/snapshots/T")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ks1 was snapshotted anyway: %v", err)
	}
}

// A failure half-way removes what was made, including snapshots/ folders
// the call created, and leaves the rest alone.
func TestHardlinkSnapshotCleansUp(t *testing.T) {
	dir := makeDataDir(t)
	fresh := filepath.Join(dir, "ks1/aaa-0000")
	if err := os.MkdirAll(fresh, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fresh, "nb-1-big-Data.db"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// When ks2 comes up, make its snapshots/ a file so that the link fails.
	keep := func(ks, _ string) bool {
		if ks == "ks2" {
			if err := os.WriteFile(filepath.Join(dir, "ks2/events-3c4d/snapshots"), nil, 0o644); err != nil {
				t.Error(err)
			}
		}
		return true
	}
	err := HardlinkSnapshot([]string{dir}, "T", keep)
	if err == nil || !strings.Contains(err.Error(), "ks2.events") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("got %v, want a one-line error naming ks2.events", err)
	}
	if got := snapshotFiles(t, dir, "T"); len(got) != 0 {
		t.Errorf("partial snapshot left: %q", got)
	}
	if _, err := os.Stat(filepath.Join(fresh, "snapshots")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("snapshots/ folder made by the failed call is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ks1/users-1a2b/snapshots/old")); err != nil {
		t.Errorf("an older snapshot was removed: %v", err)
	}
}

func TestSnapshotMissingDataDir(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	for name, err := range map[string]error{
		"hardlink": HardlinkSnapshot([]string{missing}, "T", nil),
		"clear":    ClearSnapshot([]string{missing}, "T"),
		"exists":   func() error { _, err := SnapshotExists([]string{missing}, "T"); return err }(),
	} {
		if err == nil || !strings.Contains(err.Error(), "check cassandra.dataDirs") {
			t.Errorf("%s: got %v, want advice to check cassandra.dataDirs", name, err)
		}
	}
}

func TestValidateTag(t *testing.T) {
	for _, ok := range []string{"T", "cassette-2024.01.25_10", "medusa-backup1", strings.Repeat("a", 255)} {
		if err := ValidateTag(ok); err != nil {
			t.Errorf("ValidateTag(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a/b", "..", "a..b", "-pw", ".hidden", "a b", "tag\n", "é", strings.Repeat("a", 256)} {
		err := ValidateTag(bad)
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("ValidateTag(%q) = %v, want a one-line error", bad, err)
		}
		if err := HardlinkSnapshot([]string{t.TempDir()}, bad, nil); err == nil {
			t.Errorf("HardlinkSnapshot accepted tag %q", bad)
		}
	}
}
