package engine

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/mem"
)

// blockingStorage holds every Get of a pack until released, so a test can
// act while a restore is in the middle of reading.
type blockingStorage struct {
	providers.Storage
	started chan struct{}
	release chan struct{}
}

func (b *blockingStorage) Get(ctx context.Context, k providers.Key, off, n int64, fn func(io.Reader) error) error {
	b.block(k)
	return b.Storage.Get(ctx, k, off, n, fn)
}

func (b *blockingStorage) block(k providers.Key) {
	if len(k) > 6 && k[:6] == "packs/" {
		select {
		case b.started <- struct{}{}:
		default:
		}
		<-b.release
	}
}

// A restore holds a shared lock: a GC started meanwhile is refused instead
// of deleting packs under it. And a GC's exclusive lock (here one left by a
// crashed GC) never blocks a restore for long: after the readers' wait it
// goes on, with a warning.
func TestRestoreAndGCLocks(t *testing.T) {
	ctx := context.Background()
	st := mem.New(mem.Options{})
	e := testEngine(t, st)
	data := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 3))
	writeTree(t, data, []treeFile{{"ks/t-01/nb-1-big-Data.db", randomBytes(rng, 200<<10)}})
	if _, err := e.Backup(ctx, BackupOptions{Name: "b1", Node: "n1", DataDirs: []string{data}}); err != nil {
		t.Fatal(err)
	}

	bs := &blockingStorage{Storage: st, started: make(chan struct{}, 1), release: make(chan struct{})}
	er := testEngine(t, bs)
	done := make(chan error, 1)
	go func() {
		_, err := er.Restore(ctx, RestoreOptions{Name: "b1", Node: "n1", Target: t.TempDir()})
		done <- err
	}()
	<-bs.started
	if _, err := e.GC(ctx, GCOptions{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("GC during a restore: %v, want ErrLocked", err)
	}
	close(bs.release)
	if err := <-done; err != nil {
		t.Fatalf("restore: %v", err)
	}

	// A crashed GC's lock: the restore waits the readers' bounded wait,
	// then restores anyway.
	gcLock, err := e.AcquireLock(ctx, LockExclusive, "gc", LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer gcLock.Release()
	e.Locks = LockOptions{Wait: 1500 * time.Millisecond}
	target := t.TempDir()
	if _, err := e.Restore(ctx, RestoreOptions{Name: "b1", Node: "n1", Target: target}); err != nil {
		t.Fatalf("restore under a GC lock: %v", err)
	}
	compareTrees(t, data, target)
	if vr, err := e.Verify(ctx, VerifyOptions{}); err != nil || len(vr.Problems) > 0 {
		t.Fatalf("verify under a GC lock: %v %v", vr, err)
	}
}

// A running backup (its live lock) is never removed as incomplete, even
// with a zero grace period; once its lock is gone, it is.
func TestPurgeKeepsRunningBackups(t *testing.T) {
	ctx := context.Background()
	st := mem.New(mem.Options{})
	e := testEngine(t, st)
	data := t.TempDir()
	writeTree(t, data, []treeFile{{"ks/t-01/nb-1-big-Data.db", []byte("some rows")}})
	if _, err := e.Backup(ctx, BackupOptions{Name: "done", Node: "n1", DataDirs: []string{data}}); err != nil {
		t.Fatal(err)
	}
	lock, err := e.AcquireLock(ctx, LockShared, "backup running", LockOptions{Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, StartedKey("running", "n1"), providers.Bytes([]byte(`{}`)), providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := e.Purge(ctx, PurgeOptions{MaxCount: 1})
	if err != nil || res.BackupsPurged != 0 {
		t.Fatalf("purge with a backup running: %+v %v", res, err)
	}
	lock.Release()
	res, err = e.Purge(ctx, PurgeOptions{MaxCount: 1})
	if err != nil || res.BackupsPurged != 1 || res.Deleted[0].Name != "running" {
		t.Fatalf("purge once it stopped: %+v %v", res, err)
	}
}

// A lock is judged by the longer of the judge's and its holder's stale
// timeouts: a process configured with a shorter timeout never breaks the
// lock of a holder that refreshes at its own, slower, pace.
func TestLockStaleUsesHolderTimeout(t *testing.T) {
	now := time.Now()
	refreshed := now.Add(-40 * time.Minute)
	slow := LockInfo{Refreshed: refreshed, StaleAfterSeconds: 3600}
	if slow.Stale(now, 30*time.Minute) {
		t.Error("a lock whose holder's timeout is 1h is stale after 40 min for a judge at 30 min")
	}
	if !slow.Stale(now.Add(30*time.Minute), 30*time.Minute) {
		t.Error("a lock not refreshed for 70 min is live with a 1h timeout")
	}
	old := LockInfo{Refreshed: refreshed} // written by an earlier version
	if !old.Stale(now, 30*time.Minute) {
		t.Error("a lock without its holder's timeout is judged by the judge's")
	}
}
