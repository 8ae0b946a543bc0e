package control

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cassette-backup/cassette/cmd/internal/fileerr"
	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
)

// Statuses, as MedusaBackup and the gRPC StatusType spell them; PENDING is
// a node not yet asked.
const (
	StatusPending    = "PENDING"
	StatusInProgress = "IN_PROGRESS"
	StatusSuccess    = "SUCCESS"
	StatusFailed     = "FAILED"
	StatusUnknown    = "UNKNOWN"
)

// Backup types, as BackupSummary.backupType spells them.
const (
	TypeFull         = "full"
	TypeDifferential = "differential"
)

// MedusaBackup is a backup as k8ssandra-operator records it in its
// MedusaBackup object (status and spec fields), from the sidecars'
// GetBackups summary.
type MedusaBackup struct {
	Name string `json:"name" yaml:"name"`
	// Datacenter is spec.cassandraDatacenter.
	Datacenter    string       `json:"cassandraDatacenter" yaml:"cassandraDatacenter"`
	BackupType    string       `json:"backupType" yaml:"backupType"`
	StartTime     time.Time    `json:"startTime,omitzero" yaml:"startTime,omitempty"`
	FinishTime    time.Time    `json:"finishTime,omitzero" yaml:"finishTime,omitempty"`
	TotalNodes    int          `json:"totalNodes" yaml:"totalNodes"`
	FinishedNodes int          `json:"finishedNodes" yaml:"finishedNodes"`
	Nodes         []BackupNode `json:"nodes" yaml:"nodes"`
	Status        string       `json:"status" yaml:"status"`
	TotalFiles    int64        `json:"totalFiles" yaml:"totalFiles"`
	TotalSize     int64        `json:"totalSize" yaml:"totalSize"`
}

// BackupNode is one node of a MedusaBackup.
type BackupNode struct {
	Host       string  `json:"host" yaml:"host"`
	Datacenter string  `json:"datacenter" yaml:"datacenter"`
	Rack       string  `json:"rack" yaml:"rack"`
	Tokens     []int64 `json:"tokens,omitempty" yaml:"tokens,omitempty"`
}

// FromSummary converts a GetBackups summary as the operator copies it:
// totalFiles is totalObjects, times are unix seconds (0: unknown).
func FromSummary(s *medusapb.BackupSummary, datacenter string) MedusaBackup {
	mb := MedusaBackup{
		Name: s.GetBackupName(), Datacenter: datacenter, BackupType: s.GetBackupType(),
		TotalNodes: int(s.GetTotalNodes()), FinishedNodes: int(s.GetFinishedNodes()),
		Status: s.GetStatus().String(), TotalFiles: s.GetTotalObjects(), TotalSize: s.GetTotalSize(),
		Nodes: make([]BackupNode, 0, len(s.GetNodes())),
	}
	if t := s.GetStartTime(); t > 0 {
		mb.StartTime = time.Unix(t, 0).UTC()
	}
	if t := s.GetFinishTime(); t > 0 {
		mb.FinishTime = time.Unix(t, 0).UTC()
	}
	for _, n := range s.GetNodes() {
		mb.Nodes = append(mb.Nodes, BackupNode{Host: n.GetHost(), Datacenter: n.GetDatacenter(), Rack: n.GetRack(),
			Tokens: append([]int64(nil), n.GetTokens()...)})
	}
	return mb
}

func (mb MedusaBackup) clone() MedusaBackup {
	mb.Nodes = append([]BackupNode(nil), mb.Nodes...)
	for i := range mb.Nodes {
		mb.Nodes[i].Tokens = append([]int64(nil), mb.Nodes[i].Tokens...)
	}
	return mb
}

// sortNodes orders the nodes by host, as GetBackups does.
func (mb *MedusaBackup) sortNodes() {
	sort.Slice(mb.Nodes, func(i, j int) bool { return mb.Nodes[i].Host < mb.Nodes[j].Host })
}

// GetBackup returns the summary of backup name as the datacenter's
// sidecars list it (GetBackups, as the operator reads it), asking the nodes
// in turn until one answers; prefer lists nodes to ask first.
func (c *Controller) GetBackup(ctx context.Context, dc *Datacenter, name string, prefer ...string) (*medusapb.BackupSummary, error) {
	order := make([]*Node, 0, len(dc.Nodes))
	for _, p := range prefer {
		if n := dc.Node(p); n != nil {
			order = append(order, n)
		}
	}
	for _, n := range dc.Nodes {
		order = appendNew(order, n)
	}
	var errs []error
	for _, n := range order {
		cl, err := c.client(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		resp, err := call(ctx, c.o.CallTimeout, func(ctx context.Context) (*medusapb.GetBackupsResponse, error) {
			return cl.GetBackups(ctx, &medusapb.GetBackupsRequest{})
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("node %s: GetBackups: %s", n.Name, rpcMessage(err)))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		for _, b := range resp.GetBackups() {
			if b.GetBackupName() == name {
				return b, nil
			}
		}
		return nil, fmt.Errorf("%w: the sidecars of datacenter %s list no backup %q (node %s answered, listing %d backups)",
			ErrNotFound, dc.Name, name, n.Name, len(resp.GetBackups()))
	}
	return nil, fmt.Errorf("no sidecar of datacenter %s answered GetBackups: %s", dc.Name, joinErrors(errs))
}

func appendNew(list []*Node, n *Node) []*Node {
	for _, o := range list {
		if o == n {
			return list
		}
	}
	return append(list, n)
}

// joinErrors is errs as one line, "a; b".
func joinErrors(errs []error) string {
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		msgs = append(msgs, fileerr.OneLine(e.Error()))
	}
	return strings.Join(msgs, "; ")
}
