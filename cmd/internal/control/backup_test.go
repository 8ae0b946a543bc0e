package control

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
)

// TestBackupEveryNodeSucceeds: AsyncBackup on each node with the name and
// mode, polls until SUCCESS, and the MedusaBackup is the GetBackups summary
// as the operator copies it.
func TestBackupEveryNodeSucceeds(t *testing.T) {
	a, b := startFake(t), startFake(t)
	a.statuses = []any{medusapb.StatusType_IN_PROGRESS, medusapb.StatusType_IN_PROGRESS, medusapb.StatusType_SUCCESS}
	b.statuses = []any{errUnavailable, medusapb.StatusType_SUCCESS} // a blip shorter than UnreachableAfter
	dc := testDC("dc1", []string{a.addr, b.addr}, "r1", "r2")
	sum := summary("b1", 2, dc.Nodes...)
	a.backups = []*medusapb.BackupSummary{summary("older", 2, dc.Nodes...), sum}
	c := fastController(t, dc)

	var mu sync.Mutex
	var snaps []BackupJob
	job, err := c.Backup(context.Background(), BackupRequest{Datacenter: dc, Name: "b1", Type: "FULL", Progress: func(j BackupJob) {
		mu.Lock()
		defer mu.Unlock()
		snaps = append(snaps, j)
	}})
	if err != nil || job.Status != StatusSuccess {
		t.Fatalf("backup: %v %+v", err, job)
	}
	for _, f := range []*fakeSidecar{a, b} {
		if len(f.async) != 1 || f.async[0].GetName() != "b1" || f.async[0].GetMode() != medusapb.BackupRequest_FULL {
			t.Fatalf("AsyncBackup calls: %v", f.async)
		}
	}
	mb := job.Backup
	if mb == nil || mb.Name != "b1" || mb.Datacenter != "dc1" || mb.TotalNodes != 2 || mb.FinishedNodes != 2 || mb.Status != StatusSuccess ||
		mb.BackupType != "full" || mb.TotalFiles != 30 || mb.TotalSize != 1000 || mb.StartTime.Unix() != 1772359200 || mb.FinishTime.Unix() != 1772359205 ||
		len(mb.Nodes) != 2 || mb.Nodes[1].Host != "dc1-sts-1" || mb.Nodes[1].Rack != "r2" || !slices.Equal(mb.Nodes[1].Tokens, []int64{1, 101}) {
		t.Fatalf("MedusaBackup: %+v", mb)
	}
	if !slices.Equal(job.Finished, []string{"dc1-sts-0", "dc1-sts-1"}) || len(job.Failed) != 0 || job.Nodes[0].FinishTime != "2026-03-01 10:00:05" {
		t.Fatalf("job: %+v", job)
	}
	// Snapshots: first all PENDING, last the verdict; they are copies.
	first, last := snaps[0], snaps[len(snaps)-1]
	if first.Status != StatusInProgress || first.Nodes[0].Status != StatusPending || last.Status != StatusSuccess || last.Backup == nil {
		t.Fatalf("progress: first %+v last %+v", first, last)
	}
	first.Nodes[0].Status = "changed"
	if act := c.Activity(); len(act) != 1 || act[0].Name != "b1" || act[0].Status != StatusSuccess || act[0].Nodes[0].Status != StatusSuccess {
		t.Fatalf("activity: %+v", act)
	}
}

