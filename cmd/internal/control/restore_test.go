package control

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
	"github.com/cassette-backup/cassette/cmd/internal/restorepb"
)

// restoreFakes starts n fakes and a datacenter dc1 of them in one rack,
// whose backup "b1" all of them list.
func restoreFakes(t *testing.T, n int) ([]*fakeSidecar, *Datacenter) {
	t.Helper()
	var fakes []*fakeSidecar
	var addrs []string
	for range n {
		f := startFake(t)
		f.restores = []any{restorepb.RestoreState_SUCCESS}
		fakes = append(fakes, f)
		addrs = append(addrs, f.addr)
	}
	dc := testDC("dc1", addrs)
	for _, f := range fakes {
		f.backups = []*medusapb.BackupSummary{summary("b1", n, dc.Nodes...)}
	}
	return fakes, dc
}

// nodeStatuses collects each node's statuses in the order the Progress
// callback saw them, without repeats.
type nodeStatuses struct {
	mu   sync.Mutex
	seen map[string][]string
}

func (s *nodeStatuses) record(p RestorePlan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string][]string{}
	}
	for _, rn := range p.Nodes {
		if l := s.seen[rn.Node]; len(l) == 0 || l[len(l)-1] != rn.Status {
			s.seen[rn.Node] = append(l, rn.Status)
		}
	}
}

// TestRestoreRunEveryNode: with Run, every node prepared is asked to
// restore its host-map source (here not in place: the backup's hosts have
// other names), polled until SUCCESS, and reported with its times and
// progress; the plan is SUCCESS.
func TestRestoreRunEveryNode(t *testing.T) {
	a, b := startFake(t), startFake(t)
	a.restores = []any{restorepb.RestoreState_IN_PROGRESS, restorepb.RestoreState_IN_PROGRESS, restorepb.RestoreState_SUCCESS}
	b.restores = []any{status.Error(codes.Unavailable, "restarting"), restorepb.RestoreState_SUCCESS} // a blip shorter than UnreachableAfter
	dc := testDC("dc1", []string{a.addr, b.addr}, "r1", "r2")
	old := []*Node{{Name: "old-b", Rack: "r1", Datacenter: "dc1"}, {Name: "old-a", Rack: "r2", Datacenter: "dc1"}}
	a.backups = []*medusapb.BackupSummary{summary("b1", 2, old...)}
	c := fastController(t, dc)
	var seen nodeStatuses
	plan, err := c.Restore(context.Background(), RestoreRequest{Datacenter: dc, Backup: "b1", RestoreKey: "k1", Run: true, Progress: seen.record})
	if err != nil || plan.Status != StatusSuccess || !plan.Run || plan.Note != RunNote || plan.InPlace {
		t.Fatalf("restore: %v %+v", err, plan)
	}
	for i, f := range []*fakeSidecar{a, b} {
		want := []string{"old-b", "old-a"}[i]
		if len(f.prepares) != 1 || len(f.starts) != 1 || f.starts[0].GetRestoreKey() != "k1" || f.starts[0].GetBackupName() != "b1" || f.starts[0].GetSourceNode() != want {
			t.Fatalf("node %d: PrepareRestore %v, StartRestore %v", i, f.prepares, f.starts)
		}
		rn := plan.Nodes[i]
		if rn.Status != StatusSuccess || rn.Error != "" || rn.Source != want || rn.StartTime != "2026-03-01 10:00:00" || rn.FinishTime != "2026-03-01 10:00:05" ||
			rn.Progress == nil || *rn.Progress != (NodeProgress{FilesDone: 3, FilesTotal: 3, BytesDone: 300, BytesTotal: 300, BytesPerSecond: 60}) || rn.Note != "" {
			t.Fatalf("node %d: %+v %+v", i, rn, rn.Progress)
		}
		if got := seen.seen[rn.Node]; !slices.Equal(got, []string{StatusPending, StatusPrepared, StatusInProgress, StatusSuccess}) {
			t.Errorf("%s went through %v", rn.Node, got)
		}
	}
}

// TestRestoreWithoutRun: without Run the restore stops at PREPARED, no node
// is asked to restore, and the report has none of the run's fields.
func TestRestoreWithoutRun(t *testing.T) {
	fakes, dc := restoreFakes(t, 2)
	plan, err := fastController(t, dc).Restore(context.Background(), RestoreRequest{Datacenter: dc, Backup: "b1", RestoreKey: "k1"})
	if err != nil || plan.Status != StatusSuccess || plan.Run || plan.Note != NoRestoreRPC || plan.Nodes[1].Status != StatusPrepared {
		t.Fatalf("restore: %v %+v", err, plan)
	}
	for _, f := range fakes {
		if len(f.starts) != 0 {
			t.Fatalf("StartRestore called without Run: %v", f.starts)
		}
	}
	raw, _ := json.Marshal(plan)
	nodes, _ := json.Marshal(plan.Nodes)
	for _, key := range []string{`"run"`, `"startTime"`, `"finishTime"`, `"progress"`, `"note"`} {
		if strings.Contains(string(nodes), key) || (key == `"run"` && strings.Contains(string(raw), key)) {
			t.Errorf("the report without Run has %s: %s", key, raw)
		}
	}
}

