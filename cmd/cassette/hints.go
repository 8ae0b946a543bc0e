package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cassette-backup/cassette/cmd/internal/suggest"
	"github.com/cassette-backup/cassette/engine"
)

// explainNotFound turns "no backup X for node N" into what the operator
// needs: the closest backup names, or the nodes the backup does have.
func explainNotFound(ctx context.Context, eng *engine.Engine, name, node string, err error) error {
	if !errors.Is(err, engine.ErrBackupNotFound) {
		return err
	}
	if cb, cerr := eng.ClusterStatus(ctx, name); cerr == nil {
		hosts := make([]string, 0, len(cb.Nodes))
		for _, n := range cb.Nodes {
			hosts = append(hosts, n.Host)
		}
		sort.Strings(hosts)
		hint := ""
		if s := suggest.Closest(node, hosts); s != "" {
			hint = fmt.Sprintf(" (did you mean --node %s?)", s)
		}
		return fmt.Errorf("%w: node %q has no complete backup %q%s; the backup has nodes %s", engine.ErrBackupNotFound, node, name, hint, strings.Join(hosts, ", "))
	}
	all, lerr := eng.ListClusterBackups(ctx)
	if lerr != nil {
		return err
	}
	names := make([]string, 0, len(all))
	for _, b := range all {
		names = append(names, b.Name)
	}
	if s := suggest.Closest(name, names); s != "" {
		return fmt.Errorf("%w: there is no backup %q (did you mean %q?); `cassette list` shows them all", engine.ErrBackupNotFound, name, s)
	}
	return fmt.Errorf("%w: there is no backup %q; `cassette list` shows the %d that exist", engine.ErrBackupNotFound, name, len(names))
}
