package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/faulty"
	"github.com/cassette-backup/cassette/providers/mem"
)

// Three nodes in two datacenters back up concurrently into one repository:
// the backup is IN_PROGRESS while a node has not run, FAILED when one
// failed, SUCCESS when all finished; each node restores byte for byte.
func TestClusterBackupStatus(t *testing.T) {
	ctx := context.Background()
	base := mem.New(mem.Options{ListPageSize: 5})
	fs := faulty.New(base)
	topo := []NodeInfo{
		{Host: "dc1-r1-0", Datacenter: "dc1", Rack: "r1", Tokens: []int64{-9000, 0}},
		{Host: "dc1-r2-0", Datacenter: "dc1", Rack: "r2", Tokens: []int64{-3000, 3000}},
		{Host: "dc2-r1-0", Datacenter: "dc2", Rack: "r1", Tokens: []int64{-6000, 6000}},
	}
	dirs := make([]string, 3)
	rng := rand.New(rand.NewPCG(1, 3))
	shared := randomBytes(rng, 100<<10) // replicas share rows
	for i := range dirs {
		dirs[i] = filepath.Join(t.TempDir(), "data")
		writeTree(t, dirs[i], []treeFile{
			{"ks/t-01/nb-1-big-Data.db", shared},
			{"ks/t-01/nb-2-big-Data.db", randomBytes(rng, 50<<10)},
			{"system_schema/tables-02/nb-1-big-Data.db", []byte(fmt.Sprintf("schema of %d", i))},
		})
	}
	engines := make([]*Engine, 3)
	for i := range engines {
		engines[i] = testEngine(t, fs) // each node has its own caches
	}
	backup := func(i int, name string) error {
		_, err := engines[i].Backup(ctx, BackupOptions{Name: name, Node: topo[i].Host, DataDirs: []string{dirs[i]}, Identity: topo[i], Expected: topo})
		return err
	}
	// Two nodes run concurrently; the third has not started.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = backup(i, "b1") }()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	cb, err := engines[0].ClusterStatus(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	if cb.Status != StatusInProgress || cb.TotalNodes != 3 || cb.FinishedNodes != 2 || cb.FinishTime != nil || len(cb.Missing) != 1 || cb.Missing[0] != "dc2-r1-0" {
		t.Fatalf("two of three: %+v", cb)
	}
	if cb.Nodes[0].Datacenter != "dc1" || len(cb.Nodes[0].Tokens) != 2 {
		t.Fatalf("topology not recorded: %+v", cb.Nodes)
	}
	// The third node fails.
	fs.AddRule(faulty.Rule{Op: faulty.OpPut, KeyPrefix: "backups/b1/dc2-r1-0/manifest"})
	if err := backup(2, "b1"); err == nil {
		t.Fatal("injected manifest failure did not fail the backup")
	}
	fs.ClearRules()
	list, err := engines[1].ListClusterBackups(ctx)
	if err != nil || len(list) != 1 || list[0].Status != StatusFailed || list[0].Failed["dc2-r1-0"] == "" {
		t.Fatalf("after a failure: %+v %v", list, err)
	}
	// Re-run succeeds; the failure marker goes.
	if err := backup(2, "b1"); err != nil {
		t.Fatal(err)
	}
	list, err = engines[2].ListClusterBackups(ctx)
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}
	cb = &list[0]
	if cb.Status != StatusSuccess || cb.FinishedNodes != 3 || cb.FinishTime == nil || cb.TotalFiles != 9 || cb.BackupType != TypeDifferential {
		t.Fatalf("all done: %+v", cb)
	}
	// The shared Data.db: the two concurrent nodes may each upload it (they
	// cannot see each other's packs in flight); the third, later node found
	// it in the index and did not.
	var packsBytes int64
	base.List(ctx, chunkstore.PackPrefix, func(oi providers.ObjectInfo) error { packsBytes += oi.Size; return nil })
	if packsBytes > 2*100<<10+3*60<<10 {
		t.Fatalf("replicas' shared data stored more than once: %d bytes of packs", packsBytes)
	}
	for i := range dirs {
		target := filepath.Join(t.TempDir(), "r")
		if _, err := engines[(i+1)%3].Restore(ctx, RestoreOptions{Name: "b1", Node: topo[i].Host, Target: target}); err != nil {
			t.Fatal(err)
		}
		compareTrees(t, dirs[i], target)
	}
	if _, err := engines[0].ClusterStatus(ctx, "nope"); !errors.Is(err, ErrBackupNotFound) {
		t.Fatalf("missing backup: %v", err)
	}
}

// Expected nodes read from a node's own view of the ring (nodetool status:
// addresses and host IDs) match the nodes' backup names by host ID.
func TestExpectedFromRingMatchesByHostID(t *testing.T) {
	ctx := context.Background()
	st := mem.New(mem.Options{})
	ring := []NodeInfo{
		{Host: "10.0.0.1", Datacenter: "dc1", Rack: "r1", HostID: "aaaa"},
		{Host: "10.0.0.2", Datacenter: "dc1", Rack: "r1", HostID: "bbbb"},
	}
	data := t.TempDir()
	writeTree(t, data, []treeFile{{"ks/t-01/nb-1-big-Data.db", []byte("x")}})
	e := testEngine(t, st)
	if _, err := e.Backup(ctx, BackupOptions{Name: "b1", Node: "cass-dc1-r1-sts-0", DataDirs: []string{data},
		Identity: NodeInfo{Datacenter: "dc1", Rack: "r1", HostID: "aaaa"}, Expected: ring}); err != nil {
		t.Fatal(err)
	}
	cb, err := e.ClusterStatus(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	if cb.TotalNodes != 2 || cb.FinishedNodes != 1 || cb.Status != StatusInProgress || len(cb.Missing) != 1 || cb.Missing[0] != "10.0.0.2" {
		t.Fatalf("one of two nodes by host ID: %+v", cb)
	}
}
