package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/cassette-backup/cassette/providers"
)

// NodeBackup is one node's part of a backup as listed.
type NodeBackup struct {
	Name     string
	Node     string
	Complete bool    // the manifest exists
	Header   *Header // nil when incomplete
	Started  Marker
}

// ListBackups returns every node backup in the repository, sorted by start
// time then name and node. Complete ones carry their manifest header.
func (e *Engine) ListBackups(ctx context.Context) ([]NodeBackup, error) {
	st := e.Repo.Storage()
	found := map[[2]string]*NodeBackup{}
	err := st.List(ctx, backupsPrefix, func(oi providers.ObjectInfo) error {
		parts := strings.Split(strings.TrimPrefix(string(oi.Key), backupsPrefix), "/")
		if len(parts) != 3 {
			return nil
		}
		k := [2]string{parts[0], parts[1]}
		nb := found[k]
		if nb == nil {
			nb = &NodeBackup{Name: parts[0], Node: parts[1]}
			found[k] = nb
		}
		if parts[2] == "manifest" {
			nb.Complete = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	out := make([]NodeBackup, 0, len(found))
	for _, nb := range found {
		if nb.Complete {
			h, err := e.ReadManifest(ctx, nb.Name, nb.Node, nil)
			if err != nil {
				return nil, err
			}
			nb.Header = h
			nb.Started = Marker{Backup: h.Backup, Node: h.Node, Type: h.Type, Started: h.Started, Identity: h.Identity}
		} else if err := e.readStarted(ctx, nb); err != nil {
			return nil, err
		}
		out = append(out, *nb)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.Started.Started.Equal(b.Started.Started) {
			return a.Started.Started.Before(b.Started.Started)
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Node < b.Node
	})
	return out, nil
}

func (e *Engine) readStarted(ctx context.Context, nb *NodeBackup) error {
	err := e.Repo.Storage().Get(ctx, StartedKey(nb.Name, nb.Node), 0, -1, func(r io.Reader) error {
		return json.NewDecoder(io.LimitReader(r, 1<<16)).Decode(&nb.Started)
	})
	if errors.Is(err, providers.ErrNotFound) {
		return nil // manifest listed but gone, or marker removed: show what we know
	}
	if err != nil {
		e.log().Warn("unreadable backup marker", "key", StartedKey(nb.Name, nb.Node), "err", err)
	}
	return nil
}
