package console

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/cassette-backup/cassette/cmd/internal/control"
	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
	"github.com/cassette-backup/cassette/cmd/internal/schedule"
)

// fakeRepo is the repository the fake sidecars of a test share: the
// GetBackups summaries, built as the nodes start and finish.
type fakeRepo struct {
	mu      sync.Mutex
	backups []*medusapb.BackupSummary
	// gate, while open (not closed), keeps every backup IN_PROGRESS.
	gate chan struct{}
}

func (r *fakeRepo) hold() { r.mu.Lock(); r.gate = make(chan struct{}); r.mu.Unlock() }
func (r *fakeRepo) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gate != nil {
		close(r.gate)
		r.gate = nil
	}
}

func (r *fakeRepo) find(name string) *medusapb.BackupSummary {
	for _, b := range r.backups {
		if b.BackupName == name {
			return b
		}
	}
	return nil
}

// fakeSidecar is a Medusa gRPC server on 127.0.0.1 for one node: a backup
// is IN_PROGRESS while the repo's gate holds, then SUCCESS.
type fakeSidecar struct {
	medusapb.UnimplementedMedusaServer
	repo           *fakeRepo
	addr           string
	node, dc, rack string
	dcNodes        int
	mu             sync.Mutex
	finished       map[string]bool
}

func startSidecar(t *testing.T, repo *fakeRepo, node, dc, rack string, dcNodes int) *fakeSidecar {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSidecar{repo: repo, addr: lis.Addr().String(), node: node, dc: dc, rack: rack, dcNodes: dcNodes, finished: map[string]bool{}}
	srv := grpc.NewServer()
	medusapb.RegisterMedusaServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return f
}

func (f *fakeSidecar) AsyncBackup(_ context.Context, req *medusapb.BackupRequest) (*medusapb.BackupResponse, error) {
	f.repo.mu.Lock()
	defer f.repo.mu.Unlock()
	b := f.repo.find(req.GetName())
	if b == nil {
		typ := "differential"
		if req.GetMode() == medusapb.BackupRequest_FULL {
			typ = "full"
		}
		b = &medusapb.BackupSummary{BackupName: req.GetName(), StartTime: time.Now().Unix(), TotalNodes: int32(f.dcNodes),
			BackupType: typ, Status: medusapb.StatusType_IN_PROGRESS}
		f.repo.backups = append(f.repo.backups, b)
	}
	b.Nodes = append(b.Nodes, &medusapb.BackupNode{Host: f.node, Datacenter: f.dc, Rack: f.rack, Tokens: []int64{-100, 100, 200}})
	return &medusapb.BackupResponse{BackupName: req.GetName(), Status: medusapb.StatusType_IN_PROGRESS}, nil
}

