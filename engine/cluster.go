package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cassette-backup/cassette/providers"
)

// NodeInfo is a node's identity and place in the ring, recorded with its
// backup.
type NodeInfo struct {
	Host       string  `json:"host" yaml:"host"`
	Datacenter string  `json:"datacenter" yaml:"datacenter"`
	Rack       string  `json:"rack" yaml:"rack"`
	Tokens     []int64 `json:"tokens,omitempty" yaml:"tokens,omitempty"`
	// Version is the Cassandra/DSE release the node ran, when known.
	Version string `json:"version,omitempty" yaml:"version,omitempty"`
	// HostID is Cassandra's host ID, when nodetool gave it. It ties the
	// expected nodes a node read from its own view of the ring (nodetool
	// status: addresses and host IDs) to the names nodes back up under.
	HostID string `json:"hostId,omitempty" yaml:"hostId,omitempty"`
}

// Marker is the content of backups/<name>/<node>/started: written first,
// so a cluster backup shows its node in progress at once, with the topology
// the node expected (so nodes that never start still count).
type Marker struct {
	Backup   string     `json:"backup"`
	Node     string     `json:"node"`
	Type     string     `json:"type"`
	Started  time.Time  `json:"started"`
	Identity NodeInfo   `json:"identity"`
	Expected []NodeInfo `json:"expected,omitempty"`
}

// failedMarker is backups/<name>/<node>/failed, written (best effort) when a
// node backup fails.
type failedMarker struct {
	Failed time.Time `json:"failed"`
	Error  string    `json:"error"`
}

// FailedKey marks a node backup that failed.
func FailedKey(name, node string) providers.Key {
	return providers.Key(backupsPrefix + name + "/" + node + "/failed")
}

// SummaryKey is the per-backup summary that keeps `list` fast.
func SummaryKey(name string) providers.Key { return providers.Key(summariesPrefix + name) }

const summariesPrefix = "summaries/"

// Status values, as MedusaBackup and the gRPC StatusType name them.
const (
	StatusInProgress = "IN_PROGRESS"
	StatusSuccess    = "SUCCESS"
	StatusFailed     = "FAILED"
)

// ClusterBackup is the MedusaBackup status shape of one backup name.
type ClusterBackup struct {
	Name          string     `json:"name" yaml:"name"`
	StartTime     time.Time  `json:"startTime" yaml:"startTime"`
	FinishTime    *time.Time `json:"finishTime,omitempty" yaml:"finishTime,omitempty"`
	TotalNodes    int        `json:"totalNodes" yaml:"totalNodes"`
	FinishedNodes int        `json:"finishedNodes" yaml:"finishedNodes"`
	Nodes         []NodeInfo `json:"nodes" yaml:"nodes"`
	TotalFiles    int64      `json:"totalFiles" yaml:"totalFiles"`
	TotalSize     int64      `json:"totalSize" yaml:"totalSize"`
	Status        string     `json:"status" yaml:"status"`
	BackupType    string     `json:"backupType" yaml:"backupType"`
	// Missing lists expected nodes without a complete backup; Failed those
	// whose backup failed (with the reason).
	Missing []string          `json:"missing,omitempty" yaml:"missing,omitempty"`
	Failed  map[string]string `json:"failed,omitempty" yaml:"failed,omitempty"`
}

// nodeState is what the objects of one node backup say.
type nodeState struct {
	node     string
	started  bool
	complete bool
	failed   bool
}

