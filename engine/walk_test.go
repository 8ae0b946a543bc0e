package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestWalkSnapshotRecordsLivePaths(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tbl := "ks1/users-0123456789abcdef0123456789abcdef"
	write(tbl+"/nb-1-big-Data.db", "live")                         // live: not read
	write(tbl+"/nb-2-big-Data.db", "compacted after the snapshot") // live only
	write(tbl+"/.users_email_idx/nb-1-big-Data.db", "live index")  // live index
	write(tbl+"/snapshots/cassette-b1/nb-1-big-Data.db", "snap")   // wanted
	write(tbl+"/snapshots/cassette-b1/.users_email_idx/nb-1-big-Data.db", "snap index")
	write(tbl+"/snapshots/cassette-b1/manifest.json", `{"files":[]}`)  // Cassandra's own
	write(tbl+"/snapshots/cassette-b1/schema.cql", "CREATE TABLE ...") // Cassandra's own
	write(tbl+"/snapshots/other/nb-1-big-Data.db", "other snapshot")   // another snapshot
	write(tbl+"/backups/nb-3-big-Data.db", "incremental")              // incremental backups
	write("system_schema/tables-afddfb9dbc1e30688056eed6c302ba09/snapshots/cassette-b1/nb-7-big-Data.db", "schema")
	write("ks2/empty-11111111111111111111111111111111/nb-1-big-Data.db", "no snapshot of this table")

	var got []string
	abs := map[string]string{}
	err := WalkDataDirs(context.Background(), []string{dir}, WalkOptions{SnapshotTag: "cassette-b1"}, func(sf SourceFile) error {
		got = append(got, sf.Rel)
		abs[sf.Rel] = sf.Abs
		return nil
	}, func(p, why string) { t.Errorf("unexpected skip %s: %s", p, why) })
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := []string{
		tbl + "/.users_email_idx/nb-1-big-Data.db",
		tbl + "/nb-1-big-Data.db",
		"system_schema/tables-afddfb9dbc1e30688056eed6c302ba09/nb-7-big-Data.db",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("walk of snapshot cassette-b1:\n got %q\nwant %q", got, want)
	}
	b, err := os.ReadFile(abs[tbl+"/nb-1-big-Data.db"])
	if err != nil || string(b) != "snap" {
		t.Fatalf("live path must be read from the snapshot file, read %q (%v)", b, err)
	}
	b, _ = os.ReadFile(abs[tbl+"/.users_email_idx/nb-1-big-Data.db"])
	if string(b) != "snap index" {
		t.Fatalf("index file read from %s: %q", abs[tbl+"/.users_email_idx/nb-1-big-Data.db"], b)
	}
}
