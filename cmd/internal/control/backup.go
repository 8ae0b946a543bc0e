package control

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cassette-backup/cassette/cmd/internal/fileerr"
	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
)

// BackupRequest asks for a backup of one datacenter, as a MedusaBackupJob
// does.
type BackupRequest struct {
	Datacenter *Datacenter
	// Name is the backup's name (a Kubernetes object name).
	Name string
	// Type is TypeFull or TypeDifferential ("" is differential).
	Type string
	// Progress, when set, receives a snapshot of the job after every
	// change, one call at a time, in order.
	Progress func(BackupJob)
}

// BackupJob is a datacenter backup as a MedusaBackupJob tracks it, with
// each node's detail and, once every node ended, the MedusaBackup.
type BackupJob struct {
	Name       string `json:"name" yaml:"name"`
	Cluster    string `json:"cluster" yaml:"cluster"`
	Datacenter string `json:"cassandraDatacenter" yaml:"cassandraDatacenter"`
	BackupType string `json:"backupType" yaml:"backupType"`
	// Status is IN_PROGRESS while nodes run, then the verdict: SUCCESS only
	// when every node of the datacenter finished, FAILED otherwise, UNKNOWN
	// when the control plane was interrupted before the end.
	Status     string    `json:"status" yaml:"status"`
	StartTime  time.Time `json:"startTime" yaml:"startTime"`
	FinishTime time.Time `json:"finishTime,omitzero" yaml:"finishTime,omitempty"`
	// Finished and Failed name the nodes, as MedusaBackupJob's status.
	Finished []string  `json:"finished" yaml:"finished"`
	Failed   []string  `json:"failed,omitempty" yaml:"failed,omitempty"`
	Nodes    []NodeRun `json:"nodes" yaml:"nodes"`
	// Backup is the MedusaBackup, set once every node ended.
	Backup *MedusaBackup `json:"backup,omitempty" yaml:"backup,omitempty"`
	// Error says what went wrong beyond the nodes' own errors.
	Error string `json:"error,omitempty" yaml:"error,omitempty"`
}

// NodeRun is one node's part of a backup.
type NodeRun struct {
	Node    string `json:"node" yaml:"node"`
	Address string `json:"address" yaml:"address"`
	Rack    string `json:"rack" yaml:"rack"`
	Status  string `json:"status" yaml:"status"`
	// StartTime and FinishTime are BackupStatus's, "YYYY-MM-DD HH:MM:SS".
	StartTime  string `json:"startTime,omitempty" yaml:"startTime,omitempty"`
	FinishTime string `json:"finishTime,omitempty" yaml:"finishTime,omitempty"`
	Error      string `json:"error,omitempty" yaml:"error,omitempty"`
	// LastContact is when the sidecar last answered.
	LastContact time.Time `json:"lastContact,omitzero" yaml:"lastContact,omitempty"`
	// Progress is what a cassette sidecar reports beside BackupStatus
	// (absent from a Medusa sidecar).
	Progress *NodeProgress `json:"progress,omitempty" yaml:"progress,omitempty"`
}

// NodeProgress is how far a node's backup got: files and bytes of the
// node's data, done (read, or vouched for by its file cache) and in all,
// and the rate since the node started.
type NodeProgress struct {
	FilesDone      int64 `json:"filesDone" yaml:"filesDone"`
	FilesTotal     int64 `json:"filesTotal" yaml:"filesTotal"`
	BytesDone      int64 `json:"bytesDone" yaml:"bytesDone"`
	BytesTotal     int64 `json:"bytesTotal" yaml:"bytesTotal"`
	BytesPerSecond int64 `json:"bytesPerSecond" yaml:"bytesPerSecond"`
}

