package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/cmd/internal/control"
	"github.com/cassette-backup/cassette/cmd/internal/fileerr"
	"github.com/cassette-backup/cassette/cmd/internal/schedule"
	"github.com/cassette-backup/cassette/engine"
	"github.com/cassette-backup/cassette/providers"
)

// Sources of the Repository page's numbers.
const (
	sourceRepository = "repository"
	sourceSidecars   = "sidecars"
)

// repoTTL is how long a repository's numbers are reused: listing a large
// bucket takes a while, and the page may be reloaded often.
const repoTTL = time.Minute

// repoScanTimeout bounds the listing of one repository.
const repoScanTimeout = 2 * time.Minute

// repoStats is what the Repository page shows of one storage
// configuration. It comes from the repository itself, opened read-only
// with the configuration (credentials read from credentialsFile on this
// host), or, when it cannot be opened, from the MedusaBackup totals the
// sidecars of the datacenters using it report.
type repoStats struct {
	Storage  string
	Provider string
	Bucket   string
	Prefix   string
	Opened   bool
	// Why says in one line why the repository was not read.
	Why string
	// Source is sourceRepository or sourceSidecars.
	Source string
	// Stored and Objects: every object under the repository's prefix.
	Stored, Objects int64
	// Referenced is what the backups reference: the sum of every node
	// backup's files (the size without deduplication).
	Referenced int64
	// Backups are oldest first.
	Backups   []repoBackup
	LastPurge *purgeRecord
	Computed  time.Time
	Problems  []string
	// nodeBackups are files and bytes by "<backup>/<node>".
	nodeBackups map[string]nodeStat
}

// Ratio is referenced bytes over stored bytes: how much deduplication and
// compression save (0 when unknown).
func (st *repoStats) Ratio() float64 {
	if st.Stored <= 0 {
		return 0
	}
	return float64(st.Referenced) / float64(st.Stored)
}

type repoBackup struct {
	Name  string
	Start time.Time
	// Stored is what the backup added to the repository (compressed new
	// chunks); Referenced what it references.
	Stored, Referenced int64
	Nodes              int
}

type nodeStat struct{ Files, Bytes int64 }

type purgeRecord struct {
	Cluster, Schedule string
	Run               schedule.Run
}

type repoCache struct {
	s       *Server
	mu      sync.Mutex // one scan at a time: the index cache is a locked file
	entries map[string]*repoStats
}

// get returns the numbers of storage configuration name, computing them
// when they are older than repoTTL or refresh is set.
func (c *repoCache) get(ctx context.Context, name string, refresh bool) *repoStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.entries[name]; st != nil && !refresh && c.s.now().Sub(st.Computed) < repoTTL {
		return st
	}
	st := c.s.repoStats(ctx, name)
	if ctx.Err() == nil {
		c.entries[name] = st
	}
	return st
}

func (s *Server) repoStats(ctx context.Context, name string) *repoStats {
	st := &repoStats{Storage: name, Computed: s.now(), nodeBackups: map[string]nodeStat{}}
	e, ok := s.storage.get(name)
	if !ok {
		st.Why = fmt.Sprintf("there is no storage configuration %q", name)
		return st
	}
	sp := e.Properties
	st.Provider, st.Bucket, st.Prefix = sp.StorageProvider, sp.BucketName, sp.Prefix
	switch {
	case sp.CredentialsFile == "" && e.SecretRef != "" && sp.StorageProvider != "local":
		st.Why = fmt.Sprintf("storage configuration %s names only the Kubernetes secret %s, which this host cannot read; set credentialsFile to a copy of its credentials here to see the repository", name, e.SecretRef)
	case sp.StorageProvider == "mem":
		st.Why = "storageProvider mem keeps each sidecar's repository in its own memory, out of the console's reach"
	case s.o.OpenStorage == nil:
		st.Why = "this console was started without access to repositories"
	default:
		if err := s.scanRepository(ctx, sp, st); err != nil {
			*st = repoStats{Storage: st.Storage, Provider: st.Provider, Bucket: st.Bucket, Prefix: st.Prefix, Computed: st.Computed,
				nodeBackups: map[string]nodeStat{}, Why: "the repository could not be read: " + fileerr.OneLine(err.Error())}
		}
	}
	if !st.Opened {
		s.fromSidecars(ctx, name, st)
	}
	st.LastPurge = s.lastPurge(name)
	return st
}

