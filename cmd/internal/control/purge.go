package control

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
)

// DefaultPurgeTimeout bounds one node's PurgeBackups call.
const DefaultPurgeTimeout = 6 * time.Hour

// PurgeRequest asks every node of a datacenter to purge, as a MedusaTask of
// type purge does.
type PurgeRequest struct {
	Datacenter *Datacenter
	// Timeout bounds each node's PurgeBackups (DefaultPurgeTimeout when 0).
	Timeout time.Duration
	// Sequential purges one node after the other instead of all at once.
	// Nodes that share a repository then never race on it: concurrent
	// purges of `cassette serve` contend for the garbage-collection lock
	// (the control plane retries, but the first attempt's counters are
	// lost) and can leave a stale summary (docs/control.md).
	Sequential bool
	// Progress, when set, receives a snapshot after every change.
	Progress func(PurgeJob)
}

// PurgeJob is a datacenter purge: each node's PurgeBackups counters.
type PurgeJob struct {
	Cluster    string      `json:"cluster" yaml:"cluster"`
	Datacenter string      `json:"cassandraDatacenter" yaml:"cassandraDatacenter"`
	Status     string      `json:"status" yaml:"status"`
	StartTime  time.Time   `json:"startTime" yaml:"startTime"`
	FinishTime time.Time   `json:"finishTime,omitzero" yaml:"finishTime,omitempty"`
	Nodes      []PurgeNode `json:"nodes" yaml:"nodes"`
}

// PurgeNode is one node's purge, with PurgeBackupsResponse's counters.
type PurgeNode struct {
	Node                      string `json:"node" yaml:"node"`
	Address                   string `json:"address" yaml:"address"`
	Status                    string `json:"status" yaml:"status"`
	NbBackupsPurged           int32  `json:"nbBackupsPurged" yaml:"nbBackupsPurged"`
	NbObjectsPurged           int32  `json:"nbObjectsPurged" yaml:"nbObjectsPurged"`
	TotalPurgedSize           int64  `json:"totalPurgedSize" yaml:"totalPurgedSize"`
	TotalObjectsWithinGcGrace int32  `json:"totalObjectsWithinGcGrace" yaml:"totalObjectsWithinGcGrace"`
	// Attempts counts the PurgeBackups calls (more than one when the
	// repository was locked by another node's garbage collection).
	Attempts int    `json:"attempts" yaml:"attempts"`
	Error    string `json:"error,omitempty" yaml:"error,omitempty"`
	// Note says what the counters leave out.
	Note string `json:"note,omitempty" yaml:"note,omitempty"`
}

// Purge calls PurgeBackups on every node of the datacenter at once (one
// after the other with Sequential), as the operator's purge MedusaTask. Each
// node applies maxBackupAge and maxBackupCount of its own configuration to
// its own backups. The job is returned in every case; the error matches
// ErrFailed when a node failed.
func (c *Controller) Purge(ctx context.Context, req PurgeRequest) (*PurgeJob, error) {
	dc := req.Datacenter
	if dc == nil || len(dc.Nodes) == 0 {
		return nil, fmt.Errorf("purge: no datacenter, or a datacenter without nodes")
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = DefaultPurgeTimeout
	}
	job := &PurgeJob{Cluster: dc.Cluster, Datacenter: dc.Name, Status: StatusInProgress, StartTime: c.now()}
	for _, n := range dc.Nodes {
		job.Nodes = append(job.Nodes, PurgeNode{Node: n.Name, Address: n.Address, Status: StatusPending})
	}
	var mu sync.Mutex
	emit := func() {
		if req.Progress != nil {
			snap := *job
			snap.Nodes = append([]PurgeNode(nil), job.Nodes...)
			req.Progress(snap)
		}
	}
	mu.Lock()
	emit()
	mu.Unlock()
	c.log.Info("purge started", "datacenter", dc.Name, "nodes", len(dc.Nodes))
	var wg sync.WaitGroup
	for i, n := range dc.Nodes {
		purge := func() {
			pn := c.purgeNode(ctx, n, timeout)
			mu.Lock()
			defer mu.Unlock()
			job.Nodes[i] = pn
			emit()
		}
		if req.Sequential {
			purge()
		} else {
			wg.Go(purge)
		}
	}
	wg.Wait()
	job.FinishTime = c.now()
	var failed []string
	for _, pn := range job.Nodes {
		if pn.Status != StatusSuccess {
			failed = append(failed, fmt.Sprintf("node %s (%s): %s", pn.Node, pn.Address, pn.Error))
		}
	}
	job.Status = StatusSuccess
	if len(failed) > 0 {
		job.Status = StatusFailed
	}
	emit()
	c.log.Info("purge ended", "datacenter", dc.Name, "status", job.Status)
	if len(failed) > 0 {
		return job, failure("purge of datacenter %s failed on %d of %d nodes: %s", dc.Name, len(failed), len(job.Nodes), strings.Join(failed, "; "))
	}
	return job, nil
}

// lockRetries bounds how often a purge that found the repository locked is
// tried again.
const lockRetries = 5

// purgeNode runs PurgeBackups on one node. Nodes sharing a repository
// collect its garbage under an exclusive lock: a node that finds it taken
// by another node's purge answers FAILED_PRECONDITION, and is asked again
// once that lock is likely gone.
func (c *Controller) purgeNode(ctx context.Context, n *Node, timeout time.Duration) PurgeNode {
	pn := PurgeNode{Node: n.Name, Address: n.Address, Status: StatusFailed}
	cl, err := c.client(n)
	if err != nil {
		pn.Error = err.Error()
		return pn
	}
	w := waiter{c: c, node: n}
	var lockedBefore bool
	for {
		pn.Attempts++
		resp, err := call(ctx, timeout, func(ctx context.Context) (*medusapb.PurgeBackupsResponse, error) {
			return cl.PurgeBackups(ctx, &medusapb.PurgeBackupsRequest{})
		})
		if err == nil {
			pn.Status, pn.Error = StatusSuccess, ""
			pn.NbBackupsPurged, pn.NbObjectsPurged = resp.GetNbBackupsPurged(), resp.GetNbObjectsPurged()
			pn.TotalPurgedSize, pn.TotalObjectsWithinGcGrace = resp.GetTotalPurgedSize(), resp.GetTotalObjectsWithinGcGrace()
			if lockedBefore {
				pn.Note = "an earlier attempt found the repository locked and returned no counters: what it purged before that is not counted"
			}
			return pn
		}
		if locked(err) && pn.Attempts <= lockRetries && ctx.Err() == nil {
			lockedBefore = true
			c.log.Info("purge found the repository locked; trying again", "node", n.Name, "err", rpcMessage(err))
			// Nodes that collided back off for different times.
			backoff := c.o.PollInterval*time.Duration(pn.Attempts) + rand.N(c.o.PollInterval)
			if sleep(ctx, backoff) == nil {
				continue
			}
		}
		if status.Code(err) == codes.DeadlineExceeded && ctx.Err() == nil {
			pn.Error = fmt.Sprintf("PurgeBackups did not answer within %s (the node may still be purging)", timeout)
			return pn
		}
		if msg, done := w.failed(ctx, "PurgeBackups", err); done {
			pn.Error = msg
			return pn
		}
	}
}

// locked reports whether a purge failed on the repository lock.
func locked(err error) bool {
	return status.Code(err) == codes.FailedPrecondition && strings.Contains(status.Convert(err).Message(), "locked")
}