// clone copies p, so that snapshots never share it; nil stays nil.
func (p *NodeProgress) clone() *NodeProgress {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// Response headers a cassette sidecar adds to BackupStatus (cmd/cassette
// serve_medusa.go).
const (
	headerProgress = "cassette-progress"
	headerError    = "cassette-error-bin"
)

// parseProgress reads a "files=D/T bytes=D/T" header; nil when absent or
// malformed (a Medusa sidecar, or a newer format).
func parseProgress(md metadata.MD, started, finished string, now time.Time) *NodeProgress {
	v := md.Get(headerProgress)
	if len(v) != 1 {
		return nil
	}
	var p NodeProgress
	if n, err := fmt.Sscanf(v[0], "files=%d/%d bytes=%d/%d", &p.FilesDone, &p.FilesTotal, &p.BytesDone, &p.BytesTotal); n != 4 || err != nil {
		return nil
	}
	p.BytesPerSecond = bytesPerSecond(p.BytesDone, started, finished, now)
	return &p
}

// bytesPerSecond is the rate of done bytes since started (a sidecar's
// "YYYY-MM-DD HH:MM:SS" UTC) until finished, or until now while the node
// runs; 0 when unknown or under a second.
func bytesPerSecond(done int64, started, finished string, now time.Time) int64 {
	t, err := time.ParseInLocation(time.DateTime, started, time.UTC)
	if err != nil {
		return 0
	}
	if end, err := time.ParseInLocation(time.DateTime, finished, time.UTC); err == nil {
		now = end // the rate of a finished node is over its own run
	}
	if d := now.Sub(t); d >= time.Second {
		return int64(float64(done) / d.Seconds())
	}
	return 0
}

func (j BackupJob) clone() BackupJob {
	j.Finished = append([]string(nil), j.Finished...)
	j.Failed = append([]string(nil), j.Failed...)
	j.Nodes = append([]NodeRun(nil), j.Nodes...)
	for i := range j.Nodes {
		j.Nodes[i].Progress = j.Nodes[i].Progress.clone()
	}
	if j.Backup != nil {
		b := j.Backup.clone()
		j.Backup = &b
	}
	return j
}

// Backup backs up every node of the datacenter at once and waits for all
// of them: AsyncBackup on each sidecar, BackupStatus every PollInterval,
// then GetBackups for the MedusaBackup. A node that refuses, reports
// FAILED, answers NOT_FOUND or stays unreachable for UnreachableAfter is
// FAILED, and the backup with it. The job is returned in every case; the
// error, when the backup is not SUCCESS, matches ErrFailed (or ctx's
// error).
func (c *Controller) Backup(ctx context.Context, req BackupRequest) (*BackupJob, error) {
	typ, err := checkBackupRequest(req)
	if err != nil {
		return nil, err
	}
	dc := req.Datacenter
	r := &backupRun{c: c, progress: req.Progress, job: BackupJob{Name: req.Name, Cluster: dc.Cluster, Datacenter: dc.Name,
		BackupType: typ, Status: StatusInProgress, StartTime: c.now(), Finished: []string{}}}
	for _, n := range dc.Nodes {
		r.job.Nodes = append(r.job.Nodes, NodeRun{Node: n.Name, Address: n.Address, Rack: n.Rack, Status: StatusPending})
	}
	c.track(r)
	c.log.Info("backup started", "backup", req.Name, "datacenter", dc.Name, "nodes", len(dc.Nodes), "type", typ)
	r.emit()
	var wg sync.WaitGroup
	for i, n := range dc.Nodes {
		wg.Go(func() { r.runNode(ctx, i, n) })
	}
	wg.Wait()
	job := r.conclude(ctx, dc)
	c.untrack(r, &job)
	r.emit()
	out := job.clone()
	return &out, job.err(ctx)
}

func checkBackupRequest(req BackupRequest) (string, error) {
	if req.Datacenter == nil || len(req.Datacenter.Nodes) == 0 {
		return "", errors.New("backup: no datacenter, or a datacenter without nodes")
	}
	if !nameRE.MatchString(req.Name) {
		return "", fmt.Errorf("backup name %q is invalid: use letters, digits, '.', '_' and '-' (at most 253, starting with a letter or digit)", req.Name)
	}
	switch strings.ToLower(req.Type) {
	case "", TypeDifferential:
		return TypeDifferential, nil
	case TypeFull:
		return TypeFull, nil
	}
	return "", fmt.Errorf("backup type %q: use full or differential", req.Type)
}

// backupRun is a Backup in progress.
type backupRun struct {
	c        *Controller
	progress func(BackupJob)
	emitMu   sync.Mutex // orders progress calls
	mu       sync.Mutex // guards job
	job      BackupJob
}

func (r *backupRun) snapshot() BackupJob {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.job.clone()
}

func (r *backupRun) emit() {
	if r.progress == nil {
		return
	}
	r.emitMu.Lock()
	defer r.emitMu.Unlock()
	r.progress(r.snapshot())
}

// update changes node i's record and emits a snapshot when something a
// user sees changed.
func (r *backupRun) update(i int, fn func(*NodeRun)) {
	r.mu.Lock()
	before := r.job.Nodes[i]
	fn(&r.job.Nodes[i])
	after := r.job.Nodes[i]
	r.mu.Unlock()
	before.LastContact, after.LastContact = time.Time{}, time.Time{}
	if before != after {
		r.emit()
	}
}

// runNode drives one node: AsyncBackup (retried while the node is
// unreachable), then BackupStatus until it ends.
func (r *backupRun) runNode(ctx context.Context, i int, n *Node) {
	log := r.c.log.With("backup", r.job.Name, "node", n.Name)
	fail := func(msg string) {
		log.Info("node backup failed", "err", msg)
		r.update(i, func(nr *NodeRun) { nr.Status, nr.Error = StatusFailed, msg })
	}
	cl, err := r.c.client(n)
	if err != nil {
		fail(err.Error())
		return
	}
	mode := medusapb.BackupRequest_DIFFERENTIAL
	if r.job.BackupType == TypeFull {
		mode = medusapb.BackupRequest_FULL
	}
	w := waiter{c: r.c, node: n}
	for {
		_, err := call(ctx, r.c.o.CallTimeout, func(ctx context.Context) (*medusapb.BackupResponse, error) {
			return cl.AsyncBackup(ctx, &medusapb.BackupRequest{Name: r.job.Name, Mode: mode})
		})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			r.update(i, func(nr *NodeRun) {
				nr.Status, nr.Error = StatusUnknown, "interrupted before the sidecar answered AsyncBackup; it may have started the backup"
			})
			return
		}
		if msg, done := w.failed(ctx, "AsyncBackup", err); done {
			fail(msg)
			return
		}
	}
	now := r.c.now()
	r.update(i, func(nr *NodeRun) { nr.Status, nr.LastContact = StatusInProgress, now })
	w = waiter{c: r.c, node: n}
	stopped := func() {
		r.update(i, func(nr *NodeRun) {
			nr.Error = "the control plane stopped watching; the node may still be running its backup"
		})
	}
	for first := true; ; first = false {
		if !first && sleep(ctx, r.c.o.PollInterval) != nil {
			stopped()
			return
		}
		var md metadata.MD
		st, err := call(ctx, r.c.o.CallTimeout, func(ctx context.Context) (*medusapb.BackupStatusResponse, error) {
			return cl.BackupStatus(ctx, &medusapb.BackupStatusRequest{BackupName: r.job.Name}, grpc.Header(&md))
		})
		if err != nil && ctx.Err() != nil {
			stopped()
			return
		}
		if status.Code(err) == codes.NotFound {
			fail(fmt.Sprintf("the sidecar does not know the backup (BackupStatus: %s): it restarted before recording it, or the backup was deleted", rpcMessage(err)))
			return
		}
		if err != nil {
			if msg, done := w.failedNoWait(ctx, "BackupStatus", err); done {
				fail(msg)
				return
			}
			continue
		}
		w.answered()
		now := r.c.now()
		r.update(i, func(nr *NodeRun) {
			nr.LastContact, nr.StartTime, nr.FinishTime = now, st.GetStartTime(), st.GetFinishTime()
			if p := parseProgress(md, st.GetStartTime(), st.GetFinishTime(), now); p != nil {
				nr.Progress = p
			}
			switch st.GetStatus() {
			case medusapb.StatusType_SUCCESS:
				nr.Status = StatusSuccess
			case medusapb.StatusType_FAILED:
				nr.Status, nr.Error = StatusFailed, "the sidecar reports the node's backup FAILED (its log says why)"
				if v := md.Get(headerError); len(v) == 1 && v[0] != "" {
					nr.Error = "the node's backup FAILED: " + fileerr.OneLine(v[0])
				}
			}
		})
		switch st.GetStatus() {
		case medusapb.StatusType_SUCCESS:
			log.Info("node backup complete")
			return
		case medusapb.StatusType_FAILED:
			log.Info("node backup failed", "err", "the sidecar reports FAILED")
			return
		}
	}
}

