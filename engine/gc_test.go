package engine

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/mem"
)

func countObjects(t *testing.T, st providers.Storage, prefix string) int {
	t.Helper()
	n := 0
	if err := st.List(context.Background(), prefix, func(providers.ObjectInfo) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// Three backups of a node whose SSTables are compacted away between them:
// purge keeps the newest, GC deletes what only the others used, repacks
// mixed packs, and the kept backup still restores byte for byte.
func TestPurgeAndGC(t *testing.T) {
	ctx := context.Background()
	st := mem.New(mem.Options{ListPageSize: 7})
	e := testEngine(t, st)
	data := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 7))
	tbl := "ks/t-01/"
	keep := randomBytes(rng, 300<<10)
	writeTree(t, data, []treeFile{{tbl + "nb-1-big-Data.db", keep}})
	for i, name := range []string{"b1", "b2", "b3"} {
		// Each generation adds one SSTable and compacts away the previous one.
		if i > 0 {
			os.Remove(filepath.Join(data, tbl, "nb-"+string(rune('1'+i))+"-big-Data.db"))
		}
		writeTree(t, data, []treeFile{{tbl + "nb-" + string(rune('2'+i)) + "-big-Data.db", randomBytes(rng, 200<<10)}})
		if _, err := e.Backup(ctx, BackupOptions{Name: name, Node: "n1", DataDirs: []string{data}}); err != nil {
			t.Fatal(err)
		}
	}
	// An abandoned incomplete backup (a node that crashed).
	if err := st.Put(ctx, StartedKey("crashed", "n1"), providers.Bytes([]byte(`{}`)), providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	packsBefore := countObjects(t, st, chunkstore.PackPrefix)

	plan, err := e.Purge(ctx, PurgeOptions{MaxCount: 1, Grace: 0, DryRun: true, GC: true})
	if err != nil {
		t.Fatal(err)
	}
	if plan.BackupsPurged != 3 || countObjects(t, st, chunkstore.PackPrefix) != packsBefore || countObjects(t, st, "backups/") == 0 {
		t.Fatalf("dry run: %+v", plan)
	}
	res, err := e.Purge(ctx, PurgeOptions{MaxCount: 1, Grace: 0, GC: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.BackupsPurged != 3 || res.GC == nil || res.GC.PacksDeleted+res.GC.PacksRepacked == 0 || res.BytesFreed <= 0 {
		t.Fatalf("purge: %+v gc %+v", res, res.GC)
	}
	list, err := e.ListBackups(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "b3" {
		t.Fatalf("after purge: %+v %v", list, err)
	}
	target := t.TempDir()
	if _, err := e.Restore(ctx, RestoreOptions{Name: "b3", Node: "n1", Target: target}); err != nil {
		t.Fatal(err)
	}
	compareTrees(t, data, target)
	vr, err := e.Verify(ctx, VerifyOptions{ReadData: true})
	if err != nil || len(vr.Problems) > 0 {
		t.Fatalf("verify after GC: %v %v", vr.Problems, err)
	}
	// Nothing unreferenced survives: a second GC finds nothing to do.
	gc2, err := e.GC(ctx, GCOptions{Grace: 0})
	if err != nil || gc2.PacksDeleted != 0 || gc2.PacksRepacked != 0 {
		t.Fatalf("second GC: %+v %v", gc2, err)
	}
	// Another node's cache, synced before the GC, forgets what GC removed.
	e2 := testEngine(t, st)
	if _, err := e2.Backup(ctx, BackupOptions{Name: "b4", Node: "n1", DataDirs: []string{data}}); err != nil {
		t.Fatal(err)
	}
	target = t.TempDir()
	if _, err := e2.Restore(ctx, RestoreOptions{Name: "b4", Node: "n1", Target: target}); err != nil {
		t.Fatal(err)
	}
	compareTrees(t, data, target)
}

func TestGCRespectsGraceAndLocks(t *testing.T) {
	ctx := context.Background()
	st := mem.New(mem.Options{})
	e := testEngine(t, st)
	data := t.TempDir()
	writeTree(t, data, []treeFile{{"ks/t-01/nb-1-big-Data.db", randomBytes(rand.New(rand.NewPCG(1, 2)), 100<<10)}})
	if _, err := e.Backup(ctx, BackupOptions{Name: "b1", Node: "n1", DataDirs: []string{data}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Delete(ctx, "b1", ""); err != nil {
		t.Fatal(err)
	}
	gc, err := e.GC(ctx, GCOptions{Grace: time.Hour})
	if err != nil || gc.PacksDeleted != 0 || gc.PacksKeptGrace == 0 {
		t.Fatalf("young packs must survive the grace period: %+v %v", gc, err)
	}
	// A live shared lock (a running backup) blocks the sweep.
	l, err := e.AcquireLock(ctx, LockShared, "backup b2", LockOptions{Node: "n2"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.GC(ctx, GCOptions{}); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "node n2") {
		t.Fatalf("GC under a live backup lock: %v", err)
	}
	// And an exclusive lock makes a backup fail after bounded waiting.
	l.Release()
	x, err := e.AcquireLock(ctx, LockExclusive, "gc", LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.Locks = LockOptions{Wait: -1}
	if _, err := e.Backup(ctx, BackupOptions{Name: "b2", Node: "n1", DataDirs: []string{data}}); !errors.Is(err, ErrLocked) {
		t.Fatalf("backup under an exclusive lock: %v", err)
	}
	x.Release()
	// A stale lock is removed by `unlock --stale`, a live one is not.
	e.Locks = LockOptions{}
	live, _ := e.AcquireLock(ctx, LockShared, "backup", LockOptions{})
	defer live.Release()
	e.Now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	old, _ := e.AcquireLock(ctx, LockShared, "backup", LockOptions{})
	e.Now = nil
	_ = old // its holder "crashed": never released
	removed, err := e.RemoveStaleLocks(ctx, 0, false)
	if err != nil || len(removed) != 1 || removed[0].Key != old.info.Key {
		t.Fatalf("unlock --stale removed %+v %v", removed, err)
	}
	old.Release() // stop its refresher; the object is gone already
}
