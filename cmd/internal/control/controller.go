package control

import (
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
	"github.com/cassette-backup/cassette/cmd/internal/restorepb"
)

// Defaults of Options.
const (
	// DefaultPollInterval is how often BackupStatus is asked (the operator
	// asks every 15 s).
	DefaultPollInterval = 5 * time.Second
	// DefaultCallTimeout bounds one short RPC (everything but purge).
	DefaultCallTimeout = 30 * time.Second
	// DefaultUnreachableAfter is how long a node may stay unreachable
	// before its part of an operation is FAILED.
	DefaultUnreachableAfter = 2 * time.Minute
	// keepFinished is how many finished backups Activity keeps.
	keepFinished = 32
)

// Options configure a Controller.
type Options struct {
	// Log receives what the controller does; nil discards.
	Log *slog.Logger
	// Connect returns the Medusa client of a node; nil dials its sidecar
	// with gRPC (one connection per sidecar, kept until Close).
	Connect func(n *Node) (medusapb.MedusaClient, error)
	// ConnectRestore returns the NodeRestore client of a node (cassette's
	// extension, for RestoreRequest.Run); nil dials its sidecar, sharing
	// the Medusa client's connection.
	ConnectRestore func(n *Node) (restorepb.NodeRestoreClient, error)
	// PollInterval, CallTimeout and UnreachableAfter: the Default values
	// when 0.
	PollInterval     time.Duration
	CallTimeout      time.Duration
	UnreachableAfter time.Duration
	// Now is the time recorded in reports; time.Now when nil.
	Now func() time.Time
}

// Controller runs operations on the datacenters of an inventory. It is safe
// for concurrent use: a console may run backups of several datacenters at
// once and read their Activity meanwhile.
type Controller struct {
	inv  *Inventory
	o    Options
	log  *slog.Logger
	pool pool

	mu       sync.Mutex
	running  map[*backupRun]struct{}
	finished []*BackupJob // newest last
}

// New returns a Controller over inv.
func New(inv *Inventory, o Options) *Controller {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.UnreachableAfter <= 0 {
		o.UnreachableAfter = DefaultUnreachableAfter
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Controller{inv: inv, o: o, log: o.Log, running: map[*backupRun]struct{}{}}
}

// Inventory returns the controller's inventory.
func (c *Controller) Inventory() *Inventory { return c.inv }

// Close closes the connections to the sidecars.
func (c *Controller) Close() error { return c.pool.close() }

func (c *Controller) client(n *Node) (medusapb.MedusaClient, error) {
	if c.o.Connect != nil {
		return c.o.Connect(n)
	}
	return c.pool.client(n)
}

func (c *Controller) restoreClient(n *Node) (restorepb.NodeRestoreClient, error) {
	if c.o.ConnectRestore != nil {
		return c.o.ConnectRestore(n)
	}
	return c.pool.restoreClient(n)
}

// now is the report time in UTC, without a monotonic reading.
func (c *Controller) now() time.Time { return c.o.Now().UTC().Round(0) }

// Activity returns snapshots of the backups running now and of the last
// ones that finished, running first, then newest first.
func (c *Controller) Activity() []BackupJob {
	c.mu.Lock()
	runs := make([]*backupRun, 0, len(c.running))
	for r := range c.running {
		runs = append(runs, r)
	}
	finished := append([]*BackupJob(nil), c.finished...)
	c.mu.Unlock()
	out := make([]BackupJob, 0, len(runs)+len(finished))
	for _, r := range runs {
		out = append(out, r.snapshot())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartTime.Before(out[j].StartTime) })
	for i := len(finished) - 1; i >= 0; i-- {
		out = append(out, finished[i].clone())
	}
	return out
}

func (c *Controller) track(r *backupRun) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.running[r] = struct{}{}
}

func (c *Controller) untrack(r *backupRun, job *BackupJob) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.running, r)
	c.finished = append(c.finished, job)
	if len(c.finished) > keepFinished {
		c.finished = c.finished[len(c.finished)-keepFinished:]
	}
}