// scanRepository lists every object of the repository and reads the node
// backups' manifest headers. It never writes to the repository: the only
// file it writes is the local index cache under CacheDir.
func (s *Server) scanRepository(ctx context.Context, sp providers.StorageProperties, st *repoStats) error {
	ctx, cancel := context.WithTimeout(ctx, repoScanTimeout)
	defer cancel()
	stor, err := s.o.OpenStorage(ctx, sp)
	if err != nil {
		return err
	}
	defer stor.Close(ctx)
	err = stor.List(ctx, "", func(oi providers.ObjectInfo) error {
		st.Objects++
		st.Stored += oi.Size
		return nil
	})
	if err != nil {
		return fmt.Errorf("list %s: %w", stor.Properties().Name, err)
	}
	st.Opened, st.Source = true, sourceRepository
	repo, err := chunkstore.Open(ctx, stor, chunkstore.Options{CacheDir: s.o.CacheDir, Logger: s.log})
	if errors.Is(err, chunkstore.ErrNoRepository) {
		st.Problems = append(st.Problems, "no repository there yet: nothing was backed up with this configuration")
		return nil
	}
	if err != nil {
		return err
	}
	defer repo.Close()
	nbs, err := (&engine.Engine{Repo: repo, CacheDir: s.o.CacheDir, Log: s.log}).ListBackups(ctx)
	if err != nil {
		return err
	}
	byName := map[string]*repoBackup{}
	for _, nb := range nbs {
		b := byName[nb.Name]
		if b == nil {
			b = &repoBackup{Name: nb.Name, Start: nb.Started.Started}
			byName[nb.Name] = b
		}
		if !nb.Started.Started.IsZero() && (b.Start.IsZero() || nb.Started.Started.Before(b.Start)) {
			b.Start = nb.Started.Started
		}
		b.Nodes++
		if h := nb.Header; h != nil {
			b.Stored += h.Summary.StoredBytes
			b.Referenced += h.Summary.Bytes
			st.Referenced += h.Summary.Bytes
			st.nodeBackups[nb.Name+"/"+nb.Node] = nodeStat{Files: h.Summary.Files, Bytes: h.Summary.Bytes}
		}
	}
	st.Backups = sortedBackups(byName)
	return nil
}

// fromSidecars fills in what the sidecars of the datacenters using the
// configuration report: each backup's totalSize (what it references).
func (s *Server) fromSidecars(ctx context.Context, name string, st *repoStats) {
	st.Source = sourceSidecars
	byName := map[string]*repoBackup{}
	used := false
	for _, cl := range s.inv.Clusters {
		for _, dc := range cl.Datacenters {
			if dc.Storage != name {
				continue
			}
			used = true
			lctx, cancel := context.WithTimeout(ctx, listTimeout)
			list, err := s.ctl.ListBackups(lctx, dc)
			cancel()
			if err != nil {
				st.Problems = append(st.Problems, fileerr.OneLine(err.Error()))
				continue
			}
			for _, b := range list {
				if byName[b.Name] == nil {
					byName[b.Name] = &repoBackup{Name: b.Name, Start: b.StartTime, Referenced: b.TotalSize, Nodes: len(b.Nodes)}
					st.Referenced += b.TotalSize
				}
			}
		}
	}
	if !used {
		st.Problems = append(st.Problems, "no datacenter of the inventory uses this configuration, so no sidecar lists its backups")
	}
	st.Backups = sortedBackups(byName)
}

func sortedBackups(byName map[string]*repoBackup) []repoBackup {
	out := make([]repoBackup, 0, len(byName))
	for _, b := range byName {
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// lastPurge is the latest finished run of a purge schedule of this
// console over a datacenter using the configuration. The repository keeps
// no record of purges; purges run by other means are not known.
func (s *Server) lastPurge(name string) *purgeRecord {
	var last *purgeRecord
	for _, cl := range s.inv.Clusters {
		cs := s.scheds[cl.Name]
		state := cs.s.Status()
		for _, op := range cs.s.Ops() {
			if op.Schedule.Operation != schedule.OpPurge || !slices.ContainsFunc(op.Datacenters, func(dc *control.Datacenter) bool { return dc.Storage == name }) {
				continue
			}
			ss := state.Schedules[op.Schedule.Name]
			if ss == nil || ss.LastResult == nil {
				continue
			}
			if last == nil || ss.LastResult.Finished.After(last.Run.Finished) {
				last = &purgeRecord{Cluster: cl.Name, Schedule: op.Schedule.Name, Run: *ss.LastResult}
			}
		}
	}
	return last
}

type repositoryData struct {
	Storage  string
	Storages []string
	Stats    *repoStats
	Chart    chart
}

func (s *Server) repositoryPage(w http.ResponseWriter, r *http.Request) {
	cl := s.cluster(r.URL.Query().Get("cluster"))
	entries := s.storage.list()
	d := repositoryData{Storage: r.URL.Query().Get("storage")}
	for _, e := range entries {
		d.Storages = append(d.Storages, e.Name)
	}
	if d.Storage == "" {
		d.Storage = defaultStorage(cl, d.Storages)
	}
	if d.Storage != "" {
		if !slices.Contains(d.Storages, d.Storage) {
			s.notFound(w, r, fmt.Sprintf("no storage configuration %q", d.Storage))
			return
		}
		d.Stats = s.repos.get(r.Context(), d.Storage, r.URL.Query().Get("refresh") != "")
	}
	if d.Stats != nil {
		d.Chart = newChart(d.Stats)
	} else {
		d.Chart = newChart(&repoStats{})
	}
	s.render(w, http.StatusOK, "repository", s.view(r, "repository", cl.Name, "Repository", d))
}

// defaultStorage is the configuration of the cluster's first datacenter
// that names one, else the first configuration.
func defaultStorage(cl *control.Cluster, names []string) string {
	for _, dc := range cl.Datacenters {
		if dc.Storage != "" && slices.Contains(names, dc.Storage) {
			return dc.Storage
		}
	}
	if len(names) > 0 {
		return names[0]
	}
	return ""
}
