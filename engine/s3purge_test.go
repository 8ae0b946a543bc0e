package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/providers/all"
	"github.com/cassette-backup/cassette/providers/providertest"
)

// TestS3PurgeRacesBackups runs cluster backups of three nodes — three
// engines with caches of their own, backing up at the same time into one
// repository on MinIO — round after round, while another engine purges in
// a loop (maxBackupCount 1, grace 0, garbage collection on, every node).
// Locks decide who waits: a backup or a purge may fail with ErrLocked, and
// nothing else. Afterwards every complete backup is one that succeeded, and
// each restores byte for byte to the data it was taken from; verify
// --read-data finds nothing wrong, before and after a last purge.
func TestS3PurgeRacesBackups(t *testing.T) {
	// Bounded: a hang fails the test here instead of at go test's timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv := providertest.Start(t, providertest.StartMinIO)
	sp := srv.Props("engine-purge")
	sp.ListPageSize = 7
	st, err := all.Create(ctx, sp, all.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	locks := LockOptions{Wait: 5 * time.Second}
	nodes := []string{"n1", "n2", "n3"}
	engines := map[string]*Engine{}
	for _, n := range nodes {
		engines[n] = testEngine(t, st) // the first creates the repository
		engines[n].Locks = locks
	}
	purger := testEngine(t, st)
	purger.Locks = locks

	// The purge loop runs until stop closes; each purge runs to its end.
	var (
		stop                            = make(chan struct{})
		wg                              sync.WaitGroup
		purges, gcs, lockedOut, dropped int
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(5, 6))
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(rng.IntN(100)) * time.Millisecond):
			}
			res, err := purger.Purge(ctx, PurgeOptions{MaxCount: 1, Grace: 0, GC: true})
			switch {
			case err == nil:
				purges++
				gcs++
				dropped += res.BackupsPurged
			case errors.Is(err, ErrLocked):
				// Backups held the sweep off; the retention part ran.
				lockedOut++
				if res != nil {
					dropped += res.BackupsPurged
				}
			default:
				t.Errorf("purge during backups: %v", err)
				return
			}
		}
	}()

	// Each round every node compacts: a new SSTable generation per table
	// (ks1 holds the same rows on every node, as replicas do; ks2 differs),
	// and generations older than three are gone.
	const rounds = 6
	data := map[string]string{}
	for _, n := range nodes {
		data[n] = t.TempDir()
	}
	sources := t.TempDir()
	srcOf := func(name, node string) string { return filepath.Join(sources, name, node) }
	succeeded := map[[2]string]bool{}
	lastOK := map[string]string{}
	var mu sync.Mutex
	for r := range rounds {
		name := fmt.Sprintf("round%d", r)
		for ni, n := range nodes {
			shared := rand.New(rand.NewPCG(uint64(r), 1))
			own := rand.New(rand.NewPCG(uint64(r), uint64(ni+2)))
			writeTree(t, data[n], []treeFile{
				{rel: fmt.Sprintf("ks1/events-0c1d/nb-%d-big-Data.db", r), data: randomBytes(shared, 96<<10+shared.IntN(64<<10))},
				{rel: fmt.Sprintf("ks1/events-0c1d/nb-%d-big-TOC.txt", r), data: []byte("Data.db\nTOC.txt\n")},
				{rel: fmt.Sprintf("ks2/users-7a8b/nb-%d-big-Data.db", r), data: randomBytes(own, 96<<10+own.IntN(64<<10))},
				{rel: fmt.Sprintf("ks2/users-7a8b/nb-%d-big-TOC.txt", r), data: []byte("Data.db\nTOC.txt\n")},
			})
			for _, tbl := range []string{"ks1/events-0c1d", "ks2/users-7a8b"} {
				for _, c := range []string{"Data.db", "TOC.txt"} {
					os.Remove(filepath.Join(data[n], tbl, fmt.Sprintf("nb-%d-big-%s", r-3, c)))
				}
			}
			copyTree(t, data[n], srcOf(name, n))
		}
		var bwg sync.WaitGroup
		for _, n := range nodes {
			bwg.Add(1)
			go func() {
				defer bwg.Done()
				for attempt := 1; ; attempt++ {
					_, err := engines[n].Backup(ctx, BackupOptions{Name: name, Node: n, DataDirs: []string{data[n]}})
					if err == nil {
						mu.Lock()
						succeeded[[2]string{name, n}] = true
						lastOK[n] = name
						mu.Unlock()
						return
					}
					if !errors.Is(err, ErrLocked) {
						t.Errorf("backup %s of %s: %v", name, n, err)
						return
					}
					if attempt == 3 {
						t.Logf("backup %s of %s gave up after %d attempts: %v", name, n, attempt, err)
						return
					}
				}
			}()
		}
		bwg.Wait()
	}
	close(stop)
	wg.Wait()
	t.Logf("%d of %d node backups succeeded; purges during them: %d complete with GC, %d with GC locked out, %d node backups purged",
		len(succeeded), rounds*len(nodes), purges, lockedOut, dropped)
	if t.Failed() {
		t.FailNow()
	}
	if gcs == 0 {
		t.Errorf("no garbage collection completed while the backups ran: the race was not exercised")
	}

	// Every complete backup succeeded, and restores byte for byte.
	check := func(when string) int {
		t.Helper()
		reader := testEngine(t, st) // a fresh cache, as on another machine
		list, err := reader.ListBackups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		restored := 0
		for _, nb := range list {
			if !nb.Complete {
				continue
			}
			if !succeeded[[2]string{nb.Name, nb.Node}] {
				t.Errorf("%s: %s of %s is complete, but its backup failed", when, nb.Name, nb.Node)
				continue
			}
			target := filepath.Join(t.TempDir(), "restore")
			if _, err := reader.Restore(ctx, RestoreOptions{Name: nb.Name, Node: nb.Node, Target: target}); err != nil {
				t.Fatalf("%s: restore %s of %s: %v", when, nb.Name, nb.Node, err)
			}
			compareTrees(t, srcOf(nb.Name, nb.Node), target)
			restored++
		}
		// What `cassette list` shows agrees with the node backups.
		complete := map[[2]string]bool{}
		for _, nb := range list {
			complete[[2]string{nb.Name, nb.Node}] = nb.Complete
		}
		shown := map[string]bool{}
		cbs, err := reader.ListClusterBackups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, cb := range cbs {
			shown[cb.Name] = true
			for _, ni := range cb.Nodes {
				if cb.Status == StatusSuccess && !complete[[2]string{cb.Name, ni.Host}] {
					t.Errorf("%s: list shows %s as %s, but node %s has no complete backup", when, cb.Name, cb.Status, ni.Host)
				}
			}
		}
		for k, ok := range complete {
			if ok && !shown[k[0]] {
				t.Errorf("%s: %s of %s is complete, but list does not show backup %s", when, k[0], k[1], k[0])
			}
		}
		vr, err := reader.Verify(ctx, VerifyOptions{ReadData: true})
		if err != nil || len(vr.Problems) != 0 {
			t.Fatalf("%s: verify --read-data: %v %v", when, vr.Problems, err)
		}
		return restored
	}
	n := check("after the race")
	res, err := purger.Purge(ctx, PurgeOptions{MaxCount: 1, Grace: 0, GC: true})
	if err != nil {
		t.Fatalf("purge once the backups are done: %v", err)
	}
	if m := check("after the last purge"); m != len(lastOK) {
		t.Errorf("after the last purge %d backups remain; want the newest of each of the %d nodes that completed one", m, len(lastOK))
	}
	list, err := purger.ListBackups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, nb := range list {
		if nb.Complete && lastOK[nb.Node] != nb.Name {
			t.Errorf("purge kept %s of %s; the newest complete backup of that node is %s", nb.Name, nb.Node, lastOK[nb.Node])
		}
	}
	t.Logf("%d complete backups restored and verified after the race; the last purge removed %d node backups and %d packs", n, res.BackupsPurged, res.GC.PacksDeleted)
}
