package control

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
	"github.com/cassette-backup/cassette/cmd/internal/restorepb"
)

// fakeSidecar is a Medusa gRPC server on 127.0.0.1 whose answers a test
// scripts, with cassette's NodeRestore service beside it unless started by
// startMedusaFake.
type fakeSidecar struct {
	medusapb.UnimplementedMedusaServer
	restorepb.UnimplementedNodeRestoreServer
	addr string

	mu sync.Mutex
	// statuses are BackupStatus's answers in turn (the last repeats); an
	// error entry is returned as the call's error.
	statuses []any
	polls    int
	// header is sent with every BackupStatus answer (what a cassette
	// sidecar adds: progress, the error of a FAILED backup).
	header  metadata.MD
	backups []*medusapb.BackupSummary
	// asyncErr, purgeErrs (in turn), prepareErr fail those calls.
	asyncErr   error
	purgeErrs  []error
	purge      *medusapb.PurgeBackupsResponse
	prepareErr error
	// NodeRestore: startErrs fail StartRestore in turn, then it answers
	// (SUCCESS and not started when applied is set); restores are
	// RestoreStatus's answers in turn (the last repeats): a RestoreState,
	// or an error returned as the call's error.
	startErrs    []error
	applied      bool
	restores     []any
	restorePolls int
	// calls records the requests.
	async    []*medusapb.BackupRequest
	prepares []*medusapb.PrepareRestoreRequest
	starts   []*restorepb.StartRestoreRequest
	purges   int
}

func startFake(t *testing.T) *fakeSidecar { return startFakeServices(t, true) }

// startMedusaFake is a sidecar with Medusa's service alone, as Medusa's.
func startMedusaFake(t *testing.T) *fakeSidecar { return startFakeServices(t, false) }

func startFakeServices(t *testing.T, nodeRestore bool) *fakeSidecar {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSidecar{addr: lis.Addr().String()}
	srv := grpc.NewServer()
	medusapb.RegisterMedusaServer(srv, f)
	if nodeRestore {
		restorepb.RegisterNodeRestoreServer(srv, f)
	}
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return f
}

// deadAddress is an address nothing listens on.
func deadAddress(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

func (f *fakeSidecar) AsyncBackup(_ context.Context, req *medusapb.BackupRequest) (*medusapb.BackupResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.async = append(f.async, req)
	if f.asyncErr != nil {
		return nil, f.asyncErr
	}
	return &medusapb.BackupResponse{BackupName: req.GetName(), Status: medusapb.StatusType_IN_PROGRESS}, nil
}

func (f *fakeSidecar) BackupStatus(ctx context.Context, _ *medusapb.BackupStatusRequest) (*medusapb.BackupStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.header != nil {
		grpc.SetHeader(ctx, f.header)
	}
	a := f.statuses[min(f.polls, len(f.statuses)-1)]
	f.polls++
	switch v := a.(type) {
	case error:
		return nil, v
	case medusapb.StatusType:
		r := &medusapb.BackupStatusResponse{StartTime: "2026-03-01 10:00:00", Status: v}
		if v != medusapb.StatusType_IN_PROGRESS {
			r.FinishTime = "2026-03-01 10:00:05"
		}
		return r, nil
	}
	panic("bad script")
}

func (f *fakeSidecar) GetBackups(context.Context, *medusapb.GetBackupsRequest) (*medusapb.GetBackupsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &medusapb.GetBackupsResponse{Backups: f.backups}, nil
}

func (f *fakeSidecar) PurgeBackups(context.Context, *medusapb.PurgeBackupsRequest) (*medusapb.PurgeBackupsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.purges++
	if len(f.purgeErrs) > 0 {
		err := f.purgeErrs[0]
		f.purgeErrs = f.purgeErrs[1:]
		return nil, err
	}
	return f.purge, nil
}

func (f *fakeSidecar) PrepareRestore(_ context.Context, req *medusapb.PrepareRestoreRequest) (*medusapb.PrepareRestoreResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prepares = append(f.prepares, req)
	if f.prepareErr != nil {
		return nil, f.prepareErr
	}
	return &medusapb.PrepareRestoreResponse{}, nil
}

// restoreJob is what the fake reports of its restore in state s: a third
// of 300 bytes while IN_PROGRESS, all of them in 5 seconds once ended.
func restoreJob(req *restorepb.StartRestoreRequest, s restorepb.RestoreState) *restorepb.RestoreJob {
	j := &restorepb.RestoreJob{RestoreKey: req.GetRestoreKey(), BackupName: req.GetBackupName(), SourceNode: req.GetSourceNode(), Status: s,
		StartTime: "2026-03-01 10:00:00", FilesDone: 1, FilesTotal: 3, BytesDone: 100, BytesTotal: 300}
	if s != restorepb.RestoreState_IN_PROGRESS {
		j.FinishTime = "2026-03-01 10:00:05"
	}
	switch s {
	case restorepb.RestoreState_SUCCESS:
		j.FilesDone, j.BytesDone = 3, 300
	case restorepb.RestoreState_FAILED:
		j.Error = "pack missing\nin the bucket"
	}
	return j
}

func (f *fakeSidecar) StartRestore(_ context.Context, req *restorepb.StartRestoreRequest) (*restorepb.StartRestoreResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, req)
	if len(f.startErrs) > 0 {
		err := f.startErrs[0]
		f.startErrs = f.startErrs[1:]
		return nil, err
	}
	if f.applied {
		return &restorepb.StartRestoreResponse{Restore: restoreJob(req, restorepb.RestoreState_SUCCESS)}, nil
	}
	return &restorepb.StartRestoreResponse{Started: true, Restore: restoreJob(req, restorepb.RestoreState_IN_PROGRESS)}, nil
}