// waiter decides, call after call, when a node that does not answer has
// failed: at once for a refusal, after UnreachableAfter of transient
// errors otherwise.
type waiter struct {
	c     *Controller
	node  *Node
	since time.Time // first error of the current run of errors
}

func (w *waiter) answered() { w.since = time.Time{} }

// failed judges err and, when the node may still answer, sleeps a poll
// interval. It returns the failure message and true when the node failed.
func (w *waiter) failed(ctx context.Context, rpc string, err error) (string, bool) {
	if msg, done := w.failedNoWait(ctx, rpc, err); done {
		return msg, true
	}
	if sleep(ctx, w.c.o.PollInterval) != nil {
		return fmt.Sprintf("interrupted before the sidecar at %s answered %s", w.node.Address, rpc), true
	}
	return "", false
}

func (w *waiter) failedNoWait(ctx context.Context, rpc string, err error) (string, bool) {
	if ctx.Err() != nil {
		return fmt.Sprintf("interrupted: %s", rpcMessage(err)), true
	}
	if !transient(err) {
		return fmt.Sprintf("%s refused: %s", rpc, rpcMessage(err)), true
	}
	now := time.Now()
	if w.since.IsZero() {
		w.since = now
	}
	if d := now.Sub(w.since); d >= w.c.o.UnreachableAfter {
		return fmt.Sprintf("the sidecar at %s did not answer %s for %s: %s", w.node.Address, rpc, d.Round(time.Second), rpcMessage(err)), true
	}
	return "", false
}