// ClusterStatus derives the status of backup name from its objects: every
// node's marker, manifest header and failure marker.
func (e *Engine) ClusterStatus(ctx context.Context, name string) (*ClusterBackup, error) {
	if err := ValidateName("backup", name); err != nil {
		return nil, err
	}
	st := e.Repo.Storage()
	states := map[string]*nodeState{}
	prefix := backupsPrefix + name + "/"
	err := st.List(ctx, prefix, func(oi providers.ObjectInfo) error {
		node, obj, ok := strings.Cut(strings.TrimPrefix(string(oi.Key), prefix), "/")
		if !ok || strings.Contains(obj, "/") {
			return nil
		}
		s := states[node]
		if s == nil {
			s = &nodeState{node: node}
			states[node] = s
		}
		switch obj {
		case "started":
			s.started = true
		case "manifest":
			s.complete = true
		case "failed":
			s.failed = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list backup %s: %w", name, err)
	}
	if len(states) == 0 {
		return nil, fmt.Errorf("%w: no backup named %q: run `cassette list` to see what exists", ErrBackupNotFound, name)
	}
	return e.assemble(ctx, name, states)
}

// assemble reads the markers and manifest headers of every node in
// parallel and builds the cluster view.
func (e *Engine) assemble(ctx context.Context, name string, states map[string]*nodeState) (*ClusterBackup, error) {
	cb := &ClusterBackup{Name: name, Failed: map[string]string{}}
	var mu sync.Mutex
	expected := map[string]NodeInfo{}
	seen := map[string]NodeInfo{}
	var finish time.Time
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(4, e.Repo.Storage().Properties().Concurrency))
	for _, s := range states {
		g.Go(func() error {
			m, err := e.readMarker(gctx, name, s.node)
			if err != nil {
				return err
			}
			var h *Header
			if s.complete {
				if h, err = e.ReadManifest(gctx, name, s.node, nil); err != nil {
					return err
				}
			}
			var why string
			if s.failed && !s.complete {
				why = e.readFailed(gctx, name, s.node)
			}
			mu.Lock()
			defer mu.Unlock()
			id := NodeInfo{Host: s.node}
			if m != nil {
				id = m.Identity
				id.Host = s.node
				if cb.StartTime.IsZero() || m.Started.Before(cb.StartTime) {
					cb.StartTime = m.Started
				}
				if cb.BackupType == "" || m.Type == TypeFull {
					cb.BackupType = m.Type
				}
				for _, x := range m.Expected {
					if _, ok := expected[x.Host]; !ok {
						expected[x.Host] = x
					}
				}
			}
			seen[s.node] = id
			if h != nil {
				cb.FinishedNodes++
				cb.TotalFiles += h.Summary.Files
				cb.TotalSize += h.Summary.Bytes
				if h.Finished.After(finish) {
					finish = h.Finished
				}
				if cb.StartTime.IsZero() || h.Started.Before(cb.StartTime) {
					cb.StartTime = h.Started
				}
				if cb.BackupType == "" {
					cb.BackupType = h.Type
				}
			} else if why != "" {
				cb.Failed[s.node] = why
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	byHostID := map[string]bool{}
	for _, id := range seen {
		if id.HostID != "" {
			byHostID[id.HostID] = true
		}
	}
	for host, x := range expected {
		if x.HostID != "" && byHostID[x.HostID] {
			continue // the same node, known by its name
		}
		if _, ok := seen[host]; !ok {
			seen[host] = x
		}
	}
	for host, id := range seen {
		cb.Nodes = append(cb.Nodes, id)
		if st := states[host]; st == nil || !st.complete {
			cb.Missing = append(cb.Missing, host)
		}
	}
	sort.Slice(cb.Nodes, func(i, j int) bool { return cb.Nodes[i].Host < cb.Nodes[j].Host })
	sort.Strings(cb.Missing)
	cb.TotalNodes = len(cb.Nodes)
	switch {
	case len(cb.Missing) == 0:
		cb.Status = StatusSuccess
		cb.FinishTime = &finish
	case len(cb.Failed) > 0:
		cb.Status = StatusFailed
	default:
		cb.Status = StatusInProgress
	}
	if len(cb.Failed) == 0 {
		cb.Failed = nil
	}
	return cb, nil
}

func (e *Engine) readMarker(ctx context.Context, name, node string) (*Marker, error) {
	var m Marker
	err := e.Repo.Storage().Get(ctx, StartedKey(name, node), 0, -1, func(r io.Reader) error {
		m = Marker{}
		return json.NewDecoder(io.LimitReader(r, 4<<20)).Decode(&m)
	})
	if errors.Is(err, providers.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		e.log().Warn("unreadable backup marker; ignoring it", "key", StartedKey(name, node), "err", err)
		return nil, nil
	}
	return &m, nil
}

func (e *Engine) readFailed(ctx context.Context, name, node string) string {
	var f failedMarker
	err := e.Repo.Storage().Get(ctx, FailedKey(name, node), 0, -1, func(r io.Reader) error {
		return json.NewDecoder(io.LimitReader(r, 1<<16)).Decode(&f)
	})
	if err != nil || f.Error == "" {
		return "failed"
	}
	return f.Error
}

// writeSummary refreshes summaries/<name> from the backup's node objects.
// A stale summary is harmless: list re-derives every summary that is not
// SUCCESS, and SUCCESS only becomes stale if a node backup is deleted, which
// rewrites it.
func (e *Engine) writeSummary(ctx context.Context, name string) error {
	cb, err := e.ClusterStatus(ctx, name)
	if err != nil {
		return fmt.Errorf("backup summary %s: %w", name, err)
	}
	b, err := json.Marshal(cb)
	if err != nil {
		return err
	}
	if err := e.Repo.Storage().Put(ctx, SummaryKey(name), providers.Bytes(b), providers.PutOptions{}); err != nil {
		return fmt.Errorf("write %s: %w", SummaryKey(name), err)
	}
	return nil
}

// ListClusterBackups returns every backup, oldest first, with its status.
// Every node writes its backup's summary when it starts (the backup fails if
// it cannot) and again when it ends, so listing summaries/ finds every
// backup; only summaries that are not final are re-derived from their node
// objects. A year of finished backups costs a list page per thousand and one
// small read each — never a manifest.
func (e *Engine) ListClusterBackups(ctx context.Context) ([]ClusterBackup, error) {
	st := e.Repo.Storage()
	names := map[string]bool{}
	err := st.List(ctx, summariesPrefix, func(oi providers.ObjectInfo) error {
		names[strings.TrimPrefix(string(oi.Key), summariesPrefix)] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list backup summaries: %w", err)
	}
	out := make([]ClusterBackup, 0, len(names))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(8, st.Properties().Concurrency))
	for name, summarised := range names {
		g.Go(func() error {
			var cb *ClusterBackup
			if summarised {
				cb = e.readSummary(gctx, name)
			}
			if cb == nil || cb.Status != StatusSuccess {
				var err error
				if cb, err = e.ClusterStatus(gctx, name); err != nil {
					if errors.Is(err, ErrBackupNotFound) {
						return nil // summary of a deleted backup
					}
					return err
				}
			}
			mu.Lock()
			out = append(out, *cb)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartTime.Equal(out[j].StartTime) {
			return out[i].StartTime.Before(out[j].StartTime)
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func (e *Engine) readSummary(ctx context.Context, name string) *ClusterBackup {
	var cb ClusterBackup
	err := e.Repo.Storage().Get(ctx, SummaryKey(name), 0, -1, func(r io.Reader) error {
		cb = ClusterBackup{}
		return json.NewDecoder(io.LimitReader(r, 64<<20)).Decode(&cb)
	})
	if err != nil || cb.Name != name {
		return nil
	}
	return &cb
}
