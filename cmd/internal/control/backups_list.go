package control

import (
	"context"
	"fmt"
	"sort"

	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
)

// ListBackups returns the backups of the datacenter as the operator's
// MedusaBackup objects would show them: GetBackups from its sidecars,
// asking the nodes in turn until one answers. Sidecars of datacenters that
// share a repository list each other's backups: a backup is the
// datacenter's when one of its nodes is (by datacenter or host name), or
// when it lists no node yet. Newest first.
func (c *Controller) ListBackups(ctx context.Context, dc *Datacenter) ([]MedusaBackup, error) {
	var errs []error
	for _, n := range dc.Nodes {
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
		out := make([]MedusaBackup, 0, len(resp.GetBackups()))
		for _, s := range resp.GetBackups() {
			if belongs(s, dc) {
				mb := FromSummary(s, dc.Name)
				mb.sortNodes()
				out = append(out, mb)
			}
		}
		sort.SliceStable(out, func(i, j int) bool {
			if !out[i].StartTime.Equal(out[j].StartTime) {
				return out[i].StartTime.After(out[j].StartTime)
			}
			return out[i].Name < out[j].Name
		})
		return out, nil
	}
	return nil, fmt.Errorf("no sidecar of datacenter %s answered GetBackups: %s", dc.Name, joinErrors(errs))
}

func belongs(s *medusapb.BackupSummary, dc *Datacenter) bool {
	if len(s.GetNodes()) == 0 {
		return true
	}
	for _, n := range s.GetNodes() {
		if n.GetDatacenter() == dc.Name || dc.Node(n.GetHost()) != nil {
			return true
		}
	}
	return false
}
