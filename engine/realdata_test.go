package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cassette-backup/cassette/providers/mem"
)

// sharedSSTables is the real SSTable fixture folder beside the project
// (present in CI). Tests that use it fail in CI when it is missing and skip
// elsewhere.
func sharedSSTables(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "shared", "testdata", "sstables"))
	if err == nil {
		if _, err = os.Stat(dir); err == nil {
			return dir
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("real SSTable fixtures not found at %s: %v", dir, err)
	}
	t.Skipf("no ../shared/testdata/sstables here (%v)", err)
	return ""
}

// Real SSTables of a DSE build, in a real data-directory layout with
// incremental backups/ folders: every file restores byte for byte, and
// nothing under backups/ is taken.
func TestRealSSTablesRoundTrip(t *testing.T) {
	ctx := context.Background()
	root := sharedSSTables(t)
	for _, build := range []string{"dse", "ds-trunk-4.0", "vsearch"} {
		t.Run(build, func(t *testing.T) {
			data := filepath.Join(root, "udt", build)
			e := testEngine(t, mem.New(mem.Options{}))
			res, err := e.Backup(ctx, BackupOptions{Name: "real", Node: "n1", DataDirs: []string{data}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.ReadManifest(ctx, "real", "n1", func(f *FileEntry) error {
				if strings.Contains(f.Path, "/backups/") || strings.Contains(f.Path, "/snapshots/") {
					t.Errorf("backed up %s from an incremental-backup or snapshot folder", f.Path)
				}
				if f.Keyspace() != "ks" || f.Table() == "" {
					t.Errorf("%s: keyspace %q table %q", f.Path, f.Keyspace(), f.Table())
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(t.TempDir(), "restore")
			if _, err := e.Restore(ctx, RestoreOptions{Name: "real", Node: "n1", Target: target}); err != nil {
				t.Fatal(err)
			}
			compareTrees(t, data, target)
			t.Logf("%s: %d files, %d bytes, %d new chunks", build, res.Header.Summary.Files, res.Header.Summary.Bytes, res.Header.Summary.NewChunks)
			// Table filter on restore: one table only.
			one := filepath.Join(t.TempDir(), "one")
			rr, err := e.Restore(ctx, RestoreOptions{Name: "real", Node: "n1", Target: one, Filter: TableFilter(nil, []string{"ks.tab1_udt1"}, nil)})
			if err != nil {
				t.Fatal(err)
			}
			if rr.Files == 0 || rr.Files >= res.Header.Summary.Files {
				t.Fatalf("table filter restored %d of %d files", rr.Files, res.Header.Summary.Files)
			}
		})
	}
}