// TestRestoreRunFailures: each way a node fails is FAILED with its own
// line while the others restore: Cassandra running (refused, not tried
// again), the node's restore FAILED, a sidecar that lost the restore, one
// that stopped answering, and a Medusa sidecar without NodeRestore. The
// plan is FAILED and the error names every failed node.
func TestRestoreRunFailures(t *testing.T) {
	fakes, dc := restoreFakes(t, 5)
	medusa := startMedusaFake(t)
	medusa.backups = fakes[0].backups
	dc.Nodes = append(dc.Nodes, &Node{Name: "dc1-sts-5", Address: medusa.addr, Rack: DefaultRack, Datacenter: "dc1"})
	for _, f := range fakes {
		f.backups = []*medusapb.BackupSummary{summary("b1", 6, dc.Nodes...)}
	}
	fakes[0].startErrs = []error{restorepb.Refuse(restorepb.RestoreRefusal_CASSANDRA_RUNNING, "dc1-sts-0", "node dc1-sts-0: Cassandra is running")}
	fakes[1].restores = []any{restorepb.RestoreState_IN_PROGRESS, restorepb.RestoreState_FAILED}
	fakes[2].startErrs = []error{errUnavailable, errUnavailable} // retried, then it restores
	fakes[3].restores = []any{status.Error(codes.NotFound, "node dc1-sts-3 has no restore k1")}
	fakes[4].restores = []any{errUnavailable}
	c := fastController(t, dc)
	plan, err := c.Restore(context.Background(), RestoreRequest{Datacenter: dc, Backup: "b1", RestoreKey: "k1", Run: true})
	if !errors.Is(err, ErrFailed) || plan.Status != StatusFailed || !plan.Run {
		t.Fatalf("restore: %v %+v", err, plan)
	}
	want := []struct{ status, msg string }{
		{StatusFailed, "Cassandra is running on node dc1-sts-0: stop Cassandra on that node first, then run the same command again with --restore-key k1"},
		{StatusFailed, "the node's restore FAILED: pack missing in the bucket"},
		{StatusSuccess, ""},
		{StatusFailed, "the sidecar does not know restore k1 (RestoreStatus: NotFound: node dc1-sts-3 has no restore k1)"},
		{StatusFailed, "the sidecar at " + fakes[4].addr + " did not answer RestoreStatus for"},
		{StatusFailed, "the sidecar at " + medusa.addr + " has no NodeRestore service (a Medusa sidecar, or a cassette older than it): restore node dc1-sts-5 with its RESTORE step"},
	}
	for i, w := range want {
		rn := plan.Nodes[i]
		if rn.Status != w.status || !strings.Contains(rn.Error, w.msg) || (w.msg == "") != (rn.Error == "") {
			t.Errorf("node %d: %s %q, want %s %q", i, rn.Status, rn.Error, w.status, w.msg)
		}
	}
	if len(fakes[0].starts) != 1 || len(fakes[2].starts) != 3 {
		t.Errorf("StartRestore calls: refused node %d, unreachable node %d", len(fakes[0].starts), len(fakes[2].starts))
	}
	msg := err.Error()
	for _, n := range []string{"dc1-sts-0", "dc1-sts-1", "dc1-sts-3", "dc1-sts-4", "dc1-sts-5"} {
		if !strings.Contains(msg, "node "+n+" (") {
			t.Errorf("error does not name %s: %s", n, msg)
		}
	}
	if !strings.HasPrefix(msg, "restore k1 of backup b1 to datacenter dc1 is FAILED (1 of 6 nodes restored): ") || strings.Contains(msg, "dc1-sts-2") {
		t.Errorf("error: %s", msg)
	}
}

// TestRestoreRunAlreadyApplied: a node that applied the key already is
// SUCCESS at once, with a note, and is not polled.
func TestRestoreRunAlreadyApplied(t *testing.T) {
	fakes, dc := restoreFakes(t, 1)
	fakes[0].applied = true
	plan, err := fastController(t, dc).Restore(context.Background(), RestoreRequest{Datacenter: dc, Backup: "b1", RestoreKey: "k1", Run: true})
	if err != nil || plan.Status != StatusSuccess || plan.Nodes[0].Note != "restore key k1 was already applied on this node: not restored again" || fakes[0].restorePolls != 0 {
		t.Fatalf("restore: %v %+v, %d polls", err, plan, fakes[0].restorePolls)
	}
}

// TestRestoreRunNotPrepared: when a node cannot prepare the restore, no
// node is asked to restore.
func TestRestoreRunNotPrepared(t *testing.T) {
	fakes, dc := restoreFakes(t, 2)
	fakes[1].prepareErr = status.Error(codes.PermissionDenied, "read-only file system")
	plan, err := fastController(t, dc).Restore(context.Background(), RestoreRequest{Datacenter: dc, Backup: "b1", RestoreKey: "k1", Run: true})
	if !errors.Is(err, ErrFailed) || plan.Status != StatusFailed || plan.Run || !strings.Contains(err.Error(), "not prepared on 1 of 2 nodes") {
		t.Fatalf("restore: %v %+v", err, plan)
	}
	for _, f := range fakes {
		if len(f.starts) != 0 {
			t.Fatalf("StartRestore called although a node was not prepared: %v", f.starts)
		}
	}
}

// TestRestoreRunInterrupted: a control plane interrupted while nodes
// restore reports UNKNOWN and says the nodes may still be restoring.
func TestRestoreRunInterrupted(t *testing.T) {
	fakes, dc := restoreFakes(t, 1)
	fakes[0].restores = []any{restorepb.RestoreState_IN_PROGRESS}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	plan, err := fastController(t, dc).Restore(ctx, RestoreRequest{Datacenter: dc, Backup: "b1", RestoreKey: "k1", Run: true, Progress: func(p RestorePlan) {
		if p.Nodes[0].Status == StatusInProgress {
			once.Do(cancel)
		}
	}})
	if !errors.Is(err, context.Canceled) || plan.Status != StatusUnknown || !strings.Contains(plan.Nodes[0].Error, "the node may still be restoring") {
		t.Fatalf("restore: %v %+v", err, plan)
	}
}
