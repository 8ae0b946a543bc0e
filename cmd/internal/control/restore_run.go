package control

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cassette-backup/cassette/cmd/internal/fileerr"
	"github.com/cassette-backup/cassette/cmd/internal/restorepb"
)

// restoreRun is a Restore in progress: its plan, changed node by node, and
// the progress callback that sees every change in order.
type restoreRun struct {
	c        *Controller
	progress func(RestorePlan)
	mu       sync.Mutex // guards plan and orders progress calls
	plan     *RestorePlan
}

func (r *restoreRun) emit() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emitLocked()
}

func (r *restoreRun) emitLocked() {
	if r.progress != nil {
		r.progress(r.plan.clone())
	}
}

// update changes node i's record and emits a snapshot when it changed.
func (r *restoreRun) update(i int, fn func(*RestoreNode)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	before := r.plan.Nodes[i]
	fn(&r.plan.Nodes[i])
	if !sameRestoreNode(before, r.plan.Nodes[i]) {
		r.emitLocked()
	}
}

func sameRestoreNode(a, b RestoreNode) bool {
	pa, pb := a.Progress, b.Progress
	a.Progress, b.Progress = nil, nil
	return a == b && (pa == nil) == (pb == nil) && (pa == nil || *pa == *pb)
}

// run restores every node at once through its sidecar's NodeRestore
// service and waits for all of them; the plan is SUCCESS only when every
// node restored.
func (r *restoreRun) run(ctx context.Context, dc *Datacenter) (*RestorePlan, error) {
	plan := r.plan
	r.mu.Lock()
	plan.Run, plan.Note = true, RunNote
	r.mu.Unlock()
	r.c.log.Info("restore started on the nodes", "backup", plan.Backup, "datacenter", dc.Name, "restoreKey", plan.RestoreKey)
	var wg sync.WaitGroup
	for i, n := range dc.Nodes {
		source := plan.Nodes[i].Source
		wg.Go(func() { r.runNode(ctx, i, n, source) })
	}
	wg.Wait()

	var reasons []string
	restored := 0
	for _, rn := range plan.Nodes {
		if rn.Status == StatusSuccess {
			restored++
			continue
		}
		reasons = append(reasons, fmt.Sprintf("node %s (%s) %s: %s", rn.Node, rn.Address, rn.Status, firstSet(rn.Error, "did not finish")))
	}
	switch {
	case restored == len(plan.Nodes):
		plan.Status = StatusSuccess
	case ctx.Err() != nil:
		plan.Status = StatusUnknown
	default:
		plan.Status = StatusFailed
	}
	r.emit()
	r.c.log.Info("restore ended", "backup", plan.Backup, "datacenter", dc.Name, "restoreKey", plan.RestoreKey, "status", plan.Status,
		"restored", restored, "nodes", len(plan.Nodes))
	if plan.Status == StatusSuccess {
		return plan, nil
	}
	msg := fmt.Sprintf("restore %s of backup %s to datacenter %s is %s (%d of %d nodes restored): %s", plan.RestoreKey, plan.Backup, dc.Name,
		plan.Status, restored, len(plan.Nodes), strings.Join(reasons, "; "))
	if ctx.Err() != nil {
		return plan, fmt.Errorf("%s: %w", msg, ctx.Err())
	}
	return plan, failure("%s", msg)
}