func (f *fakeSidecar) RestoreStatus(context.Context, *restorepb.RestoreStatusRequest) (*restorepb.RestoreStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.restores[min(f.restorePolls, len(f.restores)-1)]
	f.restorePolls++
	switch v := a.(type) {
	case error:
		return nil, v
	case restorepb.RestoreState:
		start := f.starts[len(f.starts)-1]
		return &restorepb.RestoreStatusResponse{Restore: restoreJob(start, v)}, nil
	}
	panic("bad script")
}

// testDC is a datacenter of nodes at addrs, racks given in turn.
func testDC(name string, addrs []string, racks ...string) *Datacenter {
	dc := &Datacenter{Cluster: "demo", Name: name}
	for i, a := range addrs {
		rack := DefaultRack
		if len(racks) > 0 {
			rack = racks[i%len(racks)]
		}
		dc.Nodes = append(dc.Nodes, &Node{Name: name + "-sts-" + string(rune('0'+i)), Address: a, Rack: rack, Datacenter: name})
	}
	return dc
}

// fastController polls every 10ms and gives up on a silent node after
// 300ms.
func fastController(t *testing.T, dcs ...*Datacenter) *Controller {
	t.Helper()
	inv := &Inventory{File: "inventory.yaml", Clusters: []*Cluster{{Name: "demo", Datacenters: dcs}}}
	c := New(inv, Options{PollInterval: 10 * time.Millisecond, CallTimeout: 2 * time.Second, UnreachableAfter: 300 * time.Millisecond})
	t.Cleanup(func() { c.Close() })
	return c
}

func summary(name string, finished int, nodes ...*Node) *medusapb.BackupSummary {
	s := &medusapb.BackupSummary{BackupName: name, StartTime: 1772359200, FinishTime: 1772359205, TotalNodes: int32(len(nodes)),
		FinishedNodes: int32(finished), BackupType: "full", TotalSize: 1000, TotalObjects: 30, Status: medusapb.StatusType_SUCCESS}
	if finished < len(nodes) {
		s.Status, s.FinishTime = medusapb.StatusType_IN_PROGRESS, 0
	}
	for i, n := range nodes {
		s.Nodes = append(s.Nodes, &medusapb.BackupNode{Host: n.Name, Datacenter: n.Datacenter, Rack: n.Rack, Tokens: []int64{int64(i), int64(i) + 100}})
	}
	return s
}

var errUnavailable = status.Error(codes.Unavailable, "connection refused")
