package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// In-place restore puts a backup back into a node's live data directories.
// Cassandra must be stopped. The current folders of every table the backup
// restores are moved aside first (a rename on the same file system: no
// copy, no extra space), under <dataDir>/.cassette-aside/<timestamp>/, and
// moved back if the restore fails, so a failed restore leaves the node as it
// was.

// ErrNodeRunning: an in-place restore was asked while Cassandra runs.
var ErrNodeRunning = errors.New("cassandra is running on this node")

// asideDir is where table folders wait during an in-place restore.
const asideDir = ".cassette-aside"

// InPlaceOptions guard an in-place restore.
type InPlaceOptions struct {
	// IsRunning reports whether Cassandra is up on this node (nodetool, or a
	// configured command). nil means the caller checked.
	IsRunning func(ctx context.Context) (bool, error)
	// RemoveAside deletes the moved-aside folders after a successful
	// restore; by default they stay (they hold the node's old snapshots) and
	// their location is reported.
	RemoveAside bool
}

// movedTable is one table folder moved aside; top is the aside folder of
// this restore in its data directory.
type movedTable struct{ live, aside, top string }

// RestoreInPlace restores backup o.Name of o.Node into the data directories
// o.TargetDirs (one per data directory of the backup).
func (e *Engine) RestoreInPlace(ctx context.Context, o RestoreOptions, ip InPlaceOptions) (res *RestoreResult, aside []string, err error) {
	if len(o.TargetDirs) == 0 {
		return nil, nil, errors.New("in-place restore needs the node's data directories (cassandra.dataDirs or --data-dir)")
	}
	if ip.IsRunning != nil {
		up, err := ip.IsRunning(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot tell whether Cassandra is running (%w); stop it and make sure nodetool can tell, or restore into --target", err)
		}
		if up {
			return nil, nil, fmt.Errorf("%w: stop Cassandra on this node before an in-place restore (or restore into --target)", ErrNodeRunning)
		}
	}
	tables, err := e.tablesOf(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	stamp := strconv.FormatInt(e.now().Unix(), 10)
	var moved []movedTable
	rollback := func() {
		for i := len(moved) - 1; i >= 0; i-- {
			m := moved[i]
			if rmErr := os.RemoveAll(m.live); rmErr != nil {
				e.log().Error("rollback: cannot remove partly restored folder", "path", m.live, "err", rmErr)
				continue
			}
			if mvErr := os.Rename(m.aside, m.live); mvErr != nil {
				e.log().Error("rollback: cannot move the table folder back; do it by hand", "from", m.aside, "to", m.live, "err", mvErr)
			}
		}
	}
	defer func() {
		if err != nil {
			rollback()
		}
	}()
	for _, t := range tables {
		live := filepath.Join(o.TargetDirs[t.dir], filepath.FromSlash(t.rel))
		if _, statErr := os.Lstat(live); os.IsNotExist(statErr) {
			continue
		}
		top := filepath.Join(o.TargetDirs[t.dir], asideDir, stamp)
		a := filepath.Join(top, filepath.FromSlash(t.rel))
		if err := os.MkdirAll(filepath.Dir(a), 0o700); err != nil {
			return nil, nil, fmt.Errorf("move %s aside: %w", live, err)
		}
		if err := os.Rename(live, a); err != nil {
			return nil, nil, fmt.Errorf("move %s aside to %s: %w", live, a, err)
		}
		moved = append(moved, movedTable{live: live, aside: a, top: top})
	}
	o.Overwrite = false
	res, err = e.Restore(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	for _, m := range moved {
		if ip.RemoveAside {
			if rmErr := os.RemoveAll(m.aside); rmErr != nil {
				e.log().Warn("restore done; could not remove the old table folder", "path", m.aside, "err", rmErr)
			}
			continue
		}
		seen[m.top] = true
	}
	for top := range seen {
		aside = append(aside, top)
	}
	sort.Strings(aside)
	return res, aside, nil
}

type tableRef struct {
	dir int
	rel string // <keyspace>/<table>-<id>
}

// tablesOf lists the table folders the restore will write.
func (e *Engine) tablesOf(ctx context.Context, o RestoreOptions) ([]tableRef, error) {
	set := map[tableRef]bool{}
	_, err := e.ReadManifest(ctx, o.Name, o.Node, func(f *FileEntry) error {
		if o.Filter != nil && !o.Filter(f.Keyspace(), f.Table()) {
			return nil
		}
		if f.Dir >= len(o.TargetDirs) {
			return fmt.Errorf("backup has data directory #%d for %s but only %d data directories were given", f.Dir+1, f.Path, len(o.TargetDirs))
		}
		ks, rest, _ := cutPath(f.Path)
		set[tableRef{f.Dir, ks + "/" + rest}] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]tableRef, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, nil
}

// cutPath splits "<ks>/<table>/<rest>" into keyspace and table folder.
func cutPath(p string) (string, string, bool) {
	var parts [2]string
	n := 0
	start := 0
	for i := 0; i < len(p) && n < 2; i++ {
		if p[i] == '/' {
			parts[n] = p[start:i]
			n++
			start = i + 1
		}
	}
	return parts[0], parts[1], n == 2
}