// conclude reads the summary and decides the verdict once every node ended.
func (r *backupRun) conclude(ctx context.Context, dc *Datacenter) BackupJob {
	job := r.snapshot()
	var failedNodes []string
	for _, nr := range job.Nodes {
		switch nr.Status {
		case StatusSuccess:
			job.Finished = append(job.Finished, nr.Node)
		case StatusFailed:
			failedNodes = append(failedNodes, nr.Node)
		}
	}
	job.Failed = failedNodes
	var sum *medusapb.BackupSummary
	var err error
	if ctx.Err() == nil {
		sum, err = r.c.GetBackup(ctx, dc, job.Name, job.Finished...)
	}
	if err != nil {
		job.Error = "no MedusaBackup: " + fileerr.OneLine(err.Error())
	}
	mb := MedusaBackup{Name: job.Name, Datacenter: dc.Name, BackupType: job.BackupType, StartTime: job.StartTime, Status: StatusFailed}
	if sum != nil {
		mb = FromSummary(sum, dc.Name)
	}
	// A node that never started left nothing in the repository: the
	// summary does not count it. The inventory does.
	listed := map[string]bool{}
	for _, bn := range mb.Nodes {
		listed[bn.Host] = true
	}
	for _, n := range dc.Nodes {
		if !listed[n.Name] {
			mb.Nodes = append(mb.Nodes, BackupNode{Host: n.Name, Datacenter: dc.Name, Rack: n.Rack})
		}
	}
	mb.sortNodes()
	mb.TotalNodes = max(mb.TotalNodes, len(mb.Nodes))
	ok := sum != nil && len(failedNodes) == 0 && len(job.Finished) == len(dc.Nodes) &&
		mb.FinishedNodes == mb.TotalNodes && sum.GetStatus() == medusapb.StatusType_SUCCESS
	switch {
	case ok:
		job.Status = StatusSuccess
	case ctx.Err() != nil:
		job.Status = StatusUnknown
		job.Error = "interrupted before every node ended; the sidecars go on with their backups"
	default:
		job.Status = StatusFailed
		if sum != nil && len(failedNodes) == 0 && job.Error == "" {
			job.Error = fmt.Sprintf("the sidecars' summary counts %d of %d nodes finished, status %s", mb.FinishedNodes, mb.TotalNodes, sum.GetStatus())
		}
	}
	if mb.Status != StatusSuccess || !ok {
		mb.Status = job.Status
	}
	job.Backup = &mb
	job.FinishTime = r.c.now()
	r.mu.Lock()
	r.job = job
	r.mu.Unlock()
	r.c.log.Info("backup ended", "backup", job.Name, "datacenter", dc.Name, "status", job.Status,
		"finished", len(job.Finished), "failed", len(job.Failed))
	return job.clone()
}

// err is the error Backup returns for the job: nil for SUCCESS.
func (j BackupJob) err(ctx context.Context) error {
	if j.Status == StatusSuccess {
		return nil
	}
	reasons := []string{}
	for _, nr := range j.Nodes {
		if nr.Status != StatusSuccess {
			reasons = append(reasons, fmt.Sprintf("node %s (%s) %s: %s", nr.Node, nr.Address, nr.Status, firstSet(nr.Error, "did not finish")))
		}
	}
	if j.Error != "" {
		reasons = append(reasons, j.Error)
	}
	msg := fmt.Sprintf("backup %s of datacenter %s is %s (%d of %d nodes finished): %s", j.Name, j.Datacenter, j.Status,
		len(j.Finished), len(j.Nodes), strings.Join(reasons, "; "))
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", msg, ctx.Err())
	}
	return failure("%s", msg)
}

func firstSet(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
