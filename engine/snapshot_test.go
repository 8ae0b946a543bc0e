package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cassette-backup/cassette/engine/cassandra"
	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/faulty"
	"github.com/cassette-backup/cassette/providers/mem"
)

// fakeNodetool points the fake nodetool script at dataDir and returns a
// runner for it and the file its calls are logged to.
func fakeNodetool(t *testing.T, dataDir string) (*cassandra.Nodetool, string) {
	t.Helper()
	bin, err := cassandra.FakeNodetoolPath()
	if err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), "nodetool.log")
	t.Setenv("FAKE_NODETOOL_DATA_DIRS", dataDir)
	t.Setenv("FAKE_NODETOOL_LOG", log)
	return cassandra.NewNodetool(cassandra.NodetoolConfig{Executable: bin}), log
}

func snapshotTree() []treeFile {
	tbl := "ks1/users-0123456789abcdef0123456789abcdef/"
	return []treeFile{
		{tbl + "nb-1-big-Data.db", []byte(strings.Repeat("row data ", 5000))},
		{tbl + "nb-1-big-Index.db", []byte("index")},
		{tbl + ".users_email_idx/nb-1-big-Data.db", []byte("secondary index data")},
		{"system_schema/tables-afddfb9dbc1e30688056eed6c302ba09/nb-3-big-Data.db", []byte("schema sstable")},
	}
}

func TestBackupFromNodetoolSnapshot(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	writeTree(t, data, snapshotTree())
	nt, log := fakeNodetool(t, data)
	e := testEngine(t, mem.New(mem.Options{}))
	snap := &NodetoolSnapshot{Nodetool: nt, Tag: SnapshotTag("b1"), DataDirs: []string{data}}
	res, err := e.Backup(ctx, BackupOptions{Name: "b1", Node: "n1", DataDirs: []string{data}, Snapshot: snap})
	if err != nil {
		t.Fatal(err)
	}
	if res.Header.Snapshot != "cassette-b1" || res.Header.Summary.Files != 4 {
		t.Fatalf("header: snapshot %q, %d files; want cassette-b1, 4", res.Header.Snapshot, res.Header.Summary.Files)
	}
	calls, _ := os.ReadFile(log)
	if !strings.Contains(string(calls), "snapshot -t cassette-b1") || !strings.Contains(string(calls), "clearsnapshot -t cassette-b1") {
		t.Fatalf("nodetool calls:\n%s", calls)
	}
	if ok, _ := cassandra.SnapshotExists([]string{data}, "cassette-b1"); ok {
		t.Fatal("snapshot cassette-b1 was not cleared")
	}
	// Recorded by live path: a restore reproduces the data directory.
	target := t.TempDir()
	if _, err := e.Restore(ctx, RestoreOptions{Name: "b1", Node: "n1", Target: target}); err != nil {
		t.Fatal(err)
	}
	for _, f := range snapshotTree() {
		got, err := os.ReadFile(filepath.Join(target, filepath.FromSlash(f.rel)))
		if err != nil || string(got) != string(f.data) {
			t.Fatalf("restored %s: %v", f.rel, err)
		}
	}
	// The next backup reads nothing: snapshot links share the live files'
	// inodes, and the file cache knows files by their live path.
	res, err = e.Backup(ctx, BackupOptions{Name: "b2", Node: "n1", DataDirs: []string{data}, Snapshot: &NodetoolSnapshot{Nodetool: nt, Tag: SnapshotTag("b2"), DataDirs: []string{data}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Header.Summary.ReadFiles != 0 {
		t.Fatalf("second backup from a new snapshot read %d files, want 0", res.Header.Summary.ReadFiles)
	}
}

func TestSnapshotClearedWhenBackupFails(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	writeTree(t, data, snapshotTree())
	nt, log := fakeNodetool(t, data)
	fs := faulty.New(mem.New(mem.Options{}))
	e := testEngine(t, fs)
	boom := errors.New("bucket gone")
	fs.AddRule(faulty.Rule{Op: faulty.OpPut, KeyPrefix: "packs/", Err: boom})
	_, err := e.Backup(ctx, BackupOptions{Name: "b1", Node: "n1", DataDirs: []string{data},
		Snapshot: &NodetoolSnapshot{Nodetool: nt, Tag: SnapshotTag("b1"), DataDirs: []string{data}}})
	if !errors.Is(err, boom) {
		t.Fatalf("backup error = %v, want the injected failure", err)
	}
	calls, _ := os.ReadFile(log)
	if !strings.Contains(string(calls), "clearsnapshot -t cassette-b1") {
		t.Fatalf("clearsnapshot not run after the failure; nodetool calls:\n%s", calls)
	}
	if ok, _ := cassandra.SnapshotExists([]string{data}, "cassette-b1"); ok {
		t.Fatal("snapshot left behind after a failed backup")
	}
	if _, err := fs.Unwrap().Stat(ctx, ManifestKey("b1", "n1")); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("a failed backup must leave no manifest: %v", err)
	}
}

func TestNodetoolDownFailsClearly(t *testing.T) {
	data := t.TempDir()
	writeTree(t, data, snapshotTree())
	nt, _ := fakeNodetool(t, data)
	t.Setenv("FAKE_NODETOOL_DOWN", "1")
	e := testEngine(t, mem.New(mem.Options{}))
	_, err := e.Backup(context.Background(), BackupOptions{Name: "b1", Node: "n1", DataDirs: []string{data},
		Snapshot: &NodetoolSnapshot{Nodetool: nt, Tag: SnapshotTag("b1"), DataDirs: []string{data}}})
	if !errors.Is(err, cassandra.ErrUnreachable) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("want one-line unreachable error, got %v", err)
	}
	t.Log(err)
}

func TestExistingAndHardlinkSnapshots(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	writeTree(t, data, snapshotTree())
	e := testEngine(t, mem.New(mem.Options{}))
	if _, err := e.Backup(ctx, BackupOptions{Name: "b0", Node: "n1", DataDirs: []string{data}, Snapshot: &ExistingSnapshot{DataDirs: []string{data}, Tag: "nightly"}}); err == nil || !strings.Contains(err.Error(), "listsnapshots") {
		t.Fatalf("missing existing snapshot: %v", err)
	}
	if err := cassandra.HardlinkSnapshot([]string{data}, "nightly", nil); err != nil {
		t.Fatal(err)
	}
	res, err := e.Backup(ctx, BackupOptions{Name: "b1", Node: "n1", DataDirs: []string{data}, Snapshot: &ExistingSnapshot{DataDirs: []string{data}, Tag: "nightly"}})
	if err != nil || res.Header.Summary.Files != 4 {
		t.Fatalf("backup of existing snapshot: %v", err)
	}
	if ok, _ := cassandra.SnapshotExists([]string{data}, "nightly"); !ok {
		t.Fatal("an operator's snapshot must be left in place")
	}
	hl := &HardlinkSnapshot{DataDirs: []string{data}, Tag: SnapshotTag("b2"), Keep: true}
	if _, err := e.Backup(ctx, BackupOptions{Name: "b2", Node: "n1", DataDirs: []string{data}, Snapshot: hl}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := cassandra.SnapshotExists([]string{data}, "cassette-b2"); !ok {
		t.Fatal("--keep-snapshot: snapshot cassette-b2 was removed")
	}
}