func (f *fakeSidecar) BackupStatus(_ context.Context, req *medusapb.BackupStatusRequest) (*medusapb.BackupStatusResponse, error) {
	f.repo.mu.Lock()
	defer f.repo.mu.Unlock()
	b := f.repo.find(req.GetBackupName())
	if b == nil {
		return nil, status.Error(codes.NotFound, "no such backup")
	}
	resp := &medusapb.BackupStatusResponse{StartTime: "2026-03-01 10:00:00", Status: medusapb.StatusType_IN_PROGRESS}
	if f.repo.gate != nil {
		return resp, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.finished[b.BackupName] {
		f.finished[b.BackupName] = true
		b.FinishedNodes++
		b.TotalObjects += 10
		b.TotalSize += 1 << 20
		if b.FinishedNodes >= b.TotalNodes {
			b.Status, b.FinishTime = medusapb.StatusType_SUCCESS, time.Now().Unix()+1
		}
	}
	resp.Status, resp.FinishTime = medusapb.StatusType_SUCCESS, "2026-03-01 10:00:05"
	return resp, nil
}

func (f *fakeSidecar) GetBackups(context.Context, *medusapb.GetBackupsRequest) (*medusapb.GetBackupsResponse, error) {
	f.repo.mu.Lock()
	defer f.repo.mu.Unlock()
	out := &medusapb.GetBackupsResponse{}
	for _, b := range f.repo.backups {
		out.Backups = append(out.Backups, proto.Clone(b).(*medusapb.BackupSummary))
	}
	return out, nil
}

// secretContent is the content of the test's credentials file: no page
// may show it.
const secretContent = "aws_secret_access_key = TOP-SECRET-VALUE-42"

// rig is a console over three fake sidecars: cluster demo, datacenter dc1
// (two nodes, racks r1 and r2) and dc2 (one node).
type rig struct {
	t        *testing.T
	dir      string
	inv      string
	repo     *fakeRepo
	ctl      *control.Controller
	srv      *Server
	ts       *httptest.Server
	clock    *schedule.FakeClock
	opts     Options
	credFile string
}

func newRig(t *testing.T, mod func(*Options)) *rig {
	t.Helper()
	r := &rig{t: t, dir: t.TempDir(), repo: &fakeRepo{}}
	a := startSidecar(t, r.repo, "demo-dc1-r1-sts-0", "dc1", "r1", 2)
	b := startSidecar(t, r.repo, "demo-dc1-r2-sts-0", "dc1", "r2", 2)
	c := startSidecar(t, r.repo, "demo-dc2-default-sts-0", "dc2", "default", 1)
	r.credFile = filepath.Join(r.dir, "secrets", "spare.ini")
	os.MkdirAll(filepath.Dir(r.credFile), 0o700)
	os.WriteFile(r.credFile, []byte("[default]\naws_access_key_id = AKIA-TEST\n"+secretContent+"\n"), 0o600)
	r.inv = filepath.Join(r.dir, "inventory.yaml")
	body := fmt.Sprintf(`clusters:
  - name: demo
    datacenters:
      - name: dc1
        storageConfiguration: minio
        nodes:
          - {name: demo-dc1-r1-sts-0, address: "%s", rack: r1}
          - {name: demo-dc1-r2-sts-0, address: "%s", rack: r2}
      - name: dc2
        storageConfiguration: local-disk
        nodes:
          - {name: demo-dc2-default-sts-0, address: "%s"}
storageConfigurations:
  - name: minio
    storageProperties:
      storageProvider: s3_compatible
      bucketName: medusa-backups
      host: minio.example
      port: 9000
      secure: false
      storageSecretRef: {name: medusa-bucket-key}
  - name: local-disk
    storageProperties: {storageProvider: local, basePath: %s, bucketName: backups}
  - name: spare
    storageProperties: {storageProvider: s3, bucketName: spare-bucket, region: us-west-2, credentialsFile: secrets/spare.ini, maxBackupCount: 3}
`, a.addr, b.addr, c.addr, filepath.Join(r.dir, "buckets"))
	if err := os.WriteFile(r.inv, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	inv, err := control.LoadInventory(r.inv)
	if err != nil {
		t.Fatal(err)
	}
	r.ctl = control.New(inv, control.Options{PollInterval: 5 * time.Millisecond, CallTimeout: 5 * time.Second, UnreachableAfter: 2 * time.Second})
	t.Cleanup(func() { r.ctl.Close() })
	r.clock = schedule.NewFakeClock(time.Date(2026, 3, 1, 0, 45, 0, 0, time.UTC))
	r.opts = Options{Controller: r.ctl, StateDir: filepath.Join(r.dir, "console"), Clock: r.clock}
	if mod != nil {
		mod(&r.opts)
	}
	r.start()
	return r
}

// start (re)creates the console over the same state folder.
func (r *rig) start() {
	r.t.Helper()
	srv, err := New(r.opts)
	if err != nil {
		r.t.Fatal(err)
	}
	r.srv = srv
	r.ts = httptest.NewServer(srv.Handler())
	r.t.Cleanup(func() {
		r.ts.Close()
		srv.Close()
	})
}

// restart closes the console and opens a new one on the same state.
func (r *rig) restart() {
	r.t.Helper()
	r.ts.Close()
	r.srv.Close()
	r.start()
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (r *rig) get(path string) (int, string) {
	r.t.Helper()
	resp, err := noRedirect.Get(r.ts.URL + path)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post submits a form with the console's token; it returns the status,
// the Location and the body.
func (r *rig) post(path string, form url.Values) (int, string, string) {
	r.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has(csrfField) {
		form.Set(csrfField, r.srv.csrf)
	}
	resp, err := noRedirect.Post(r.ts.URL+path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// eventually polls cond until it holds (a generous deadline, no timing
// asserted).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
