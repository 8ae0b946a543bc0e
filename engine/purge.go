package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cassette-backup/cassette/providers"
)

// Retention (docs/format.md, "Retention").
//
// Purge decides per node from one listing of backups/, never a manifest:
// the start of a node backup is its started marker's time. Complete backups
// are kept newest first up to MaxCount and while younger than MaxAge (the
// stricter rule wins), but the newest complete backup of a node is always
// kept. Incomplete and failed backups do not count and are removed once
// older than the grace period. Deleting a node backup removes its manifest
// first, so a crash half-way leaves an incomplete backup that the next purge
// removes, never a complete backup with missing parts.

// PurgeOptions are the retention settings.
type PurgeOptions struct {
	MaxAge   time.Duration // 0: off
	MaxCount int           // 0: off
	Grace    time.Duration // incomplete backups and young packs are kept this long
	// Node limits the purge to one node's backups; "" purges every node.
	Node   string
	DryRun bool
	// GC runs garbage collection afterwards (with Grace).
	GC bool
}

// NodeBackupRef names one node backup.
type NodeBackupRef struct {
	Name, Node string
	Started    time.Time
	Complete   bool
	Why        string // why it goes (or stays)
}

// PurgeResult reports a purge the way Medusa's PurgeBackups does.
type PurgeResult struct {
	Deleted        []NodeBackupRef
	BackupsPurged  int   // node backups removed
	ObjectsPurged  int64 // objects deleted (backup objects and GC's)
	BytesFreed     int64
	ObjectsInGrace int64 // objects kept only because they are within the grace period
	GC             *GCResult
	// GCSkipped says why garbage collection did not run (a lock held by
	// another process); the next purge or `cassette gc` collects.
	GCSkipped string
}

// runningBackups returns the (name, node) of every backup that holds a live
// lock.
func (e *Engine) runningBackups(ctx context.Context) (map[[2]string]bool, error) {
	locks, err := e.ListLocks(ctx)
	if err != nil {
		return nil, err
	}
	now, stale := e.now(), e.Locks.staleAfter()
	out := map[[2]string]bool{}
	for _, l := range locks {
		if name, ok := strings.CutPrefix(l.Op, "backup "); ok && l.Kind == LockShared && !l.Stale(now, stale) {
			out[[2]string{name, l.Node}] = true
		}
	}
	return out, nil
}

// statusDeleting marks a summary whose backup is being deleted; it is not a
// MedusaBackup status and is never shown: list re-derives such a backup.
const statusDeleting = "DELETING"

type nodeBackupObjects struct {
	NodeBackupRef
	keys  []providers.Key
	bytes int64
}