// TestBackupFailuresNamed: a node that reports FAILED, one that answers
// NOT_FOUND, one that refuses AsyncBackup and one nothing listens on are
// each FAILED by name, and the backup is not SUCCESS even though the
// sidecars' summary (which never heard of the silent node) says SUCCESS.
func TestBackupFailuresNamed(t *testing.T) {
	ok, failed, forgot, refused := startFake(t), startFake(t), startFake(t), startFake(t)
	ok.statuses = []any{medusapb.StatusType_SUCCESS}
	failed.statuses = []any{medusapb.StatusType_IN_PROGRESS, medusapb.StatusType_FAILED}
	forgot.statuses = []any{status.Error(codes.NotFound, `backup "b2" does not exist for node x`)}
	refused.asyncErr = status.Error(codes.FailedPrecondition, "backup other runs on this node")
	dc := testDC("dc1", []string{ok.addr, failed.addr, forgot.addr, refused.addr, deadAddress(t)})
	ok.backups = []*medusapb.BackupSummary{summary("b2", 1, dc.Nodes[0])}
	c := fastController(t, dc)
	start := time.Now()
	job, err := c.Backup(context.Background(), BackupRequest{Datacenter: dc, Name: "b2"})
	if !errors.Is(err, ErrFailed) || job == nil || job.Status != StatusFailed {
		t.Fatalf("backup: %v %+v", err, job)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
	want := map[string]string{
		"dc1-sts-1": "reports the node's backup FAILED",
		"dc1-sts-2": "does not know the backup",
		"dc1-sts-3": "AsyncBackup refused: FailedPrecondition: backup other runs",
		"dc1-sts-4": "did not answer AsyncBackup",
	}
	for _, nr := range job.Nodes {
		w, bad := want[nr.Node]
		if bad != (nr.Status == StatusFailed) || !strings.Contains(nr.Error, w) {
			t.Errorf("node %s: %s %q, want failed=%t %q", nr.Node, nr.Status, nr.Error, bad, w)
		}
		if bad && !strings.Contains(err.Error(), "node "+nr.Node+" (") {
			t.Errorf("error does not name %s: %v", nr.Node, err)
		}
	}
	if !slices.Equal(job.Failed, []string{"dc1-sts-1", "dc1-sts-2", "dc1-sts-3", "dc1-sts-4"}) || !slices.Equal(job.Finished, []string{"dc1-sts-0"}) {
		t.Fatalf("finished %v failed %v", job.Finished, job.Failed)
	}
	mb := job.Backup
	if mb.Status != StatusFailed || mb.TotalNodes != 5 || mb.FinishedNodes != 1 || len(mb.Nodes) != 5 || mb.Nodes[4].Host != "dc1-sts-4" {
		t.Fatalf("MedusaBackup: %+v", mb)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("error is not one line: %q", err)
	}
}

// TestBackupProgressHeaders: a cassette sidecar's BackupStatus headers give
// each node's files and bytes (the rate over the node's own run once it
// finished) and the error line of a FAILED backup; a Medusa sidecar sends
// none and nothing breaks.
func TestBackupProgressHeaders(t *testing.T) {
	ok, failed, medusa := startFake(t), startFake(t), startFake(t)
	ok.statuses = []any{medusapb.StatusType_SUCCESS}
	ok.header = metadata.Pairs(headerProgress, "files=30/30 bytes=5000/5000")
	failed.statuses = []any{medusapb.StatusType_FAILED}
	failed.header = metadata.Pairs(headerProgress, "files=2/30 bytes=100/5000", headerError, "read ks/t/nb-1-big-Data.db: input/output error\nsecond line")
	medusa.statuses = []any{medusapb.StatusType_SUCCESS}
	dc := testDC("dc1", []string{ok.addr, failed.addr, medusa.addr})
	c := fastController(t, dc)
	job, _ := c.Backup(context.Background(), BackupRequest{Datacenter: dc, Name: "b3"})
	if job == nil {
		t.Fatal("no job")
	}
	p := job.Nodes[0].Progress
	// The fake's node ran from 10:00:00 to 10:00:05: 1000 bytes/s.
	if p == nil || *p != (NodeProgress{FilesDone: 30, FilesTotal: 30, BytesDone: 5000, BytesTotal: 5000, BytesPerSecond: 1000}) {
		t.Fatalf("progress of a finished node: %+v", p)
	}
	if nr := job.Nodes[1]; nr.Progress == nil || nr.Progress.BytesDone != 100 ||
		nr.Error != "the node's backup FAILED: read ks/t/nb-1-big-Data.db: input/output error second line" {
		t.Fatalf("failed node: %+v %+v", nr, nr.Progress)
	}
	if nr := job.Nodes[2]; nr.Progress != nil || nr.Status != StatusSuccess {
		t.Fatalf("node without headers: %+v", nr)
	}
	for _, bad := range []string{"", "files=1 bytes=2", "files=a/b bytes=c/d"} {
		if p := parseProgress(metadata.Pairs(headerProgress, bad), "2026-03-01 10:00:00", "", time.Now()); p != nil {
			t.Errorf("parseProgress(%q) = %+v, want nil", bad, p)
		}
	}
}

// TestBackupSummaryDisagrees: every node says SUCCESS but the summary
// counts fewer finished nodes: not SUCCESS.
func TestBackupSummaryDisagrees(t *testing.T) {
	a := startFake(t)
	a.statuses = []any{medusapb.StatusType_SUCCESS}
	dc := testDC("dc1", []string{a.addr})
	other := &Node{Name: "ghost", Datacenter: "dc1", Rack: DefaultRack}
	a.backups = []*medusapb.BackupSummary{summary("b3", 1, dc.Nodes[0], other)}
	job, err := fastController(t, dc).Backup(context.Background(), BackupRequest{Datacenter: dc, Name: "b3"})
	if !errors.Is(err, ErrFailed) || job.Status != StatusFailed || !strings.Contains(job.Error, "1 of 2 nodes finished") {
		t.Fatalf("%v %+v", err, job)
	}
}

// TestBackupInterrupted: cancelling the control plane leaves the verdict
// UNKNOWN and returns the context's error.
func TestBackupInterrupted(t *testing.T) {
	a := startFake(t)
	a.statuses = []any{medusapb.StatusType_IN_PROGRESS}
	dc := testDC("dc1", []string{a.addr})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	job, err := fastController(t, dc).Backup(ctx, BackupRequest{Datacenter: dc, Name: "b4"})
	if !errors.Is(err, context.Canceled) || job.Status != StatusUnknown || job.Nodes[0].Status != StatusInProgress {
		t.Fatalf("%v %+v", err, job)
	}
}

func TestBackupRequestChecked(t *testing.T) {
	dc := testDC("dc1", []string{"127.0.0.1:1"})
	c := fastController(t, dc)
	for _, req := range []BackupRequest{{Datacenter: dc, Name: "bad name"}, {Datacenter: dc, Name: "ok", Type: "incremental"}, {Name: "ok"}} {
		if job, err := c.Backup(context.Background(), req); err == nil || job != nil {
			t.Errorf("%+v: %v", req, err)
		}
	}
}

// TestPurgeCountersPerNode: PurgeBackups on every node; a node that found
// the repository locked is asked again; a node that fails is named.
func TestPurgeCountersPerNode(t *testing.T) {
	a, b, bad := startFake(t), startFake(t), startFake(t)
	a.purge = &medusapb.PurgeBackupsResponse{NbBackupsPurged: 2, NbObjectsPurged: 40, TotalPurgedSize: 4096, TotalObjectsWithinGcGrace: 3}
	b.purgeErrs = []error{status.Error(codes.FailedPrecondition, "backups purged, but garbage collection failed: repository is locked: exclusive lock for gc")}
	b.purge = &medusapb.PurgeBackupsResponse{NbObjectsPurged: 7}
	bad.purgeErrs = []error{status.Error(codes.PermissionDenied, "access denied")}
	dc := testDC("dc1", []string{a.addr, b.addr, bad.addr})
	job, err := fastController(t, dc).Purge(context.Background(), PurgeRequest{Datacenter: dc})
	if !errors.Is(err, ErrFailed) || job.Status != StatusFailed || !strings.Contains(err.Error(), "node dc1-sts-2") {
		t.Fatalf("%v %+v", err, job)
	}
	n := job.Nodes
	if n[0].Status != StatusSuccess || n[0].NbBackupsPurged != 2 || n[0].NbObjectsPurged != 40 || n[0].TotalPurgedSize != 4096 || n[0].TotalObjectsWithinGcGrace != 3 || n[0].Attempts != 1 {
		t.Errorf("node 0: %+v", n[0])
	}
	if n[1].Status != StatusSuccess || n[1].Attempts != 2 || n[1].NbObjectsPurged != 7 || n[1].Note == "" {
		t.Errorf("node 1: %+v", n[1])
	}
	if n[2].Status != StatusFailed || !strings.Contains(n[2].Error, "PermissionDenied: access denied") {
		t.Errorf("node 2: %+v", n[2])
	}
}

// TestRestorePreparesEveryNode: the backup is read, checked and mapped,
// PrepareRestore goes to every node with the backup, datacenter and key,
// and each node gets its RESTORE environment.
func TestRestorePreparesEveryNode(t *testing.T) {
	a, b := startFake(t), startFake(t)
	dc := testDC("dc1", []string{a.addr, b.addr}, "r1", "r2")
	a.backups = []*medusapb.BackupSummary{summary("b1", 2, dc.Nodes...)}
	b.prepareErr = errUnavailable // never answers: FAILED by name
	c := fastController(t, dc)
	plan, err := c.Restore(context.Background(), RestoreRequest{Datacenter: dc, Backup: "b1", RestoreKey: "k1"})
	if !errors.Is(err, ErrFailed) || plan == nil || !strings.Contains(err.Error(), "node dc1-sts-1") {
		t.Fatalf("%v %+v", err, plan)
	}
	if len(a.prepares) != 1 || a.prepares[0].GetBackupName() != "b1" || a.prepares[0].GetDatacenter() != "dc1" || a.prepares[0].GetRestoreKey() != "k1" {
		t.Fatalf("PrepareRestore: %v", a.prepares)
	}
	if plan.Nodes[0].Status != StatusPrepared || plan.Nodes[1].Status != StatusFailed || !plan.InPlace || plan.Nodes[0].Source != "dc1-sts-0" {
		t.Fatalf("plan: %+v", plan)
	}
	env := plan.Nodes[1].Env
	if env.MedusaMode != "RESTORE" || env.BackupName != "b1" || env.RestoreKey != "k1" || env.PodName != "dc1-sts-1" ||
		env.RestoreMapping != `{"in_place":true,"host_map":{"dc1-sts-0":{"source":["dc1-sts-0"],"seed":false},"dc1-sts-1":{"source":["dc1-sts-1"],"seed":false}}}` {
		t.Fatalf("env: %+v", env)
	}

	b.prepareErr = nil
	plan, err = c.Restore(context.Background(), RestoreRequest{Datacenter: dc, Backup: "b1"})
	if err != nil || plan.Status != StatusSuccess || len(plan.RestoreKey) != 36 || plan.Note != NoRestoreRPC {
		t.Fatalf("%v %+v", err, plan)
	}

	// A backup of one node cannot go to two; an unknown backup is not found.
	a.backups = []*medusapb.BackupSummary{summary("small", 1, dc.Nodes[0])}
	if _, err := c.Restore(context.Background(), RestoreRequest{Datacenter: dc, Backup: "small"}); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "node counts differ") {
		t.Fatalf("small backup: %v", err)
	}
	if _, err := c.Restore(context.Background(), RestoreRequest{Datacenter: dc, Backup: "nope"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown backup: %v", err)
	}
}