// runNode drives one node: StartRestore (retried while the node is
// unreachable), then RestoreStatus every PollInterval until it ends.
func (r *restoreRun) runNode(ctx context.Context, i int, n *Node, source string) {
	key, backup := r.plan.RestoreKey, r.plan.Backup
	log := r.c.log.With("restoreKey", key, "backup", backup, "node", n.Name, "source", source)
	fail := func(msg string) {
		log.Info("node restore failed", "err", msg)
		r.update(i, func(rn *RestoreNode) { rn.Status, rn.Error = StatusFailed, msg })
	}
	cl, err := r.c.restoreClient(n)
	if err != nil {
		fail(err.Error())
		return
	}
	w := waiter{c: r.c, node: n}
	var started *restorepb.StartRestoreResponse
	for {
		started, err = call(ctx, r.c.o.CallTimeout, func(ctx context.Context) (*restorepb.StartRestoreResponse, error) {
			return cl.StartRestore(ctx, &restorepb.StartRestoreRequest{RestoreKey: key, BackupName: backup, SourceNode: source})
		})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			r.update(i, func(rn *RestoreNode) {
				rn.Status, rn.Error = StatusUnknown, "interrupted before the sidecar answered StartRestore; it may have started the restore"
			})
			return
		}
		if msg, refused := startRefused(n, key, err); refused {
			fail(msg)
			return
		}
		if msg, done := w.failed(ctx, "StartRestore", err); done {
			fail(msg)
			return
		}
	}
	job := started.GetRestore()
	r.update(i, func(rn *RestoreNode) {
		applyRestoreJob(rn, job, r.c.now())
		if !started.GetStarted() && job.GetStatus() == restorepb.RestoreState_SUCCESS {
			rn.Note = fmt.Sprintf("restore key %s was already applied on this node: not restored again", key)
		}
	})
	w = waiter{c: r.c, node: n}
	for !restoreEnded(job) {
		if sleep(ctx, r.c.o.PollInterval) != nil {
			r.update(i, func(rn *RestoreNode) {
				rn.Error = "the control plane stopped watching; the node may still be restoring"
			})
			return
		}
		st, err := call(ctx, r.c.o.CallTimeout, func(ctx context.Context) (*restorepb.RestoreStatusResponse, error) {
			return cl.RestoreStatus(ctx, &restorepb.RestoreStatusRequest{RestoreKey: key})
		})
		switch {
		case err != nil && ctx.Err() != nil:
			continue // the sleep above ends the loop
		case status.Code(err) == codes.NotFound:
			fail(fmt.Sprintf("the sidecar does not know restore %s (RestoreStatus: %s): it restarted before the restore ended (an interrupted in-place restore is rolled back); run the same command again",
				key, rpcMessage(err)))
			return
		case err != nil:
			if msg, done := w.failedNoWait(ctx, "RestoreStatus", err); done {
				fail(msg)
				return
			}
			continue
		}
		w.answered()
		job = st.GetRestore()
		r.update(i, func(rn *RestoreNode) { applyRestoreJob(rn, job, r.c.now()) })
	}
	log.Info("node restore ended", "status", job.GetStatus().String())
}

// startRefused turns the refusals that need a person into their message:
// Cassandra running on the node, a sidecar without NodeRestore.
func startRefused(n *Node, key string, err error) (string, bool) {
	if status.Code(err) == codes.Unimplemented {
		return fmt.Sprintf("the sidecar at %s has no NodeRestore service (a Medusa sidecar, or a cassette older than it): restore node %s with its RESTORE step (run without --run)",
			n.Address, n.Name), true
	}
	if restorepb.RefusalOf(err).GetReason() == restorepb.RestoreRefusal_CASSANDRA_RUNNING {
		return fmt.Sprintf("Cassandra is running on node %s: stop Cassandra on that node first, then run the same command again with --restore-key %s", n.Name, key), true
	}
	return "", false
}

func restoreEnded(j *restorepb.RestoreJob) bool {
	s := j.GetStatus()
	return s == restorepb.RestoreState_SUCCESS || s == restorepb.RestoreState_FAILED
}

// applyRestoreJob copies what the sidecar reports of a node's restore.
func applyRestoreJob(rn *RestoreNode, j *restorepb.RestoreJob, now time.Time) {
	rn.StartTime, rn.FinishTime = j.GetStartTime(), j.GetFinishTime()
	rn.Progress = &NodeProgress{FilesDone: j.GetFilesDone(), FilesTotal: j.GetFilesTotal(), BytesDone: j.GetBytesDone(), BytesTotal: j.GetBytesTotal(),
		BytesPerSecond: bytesPerSecond(j.GetBytesDone(), rn.StartTime, rn.FinishTime, now)}
	switch j.GetStatus() {
	case restorepb.RestoreState_SUCCESS:
		rn.Status, rn.Error = StatusSuccess, ""
	case restorepb.RestoreState_FAILED:
		rn.Status, rn.Error = StatusFailed, "the node's restore FAILED (its sidecar's log says why)"
		if e := j.GetError(); e != "" {
			rn.Error = "the node's restore FAILED: " + fileerr.OneLine(e)
		}
	default:
		// IN_PROGRESS, or a state a newer sidecar knows: polled again.
		rn.Status = StatusInProgress
	}
}
