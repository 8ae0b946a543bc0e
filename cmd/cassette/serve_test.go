package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/cmd/internal/config"
	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
	"github.com/cassette-backup/cassette/engine"
	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/mem"
)

// countingStorage counts reads of node backup objects (manifests, markers).
type countingStorage struct {
	providers.Storage
	backupReads atomic.Int64
}

func (c *countingStorage) Get(ctx context.Context, key providers.Key, off, n int64, fn func(io.Reader) error) error {
	if strings.HasPrefix(string(key), "backups/") {
		c.backupReads.Add(1)
	}
	return c.Storage.Get(ctx, key, off, n, fn)
}

// memSession is a session on an in-memory repository, with data directory
// data (snapshot none) and retention maxCount.
func memSession(t *testing.T, data string, maxCount int) (*session, *countingStorage) {
	t.Helper()
	ctx := context.Background()
	st := &countingStorage{Storage: mem.New(mem.Options{})}
	repo, err := chunkstore.Init(ctx, st, chunkstore.InitOptions{}, chunkstore.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	cfg := &config.Config{Storage: providers.StorageProperties{StorageProvider: "mem", MaxBackupCount: maxCount}, CacheDir: t.TempDir(),
		Cassandra: config.Cassandra{DataDirs: []string{data}, Snapshot: config.SnapshotNone, Datacenter: "dc1", Rack: "r1"}}
	cfg.ApplyDefaults()
	return &session{cfg: cfg, log: slog.New(slog.DiscardHandler), st: st, repo: repo}, st
}

// dialServer serves ms over an in-memory connection.
func dialServer(t *testing.T, ms *medusaServer) medusapb.MedusaClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	medusapb.RegisterMedusaServer(srv, ms)
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
		ms.jobs.stop(5 * time.Second)
	})
	return medusapb.NewMedusaClient(conn)
}

// gate is a fake backup that runs until released with a result; a success
// writes a stand-in manifest of node-0 to st.
type gate struct {
	st      providers.Storage
	mu      sync.Mutex
	calls   map[string]int
	release chan error
}

