package main

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"

	"github.com/cassette-backup/cassette/cmd/internal/config"
	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
	"github.com/cassette-backup/cassette/cmd/internal/restorepb"
	"github.com/cassette-backup/cassette/engine"
)

// restoreClients are the services of one in-process `cassette serve`.
type restoreClients struct {
	medusa  medusapb.MedusaClient
	restore restorepb.NodeRestoreClient
	health  healthpb.HealthClient
}

// dialNodeRestore serves ms and rs as runServe does (newGRPCServer) over an
// in-memory connection.
func dialNodeRestore(t *testing.T, ms *medusaServer, rs *nodeRestoreServer) restoreClients {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv, _ := newGRPCServer(ms, rs, config.GRPC{}, nil)
	go srv.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return lis.DialContext(ctx)
	}), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		rs.jobs.stop(5 * time.Second)
		ms.jobs.stop(5 * time.Second)
	})
	return restoreClients{medusapb.NewMedusaClient(conn), restorepb.NewNodeRestoreClient(conn), healthpb.NewHealthClient(conn)}
}

// waitRestore polls RestoreStatus until the restore is no longer
// IN_PROGRESS.
func waitRestore(t *testing.T, cl restorepb.NodeRestoreClient, key string) *restorepb.RestoreJob {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := cl.RestoreStatus(context.Background(), &restorepb.RestoreStatusRequest{RestoreKey: key})
		if err != nil {
			t.Fatalf("RestoreStatus %s: %v", key, err)
		}
		if r.GetRestore().GetStatus() != restorepb.RestoreState_IN_PROGRESS {
			return r.GetRestore()
		}
		if time.Now().After(deadline) {
			t.Fatalf("restore %s still IN_PROGRESS after 30s", key)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func wantRefusal(t *testing.T, err error, reason restorepb.RestoreRefusal_Reason, msg string) {
	t.Helper()
	wantCode(t, err, codes.FailedPrecondition, msg)
	if r := restorepb.RefusalOf(err); r.GetReason() != reason || r.GetNode() != "node-0" {
		t.Fatalf("refusal %v, want %s from node-0", r, reason)
	}
}

// TestServeNodeRestore: StartRestore refuses a key PrepareRestore did not
// record and a node whose Cassandra runs (naming it), restores in place
// with progress, records the key (a done record and .last-restore) so that
// the key is never applied twice, even by a restarted sidecar, and the
// health service serves the extension.
func TestServeNodeRestore(t *testing.T) {
	data, want := t.TempDir(), t.TempDir()
	files, size := makeTables(t, data, 0)
	makeTables(t, want, 0)
	s, _ := memSession(t, data, 0)
	stateDir := t.TempDir()
	ctx := context.Background()
	ms := newMedusaServer(s, "node-0", stateDir, newMetrics())
	rs := newNodeRestoreServer(ms, "")
	// What the running check says: 0 stopped, 1 running, 2 cannot tell.
	var cassandra atomic.Int32
	rs.isRunning = func(context.Context) (bool, error) {
		if cassandra.Load() == 2 {
			return false, errors.New("nodetool: no such file")
		}
		return cassandra.Load() == 1, nil
	}
	cl := dialNodeRestore(t, ms, rs)
	if r, err := cl.medusa.Backup(ctx, &medusapb.BackupRequest{Name: "b1", Mode: medusapb.BackupRequest_FULL}); err != nil || r.GetStatus() != medusapb.StatusType_SUCCESS {
		t.Fatalf("backup: %v %v", r, err)
	}
	for _, svc := range []string{"", "Medusa", "cassette.v1.NodeRestore"} {
		if h, err := cl.health.Check(ctx, &healthpb.HealthCheckRequest{Service: svc}); err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health of %q: %v %v", svc, h, err)
		}
	}

	start := func(key, backup string) (*restorepb.StartRestoreResponse, error) {
		return cl.restore.StartRestore(ctx, &restorepb.StartRestoreRequest{RestoreKey: key, BackupName: backup})
	}
	_, err := start("k1", "b1")
	wantRefusal(t, err, restorepb.RestoreRefusal_NOT_PREPARED, "restore key k1 was not prepared here: call PrepareRestore (backup b1, restore key k1) on node node-0 first")
	_, err = start("../k", "b1")
	wantCode(t, err, codes.InvalidArgument, "restore key")
	if _, err := cl.medusa.PrepareRestore(ctx, &medusapb.PrepareRestoreRequest{BackupName: "b1", RestoreKey: "k1"}); err != nil {
		t.Fatal(err)
	}
	_, err = start("k1", "b2")
	wantRefusal(t, err, restorepb.RestoreRefusal_NOT_PREPARED, "prepared for backup b1, not b2")
	cassandra.Store(1)
	_, err = start("k1", "b1")
	wantRefusal(t, err, restorepb.RestoreRefusal_CASSANDRA_RUNNING, "stop Cassandra on node node-0 before restoring it in place")
	cassandra.Store(2)
	_, err = start("k1", "b1")
	wantRefusal(t, err, restorepb.RestoreRefusal_RUNNING_UNKNOWN, "cannot tell whether Cassandra is running (nodetool: no such file)")
	cassandra.Store(0)

	// The node's data changed since the backup; the restore brings it back.
	users := filepath.Join(data, "ks1", "users-0a1b2c")
	os.Remove(filepath.Join(users, "nb-1-big-Data.db"))
	os.WriteFile(filepath.Join(data, "ks1", "events-3d4e5f", "nb-1-big-Index.db"), []byte("changed"), 0o644)
	os.WriteFile(filepath.Join(users, "nb-2-big-Data.db"), []byte("written after the backup"), 0o644)
	r, err := start("k1", "b1")
	if err != nil || !r.GetStarted() || r.GetRestore().GetStatus() != restorepb.RestoreState_IN_PROGRESS || r.GetRestore().GetSourceNode() != "node-0" {
		t.Fatalf("StartRestore: %v %v", r, err)
	}
	j := waitRestore(t, cl.restore, "k1")
	if j.GetStatus() != restorepb.RestoreState_SUCCESS || j.GetFilesDone() != files || j.GetFilesTotal() != files || j.GetBytesDone() != size ||
		j.GetBytesTotal() != size || !statusTimeRE.MatchString(j.GetStartTime()) || !statusTimeRE.MatchString(j.GetFinishTime()) || j.GetNode() != "node-0" {
		t.Fatalf("restore: %v", j)
	}
	if b, err := os.ReadFile(lastRestorePath(stateDir)); err != nil || strings.TrimSpace(string(b)) != "k1" {
		t.Fatalf(".last-restore: %q %v", b, err)
	}
	sameTree(t, want, data)

	// The same key again is answered, not applied: a change made since stays.
	os.WriteFile(filepath.Join(users, "nb-1-big-TOC.txt"), []byte("changed after the restore"), 0o644)
	if r, err := start("k1", "b1"); err != nil || r.GetStarted() || r.GetRestore().GetStatus() != restorepb.RestoreState_SUCCESS {
		t.Fatalf("StartRestore again: %v %v", r, err)
	}
	// So does a restarted sidecar, from the done record.
	ms2 := newMedusaServer(s, "node-0", stateDir, newMetrics())
	cl2 := dialNodeRestore(t, ms2, newNodeRestoreServer(ms2, "false"))
	if r, err := cl2.restore.StartRestore(ctx, &restorepb.StartRestoreRequest{RestoreKey: "k1", BackupName: "b1"}); err != nil || r.GetStarted() ||
		r.GetRestore().GetStatus() != restorepb.RestoreState_SUCCESS || r.GetRestore().GetFilesDone() != files || r.GetRestore().GetFinishTime() != j.GetFinishTime() {
		t.Fatalf("StartRestore after a restart: %v %v", r, err)
	}
	_, err = cl2.restore.StartRestore(ctx, &restorepb.StartRestoreRequest{RestoreKey: "k1", BackupName: "b0"})
	wantRefusal(t, err, restorepb.RestoreRefusal_NOT_PREPARED, "restore key k1 restores backup b1 here, not b0: use a new restore key")
	_, err = cl2.restore.RestoreStatus(ctx, &restorepb.RestoreStatusRequest{RestoreKey: "never"})
	wantCode(t, err, codes.NotFound, "node node-0 has no restore never")
	if b, _ := os.ReadFile(filepath.Join(users, "nb-1-big-TOC.txt")); string(b) != "changed after the restore" {
		t.Fatalf("restore k1 was applied twice")
	}
}

// TestServeNodeRestoreExclusive: one restore at a time, never beside a
// backup; a failed restore is FAILED with its error line and the same key
// again tries it again.
func TestServeNodeRestoreExclusive(t *testing.T) {
	s, _ := memSession(t, t.TempDir(), 0)
	stateDir := t.TempDir()
	ctx := context.Background()
	ms := newMedusaServer(s, "node-0", stateDir, newMetrics())
	g := &gate{st: s.st, calls: map[string]int{}, release: make(chan error)}
	ms.backup = g.backup
	rs := newNodeRestoreServer(ms, "")
	rs.isRunning = func(context.Context) (bool, error) { return false, nil }
	release := make(chan error)
	var runs atomic.Int32
	rs.restore = func(ctx context.Context, backup, source string, pr engine.Progress) (*engine.RestoreResult, error) {
		runs.Add(1)
		pr.Total(2, 300)
		pr.File("ks/t/nb-1-big-Data.db", 100, false)
		if err := <-release; err != nil {
			return nil, err
		}
		return &engine.RestoreResult{Files: 2, Bytes: 300}, nil
	}
	cl := dialNodeRestore(t, ms, rs)
	for _, key := range []string{"k1", "k2"} {
		// PrepareRestore's file, as it writes it (the repository is empty).
		if err := writeFileAtomic(restoreMappingPath(stateDir, key), restoreMappingFile{InPlace: true, BackupName: "b1", RestoreKey: key,
			HostMap: map[string]hostMapEntry{"node-0": {Source: []string{"old-0"}}}}); err != nil {
			t.Fatal(err)
		}
	}
	start := func(key string) (*restorepb.StartRestoreResponse, error) {
		return cl.restore.StartRestore(ctx, &restorepb.StartRestoreRequest{RestoreKey: key, BackupName: "b1"})
	}

	if r, err := start("k1"); err != nil || !r.GetStarted() || r.GetRestore().GetSourceNode() != "old-0" {
		t.Fatalf("StartRestore k1: %v %v", r, err)
	}
	if r, err := start("k1"); err != nil || r.GetStarted() || r.GetRestore().GetStatus() != restorepb.RestoreState_IN_PROGRESS {
		t.Fatalf("StartRestore k1 again: %v %v", r, err)
	}
	_, err := start("k2")
	wantRefusal(t, err, restorepb.RestoreRefusal_BUSY, "restore k1 (backup b1) is running")
	_, err = cl.medusa.AsyncBackup(ctx, &medusapb.BackupRequest{Name: "during"})
	wantCode(t, err, codes.FailedPrecondition, "restore k1 (backup b1) is running on this node: backups wait until it finished")
	if ms.jobs.idle() {
		t.Error("idle while a restore runs: a configuration change would restart the sidecar under it")
	}
	release <- errors.New("pack missing\nsecond line")
	j := waitRestore(t, cl.restore, "k1")
	if j.GetStatus() != restorepb.RestoreState_FAILED || j.GetError() != "pack missing second line" || j.GetFilesDone() != 1 || j.GetBytesTotal() != 300 {
		t.Fatalf("failed restore: %v", j)
	}
	if _, err := os.Stat(lastRestorePath(stateDir)); err == nil {
		t.Fatal("a failed restore was recorded as applied")
	}

	// A backup runs: no restore starts.
	if _, err := cl.medusa.AsyncBackup(ctx, &medusapb.BackupRequest{Name: "b9"}); err != nil {
		t.Fatal(err)
	}
	_, err = start("k1")
	wantRefusal(t, err, restorepb.RestoreRefusal_BUSY, `backup "b9" is running on this node`)
	g.release <- nil
	waitStatus(t, cl.medusa, "b9", medusapb.StatusType_SUCCESS)

	// The failed key is tried again.
	if r, err := start("k1"); err != nil || !r.GetStarted() {
		t.Fatalf("retry of k1: %v %v", r, err)
	}
	release <- nil
	if j := waitRestore(t, cl.restore, "k1"); j.GetStatus() != restorepb.RestoreState_SUCCESS || runs.Load() != 2 {
		t.Fatalf("retried restore: %v, %d runs", j, runs.Load())
	}
}
