// Package purgebench measures `cassette purge` on a large repository: it
// builds a repository of many backups over many small packs directly in
// the object store, in cassette's on-bucket formats (docs/format.md), runs
// the cassette binary's purge on it through a counting proxy, and compares
// the deletes with Medusa's one DeleteObject per object.
//
// Building the repository does not run backups (thousands of them would
// take hours): it writes what they would have written. Every node backup
// brings new SSTables (components of one chunk; some Data.db of several
// chunks with a content list) whose blobs go into new packs in the order
// written, one index segment per 64 packs and one at the end, a started
// marker, a manifest naming every live SSTable file of the node, and a
// summary per backup. SSTables live for a random number of backups (the
// node compacts them away), so packs near the retention boundary are
// partly live, as in a real repository. Packs are encoded here (the
// chunkstore pack writer is a streaming writer with no exported form) and
// every one is decoded with chunkstore.ParsePack before it is stored;
// index segments, manifests, markers and summaries are encoded with
// cassette's own encoders; the repository config is written by
// chunkstore.Init. `cassette verify --read-data` and a restore after the
// purge check the result.
package purgebench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/engine"
	"github.com/cassette-backup/cassette/index"
	"github.com/cassette-backup/cassette/providers"
)

// Spec describes the repository to build.
type Spec struct {
	Backups int // backup names (one a day)
	Nodes   int // nodes backing up under each name
	// Packs is the number of packs to aim for, over every node backup.
	Packs int
	// PackBlobs is how many blobs go into one pack.
	PackBlobs int
	// Lifetime is the mean number of backups an SSTable lives (uniform
	// between 1 and 2*Lifetime-1).
	Lifetime int
	// ListFraction of SSTables have a Data.db of several chunks, stored
	// with a content list.
	ListFraction float64
	Seed         uint64
	// Concurrency is how many objects are uploaded at once.
	Concurrency int
}

// DefaultSpec is 1,000 backups of 3 nodes over about 100,000 packs.
func DefaultSpec() Spec {
	return Spec{Backups: 1000, Nodes: 3, Packs: 100000, PackBlobs: 8, Lifetime: 3, ListFraction: 0.5, Seed: 1, Concurrency: 16}
}

// Shape counts what Generate wrote.
type Shape struct {
	NodeBackups     int
	SSTablesPerNode int // new SSTables per node backup
	Packs           int
	Segments        int
	Manifests       int
	Markers         int
	Summaries       int
	Blobs           int64
	FileEntries     int64 // over every manifest
	ContentLists    int64 // file entries with a content list, over every manifest
	PackBytes       int64
	ManifestBytes   int64
	Objects         int64 // every object, the config included
	Bytes           int64
	Duration        time.Duration
	FirstBackup     string
	LastBackup      string

	listRefs  []int64  // per backup: content lists its manifests name
	listSpans [][2]int // per SSTable with a content list: first and last backup naming it
}

// ListReads returns how many content lists the manifests of the newest
// keep backups name in all, and how many distinct ones.
func (s *Shape) ListReads(keep int) (refs, distinct int64) {
	first := len(s.listRefs) - keep
	for i := max(0, first); i < len(s.listRefs); i++ {
		refs += s.listRefs[i]
	}
	for _, sp := range s.listSpans {
		if sp[1] >= first {
			distinct++
		}
	}
	return refs, distinct
}

// BackupName is the name of backup i.
func BackupName(i int) string { return fmt.Sprintf("day%04d", i) }

// NodeName is the name of node n.
func NodeName(n int) string { return fmt.Sprintf("node%d", n+1) }

