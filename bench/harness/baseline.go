package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/cassette-backup/cassette/providers"
)

// Baseline modes: Medusa's full backups store every file under the
// backup's own folder; differential backups store each file once per node,
// under <node>/data/, and skip files already there with the same size.
const (
	ModeFull         = "full"
	ModeDifferential = "differential"
)

// BaselineManifest lists the files of one Medusa-style node backup.
type BaselineManifest struct {
	Backup string          `json:"backup"`
	Node   string          `json:"node"`
	Mode   string          `json:"mode"`
	Files  []BaselineEntry `json:"files"`
}

// BaselineEntry is one file of a BaselineManifest.
type BaselineEntry struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	Key  string `json:"key"`
}

// BaselineStats is what a baseline backup or restore did.
type BaselineStats struct {
	Files         int   `json:"files"`
	Bytes         int64 `json:"bytes"`
	Transferred   int   `json:"transferred"`
	TransferBytes int64 `json:"transferBytes"`
}

// BaselineManifestKey is where the manifest of backup on node lives.
func BaselineManifestKey(node, backup string) providers.Key {
	return providers.Key(node + "/" + backup + "/meta/manifest.json")
}

// BaselineBackup backs up dataDir the way Medusa does: one object per file,
// concurrency uploads at once, then a manifest. In differential mode it
// first lists the node's data folder and uploads only files whose name and
// size are not there yet.
func BaselineBackup(ctx context.Context, st providers.Storage, node, backup, mode, dataDir string, concurrency int) (BaselineStats, error) {
	var stats BaselineStats
	files, err := WalkNode(dataDir)
	if err != nil {
		return stats, err
	}
	var dataPrefix string
	existing := map[string]int64{}
	switch mode {
	case ModeFull:
		dataPrefix = node + "/" + backup + "/data/"
	case ModeDifferential:
		dataPrefix = node + "/data/"
		err := st.List(ctx, dataPrefix, func(oi providers.ObjectInfo) error {
			existing[string(oi.Key)] = oi.Size
			return nil
		})
		if err != nil {
			return stats, fmt.Errorf("baseline: list %s: %w", dataPrefix, err)
		}
	default:
		return stats, fmt.Errorf("baseline: mode %q: want %s or %s", mode, ModeFull, ModeDifferential)
	}
	m := BaselineManifest{Backup: backup, Node: node, Mode: mode}
	var todo []BaselineEntry
	for _, f := range files {
		e := BaselineEntry{Path: f.Rel, Size: f.Size, Key: dataPrefix + f.Rel}
		m.Files = append(m.Files, e)
		stats.Files++
		stats.Bytes += f.Size
		if s, ok := existing[e.Key]; ok && s == f.Size {
			continue
		}
		todo = append(todo, e)
	}
	var sent atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(concurrency, 1))
	for _, e := range todo {
		g.Go(func() error {
			p := filepath.Join(dataDir, filepath.FromSlash(e.Path))
			payload := providers.Reopenable(e.Size, func() (io.Reader, error) { return os.Open(p) })
			if err := st.Put(gctx, providers.Key(e.Key), payload, providers.PutOptions{}); err != nil {
				return fmt.Errorf("baseline: upload %s: %w", p, err)
			}
			sent.Add(e.Size)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return stats, err
	}
	stats.Transferred, stats.TransferBytes = len(todo), sent.Load()
	b, err := json.Marshal(m)
	if err != nil {
		return stats, err
	}
	if err := st.Put(ctx, BaselineManifestKey(node, backup), providers.Bytes(b), providers.PutOptions{}); err != nil {
		return stats, fmt.Errorf("baseline: write manifest: %w", err)
	}
	return stats, nil
}

// BaselineRestore downloads every file of a baseline backup into target,
// concurrency files at once, as Medusa's download does (no verification
// beyond the size; fsync only when asked, which Medusa does not do).
func BaselineRestore(ctx context.Context, st providers.Storage, node, backup, target string, concurrency int, fsync bool) (BaselineStats, error) {
	var stats BaselineStats
	var m BaselineManifest
	mk := BaselineManifestKey(node, backup)
	err := st.Get(ctx, mk, 0, -1, func(r io.Reader) error {
		m = BaselineManifest{}
		return json.NewDecoder(r).Decode(&m)
	})
	if err != nil {
		return stats, fmt.Errorf("baseline: read %s: %w", mk, err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(concurrency, 1))
	for _, e := range m.Files {
		if strings.Contains(e.Path, "..") || path.IsAbs(e.Path) {
			return stats, fmt.Errorf("baseline: manifest path %q escapes the target", e.Path)
		}
		stats.Files++
		stats.Bytes += e.Size
		g.Go(func() error { return restoreOne(gctx, st, e, filepath.Join(target, filepath.FromSlash(e.Path)), fsync) })
	}
	if err := g.Wait(); err != nil {
		return stats, err
	}
	stats.Transferred, stats.TransferBytes = stats.Files, stats.Bytes
	return stats, nil
}

func restoreOne(ctx context.Context, st providers.Storage, e BaselineEntry, dst string, fsync bool) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	var n int64
	err = st.Get(ctx, providers.Key(e.Key), 0, -1, func(r io.Reader) error {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := f.Truncate(0); err != nil {
			return err
		}
		var err error
		n, err = io.Copy(f, r)
		return err
	})
	if err == nil && fsync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != e.Size {
		err = fmt.Errorf("got %d bytes, manifest says %d", n, e.Size)
	}
	if err != nil {
		return fmt.Errorf("baseline: download %s: %w", e.Key, err)
	}
	return nil
}

// BaselinePurge keeps the node's newest keep backups and deletes the rest
// as Medusa's purge does with differential backups: the manifests of the
// backups it drops, then every object under <node>/data/ that no kept
// manifest names, one DELETE request per object, concurrency at a time.
// It returns the objects and bytes deleted.
func BaselinePurge(ctx context.Context, st providers.Storage, node string, keep, concurrency int) (BaselineStats, error) {
	var stats BaselineStats
	var manifests []providers.ObjectInfo
	data := map[string]int64{}
	err := st.List(ctx, node+"/", func(oi providers.ObjectInfo) error {
		k := string(oi.Key)
		switch {
		case strings.HasPrefix(k, node+"/data/"):
			data[k] = oi.Size
		case strings.HasSuffix(k, "/meta/manifest.json"):
			manifests = append(manifests, oi)
		}
		return nil
	})
	if err != nil {
		return stats, fmt.Errorf("baseline purge: list %s/: %w", node, err)
	}
	// Newest first; the backup name breaks ties of the same second.
	sort.Slice(manifests, func(i, j int) bool {
		if !manifests[i].ModTime.Equal(manifests[j].ModTime) {
			return manifests[i].ModTime.After(manifests[j].ModTime)
		}
		return manifests[i].Key > manifests[j].Key
	})
	if len(manifests) <= keep {
		return stats, nil
	}
	live := map[string]bool{}
	for _, mi := range manifests[:keep] {
		var m BaselineManifest
		err := st.Get(ctx, mi.Key, 0, -1, func(r io.Reader) error {
			m = BaselineManifest{}
			return json.NewDecoder(r).Decode(&m)
		})
		if err != nil {
			return stats, fmt.Errorf("baseline purge: read %s: %w", mi.Key, err)
		}
		for _, f := range m.Files {
			live[f.Key] = true
		}
	}
	var doomed []providers.Key
	for _, mi := range manifests[keep:] {
		doomed = append(doomed, mi.Key)
	}
	for k, size := range data {
		if !live[k] {
			doomed = append(doomed, providers.Key(k))
			stats.Bytes += size
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(concurrency, 1))
	for _, k := range doomed {
		g.Go(func() error {
			if err := st.Delete(gctx, k); err != nil {
				return fmt.Errorf("baseline purge: delete %s: %w", k, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return stats, err
	}
	stats.Files, stats.Transferred = len(manifests)-keep, len(doomed)
	return stats, nil
}