func (g *gate) backup(ctx context.Context, name, typ string, pr engine.Progress) (*engine.BackupResult, error) {
	g.mu.Lock()
	g.calls[name+"/"+typ]++
	g.mu.Unlock()
	start := time.Now()
	pr.File("ks/t/nb-1-big-Data.db", 100, false)
	select {
	case err := <-g.release:
		if err != nil {
			return nil, err
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := g.st.Put(ctx, engine.ManifestKey(name, "node-0"), providers.Bytes([]byte("stand-in")), providers.PutOptions{}); err != nil {
		return nil, err
	}
	h := engine.Header{Backup: name, Started: start.UTC(), Finished: time.Now().UTC(), Summary: engine.Summary{Files: 1, Bytes: 100, NewBytes: 40, StoredBytes: 30}}
	return &engine.BackupResult{Header: h, Duration: h.Finished.Sub(h.Started)}, nil
}

func (g *gate) count(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[key]
}

var statusTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)

func waitStatus(t *testing.T, cl medusapb.MedusaClient, name string, want medusapb.StatusType) *medusapb.BackupStatusResponse {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := cl.BackupStatus(context.Background(), &medusapb.BackupStatusRequest{BackupName: name})
		if err != nil {
			t.Fatalf("BackupStatus %s: %v", name, err)
		}
		if r.GetStatus() == want {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("BackupStatus %s: %v after 10s, want %v", name, r.GetStatus(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// statusHeader returns the response headers of BackupStatus.
func statusHeader(t *testing.T, cl medusapb.MedusaClient, name string) metadata.MD {
	t.Helper()
	var md metadata.MD
	if _, err := cl.BackupStatus(context.Background(), &medusapb.BackupStatusRequest{BackupName: name}, grpc.Header(&md)); err != nil {
		t.Fatalf("BackupStatus %s: %v", name, err)
	}
	return md
}

func wantCode(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	if status.Code(err) != code || !strings.Contains(status.Convert(err).Message(), msg) {
		t.Fatalf("error %v, want %s containing %q", err, code, msg)
	}
}

// TestServeBackupRegistry: a backup AsyncBackup accepted is IN_PROGRESS
// from the first poll, one backup runs at a time, the same name again is
// idempotent, and SUCCESS/FAILED follow with their finish time.
func TestServeBackupRegistry(t *testing.T) {
	s, _ := memSession(t, t.TempDir(), 0)
	g := &gate{st: s.st, calls: map[string]int{}, release: make(chan error)}
	m := newMetrics()
	ms := newMedusaServer(s, "node-0", t.TempDir(), m)
	ms.backup = g.backup
	cl := dialServer(t, ms)
	ctx := context.Background()

	r, err := cl.AsyncBackup(ctx, &medusapb.BackupRequest{Name: "b1", Mode: medusapb.BackupRequest_FULL})
	if err != nil || r.GetBackupName() != "b1" || r.GetStatus() != medusapb.StatusType_IN_PROGRESS {
		t.Fatalf("AsyncBackup: %v %v", r, err)
	}
	st, err := cl.BackupStatus(ctx, &medusapb.BackupStatusRequest{BackupName: "b1"})
	if err != nil || st.GetStatus() != medusapb.StatusType_IN_PROGRESS || !statusTimeRE.MatchString(st.GetStartTime()) || st.GetFinishTime() != "" {
		t.Fatalf("first poll: %v %v", st, err)
	}
	if r, err := cl.AsyncBackup(ctx, &medusapb.BackupRequest{Name: "b1", Mode: medusapb.BackupRequest_FULL}); err != nil || r.GetStatus() != medusapb.StatusType_IN_PROGRESS {
		t.Fatalf("AsyncBackup again: %v %v", r, err)
	}
	_, err = cl.AsyncBackup(ctx, &medusapb.BackupRequest{Name: "b2"})
	wantCode(t, err, codes.FailedPrecondition, `backup "b1" is running on this node`)
	_, err = cl.DeleteBackup(ctx, &medusapb.DeleteBackupRequest{Name: "b1"})
	wantCode(t, err, codes.FailedPrecondition, "running")
	_, err = cl.BackupStatus(ctx, &medusapb.BackupStatusRequest{BackupName: "nope"})
	wantCode(t, err, codes.NotFound, `backup "nope" does not exist for node node-0`)
	_, err = cl.AsyncBackup(ctx, &medusapb.BackupRequest{Name: "../x"})
	wantCode(t, err, codes.InvalidArgument, "invalid")

	g.release <- nil
	st = waitStatus(t, cl, "b1", medusapb.StatusType_SUCCESS)
	if !statusTimeRE.MatchString(st.GetStartTime()) || !statusTimeRE.MatchString(st.GetFinishTime()) {
		t.Fatalf("finished backup times: %v", st)
	}
	if r, err := cl.AsyncBackup(ctx, &medusapb.BackupRequest{Name: "b1", Mode: medusapb.BackupRequest_FULL}); err != nil || r.GetStatus() != medusapb.StatusType_SUCCESS {
		t.Fatalf("AsyncBackup of a finished backup: %v %v", r, err)
	}
	// Beside Medusa's message, headers say how far the backup got.
	if md := statusHeader(t, cl, "b1"); !slices.Equal(md.Get(headerProgress), []string{"files=1/0 bytes=100/0"}) || len(md.Get(headerError)) != 0 {
		t.Fatalf("headers of a finished backup: %v", md)
	}
	if n := g.count("b1/full"); n != 1 {
		t.Fatalf("b1 ran %d times", n)
	}

	// A failure is FAILED; the same name again retries it.
	if _, err := cl.AsyncBackup(ctx, &medusapb.BackupRequest{Name: "b2", Mode: medusapb.BackupRequest_DIFFERENTIAL}); err != nil {
		t.Fatal(err)
	}
	g.release <- errors.New("disk on fire")
	st = waitStatus(t, cl, "b2", medusapb.StatusType_FAILED)
	if !statusTimeRE.MatchString(st.GetFinishTime()) {
		t.Fatalf("failed backup has no finish time: %v", st)
	}
	if md := statusHeader(t, cl, "b2"); !slices.Equal(md.Get(headerError), []string{"disk on fire"}) {
		t.Fatalf("headers of a failed backup: %v", md)
	}
	if r, err := cl.AsyncBackup(ctx, &medusapb.BackupRequest{Name: "b2"}); err != nil || r.GetStatus() != medusapb.StatusType_IN_PROGRESS {
		t.Fatalf("retry of a failed backup: %v %v", r, err)
	}
	go func() { g.release <- nil }()
	waitStatus(t, cl, "b2", medusapb.StatusType_SUCCESS)
	if n := g.count("b2/differential"); n != 2 {
		t.Fatalf("b2 ran %d times, want 2", n)
	}

	// Backup (synchronous) answers when the backup ended, with its error.
	go func() { g.release <- errors.New("no space left") }()
	_, err = cl.Backup(ctx, &medusapb.BackupRequest{Name: "b3"})
	wantCode(t, err, codes.Internal, "no space left")
	go func() { g.release <- nil }()
	if r, err := cl.Backup(ctx, &medusapb.BackupRequest{Name: "b3", Mode: medusapb.BackupRequest_FULL}); err != nil || r.GetStatus() != medusapb.StatusType_SUCCESS {
		t.Fatalf("sync Backup: %v %v", r, err)
	}

	for name, want := range map[string]float64{
		"cassette_backups_started_total": 5, "cassette_backups_succeeded_total": 3, "cassette_backups_failed_total": 2,
		"cassette_backup_read_bytes_total": 500, "cassette_backup_uploaded_bytes_total": 90, "cassette_backup_deduplicated_bytes_total": 180,
	} {
		if got := metricValue(t, m, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if metricValue(t, m, "cassette_last_successful_backup_timestamp_seconds") < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Error("last successful backup time not set")
	}
}

// metricValue reads one counter or gauge from the registry.
func metricValue(t *testing.T, m *metrics, name string) float64 {
	t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, x := range mf.GetMetric() {
			if x.Counter != nil {
				return x.Counter.GetValue()
			}
			if x.Gauge != nil {
				return x.Gauge.GetValue()
			}
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestServeStatusFromRepository: a server that did not run a backup (a
// restart) answers from the repository: manifest SUCCESS, failed marker
// FAILED, started marker IN_PROGRESS while a live lock shows it runs and
// FAILED when none does.
func TestServeStatusFromRepository(t *testing.T) {
	data := t.TempDir()
	tbl := filepath.Join(data, "ks1", "t1-0a1b")
	os.MkdirAll(tbl, 0o755)
	os.WriteFile(filepath.Join(tbl, "nb-1-big-Data.db"), []byte(strings.Repeat("data ", 1000)), 0o644)
	s, _ := memSession(t, data, 0)
	ctx := context.Background()
	first := newMedusaServer(s, "node-0", t.TempDir(), newMetrics())
	if r, err := dialServer(t, first).Backup(ctx, &medusapb.BackupRequest{Name: "done"}); err != nil || r.GetStatus() != medusapb.StatusType_SUCCESS {
		t.Fatalf("real backup: %v %v", r, err)
	}

	cl := dialServer(t, newMedusaServer(s, "node-0", t.TempDir(), newMetrics()))
	st, err := cl.BackupStatus(ctx, &medusapb.BackupStatusRequest{BackupName: "done"})
	if err != nil || st.GetStatus() != medusapb.StatusType_SUCCESS || !statusTimeRE.MatchString(st.GetStartTime()) || !statusTimeRE.MatchString(st.GetFinishTime()) {
		t.Fatalf("complete backup after a restart: %v %v", st, err)
	}
	if r, err := cl.AsyncBackup(ctx, &medusapb.BackupRequest{Name: "done"}); err != nil || r.GetStatus() != medusapb.StatusType_SUCCESS {
		t.Fatalf("AsyncBackup of a complete backup after a restart: %v %v", r, err)
	}

	put := func(key providers.Key, v any) {
		b, _ := json.Marshal(v)
		if err := s.st.Put(ctx, key, providers.Bytes(b), providers.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	started := time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC)
	put(engine.StartedKey("crashed", "node-0"), engine.Marker{Backup: "crashed", Node: "node-0", Started: started})
	put(engine.StartedKey("failed", "node-0"), engine.Marker{Backup: "failed", Node: "node-0", Started: started})
	put(engine.FailedKey("failed", "node-0"), map[string]any{"failed": started.Add(time.Minute), "error": "boom"})
	put(engine.StartedKey("elsewhere", "node-0"), engine.Marker{Backup: "elsewhere", Node: "node-0", Started: started})
	lock, err := s.engine().AcquireLock(ctx, engine.LockShared, "backup elsewhere", engine.LockOptions{Node: "node-0"})
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	for name, want := range map[string]*medusapb.BackupStatusResponse{
		"crashed":   {StartTime: "2026-11-24 01:02:03", Status: medusapb.StatusType_FAILED},
		"failed":    {StartTime: "2026-11-24 01:02:03", FinishTime: "2026-11-24 01:03:03", Status: medusapb.StatusType_FAILED},
		"elsewhere": {StartTime: "2026-11-24 01:02:03", Status: medusapb.StatusType_IN_PROGRESS},
	} {
		got, err := cl.BackupStatus(ctx, &medusapb.BackupStatusRequest{BackupName: name})
		if err != nil || !proto.Equal(got, want) {
			t.Errorf("BackupStatus %s = %v %v, want %v", name, got, err, want)
		}
	}
	// Another node's backup is not this node's.
	put(engine.StartedKey("theirs", "node-1"), engine.Marker{Backup: "theirs", Node: "node-1", Started: started})
	_, err = cl.BackupStatus(ctx, &medusapb.BackupStatusRequest{BackupName: "theirs"})
	wantCode(t, err, codes.NotFound, "does not exist for node node-0")
}

// TestServeGetBackupsReadsSummariesOnly: thousands of backups are listed
// from their summaries, oldest first, without reading a node object, and
// every field is the MedusaBackup one.
func TestServeGetBackupsReadsSummariesOnly(t *testing.T) {
	s, st := memSession(t, t.TempDir(), 0)
	ctx := context.Background()
	tokens := make([]int64, 256)
	for i := range tokens {
		tokens[i] = int64(i)*36028797018963968 - 4611686018427387904
	}
	const n = 1000
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		start := base.Add(time.Duration(n-i) * time.Hour) // written newest first
		finish := start.Add(10 * time.Minute)
		cb := engine.ClusterBackup{Name: fmt.Sprintf("nightly-%05d", i), StartTime: start, FinishTime: &finish, TotalNodes: 3, FinishedNodes: 3,
			TotalFiles: 1200, TotalSize: 5 << 30, Status: engine.StatusSuccess, BackupType: []string{"full", "differential"}[i%2]}
		for k := range 3 {
			cb.Nodes = append(cb.Nodes, engine.NodeInfo{Host: fmt.Sprintf("demo-dc1-default-sts-%d", k), Datacenter: "dc1", Rack: "default", Tokens: tokens})
		}
		b, _ := json.Marshal(cb)
		if err := st.Put(ctx, engine.SummaryKey(cb.Name), providers.Bytes(b), providers.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cl := dialServerLimits(t, newMedusaServer(s, "node-0", t.TempDir(), newMetrics()))
	st.backupReads.Store(0)
	resp, err := cl.GetBackups(ctx, &medusapb.GetBackupsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetBackups()) != n || resp.GetOverallStatus() != medusapb.StatusType_SUCCESS || st.backupReads.Load() != 0 {
		t.Fatalf("%d backups, overall %v, %d node objects read", len(resp.GetBackups()), resp.GetOverallStatus(), st.backupReads.Load())
	}
	oldest, newest := resp.GetBackups()[0], resp.GetBackups()[n-1]
	if oldest.GetBackupName() != fmt.Sprintf("nightly-%05d", n-1) || newest.GetBackupName() != "nightly-00000" {
		t.Fatalf("not oldest first: %s ... %s", oldest.GetBackupName(), newest.GetBackupName())
	}
	want := &medusapb.BackupSummary{BackupName: "nightly-00000", StartTime: base.Add(n * time.Hour).Unix(), FinishTime: base.Add(n*time.Hour + 10*time.Minute).Unix(),
		TotalNodes: 3, FinishedNodes: 3, Status: medusapb.StatusType_SUCCESS, BackupType: "full", TotalSize: 5 << 30, TotalObjects: 1200}
	for k := range 3 {
		want.Nodes = append(want.Nodes, &medusapb.BackupNode{Host: fmt.Sprintf("demo-dc1-default-sts-%d", k), Datacenter: "dc1", Rack: "default", Tokens: tokens})
	}
	if !proto.Equal(newest, want) {
		t.Fatalf("summary\n got %v\nwant %v", newest, want)
	}
	t.Logf("GetBackups of %d backups of 3 nodes with 256 tokens each: %d bytes", n, proto.Size(resp))
}

// dialServerLimits is dialServer with the server's message limits.
func dialServerLimits(t *testing.T, ms *medusaServer) medusapb.MedusaClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.MaxSendMsgSize(config.DefaultGRPCMaxSendLength), grpc.MaxRecvMsgSize(config.DefaultGRPCMaxReceiveLength))
	medusapb.RegisterMedusaServer(srv, ms)
	go srv.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return lis.DialContext(ctx)
	}), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(config.DefaultGRPCMaxSendLength)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
	})
	return medusapb.NewMedusaClient(conn)
}

func TestOverallStatusAndSummary(t *testing.T) {
	S, F, P, U := medusapb.StatusType_SUCCESS, medusapb.StatusType_FAILED, medusapb.StatusType_IN_PROGRESS, medusapb.StatusType_UNKNOWN
	for _, tc := range []struct {
		in   []medusapb.StatusType
		want medusapb.StatusType
	}{
		{nil, U}, {[]medusapb.StatusType{S, S}, S}, {[]medusapb.StatusType{S, P}, P}, {[]medusapb.StatusType{P, F, S}, F}, {[]medusapb.StatusType{F, U}, U},
	} {
		var list []*medusapb.BackupSummary
		for _, s := range tc.in {
			list = append(list, &medusapb.BackupSummary{Status: s})
		}
		if got := overallStatus(list); got != tc.want {
			t.Errorf("overallStatus(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	// An unfinished backup: no finish time, type from the markers, an
	// unknown type or status mapped to what the operator accepts.
	s := backupSummary(&engine.ClusterBackup{Name: "b", StartTime: time.Unix(1700000000, 0), TotalNodes: 3, FinishedNodes: 1, Status: engine.StatusInProgress, BackupType: ""})
	if s.GetFinishTime() != 0 || s.GetStartTime() != 1700000000 || s.GetBackupType() != "differential" || s.GetStatus() != P || s.GetTotalNodes() != 3 || s.GetFinishedNodes() != 1 {
		t.Errorf("in-progress summary: %v", s)
	}
	if s := backupSummary(&engine.ClusterBackup{Name: "b", Status: "DELETING"}); s.GetStatus() != U || s.GetStartTime() != 0 {
		t.Errorf("unknown status: %v", s)
	}
}