// Purge applies retention and, when asked, collects garbage.
func (e *Engine) Purge(ctx context.Context, o PurgeOptions) (*PurgeResult, error) {
	listed := time.Now()
	all, err := e.listNodeBackups(ctx, "")
	if err != nil {
		return nil, err
	}
	// Locks are listed after the backups: a backup takes its lock before
	// it writes its started marker, so the lock of every running backup
	// whose marker was listed is seen here.
	running, err := e.runningBackups(ctx)
	if err != nil {
		return nil, err
	}
	now := e.now()
	byNode := map[string][]*nodeBackupObjects{}
	for _, nb := range all {
		if o.Node == "" || nb.Node == o.Node {
			byNode[nb.Node] = append(byNode[nb.Node], nb)
		}
	}
	res := &PurgeResult{}
	var doomed []*nodeBackupObjects
	for _, list := range byNode {
		sort.Slice(list, func(i, j int) bool { return list[i].Started.After(list[j].Started) })
		complete := 0
		for _, nb := range list {
			age := now.Sub(nb.Started)
			if !nb.Complete {
				// A backup that is running is never removed, whatever the
				// grace period: it would fail at its end, or worse.
				if age > o.Grace && !running[[2]string{nb.Name, nb.Node}] {
					nb.Why = fmt.Sprintf("incomplete and older than the grace period (%s)", o.Grace)
					doomed = append(doomed, nb)
				} else {
					res.ObjectsInGrace += int64(len(nb.keys))
				}
				continue
			}
			complete++
			switch {
			case complete == 1:
				// The newest complete backup of a node always stays.
			case o.MaxCount > 0 && complete > o.MaxCount:
				nb.Why = fmt.Sprintf("beyond maxBackupCount %d", o.MaxCount)
				doomed = append(doomed, nb)
			case o.MaxAge > 0 && age > o.MaxAge:
				nb.Why = fmt.Sprintf("older than maxBackupAge (%s)", o.MaxAge)
				doomed = append(doomed, nb)
			}
		}
	}
	sort.Slice(doomed, func(i, j int) bool { return doomed[i].Started.Before(doomed[j].Started) })
	for _, nb := range doomed {
		res.Deleted = append(res.Deleted, nb.NodeBackupRef)
		res.BackupsPurged++
		res.ObjectsPurged += int64(len(nb.keys))
		res.BytesFreed += nb.bytes
	}
	if !o.DryRun {
		if err := e.deleteNodeBackups(ctx, doomed); err != nil {
			return res, err
		}
		live := map[string]bool{}
		gone := map[*nodeBackupObjects]bool{}
		for _, nb := range doomed {
			gone[nb] = true
		}
		for _, nb := range all {
			if !gone[nb] {
				live[nb.Name] = true
			}
		}
		orphans, err := e.orphanSummaries(ctx, live, listed, now, o.Grace)
		if err == nil {
			err = deleteBatches(ctx, e.Repo.Storage(), orphans)
		}
		if err != nil {
			return res, fmt.Errorf("remove summaries of deleted backups: %w", err)
		}
		res.ObjectsPurged += int64(len(orphans))
	}
	if o.GC {
		gc, err := e.GC(ctx, GCOptions{Grace: o.Grace, DryRun: o.DryRun})
		if errors.Is(err, ErrLocked) {
			// Another node's purge is collecting, or backups run: the
			// backups are purged, and whichever collection runs next frees
			// their data. Not a failure of this purge.
			res.GCSkipped = err.Error()
			return res, nil
		}
		if err != nil {
			return res, fmt.Errorf("backups purged, but garbage collection failed (the next purge or `cassette gc` finishes it): %w", err)
		}
		res.GC = gc
		res.ObjectsPurged += gc.ObjectsDeleted
		res.BytesFreed += gc.BytesFreed
		res.ObjectsInGrace += int64(gc.PacksKeptGrace)
	}
	return res, nil
}

// Delete removes the node backups of backup name: of one node, or of every
// node when node is "".
func (e *Engine) Delete(ctx context.Context, name, node string) ([]NodeBackupRef, error) {
	if err := ValidateName("backup", name); err != nil {
		return nil, err
	}
	list, err := e.listNodeBackups(ctx, name)
	if err != nil {
		return nil, err
	}
	var doomed []*nodeBackupObjects
	var nodes []string
	for _, nb := range list {
		nodes = append(nodes, nb.Node)
		if node == "" || nb.Node == node {
			doomed = append(doomed, nb)
		}
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%w: no backup named %q: run `cassette list` to see what exists", ErrBackupNotFound, name)
	}
	if len(doomed) == 0 {
		return nil, fmt.Errorf("%w: backup %q has no node %q (it has %s)", ErrBackupNotFound, name, node, strings.Join(nodes, ", "))
	}
	if err := e.deleteNodeBackups(ctx, doomed); err != nil {
		return nil, err
	}
	out := make([]NodeBackupRef, len(doomed))
	for i, nb := range doomed {
		out[i] = nb.NodeBackupRef
	}
	return out, nil
}

