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
)

// fakeSidecar is a Medusa gRPC server on 127.0.0.1 whose answers a test
// scripts.
type fakeSidecar struct {
	medusapb.UnimplementedMedusaServer
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
	// calls records the requests.
	async    []*medusapb.BackupRequest
	prepares []*medusapb.PrepareRestoreRequest
	purges   int
}

func startFake(t *testing.T) *fakeSidecar {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSidecar{addr: lis.Addr().String()}
	srv := grpc.NewServer()
	medusapb.RegisterMedusaServer(srv, f)
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