// Generate writes the repository described by sp into st, which must not
// hold one yet. Progress lines go to log.
func Generate(ctx context.Context, st providers.Storage, sp Spec, log io.Writer) (*Shape, error) {
	start := time.Now()
	cache, err := os.MkdirTemp("", "purgebench-cache-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(cache)
	repo, err := chunkstore.Init(ctx, st, chunkstore.InitOptions{MinChunkSize: 1 << 10, MaxChunkSize: 16 << 10, AverageChunkBits: 12, PackSize: 64 << 10},
		chunkstore.Options{CacheDir: cache})
	if err != nil {
		return nil, err
	}
	repoID := repo.Config().ID
	repo.Close()
	blobsPerSSTable := 6 + 3*sp.ListFraction // single-chunk components, plus two chunks and a list
	g := &generator{sp: sp, st: st, repoID: repoID, log: log,
		rng:    rand.New(rand.NewPCG(sp.Seed, 0x9e3779b9)),
		bytes:  rand.NewChaCha8([32]byte{byte(sp.Seed), 1}),
		toc:    newBlob(index.DataBlob, []byte("Data.db\nIndex.db\nSummary.db\nFilter.db\nStatistics.db\nDigest.crc32\nTOC.txt\n")),
		perBak: max(1, int(float64(sp.Packs)*float64(sp.PackBlobs)/(float64(sp.Backups*sp.Nodes)*blobsPerSSTable)+0.5)),
	}
	g.shape.Objects = 1 // config
	g.shape.listRefs = make([]int64, sp.Backups)
	g.shape.SSTablesPerNode = g.perBak
	for n := range sp.Nodes {
		g.nodes = append(g.nodes, &nodeState{name: NodeName(n)})
	}
	started, err := g.writeMarkers(ctx)
	if err != nil {
		return nil, err
	}
	if err := g.writeBackups(ctx, started); err != nil {
		return nil, err
	}
	g.shape.Duration = time.Since(start)
	g.shape.FirstBackup, g.shape.LastBackup = BackupName(0), BackupName(sp.Backups-1)
	return &g.shape, nil
}

type generator struct {
	sp     Spec
	st     providers.Storage
	repoID string
	log    io.Writer
	rng    *rand.Rand
	bytes  *rand.ChaCha8
	toc    blob
	stored bool // toc is in a pack
	perBak int
	nodes  []*nodeState
	shape  Shape
	up     *errgroup.Group
	upCtx  context.Context
	// counted by upload goroutines
	objects, byteCount atomic.Int64
}

type nodeState struct {
	name string
	gen  int
	live []*sstable
}

type sstable struct {
	last  int // the last backup it is part of
	files []engine.FileEntry
}

// writeMarkers writes every node backup's started marker, backup after
// backup, so that their modification times (which purge orders backups by)
// follow the backup order; it returns each backup's start time.
func (g *generator) writeMarkers(ctx context.Context) ([]time.Time, error) {
	times := make([]time.Time, g.sp.Backups)
	last := time.Time{}
	for i := range g.sp.Backups {
		// One millisecond apart at least: MinIO keeps milliseconds.
		for time.Since(last) < 2*time.Millisecond {
			time.Sleep(time.Millisecond)
		}
		times[i] = time.Now().UTC()
		eg, ectx := errgroup.WithContext(ctx)
		for _, ns := range g.nodes {
			eg.Go(func() error {
				b, _ := json.Marshal(engine.Marker{Backup: BackupName(i), Node: ns.name, Type: engine.TypeDifferential, Started: times[i], Identity: g.identity(ns.name)})
				return g.st.Put(ectx, engine.StartedKey(BackupName(i), ns.name), providers.Bytes(b), providers.PutOptions{})
			})
		}
		if err := eg.Wait(); err != nil {
			return nil, fmt.Errorf("write started markers of %s: %w", BackupName(i), err)
		}
		last = time.Now()
		g.shape.Markers += len(g.nodes)
		if (i+1)%250 == 0 {
			fmt.Fprintf(g.log, "purgebench: %d/%d backups' started markers written\n", i+1, g.sp.Backups)
		}
	}
	g.shape.Objects += int64(g.shape.Markers)
	return times, nil
}

func (g *generator) identity(node string) engine.NodeInfo {
	return engine.NodeInfo{Host: node, Datacenter: "dc1", Rack: "rack1", Version: "4.1.5"}
}

// writeBackups writes every node backup's packs, index segments and
// manifest, and every backup's summary, uploading in the background.
func (g *generator) writeBackups(ctx context.Context, started []time.Time) error {
	g.up, g.upCtx = errgroup.WithContext(ctx)
	g.up.SetLimit(g.sp.Concurrency)
	t0 := time.Now()
	var genErr error
	for i := 0; i < g.sp.Backups && genErr == nil && g.upCtx.Err() == nil; i++ {
		var files, bytes int64
		for _, ns := range g.nodes {
			h, err := g.nodeBackup(i, ns, started[i])
			if err != nil {
				genErr = fmt.Errorf("backup %s of %s: %w", BackupName(i), ns.name, err)
				break
			}
			files += h.Summary.Files
			bytes += h.Summary.Bytes
		}
		g.summary(i, started[i], files, bytes)
		if (i+1)%100 == 0 {
			fmt.Fprintf(g.log, "purgebench: %d/%d backups written (%d packs) in %s\n", i+1, g.sp.Backups, g.shape.Packs, time.Since(t0).Round(time.Second))
		}
	}
	err := g.up.Wait()
	g.shape.Objects += g.objects.Load()
	g.shape.Bytes += g.byteCount.Load()
	if genErr != nil {
		return genErr
	}
	return err
}

// put uploads one object in the background.
func (g *generator) put(key providers.Key, b []byte) {
	g.up.Go(func() error {
		if err := g.st.Put(g.upCtx, key, providers.Bytes(b), providers.PutOptions{}); err != nil {
			return fmt.Errorf("write %s: %w", key, err)
		}
		g.objects.Add(1)
		g.byteCount.Add(int64(len(b)))
		return nil
	})
}

// nodeBackup writes node ns's backup i: its new SSTables' packs and index,
// then its manifest. It returns the manifest header.
func (g *generator) nodeBackup(i int, ns *nodeState, started time.Time) (*engine.Header, error) {
	live := ns.live[:0]
	for _, s := range ns.live {
		if s.last >= i {
			live = append(live, s)
		}
	}
	ns.live = live
	var fresh []blob
	for range g.perBak {
		s, blobs := g.newSSTable(i, ns)
		ns.live = append(ns.live, s)
		fresh = append(fresh, blobs...)
	}
	if err := g.writePacks(fresh); err != nil {
		return nil, err
	}
	return g.writeManifest(i, ns, started)
}

// writePacks stores blobs in packs of PackBlobs, in order, and indexes them
// the way a backup session does: a segment per 64 packs and one at the end.
func (g *generator) writePacks(blobs []blob) error {
	seg := &index.Segment{}
	flush := func() error {
		if len(seg.Packs) == 0 {
			return nil
		}
		b, id, err := index.EncodeSegment(seg)
		if err != nil {
			return err
		}
		g.put(chunkstore.IndexKey(id), b)
		g.shape.Segments++
		seg = &index.Segment{}
		return nil
	}
	for len(blobs) > 0 {
		n := min(g.sp.PackBlobs, len(blobs))
		id := index.RandomID()
		p, entries, err := encodePack(id, blobs[:n])
		if err != nil {
			return err
		}
		blobs = blobs[n:]
		g.put(chunkstore.PackKey(id), p)
		g.shape.Packs++
		g.shape.Blobs += int64(n)
		g.shape.PackBytes += int64(len(p))
		seg.Packs = append(seg.Packs, index.PackInfo{ID: id, Size: uint64(len(p))})
		seg.Blobs = append(seg.Blobs, entries...)
		if len(seg.Packs) == 64 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// newSSTable makes the files of node ns's next SSTable generation, written
// for backup i, and returns the blobs not stored yet.
func (g *generator) newSSTable(i int, ns *nodeState) (*sstable, []blob) {
	ns.gen++
	s := &sstable{last: i + g.rng.IntN(2*g.sp.Lifetime-1)}
	table := g.rng.IntN(40)
	dir := fmt.Sprintf("ks%d/table%02d-%032x/nb-%d-big-", table/10+1, table, uint64(table)*0x9e3779b97f4a7c15+1, ns.gen)
	var fresh []blob
	file := func(name string, chunks ...blob) {
		fh := chunkstore.NewFileHasher()
		var size int64
		for _, c := range chunks {
			fh.Add(c.id)
			size += int64(len(c.data))
		}
		f := engine.FileEntry{Path: dir + name, Size: size, MTime: time.Now().UnixNano(), Mode: 0o644, Hash: fh.Sum(size)}
		if len(chunks) == 1 {
			f.Chunk = &chunks[0].id
		} else {
			g.shape.listSpans = append(g.shape.listSpans, [2]int{i, min(s.last, g.sp.Backups-1)})
			var list []byte
			for _, c := range chunks {
				list = append(list, c.id[:]...)
			}
			lb := newBlob(index.MetaBlob, list)
			fresh = append(fresh, lb)
			f.Lists = []index.ID{lb.id}
		}
		s.files = append(s.files, f)
	}
	random := func(lo, hi int) blob {
		b := make([]byte, lo+g.rng.IntN(hi-lo+1))
		_, _ = g.bytes.Read(b)
		nb := newBlob(index.DataBlob, b)
		fresh = append(fresh, nb)
		return nb
	}
	if g.rng.Float64() < g.sp.ListFraction {
		file("Data.db", random(1<<10, 3<<10), random(1<<10, 3<<10), random(1<<10, 3<<10))
	} else {
		file("Data.db", random(1<<10, 3<<10))
	}
	file("Index.db", random(64, 512))
	file("Summary.db", random(64, 256))
	file("Filter.db", random(16, 128))
	file("Statistics.db", random(256, 768))
	file("Digest.crc32", random(10, 10))
	if !g.stored {
		fresh = append(fresh, g.toc)
		g.stored = true
	}
	file("TOC.txt", g.toc)
	return s, fresh
}

// writeManifest writes the manifest of node ns's backup i: every file of
// its live SSTables.
func (g *generator) writeManifest(i int, ns *nodeState, started time.Time) (*engine.Header, error) {
	h := &engine.Header{Format: engine.ManifestFormat, Backup: BackupName(i), Node: ns.name, Type: engine.TypeDifferential,
		Started: started, Finished: started.Add(time.Minute), Repository: g.repoID, DataDirs: []string{"/var/lib/cassandra/data"},
		Identity: g.identity(ns.name)}
	var entries writeBuffer
	mw, err := engine.NewManifestWriter(&entries)
	if err != nil {
		return nil, err
	}
	for _, s := range ns.live {
		for k := range s.files {
			f := &s.files[k]
			if err := mw.Add(f); err != nil {
				return nil, err
			}
			h.Summary.Files++
			h.Summary.Bytes += f.Size
			if len(f.Lists) > 0 {
				g.shape.ContentLists++
				g.shape.listRefs[i]++
			}
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	h.Summary.ReadFiles = int64(g.perBak * 7)
	hb, err := engine.EncodeHeader(h)
	if err != nil {
		return nil, err
	}
	m := append(hb, entries...)
	g.put(engine.ManifestKey(h.Backup, h.Node), m)
	g.shape.Manifests++
	g.shape.NodeBackups++
	g.shape.FileEntries += h.Summary.Files
	g.shape.ManifestBytes += int64(len(m))
	return h, nil
}

// summary writes summaries/<name> as the last node of a backup leaves it.
func (g *generator) summary(i int, started time.Time, files, bytes int64) {
	fin := started.Add(time.Minute)
	cb := engine.ClusterBackup{Name: BackupName(i), StartTime: started, FinishTime: &fin, TotalNodes: len(g.nodes), FinishedNodes: len(g.nodes),
		TotalFiles: files, TotalSize: bytes, Status: engine.StatusSuccess, BackupType: engine.TypeDifferential}
	for _, ns := range g.nodes {
		cb.Nodes = append(cb.Nodes, g.identity(ns.name))
	}
	b, _ := json.Marshal(cb)
	g.put(engine.SummaryKey(cb.Name), b)
	g.shape.Summaries++
}

// writeBuffer is a minimal io.Writer over a byte slice.
type writeBuffer []byte

func (w *writeBuffer) Write(p []byte) (int, error) {
	*w = append(*w, p...)
	return len(p), nil
}
