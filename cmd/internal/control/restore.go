package control

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"

	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
)

// Status of a node whose restore is prepared.
const StatusPrepared = "PREPARED"

// NoRestoreRPC says why a restore without Run stops at PREPARED: Medusa's
// API has no call that restores.
const NoRestoreRPC = "The Medusa gRPC API has no RPC that runs a restore: " +
	"each node restores in its RESTORE container, with Cassandra stopped. Stop Cassandra on every node, " +
	"run `cassette entrypoint` (or restart the pod whose medusa-restore init container has) with the " +
	"node's environment below, then start Cassandra. With cassette serve sidecars, stop Cassandra on " +
	"every node and run this command again with --run instead: the sidecars restore the nodes."

// RunNote is the Note of a restore with Run: what the nodes did and what
// is left to do.
const RunNote = "Each node restores the backup in place through its sidecar (cassette serve's NodeRestore " +
	"service, beside the Medusa API), with Cassandra stopped; the tables it replaces are deleted once it " +
	"restored. Start Cassandra on every node once all of them restored. Run the same command with the same " +
	"--restore-key again after fixing a node that failed: the nodes that restored are not restored twice."

// RestoreRequest asks to restore a backup to one datacenter, as a
// MedusaRestoreJob does.
type RestoreRequest struct {
	Datacenter *Datacenter
	Backup     string
	// RestoreKey identifies the restore; "" draws a new one (a UUID, as the
	// operator does). The RESTORE container applies a key once.
	RestoreKey string
	// Run, once every node prepared the restore, restores every node in
	// place through its sidecar's NodeRestore service (cassette's extension:
	// StartRestore, then RestoreStatus every PollInterval). Cassandra must
	// be stopped on every node. Without Run the restore stops at PREPARED
	// (NoRestoreRPC).
	Run bool
	// Progress, when set, receives a snapshot after every change, one call
	// at a time, in order.
	Progress func(RestorePlan)
}

// RestorePlan is a prepared restore: the backup, the host map and what each
// node must run.
type RestorePlan struct {
	Backup     string `json:"backup" yaml:"backup"`
	Cluster    string `json:"cluster" yaml:"cluster"`
	Datacenter string `json:"cassandraDatacenter" yaml:"cassandraDatacenter"`
	RestoreKey string `json:"restoreKey" yaml:"restoreKey"`
	// Status without Run is SUCCESS once every node prepared the restore,
	// FAILED when one could not; the data is restored only when the nodes
	// run their RESTORE step (Note). With Run it is SUCCESS only once every
	// node restored the backup, FAILED when a node was not prepared or not
	// restored, UNKNOWN when interrupted before every node ended.
	Status string `json:"status" yaml:"status"`
	// Run says the nodes were asked to restore (RestoreRequest.Run, and
	// every node prepared).
	Run          bool           `json:"run,omitempty" yaml:"run,omitempty"`
	InPlace      bool           `json:"inPlace" yaml:"inPlace"`
	HostMap      HostMap        `json:"hostMap" yaml:"hostMap"`
	Mapping      RestoreMapping `json:"restoreMapping" yaml:"restoreMapping"`
	Nodes        []RestoreNode  `json:"nodes" yaml:"nodes"`
	MedusaBackup *MedusaBackup  `json:"medusaBackup,omitempty" yaml:"medusaBackup,omitempty"`
	Note         string         `json:"note" yaml:"note"`
}

// RestoreNode is one node's part of a restore.
type RestoreNode struct {
	Node    string `json:"node" yaml:"node"`
	Address string `json:"address" yaml:"address"`
	Rack    string `json:"rack" yaml:"rack"`
	// Source is the backup host whose data the node restores.
	Source string `json:"source" yaml:"source"`
	// Status is PENDING, PREPARED or FAILED; with Run then IN_PROGRESS,
	// SUCCESS or FAILED (UNKNOWN when interrupted before the sidecar
	// answered StartRestore).
	Status string `json:"status" yaml:"status"`
	Error  string `json:"error,omitempty" yaml:"error,omitempty"`
	// With Run: the node's restore times as its sidecar reports them
	// ("YYYY-MM-DD HH:MM:SS" UTC), files and bytes restored, and a note
	// (a restore key already applied is not applied again).
	StartTime  string        `json:"startTime,omitempty" yaml:"startTime,omitempty"`
	FinishTime string        `json:"finishTime,omitempty" yaml:"finishTime,omitempty"`
	Progress   *NodeProgress `json:"progress,omitempty" yaml:"progress,omitempty"`
	Note       string        `json:"note,omitempty" yaml:"note,omitempty"`
	// Env is what the node's RESTORE step needs.
	Env RestoreEnv `json:"env" yaml:"env"`
}

// RestoreEnv is the environment of a node's RESTORE container, as the
// operator sets it on medusa-restore.
type RestoreEnv struct {
	MedusaMode     string `json:"MEDUSA_MODE" yaml:"MEDUSA_MODE"`
	BackupName     string `json:"BACKUP_NAME" yaml:"BACKUP_NAME"`
	RestoreKey     string `json:"RESTORE_KEY" yaml:"RESTORE_KEY"`
	RestoreMapping string `json:"RESTORE_MAPPING" yaml:"RESTORE_MAPPING"`
	PodName        string `json:"POD_NAME" yaml:"POD_NAME"`
}