// listNodeBackups lists the node backups (of backup name, or all) from one
// listing of their objects.
func (e *Engine) listNodeBackups(ctx context.Context, name string) ([]*nodeBackupObjects, error) {
	prefix := backupsPrefix
	if name != "" {
		prefix += name + "/"
	}
	found := map[[2]string]*nodeBackupObjects{}
	err := e.Repo.Storage().List(ctx, prefix, func(oi providers.ObjectInfo) error {
		parts := strings.Split(strings.TrimPrefix(string(oi.Key), backupsPrefix), "/")
		if len(parts) != 3 {
			return nil
		}
		k := [2]string{parts[0], parts[1]}
		nb := found[k]
		if nb == nil {
			nb = &nodeBackupObjects{NodeBackupRef: NodeBackupRef{Name: parts[0], Node: parts[1]}}
			found[k] = nb
		}
		nb.keys = append(nb.keys, oi.Key)
		nb.bytes += oi.Size
		switch parts[2] {
		case "manifest":
			nb.Complete = true
			if nb.Started.IsZero() {
				nb.Started = oi.ModTime
			}
		case "started":
			nb.Started = oi.ModTime
		default:
			if nb.Started.IsZero() {
				nb.Started = oi.ModTime
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	out := make([]*nodeBackupObjects, 0, len(found))
	for _, nb := range found {
		out = append(out, nb)
	}
	return out, nil
}

// deleteNodeBackups removes node backups: every manifest first, then the
// other objects in batches, then the summaries of the backups touched are
// rewritten (or removed with their last node).
func (e *Engine) deleteNodeBackups(ctx context.Context, list []*nodeBackupObjects) error {
	st := e.Repo.Storage()
	var manifests, rest []providers.Key
	names := map[string]bool{}
	for _, nb := range list {
		names[nb.Name] = true
		for _, k := range nb.keys {
			if strings.HasSuffix(string(k), "/manifest") {
				manifests = append(manifests, k)
			} else {
				rest = append(rest, k)
			}
		}
	}
	// First make the summaries provisional, so `list` re-derives these
	// backups from their objects if the deletion stops half-way instead of
	// trusting a SUCCESS that is no longer true.
	err := forEachName(ctx, st, names, func(ctx context.Context, name string) error {
		b, _ := json.Marshal(ClusterBackup{Name: name, Status: statusDeleting})
		if err := st.Put(ctx, SummaryKey(name), providers.Bytes(b), providers.PutOptions{}); err != nil {
			return fmt.Errorf("update summary of %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := deleteBatches(ctx, st, manifests); err != nil {
		return fmt.Errorf("delete manifests: %w", err)
	}
	if err := deleteBatches(ctx, st, rest); err != nil {
		return fmt.Errorf("delete backup markers: %w", err)
	}
	// Rewrite the summaries of backups that keep other nodes. A backup with
	// no node left keeps its provisional summary, which list ignores: it
	// is not deleted here, because a backup of that name may be starting
	// right now and have just written its own; Purge removes summaries
	// without objects once they are older than the grace period.
	return forEachName(ctx, st, names, func(ctx context.Context, name string) error {
		if err := e.settleSummary(ctx, name); err != nil {
			return fmt.Errorf("update summary of %s: %w", name, err)
		}
		return nil
	})
}

// settleSummary rewrites the summary of a backup some of whose node backups
// were just deleted, until a fresh derivation matches what it wrote. Nodes
// purging the same backup at once each delete their part: a summary derived
// while another node's objects were still there must not stay SUCCESS once
// they are gone. Whoever deletes last derives last, and each writer checks
// after its write, so the last write is a true one (or provisional, which
// list re-derives).
func (e *Engine) settleSummary(ctx context.Context, name string) error {
	var last []byte
	for range 5 {
		var b []byte
		cb, err := e.ClusterStatus(ctx, name)
		switch {
		case errors.Is(err, ErrBackupNotFound):
			b, _ = json.Marshal(ClusterBackup{Name: name, Status: statusDeleting})
		case err != nil:
			return err
		default:
			b, _ = json.Marshal(cb)
		}
		if bytes.Equal(b, last) {
			return nil
		}
		if err := e.Repo.Storage().Put(ctx, SummaryKey(name), providers.Bytes(b), providers.PutOptions{}); err != nil {
			return err
		}
		last = b
	}
	return nil
}

// forEachName runs fn for every name, up to the storage's concurrency at
// once (a purge of a year of backups touches thousands of names).
func forEachName(ctx context.Context, st providers.Storage, names map[string]bool, fn func(context.Context, string) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(4, st.Properties().Concurrency))
	for name := range names {
		g.Go(func() error { return fn(gctx, name) })
	}
	return g.Wait()
}

// orphanSummaries returns the keys of summaries whose backup has no object
// left and that are older than grace. A summary is only ever written after
// its backup's started marker, so one written before the listing of
// backups/ began (with a minute's margin for clock skew) whose backup had no
// object in that listing belongs to a deleted backup, never to one that is
// starting.
func (e *Engine) orphanSummaries(ctx context.Context, live map[string]bool, listed, now time.Time, grace time.Duration) ([]providers.Key, error) {
	var out []providers.Key
	err := e.Repo.Storage().List(ctx, summariesPrefix, func(oi providers.ObjectInfo) error {
		name := strings.TrimPrefix(string(oi.Key), summariesPrefix)
		if !live[name] && now.Sub(oi.ModTime) > grace && oi.ModTime.Before(listed.Add(-time.Minute)) {
			out = append(out, oi.Key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list backup summaries: %w", err)
	}
	return out, nil
}