// List returns the environment as NAME=value lines, in a fixed order.
func (e RestoreEnv) List() []string {
	return []string{"MEDUSA_MODE=" + e.MedusaMode, "BACKUP_NAME=" + e.BackupName, "RESTORE_KEY=" + e.RestoreKey,
		"RESTORE_MAPPING=" + e.RestoreMapping, "POD_NAME=" + e.PodName}
}

func (p RestorePlan) clone() RestorePlan {
	p.HostMap = append(HostMap(nil), p.HostMap...)
	p.Nodes = append([]RestoreNode(nil), p.Nodes...)
	for i := range p.Nodes {
		p.Nodes[i].Progress = p.Nodes[i].Progress.clone()
	}
	if p.MedusaBackup != nil {
		b := p.MedusaBackup.clone()
		p.MedusaBackup = &b
	}
	return p
}

// Restore prepares the restore of a backup to every node of the
// datacenter: it reads the backup (GetBackups), checks it as the operator
// does (ValidateRestore), builds the host map (BuildHostMap) and calls
// PrepareRestore on every node at once, which records the mapping in the
// node's data root. Without req.Run it does not restore data (see
// NoRestoreRPC); with it, once every node prepared, every node restores in
// place through its sidecar (see RunNote). The plan is returned whenever
// the backup was found; the error matches ErrNotFound, ErrRefused or
// ErrFailed (or is ctx's).
func (c *Controller) Restore(ctx context.Context, req RestoreRequest) (*RestorePlan, error) {
	dc := req.Datacenter
	if dc == nil || len(dc.Nodes) == 0 {
		return nil, fmt.Errorf("restore: no datacenter, or a datacenter without nodes")
	}
	if !nameRE.MatchString(req.Backup) {
		return nil, fmt.Errorf("backup name %q is invalid: use letters, digits, '.', '_' and '-'", req.Backup)
	}
	key := req.RestoreKey
	if key == "" {
		key = newUUID()
	} else if !nameRE.MatchString(key) {
		return nil, fmt.Errorf("restore key %q is invalid: use letters, digits, '.', '_' and '-'", key)
	}
	sum, err := c.GetBackup(ctx, dc, req.Backup)
	if err != nil {
		return nil, err
	}
	mb := FromSummary(sum, dc.Name)
	plan := &RestorePlan{Backup: req.Backup, Cluster: dc.Cluster, Datacenter: dc.Name, RestoreKey: key, Status: StatusFailed,
		MedusaBackup: &mb, Note: NoRestoreRPC, HostMap: HostMap{}}
	if req.Run {
		plan.Note = RunNote
	}
	if err := ValidateRestore(mb, dc); err != nil {
		return plan, err
	}
	hm, err := BuildHostMap(mb.Nodes, dc.Name, dc.Racks())
	if err != nil {
		return plan, fmt.Errorf("%w: backup %s cannot be restored to datacenter %s: %v", ErrRefused, mb.Name, dc.Name, err)
	}
	plan.HostMap, plan.InPlace, plan.Mapping = hm, hm.InPlace(), hm.Mapping()
	for _, n := range dc.Nodes {
		plan.Nodes = append(plan.Nodes, RestoreNode{Node: n.Name, Address: n.Address, Rack: n.Rack, Source: hm.Source(n.Name), Status: StatusPending,
			Env: RestoreEnv{MedusaMode: "RESTORE", BackupName: req.Backup, RestoreKey: key, RestoreMapping: plan.Mapping.JSON(), PodName: n.Name}})
	}
	c.log.Info("restore prepared", "backup", req.Backup, "datacenter", dc.Name, "restoreKey", key, "inPlace", plan.InPlace)
	r := &restoreRun{c: c, plan: plan, progress: req.Progress}
	r.emit()
	var wg sync.WaitGroup
	for i, n := range dc.Nodes {
		wg.Go(func() {
			msg := c.prepare(ctx, n, req.Backup, dc.Name, key)
			r.update(i, func(rn *RestoreNode) {
				rn.Status, rn.Error = StatusPrepared, msg
				if msg != "" {
					rn.Status = StatusFailed
				}
			})
		})
	}
	wg.Wait()
	var failed []string
	for _, rn := range plan.Nodes {
		if rn.Status != StatusPrepared {
			failed = append(failed, fmt.Sprintf("node %s (%s): %s", rn.Node, rn.Address, rn.Error))
		}
	}
	if len(failed) > 0 {
		return plan, failure("restore %s of backup %s not prepared on %d of %d nodes of datacenter %s: %s",
			key, req.Backup, len(failed), len(plan.Nodes), dc.Name, strings.Join(failed, "; "))
	}
	if !req.Run {
		plan.Status = StatusSuccess
		return plan, nil
	}
	return r.run(ctx, dc)
}

// prepare calls PrepareRestore on node n, retrying while it is unreachable;
// it returns "" or why it failed.
func (c *Controller) prepare(ctx context.Context, n *Node, backup, dc, key string) string {
	cl, err := c.client(n)
	if err != nil {
		return err.Error()
	}
	w := waiter{c: c, node: n}
	for {
		_, err := call(ctx, c.o.CallTimeout, func(ctx context.Context) (*medusapb.PrepareRestoreResponse, error) {
			return cl.PrepareRestore(ctx, &medusapb.PrepareRestoreRequest{BackupName: backup, Datacenter: dc, RestoreKey: key})
		})
		if err == nil {
			return ""
		}
		if msg, done := w.failed(ctx, "PrepareRestore", err); done {
			return msg
		}
	}
}

// newUUID returns a random (version 4) UUID, the operator's restore keys.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
