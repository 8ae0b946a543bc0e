package engine

// Torture tests: random interleavings of flushes, compactions, backups,
// purges, garbage collections, deletes and restores on several nodes that
// share one repository, checked against a model that holds, for every node
// backup that succeeded and was not deleted, the exact files it backed up.
// The invariants are the ones a user relies on: such a backup is listed as
// complete, restores byte for byte and verifies clean; a repository that was
// garbage collected holds no pack without a referenced blob; and the index
// never names a missing pack or a content list whose chunks are not indexed.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/index"
	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/faulty"
	"github.com/cassette-backup/cassette/providers/local"
	"github.com/cassette-backup/cassette/providers/mem"
)

// tortureTB is what both *testing.T and *rapid.T offer.
type tortureTB interface {
	Helper()
	Logf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// tortureClock is the engines' (and mem's) clock in the state machines: it
// moves only between actions, so retention and grace decisions are
// reproducible.
type tortureClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *tortureClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *tortureClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// tortureStep is how far the clock moves per day (and a minute per
// operation): a lock leaked by a fault goes stale (30 minutes) after a few
// days.
const tortureStep = 5 * time.Minute

type nbKey struct{ name, node string }

func (k nbKey) String() string { return k.name + "/" + k.node }

type tortureNode struct {
	name  string
	dir   string // the data directory
	e     *Engine
	files map[string][]byte // what is on disk: path -> content
}

type tortureWorld struct {
	ctx     context.Context
	root    string
	base    providers.Storage // below any fault injection
	fs      *faulty.Storage   // nil: no fault injection
	clock   *tortureClock     // nil: real time
	nodes   []*tortureNode
	checker *Engine // the engine of the invariant checks (node0's)
	closers []func()

	gen, seq int
	// model: node backups that succeeded and were not deleted. maybe:
	// those a failed purge or delete may have deleted; they must be either
	// gone or intact.
	model, maybe map[nbKey]map[string][]byte
	faults       bool // fault rules are installed
	changed      bool // the action deleted something (backups, packs)
}

func newTortureWorld(tb tortureTB, root string, base providers.Storage, fs *faulty.Storage, clock *tortureClock, nodes int) *tortureWorld {
	tb.Helper()
	w := &tortureWorld{ctx: context.Background(), root: root, base: base, fs: fs, clock: clock,
		model: map[nbKey]map[string][]byte{}, maybe: map[nbKey]map[string][]byte{}}
	cfg, err := tortureConfig()
	if err != nil {
		tb.Fatalf("repository config: %v", err)
	}
	if err := base.Put(w.ctx, chunkstore.ConfigKey, providers.Bytes(cfg), providers.PutOptions{}); err != nil {
		tb.Fatalf("write repository config: %v", err)
	}
	for i := 0; i < nodes; i++ {
		dir := filepath.Join(root, fmt.Sprintf("data%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatalf("%v", err)
		}
		w.nodes = append(w.nodes, &tortureNode{name: fmt.Sprintf("node%d", i), dir: dir, e: w.engine(tb), files: map[string][]byte{}})
	}
	w.checker = w.nodes[0].e
	return w
}

// tortureConfig is the config object of a repository with tiny chunks and
// packs (as testEngine makes, but packs of the 64 KiB minimum so that small
// trees span several). Every run starts from a copy: choosing a chunker
// polynomial costs more than the rest of a short run under -race.
var tortureConfig = sync.OnceValues(func() ([]byte, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "cassette-torture-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	st := mem.New(mem.Options{})
	repo, err := chunkstore.Init(ctx, st, chunkstore.InitOptions{MinChunkSize: 1 << 10, MaxChunkSize: 16 << 10, AverageChunkBits: 12, PackSize: 64 << 10},
		chunkstore.Options{CacheDir: dir})
	if err != nil {
		return nil, err
	}
	repo.Close()
	var b []byte
	err = st.Get(ctx, chunkstore.ConfigKey, 0, -1, func(r io.Reader) error {
		b, err = io.ReadAll(r)
		return err
	})
	return b, err
})

func (w *tortureWorld) close() {
	for _, c := range w.closers {
		c()
	}
	os.RemoveAll(w.root)
}

// storage is what the engines use.
func (w *tortureWorld) storage() providers.Storage {
	if w.fs != nil {
		return w.fs
	}
	return w.base
}

// engine opens the repository with a cache of its own: another machine.
func (w *tortureWorld) engine(tb tortureTB) *Engine {
	tb.Helper()
	cache, err := os.MkdirTemp(w.root, "cache-")
	if err != nil {
		tb.Fatalf("%v", err)
	}
	repo, err := chunkstore.Open(w.ctx, w.storage(), chunkstore.Options{CacheDir: cache})
	if err != nil {
		tb.Fatalf("open repository: %v", err)
	}
	w.closers = append(w.closers, func() { repo.Close() })
	e := &Engine{Repo: repo, CacheDir: cache, Locks: LockOptions{Wait: -1}}
	if w.clock != nil {
		e.Now = w.clock.Now
	}
	return e
}

// tolerate reports whether an operation may fail with err: only while
// faults are injected, or, after them, because of a lock a fault leaked
// (it goes stale by itself).
func (w *tortureWorld) tolerate(err error) bool {
	if w.fs == nil || errors.Is(err, errWrongRestore) {
		return false
	}
	return w.faults || errors.Is(err, ErrLocked)
}

func (w *tortureWorld) keys(m map[nbKey]map[string][]byte) []nbKey {
	out := slices.Collect(maps.Keys(m))
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func (w *tortureWorld) keysOf(m map[nbKey]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k.String())
	}
	sort.Strings(out)
	return out
}

// objects lists the repository (below any faults) but its locks: key ->
// modification time.
func (w *tortureWorld) objects(tb tortureTB) map[providers.Key]time.Time {
	tb.Helper()
	out := map[providers.Key]time.Time{}
	err := w.base.List(w.ctx, "", func(oi providers.ObjectInfo) error {
		if !strings.HasPrefix(string(oi.Key), locksPrefix) {
			out[oi.Key] = oi.ModTime
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("list: %v", err)
	}
	return out
}

// forget removes deleted node backups from the model.
func (w *tortureWorld) forget(refs []NodeBackupRef) {
	for _, r := range refs {
		delete(w.model, nbKey{r.Name, r.Node})
		delete(w.maybe, nbKey{r.Name, r.Node})
	}
}

// doubt moves node backups a failed deletion may have touched to maybe.
func (w *tortureWorld) doubt(match func(nbKey) bool) {
	for k, files := range w.model {
		if match(k) {
			w.maybe[k] = files
			delete(w.model, k)
		}
	}
}

// ---- the node's data directory ----

var tortureTables = []string{"ks1/t1-0a1b2c3d", "ks1/t2-4e5f6071", "ks_ü/u-8293a4b5"}

func (n *tortureNode) write(tb tortureTB, rel string, data []byte) {
	p := filepath.Join(n.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatalf("%v", err)
	}
	if err := os.WriteFile(p, data, 0o640); err != nil {
		tb.Fatalf("%v", err)
	}
	n.files[rel] = data
}

func (n *tortureNode) remove(tb tortureTB, rel string) {
	if err := os.Remove(filepath.Join(n.dir, filepath.FromSlash(rel))); err != nil {
		tb.Fatalf("%v", err)
	}
	delete(n.files, rel)
}

// sstables returns the Data.db files of the node, sorted.
func (n *tortureNode) sstables() []string {
	var out []string
	for rel := range n.files {
		if strings.HasSuffix(rel, "-Data.db") {
			out = append(out, rel)
		}
	}
	sort.Strings(out)
	return out
}

// flushSSTable writes SSTable generation gen of table, its Data.db holding
// data, on the given nodes (several: replicas holding the same file). Every
// other TOC is the same small file, stored once; the others are small
// files of their own, which land in packs beside other SSTables' blobs.
func flushSSTable(tb tortureTB, nodes []*tortureNode, table string, gen int, data []byte) {
	base := fmt.Sprintf("%s/nb-%d-big-", table, gen)
	toc := "Data.db\nTOC.txt\n"
	if gen%2 == 1 {
		toc += fmt.Sprintf("# generation %d\n", gen)
	}
	for _, n := range nodes {
		n.write(tb, base+"Data.db", data)
		n.write(tb, base+"TOC.txt", []byte(toc))
	}
}

// compactAway removes the SSTable whose Data.db is data.
func (n *tortureNode) compactAway(tb tortureTB, data string) {
	base := strings.TrimSuffix(data, "Data.db")
	for rel := range n.files {
		if strings.HasPrefix(rel, base) {
			n.remove(tb, rel)
		}
	}
}

// drawContent draws a Data.db: empty, one chunk, a few chunks, enough to
// fill packs, compressible, or an existing file of the node grown (sharing
// most of its chunks).
func drawContent(t *rapid.T, n *tortureNode) []byte {
	kind := rapid.IntRange(0, 5).Draw(t, "kind")
	rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 7))
	switch kind {
	case 0:
		return nil
	case 1:
		return randomBytes(rng, rapid.IntRange(1, 300).Draw(t, "small"))
	case 2:
		return randomBytes(rng, rapid.IntRange(1<<10, 24<<10).Draw(t, "medium"))
	case 3:
		return randomBytes(rng, rapid.IntRange(24<<10, 80<<10).Draw(t, "large"))
	case 4:
		return bytes.Repeat([]byte("row,"), rapid.IntRange(1, 8000).Draw(t, "rows"))
	}
	ss := n.sstables()
	if len(ss) == 0 {
		return randomBytes(rng, 100)
	}
	old := n.files[rapid.SampledFrom(ss).Draw(t, "grow")]
	out := append([]byte(nil), old[:min(len(old), 60<<10)]...)
	return append(out, randomBytes(rng, rapid.IntRange(1, 8<<10).Draw(t, "growth"))...)
}

func (w *tortureWorld) pickNode(t *rapid.T) *tortureNode {
	return w.nodes[rapid.IntRange(0, len(w.nodes)-1).Draw(t, "node")]
}

// pickEngine returns a node's engine: a purge, GC or restore may run on
// any machine.
func (w *tortureWorld) pickEngine(t *rapid.T) *Engine {
	return w.pickNode(t).e
}

// ---- actions ----

// churn is a node's life between two backups: compaction replaces some
// SSTables (maybe by their merge), memtables flush new ones, some of them
// on a second node too (replicas holding the same file).
func (w *tortureWorld) churn(t *rapid.T, n *tortureNode) {
	var merged []byte
	dropped := 0
	for _, rel := range n.sstables() {
		if rapid.Bool().Draw(t, "compact") {
			merged = append(merged, n.files[rel]...)
			n.compactAway(t, rel)
			dropped++
		}
	}
	if dropped > 0 && rapid.Bool().Draw(t, "merge") {
		w.gen++
		flushSSTable(t, []*tortureNode{n}, rapid.SampledFrom(tortureTables).Draw(t, "table"), w.gen, merged[:min(len(merged), 120<<10)])
	}
	flushed := rapid.IntRange(1, 2).Draw(t, "flush")
	for i := 0; i < flushed; i++ {
		w.gen++
		on := []*tortureNode{n}
		if rapid.IntRange(0, 3).Draw(t, "replica") == 0 {
			if other := w.pickNode(t); other != n {
				on = append(on, other)
			}
		}
		flushSSTable(t, on, rapid.SampledFrom(tortureTables).Draw(t, "table"), w.gen, drawContent(t, n))
	}
	t.Logf("churn %s: %d SSTables compacted away, %d flushed", n.name, dropped, flushed)
}

// actBackup backs up every node under one name, or one node, or none.
func (w *tortureWorld) actBackup(t *rapid.T) {
	var nodes []*tortureNode
	switch rapid.SampledFrom([]string{"all", "one", "none"}).Draw(t, "backup") {
	case "all":
		nodes = w.nodes
	case "one":
		nodes = []*tortureNode{w.pickNode(t)}
	default:
		return
	}
	typ := TypeDifferential
	if rapid.IntRange(0, 4).Draw(t, "full") == 0 {
		typ = TypeFull
	}
	workers := rapid.IntRange(1, 3).Draw(t, "workers")
	w.seq++
	name := fmt.Sprintf("b%d", w.seq)
	for _, n := range nodes {
		_, err := n.e.Backup(w.ctx, BackupOptions{Name: name, Node: n.name, Type: typ, DataDirs: []string{n.dir}, Workers: workers})
		if err != nil {
			if !w.tolerate(err) {
				t.Fatalf("backup %s of %s: %v", name, n.name, err)
			}
			t.Logf("backup %s %s (%s) failed: %v", name, n.name, typ, err)
			continue
		}
		w.model[nbKey{name, n.name}] = maps.Clone(n.files)
		t.Logf("backup %s %s (%s): %d files", name, n.name, typ, len(n.files))
	}
}

// actPurge applies a random retention, on one node or all, with or
// without GC.
func (w *tortureWorld) actPurge(t *rapid.T) {
	o := PurgeOptions{
		MaxCount: rapid.SampledFrom([]int{1, 2, 0, 3}).Draw(t, "maxCount"),
		MaxAge:   rapid.SampledFrom([]time.Duration{0, 12 * time.Minute, 0, 40 * time.Minute}).Draw(t, "maxAge"),
		GC:       rapid.Bool().Draw(t, "gc"),
	}
	if rapid.Bool().Draw(t, "oneNode") {
		o.Node = w.pickNode(t).name
	}
	o.DryRun = rapid.IntRange(0, 5).Draw(t, "dryRun") == 0
	e := w.pickEngine(t)
	before := w.objects(t)
	defer func() {
		after := w.objects(t)
		if o.DryRun && !maps.Equal(before, after) {
			t.Fatalf("purge --dry-run %+v changed the repository", o)
		}
		w.changed = removed(before, after)
	}()
	var want map[nbKey]bool
	if !w.faults {
		list, err := e.listNodeBackups(w.ctx, "")
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		want = expectedPurge(list, e.now(), o)
	}
	res, err := e.Purge(w.ctx, o)
	if err != nil {
		if !w.tolerate(err) {
			t.Fatalf("purge %+v: %v", o, err)
		}
		t.Logf("purge %+v failed: %v", o, err)
		if res != nil && !o.DryRun {
			planned := map[nbKey]bool{}
			for _, r := range res.Deleted {
				planned[nbKey{r.Name, r.Node}] = true
			}
			w.doubt(func(k nbKey) bool { return planned[k] })
		}
		return
	}
	got := map[nbKey]bool{}
	for _, r := range res.Deleted {
		got[nbKey{r.Name, r.Node}] = true
	}
	t.Logf("purge %+v deleted %v", o, w.keysOf(got))
	if want != nil && !maps.Equal(got, want) {
		t.Fatalf("purge %+v deleted %v, retention says %v", o, got, want)
	}
	if o.DryRun {
		return
	}
	w.forget(res.Deleted)
}

// removed reports whether an object of before is not in after.
func removed(before, after map[providers.Key]time.Time) bool {
	for k := range before {
		if _, ok := after[k]; !ok {
			return true
		}
	}
	return false
}

// expectedPurge applies the retention rules of docs/format.md to a listing:
// per node, newest first, complete backups stay up to MaxCount and while
// younger than MaxAge, the newest complete one always stays; incomplete
// ones go once older than the grace period. It returns nil when two
// backups of a node started at the same instant (their order is open).
func expectedPurge(list []*nodeBackupObjects, now time.Time, o PurgeOptions) map[nbKey]bool {
	byNode := map[string][]*nodeBackupObjects{}
	for _, nb := range list {
		if o.Node == "" || nb.Node == o.Node {
			byNode[nb.Node] = append(byNode[nb.Node], nb)
		}
	}
	out := map[nbKey]bool{}
	for _, l := range byNode {
		sort.Slice(l, func(i, j int) bool { return l[i].Started.After(l[j].Started) })
		for i := 1; i < len(l); i++ {
			if l[i].Started.Equal(l[i-1].Started) {
				return nil
			}
		}
		rank := 0
		for _, nb := range l {
			age := now.Sub(nb.Started)
			k := nbKey{nb.Name, nb.Node}
			if !nb.Complete {
				if age > o.Grace {
					out[k] = true
				}
				continue
			}
			rank++
			if rank > 1 && ((o.MaxCount > 0 && rank > o.MaxCount) || (o.MaxAge > 0 && age > o.MaxAge)) {
				out[k] = true
			}
		}
	}
	return out
}

// actGC collects garbage with a random repack threshold.
func (w *tortureWorld) actGC(t *rapid.T) {
	o := GCOptions{
		RepackBelow: drawRepackBelow(t),
		Grace:       rapid.SampledFrom([]time.Duration{0, 0, 7 * time.Minute}).Draw(t, "grace"),
		DryRun:      rapid.IntRange(0, 5).Draw(t, "dryRun") == 0,
	}
	e := w.pickEngine(t)
	before := w.objects(t)
	res, err := e.GC(w.ctx, o)
	// Whatever happened: a dry run changes nothing, and no pack younger
	// than the grace period goes.
	after := w.objects(t)
	if o.DryRun && !maps.Equal(before, after) {
		t.Fatalf("gc --dry-run %+v changed the repository", o)
	}
	w.changed = removed(before, after)
	for k, mt := range before {
		if _, ok := after[k]; !ok && strings.HasPrefix(string(k), chunkstore.PackPrefix) && e.now().Sub(mt) < o.Grace {
			t.Fatalf("gc %+v deleted %s, younger than the grace period (%s)", o, k, e.now().Sub(mt))
		}
	}
	if err != nil {
		if !w.tolerate(err) {
			t.Fatalf("gc: %v", err)
		}
		t.Logf("gc failed: %v", err)
		return
	}
	t.Logf("gc %+v: %d packs, %d deleted, %d repacked", o, res.PacksTotal, res.PacksDeleted, res.PacksRepacked)
}

// actDelete deletes a node backup, or every node's part of a backup.
func (w *tortureWorld) actDelete(t *rapid.T) {
	keys := append(w.keys(w.model), w.keys(w.maybe)...)
	if len(keys) == 0 {
		return
	}
	k := rapid.SampledFrom(keys).Draw(t, "victim")
	node := k.node
	if rapid.Bool().Draw(t, "allNodes") {
		node = ""
	}
	refs, err := w.pickEngine(t).Delete(w.ctx, k.name, node)
	if err != nil {
		// A backup of the model is there: not finding it is never a fault.
		_, sure := w.model[k]
		if errors.Is(err, ErrBackupNotFound) && sure || !errors.Is(err, ErrBackupNotFound) && !w.tolerate(err) {
			t.Fatalf("delete %s node %q: %v", k.name, node, err)
		}
		t.Logf("delete %s node %q failed: %v", k.name, node, err)
		w.doubt(func(d nbKey) bool { return d.name == k.name && (node == "" || d.node == node) })
		return
	}
	t.Logf("delete %s node %q: %d node backups", k.name, node, len(refs))
	w.forget(refs)
	w.changed = true
}

// actRestore restores a backup of the model and compares it.
func (w *tortureWorld) actRestore(t *rapid.T) {
	keys := w.keys(w.model)
	if len(keys) == 0 {
		return
	}
	k := rapid.SampledFrom(keys).Draw(t, "restore")
	err := w.restore(w.pickEngine(t), k, w.model[k])
	if err != nil && !w.tolerate(err) {
		t.Fatalf("%v", err)
	}
	t.Logf("restore %s: %v", k, err)
}

// restore restores k into a fresh folder and compares it with want; a
// restore that reports success must be exact, whatever the faults.
func (w *tortureWorld) restore(e *Engine, k nbKey, want map[string][]byte) error {
	target, err := os.MkdirTemp(w.root, "restore-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(target)
	if _, err := e.Restore(w.ctx, RestoreOptions{Name: k.name, Node: k.node, Target: target}); err != nil {
		return fmt.Errorf("restore %s: %w", k, err)
	}
	got, err := readFiles(target)
	if err != nil {
		return err
	}
	if err := diffFiles(want, got); err != nil {
		return fmt.Errorf("%w: restore %s reported success but %v", errWrongRestore, k, err)
	}
	return nil
}

// errWrongRestore marks a restore that succeeded with the wrong files:
// never tolerated, whatever the faults.
var errWrongRestore = errors.New("wrong restore")

func readFiles(root string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	return out, err
}

func diffFiles(want, got map[string][]byte) error {
	for rel, b := range want {
		g, ok := got[rel]
		if !ok {
			return fmt.Errorf("%s is missing", rel)
		}
		if !bytes.Equal(g, b) {
			return fmt.Errorf("%s differs (%d bytes, want %d)", rel, len(g), len(b))
		}
	}
	for rel := range got {
		if _, ok := want[rel]; !ok {
			return fmt.Errorf("extra file %s", rel)
		}
	}
	return nil
}

// actFaultsOn installs a few random fault rules.
func (w *tortureWorld) actFaultsOn(t *rapid.T) {
	for i := rapid.IntRange(1, 3).Draw(t, "rules"); i > 0; i-- {
		r := drawRule(t)
		w.fs.AddRule(r)
		t.Logf("fault rule %+v", r)
	}
	w.faults = true
}

func (w *tortureWorld) actFaultsOff(t *rapid.T) {
	w.fs.ClearRules()
	w.faults = false
	t.Logf("faults cleared")
}

func drawRule(t *rapid.T) faulty.Rule {
	ops := []faulty.Op{"", faulty.OpPut, faulty.OpGet, faulty.OpList, faulty.OpStat, faulty.OpDelete, faulty.OpDeleteMany}
	r := faulty.Rule{
		Op:        rapid.SampledFrom(ops).Draw(t, "op"),
		KeyPrefix: rapid.SampledFrom([]string{"", chunkstore.PackPrefix, chunkstore.IndexPrefix, backupsPrefix, locksPrefix, summariesPrefix}).Draw(t, "prefix"),
	}
	actions := []faulty.Action{faulty.Fail, faulty.FailAfter, faulty.Delay}
	switch r.Op {
	case faulty.OpPut:
		actions = append(actions, faulty.FailPayload)
	case faulty.OpGet:
		actions = append(actions, faulty.Truncate, faulty.Corrupt)
	case faulty.OpList:
		actions = append(actions, faulty.Truncate)
	}
	r.Action = rapid.SampledFrom(actions).Draw(t, "action")
	switch rapid.IntRange(0, 2).Draw(t, "when") {
	case 0:
		r.Nth = rapid.IntRange(1, 6).Draw(t, "nth")
	case 1:
		r.Every = rapid.IntRange(1, 4).Draw(t, "every")
		r.Times = rapid.IntRange(1, 4).Draw(t, "times")
	default:
		r.After = rapid.IntRange(0, 6).Draw(t, "after")
		r.Times = rapid.IntRange(1, 3).Draw(t, "times")
	}
	if r.Action == faulty.Delay || rapid.IntRange(0, 3).Draw(t, "slow") == 0 {
		r.Delay = time.Duration(rapid.IntRange(1, 4).Draw(t, "delayMs")) * time.Millisecond
	}
	switch r.Action {
	case faulty.FailPayload, faulty.Truncate, faulty.Corrupt:
		r.Bytes = int64(rapid.IntRange(0, 5000).Draw(t, "bytes"))
	}
	if r.Action == faulty.Truncate && r.Op == faulty.OpGet && rapid.IntRange(0, 3).Draw(t, "silent") == 0 {
		r.Err = io.EOF // a short read the backend does not report
	}
	return r
}

// ---- invariants ----

// checkListed: every backup of the model is listed as complete.
func (w *tortureWorld) checkListed(tb tortureTB, e *Engine) {
	tb.Helper()
	list, err := e.ListBackups(w.ctx)
	if err != nil {
		if w.tolerate(err) {
			return
		}
		tb.Fatalf("list: %v", err)
	}
	complete := map[nbKey]bool{}
	for _, nb := range list {
		if nb.Complete {
			complete[nbKey{nb.Name, nb.Node}] = true
		}
	}
	for k := range w.model {
		if !complete[k] {
			tb.Fatalf("backup %s succeeded and was not deleted, but it is not listed as complete", k)
		}
	}
}

// checkRestores restores every backup of the model (and those of maybe
// that are still listed). With onDisk false a backup is read back through
// the repository instead (manifest, content lists, chunks, each verified):
// the same data path without the cost of writing files.
func (w *tortureWorld) checkRestores(tb tortureTB, e *Engine, onDisk bool) {
	tb.Helper()
	list, err := e.ListBackups(w.ctx)
	if err != nil {
		tb.Fatalf("list: %v", err)
	}
	complete := map[nbKey]bool{}
	for _, nb := range list {
		complete[nbKey{nb.Name, nb.Node}] = nb.Complete
	}
	restore := w.restore
	if !onDisk {
		restore = w.readBack
	}
	for _, k := range w.keys(w.model) {
		if err := restore(e, k, w.model[k]); err != nil {
			tb.Fatalf("backup %s succeeded and was not deleted: %v", k, err)
		}
	}
	for _, k := range w.keys(w.maybe) {
		if !complete[k] {
			continue // deleted by the failed purge or delete: allowed
		}
		if err := restore(e, k, w.maybe[k]); err != nil {
			tb.Fatalf("backup %s is listed as complete after a failed deletion, but: %v", k, err)
		}
	}
}

// readBack reads backup k's files through the repository and compares them
// with want.
func (w *tortureWorld) readBack(e *Engine, k nbKey, want map[string][]byte) error {
	ctx := w.ctx
	if _, err := e.Repo.SyncIndex(ctx); err != nil {
		return err
	}
	var files []FileEntry
	if _, err := e.ReadManifest(ctx, k.name, k.node, func(f *FileEntry) error {
		files = append(files, *f)
		return nil
	}); err != nil {
		return fmt.Errorf("read back %s: %w", k, err)
	}
	got := map[string][]byte{}
	for _, f := range files {
		var b []byte
		err := e.Repo.ChunkIDs(ctx, f.Content, func(id index.ID) error {
			plain, err := e.Repo.LoadBlob(ctx, id, nil)
			b = append(b, plain...)
			return err
		})
		if err != nil {
			return fmt.Errorf("read back %s file %s: %w", k, f.Path, err)
		}
		got[f.Path] = b
	}
	if err := diffFiles(want, got); err != nil {
		return fmt.Errorf("%w: backup %s reads back wrong: %v", errWrongRestore, k, err)
	}
	return nil
}

// checkpoint clears the faults and checks everything: two garbage
// collections (repacking below the given threshold) leave no pack without
// a referenced blob and the second finds nothing to do, the index is
// consistent, every backup of the model is listed and restores exactly,
// and verify --read-data finds nothing.
func (w *tortureWorld) checkpoint(tb tortureTB, repackBelow float64) {
	tb.Helper()
	ctx := w.ctx
	var locks []providers.Key
	if err := w.base.List(ctx, locksPrefix, func(oi providers.ObjectInfo) error { locks = append(locks, oi.Key); return nil }); err != nil {
		tb.Fatalf("list locks: %v", err)
	}
	if w.fs != nil {
		// Locks leaked by faults (a lost response to a lock write, a failed
		// release) would go stale by themselves; nothing runs now.
		w.fs.ClearRules()
		w.faults = false
		if err := w.base.DeleteMany(ctx, locks); err != nil {
			tb.Fatalf("remove leaked locks: %v", err)
		}
	} else if len(locks) > 0 {
		tb.Fatalf("locks left behind by finished operations: %v", locks)
	}
	e := w.checker
	var gcs [2]*GCResult
	for i := range gcs {
		res, err := e.GC(ctx, GCOptions{RepackBelow: repackBelow})
		if err != nil {
			tb.Fatalf("gc %d: %v", i+1, err)
		}
		gcs[i] = res
	}
	if g := gcs[1]; g.PacksDeleted != 0 || g.PacksRepacked != 0 || g.PacksKeptGrace != 0 {
		tb.Fatalf("a second GC still found work: %+v (first: %+v)", *g, *gcs[0])
	}
	w.checkListed(tb, e)
	w.checkPacks(tb, e)
	w.checkIndex(tb, e)
	w.checkRestores(tb, e, true)
	vr, err := e.Verify(ctx, VerifyOptions{ReadData: true})
	if err != nil {
		tb.Fatalf("verify: %v", err)
	}
	if len(vr.Problems) > 0 {
		tb.Fatalf("verify --read-data: %s", strings.Join(vr.Problems, "\n"))
	}
}

// checkPacks: every pack in storage holds a blob that a manifest
// references (where the index places it).
func (w *tortureWorld) checkPacks(tb tortureTB, e *Engine) {
	tb.Helper()
	ctx := w.ctx
	if _, err := e.Repo.SyncIndex(ctx); err != nil {
		tb.Fatalf("sync: %v", err)
	}
	list, err := e.ListBackups(ctx)
	if err != nil {
		tb.Fatalf("list: %v", err)
	}
	live := map[index.ID]bool{}
	use := func(nb NodeBackup, f *FileEntry, id index.ID) error {
		ent, err := e.Repo.Lookup(id)
		if err != nil {
			return fmt.Errorf("backup %s node %s file %s: %w", nb.Name, nb.Node, f.Path, err)
		}
		live[ent.Pack] = true
		return nil
	}
	for _, nb := range list {
		if !nb.Complete {
			continue
		}
		_, err := e.ReadManifest(ctx, nb.Name, nb.Node, func(f *FileEntry) error {
			for _, l := range f.Lists {
				if err := use(nb, f, l); err != nil {
					return err
				}
			}
			return e.Repo.ChunkIDs(ctx, f.Content, func(id index.ID) error { return use(nb, f, id) })
		})
		if err != nil {
			tb.Fatalf("read manifest: %v", err)
		}
	}
	err = w.base.List(ctx, chunkstore.PackPrefix, func(oi providers.ObjectInfo) error {
		id, ok := packID(oi.Key)
		if !ok {
			return fmt.Errorf("foreign object %s", oi.Key)
		}
		if !live[id] {
			return fmt.Errorf("pack %s survived two garbage collections without a referenced blob", oi.Key)
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("%v", err)
	}
}

// checkIndex: the index names only packs that exist, and every content
// list it holds has its chunks indexed too (a backup that finds a list
// takes the file as stored).
func (w *tortureWorld) checkIndex(tb tortureTB, e *Engine) {
	tb.Helper()
	ctx := w.ctx
	if _, err := e.Repo.SyncIndex(ctx); err != nil {
		tb.Fatalf("sync: %v", err)
	}
	exists := map[index.ID]bool{}
	if err := w.base.List(ctx, chunkstore.PackPrefix, func(oi providers.ObjectInfo) error {
		if id, ok := packID(oi.Key); ok {
			exists[id] = true
		}
		return nil
	}); err != nil {
		tb.Fatalf("list packs: %v", err)
	}
	cache := e.Repo.Cache()
	if err := cache.ForEachPack(func(p index.PackInfo) error {
		if !exists[p.ID] {
			return fmt.Errorf("the index names pack %s, which is not in storage", p.ID)
		}
		return nil
	}); err != nil {
		tb.Fatalf("%v", err)
	}
	var lists []index.Entry
	if err := cache.ForEachBlob(func(ent index.Entry) error {
		if !exists[ent.Pack] {
			return fmt.Errorf("the index places blob %s in pack %s, which is not in storage", ent.ID, ent.Pack)
		}
		if ent.Type == index.MetaBlob {
			lists = append(lists, ent)
		}
		return nil
	}); err != nil {
		tb.Fatalf("%v", err)
	}
	for _, l := range lists {
		err := e.Repo.ChunkIDs(ctx, chunkstore.Content{Lists: []index.ID{l.ID}}, func(id index.ID) error {
			if ok, err := cache.Has(id); err != nil || !ok {
				return fmt.Errorf("the index holds content list %s but not its chunk %s (%v)", l.ID, id, err)
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("%v", err)
		}
	}
}

// ---- the state machines ----

type tortureAction struct {
	name   string
	weight int
	fn     func(*tortureWorld, *rapid.T)
}

// tortureActions are the maintenance operations a day may end with.
var tortureActions = []tortureAction{
	{"purge", 3, (*tortureWorld).actPurge},
	{"gc", 2, (*tortureWorld).actGC},
	{"delete", 1, (*tortureWorld).actDelete},
	{"restore", 1, (*tortureWorld).actRestore},
}

// tortureFaultActions switch faults on and off between two operations (a
// day starts by switching them too); a checkpoint clears them and checks
// everything half-way.
var tortureFaultActions = []tortureAction{
	{"faultsOn", 1, (*tortureWorld).actFaultsOn},
	{"faultsOff", 1, (*tortureWorld).actFaultsOff},
	{"check", 1, func(w *tortureWorld, t *rapid.T) { w.checkpoint(t, drawRepackBelow(t)) }},
}

// run plays a few days: every node may change (compaction, flushes), then
// all nodes, one or none back up, then one or two maintenance operations
// run. After an operation that deleted something, every backup of the
// model must be listed and restore exactly; a full checkpoint ends the run.
func (w *tortureWorld) run(t *rapid.T, actions []tortureAction, maxDays int) {
	var names []string
	byName := map[string]func(*tortureWorld, *rapid.T){}
	for _, a := range actions {
		for i := 0; i < a.weight; i++ {
			names = append(names, a.name)
		}
		byName[a.name] = a.fn
	}
	days := rapid.IntRange(2, maxDays).Draw(t, "days")
	for day := 0; day < days; day++ {
		w.clock.advance(tortureStep)
		if w.fs != nil {
			switch rapid.SampledFrom([]string{"on", "keep", "off"}).Draw(t, "faults") {
			case "on":
				w.actFaultsOn(t)
			case "off":
				w.actFaultsOff(t)
			}
		}
		for _, n := range w.nodes {
			if day == 0 || rapid.Bool().Draw(t, "churn") {
				w.churn(t, n)
			}
		}
		w.actBackup(t)
		for ops := rapid.IntRange(1, 2).Draw(t, "ops"); ops > 0; ops-- {
			w.clock.advance(time.Minute)
			name := rapid.SampledFrom(names).Draw(t, "op")
			w.changed = false
			byName[name](w, t)
			if w.changed && !w.faults {
				w.checkListed(t, w.checker)
				w.checkRestores(t, w.checker, false)
			}
		}
	}
	w.clock.advance(tortureStep)
	w.checkpoint(t, drawRepackBelow(t))
}

// drawRepackBelow draws a GC repack threshold: the default, never, or
// some fraction (1: every pack with a dead blob).
func drawRepackBelow(t *rapid.T) float64 {
	return rapid.SampledFrom([]float64{0, -1, 0.3, 0.9, 1}).Draw(t, "repackBelow")
}

// tortureStorage makes a run's storage in root: the base storage, and the
// fault injector on it (nil for none).
type tortureStorage func(root string, clock *tortureClock) (providers.Storage, *faulty.Storage, error)

func memStorage(root string, clock *tortureClock) (providers.Storage, *faulty.Storage, error) {
	return mem.New(mem.Options{ListPageSize: 5, Now: clock.Now}), nil, nil
}

func localStorage(root string, clock *tortureClock) (providers.Storage, *faulty.Storage, error) {
	st, err := local.Create(context.Background(), filepath.Join(root, "repo"), local.Options{})
	return st, nil, err
}

func faultyMemStorage(root string, clock *tortureClock) (providers.Storage, *faulty.Storage, error) {
	base := mem.New(mem.Options{ListPageSize: 5, Now: clock.Now})
	return base, faulty.New(base), nil
}

// tortureDays deepens the state machines beyond what a CI run affords:
// go test -run Torture -rapid.checks=1000 -torture.days=8 ./engine/
var tortureDays = flag.Int("torture.days", 0, "torture tests: play up to this many days per check (default: a few)")

// tortureRun runs the state machine on fresh storage per check, with 2 to
// maxNodes nodes and 2 to maxDays days.
func tortureRun(t *testing.T, mk tortureStorage, actions []tortureAction, maxNodes, maxDays int) {
	maxDays = max(maxDays, *tortureDays)
	rapid.Check(t, func(rt *rapid.T) {
		root := t.TempDir()
		// Ahead of the real clock, so that no object of local storage is
		// ever younger than a grace period of 0.
		clock := &tortureClock{now: time.Now().Add(time.Minute).UTC().Truncate(time.Second)}
		base, fs, err := mk(root, clock)
		if err != nil {
			rt.Fatalf("storage: %v", err)
		}
		w := newTortureWorld(rt, root, base, fs, clock, rapid.IntRange(2, maxNodes).Draw(rt, "nodes"))
		defer w.close()
		w.run(rt, actions, maxDays)
	})
}

// TestTortureStateMachine interleaves the operations of 2-3 nodes, over mem
// and over local storage.
func TestTortureStateMachine(t *testing.T) {
	t.Run("mem", func(t *testing.T) { tortureRun(t, memStorage, tortureActions, 3, 3) })
	t.Run("local", func(t *testing.T) { tortureRun(t, localStorage, tortureActions, 2, 2) })
}

// TestTortureFaulty is the state machine over mem behind fault injection
// that rapid switches on and off: operations may fail, but no backup that
// succeeded is ever lost or damaged, and a restore that succeeds is exact.
func TestTortureFaulty(t *testing.T) {
	tortureRun(t, faultyMemStorage, append(slices.Clone(tortureActions), tortureFaultActions...), 2, 3)
}

// TestTortureConcurrent runs three nodes backing up round after round
// while one goroutine purges (retention 1-2, GC on, grace 0) and deletes,
// another collects garbage, and a third restores, all at once and with
// caches of their own. Backups and collections may be refused with
// ErrLocked (no one waits long), restores may fail while a collection moves
// their chunks; nothing else may fail. Afterwards every backup that
// succeeded and was not deleted restores byte for byte, two collections
// leave nothing unreferenced, and verify --read-data is clean: a purge
// running beside backups never loses one.
func TestTortureConcurrent(t *testing.T) {
	t.Run("mem", func(t *testing.T) {
		tortureConcurrent(t, func(string) (providers.Storage, error) {
			return mem.New(mem.Options{ListPageSize: 5}), nil
		})
	})
	t.Run("local", func(t *testing.T) {
		tortureConcurrent(t, func(root string) (providers.Storage, error) {
			return local.Create(context.Background(), filepath.Join(root, "repo"), local.Options{})
		})
	})
}

func tortureConcurrent(t *testing.T, mk func(root string) (providers.Storage, error)) {
	const rounds = 6
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root := t.TempDir()
	st, err := mk(root)
	if err != nil {
		t.Fatal(err)
	}
	w := newTortureWorld(t, root, st, nil, nil, 3)
	w.ctx = ctx
	defer w.close()
	w.nodes[0].e.Locks.Wait = 1500 * time.Millisecond // one node waits for the sweep, once
	purger, collector, restorer := w.engine(t), w.engine(t), w.engine(t)

	var (
		mu        sync.Mutex
		succeeded = map[nbKey]map[string][]byte{}
		deleted   = map[nbKey]bool{}
		counts    = map[string]int{}
		errs      []error
	)
	count := func(what string) {
		mu.Lock()
		counts[what]++
		mu.Unlock()
	}
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	forget := func(refs []NodeBackupRef) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range refs {
			if r.Complete {
				deleted[nbKey{r.Name, r.Node}] = true
			}
		}
	}
	// live returns the backups that succeeded and were not deleted, sorted.
	live := func() []nbKey {
		mu.Lock()
		defer mu.Unlock()
		var out []nbKey
		for k := range succeeded {
			if !deleted[k] {
				out = append(out, k)
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
		return out
	}

	// Rounds end together: between two, every node pauses a little, so
	// the sweep finds its windows beside the races at every round's start.
	var nodes sync.WaitGroup
	roundEnds := make([]sync.WaitGroup, rounds)
	for r := range roundEnds {
		roundEnds[r].Add(len(w.nodes))
	}
	for i, n := range w.nodes {
		nodes.Add(1)
		go func() {
			defer nodes.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 11))
			round := 0
			defer func() { // a node that fails leaves no one waiting
				for ; round < rounds; round++ {
					roundEnds[round].Done()
				}
			}()
			for ; round < rounds; round++ {
				if round > 0 {
					roundEnds[round-1].Wait()
					time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
				}
				concurrentChurn(goTB{t, fail}, n, rng, i, round)
				name := fmt.Sprintf("r%d", round)
				_, err := n.e.Backup(ctx, BackupOptions{Name: name, Node: n.name, DataDirs: []string{n.dir}, Workers: 2})
				switch {
				case err == nil:
					mu.Lock()
					succeeded[nbKey{name, n.name}] = maps.Clone(n.files)
					mu.Unlock()
					count("backup")
				case errors.Is(err, ErrLocked):
					count("backup locked out")
				case localPutDeleteRace(err):
					count("backup failed (local put/delete race)")
				default:
					fail(fmt.Errorf("backup %s of %s: %w", name, n.name, err))
					return
				}
				roundEnds[round].Done()
			}
		}()
	}
	stop := make(chan struct{})
	var others sync.WaitGroup
	loop := func(seed uint64, fn func(rng *rand.Rand)) {
		others.Add(1)
		go func() {
			defer others.Done()
			rng := rand.New(rand.NewPCG(seed, 12))
			for {
				select {
				case <-stop:
					return
				default:
				}
				fn(rng)
				time.Sleep(time.Duration(10+rng.IntN(30)) * time.Millisecond)
			}
		}()
	}
	loop(1, func(rng *rand.Rand) { // retention and deletes
		if rng.IntN(4) == 0 {
			if l := live(); len(l) > 0 {
				k := l[rng.IntN(len(l))]
				refs, err := purger.Delete(ctx, k.name, k.node)
				forget(refs)
				switch {
				case err == nil:
					count("delete")
				case errors.Is(err, ErrBackupNotFound): // purged meanwhile
				case localPutDeleteRace(err):
					// Failed on the summary, after the node backup went.
					forget([]NodeBackupRef{{Name: k.name, Node: k.node, Complete: true}})
					count("delete failed (local put/delete race)")
				default:
					fail(fmt.Errorf("delete %s: %w", k, err))
				}
			}
			return
		}
		o := PurgeOptions{MaxCount: 1 + rng.IntN(2), GC: true}
		if rng.IntN(3) == 0 {
			o.Node = w.nodes[rng.IntN(len(w.nodes))].name
		}
		res, err := purger.Purge(ctx, o)
		if res != nil {
			forget(res.Deleted)
		}
		switch {
		case err == nil:
			count("purge with gc")
		case errors.Is(err, ErrLocked):
			count("purge, gc locked out")
		case localPutDeleteRace(err):
			count("purge failed (local put/delete race)")
		default:
			fail(fmt.Errorf("purge %+v: %w", o, err))
		}
	})
	loop(2, func(rng *rand.Rand) { // garbage collection
		_, err := collector.GC(ctx, GCOptions{RepackBelow: []float64{0, -1, 0.9, 1}[rng.IntN(4)]})
		switch {
		case err == nil:
			count("gc")
		case errors.Is(err, ErrLocked):
			count("gc locked out")
		default:
			fail(fmt.Errorf("gc: %w", err))
		}
	})
	loop(3, func(rng *rand.Rand) { // restores
		l := live()
		if len(l) == 0 {
			return
		}
		k := l[rng.IntN(len(l))]
		mu.Lock()
		want := succeeded[k]
		mu.Unlock()
		err := w.restore(restorer, k, want)
		switch {
		case err == nil:
			count("restore")
		case errors.Is(err, ErrBackupNotFound) || (errors.Is(err, providers.ErrNotFound) && !errors.Is(err, errWrongRestore)):
			// Deleted meanwhile, or a collection moved a chunk or an index
			// segment from under it: restores take no lock.
			count("restore failed (concurrent gc or delete)")
		default:
			fail(err)
		}
	})
	nodes.Wait()
	close(stop)
	others.Wait()
	t.Logf("%v", counts)
	if len(errs) > 0 {
		t.Fatalf("%d operations failed: %v", len(errs), errors.Join(errs...))
	}
	if counts["backup"] == 0 || counts["gc"]+counts["purge with gc"] == 0 {
		t.Fatalf("nothing to check: %v", counts)
	}
	for _, k := range live() {
		w.model[k] = succeeded[k]
	}
	w.checkpoint(t, 0)
}

// goTB is the tortureTB of a goroutine other than the test's: Fatalf
// records the failure and ends the goroutine.
type goTB struct {
	t    *testing.T
	fail func(error)
}

func (g goTB) Helper()                         {}
func (g goTB) Logf(format string, args ...any) { g.t.Logf(format, args...) }
func (g goTB) Fatalf(format string, args ...any) {
	g.fail(fmt.Errorf(format, args...))
	runtime.Goexit()
}

// localPutDeleteRace recognises a failure of providers/local: a Put whose
// file is renamed into place, deleted at once by a concurrent Delete of the
// same key (which also removes the folder it emptied), and whose folder
// fsync then fails with "no such file or directory". The Put did happen
// (then the Delete); reporting it as failed is the backend's bug, not a
// loss of data. Here: a backup's summaries/<name> write racing a delete of
// the last other node backup of that name.
func localPutDeleteRace(err error) bool {
	return err != nil && errors.Is(err, providers.ErrNotFound) && strings.Contains(err.Error(), ": sync folder: ")
}

// concurrentChurn changes node i's data before round: compaction away of
// some SSTables, one new SSTable of its own, and one that every node holds
// (a replica: the same file on all of them).
func concurrentChurn(tb tortureTB, n *tortureNode, rng *rand.Rand, i, round int) {
	for _, rel := range n.sstables() {
		if rng.IntN(3) == 0 {
			n.compactAway(tb, rel)
		}
	}
	own := randomBytes(rand.New(rand.NewPCG(uint64(i), uint64(round))), 1+rng.IntN(70<<10))
	flushSSTable(tb, []*tortureNode{n}, tortureTables[rng.IntN(len(tortureTables))], 1000*i+round, own)
	if round%2 == 0 {
		shared := randomBytes(rand.New(rand.NewPCG(99, uint64(round))), 20<<10+round*1000)
		flushSSTable(tb, []*tortureNode{n}, tortureTables[0], 100000+round, shared)
	}
}

// TestTortureDeadContentList is the smallest case the state machine found:
// a file's content list lands in a pack beside another node's live data,
// its first chunks in a pack of their own. Once no backup references the
// file, GC deletes the chunks' pack and keeps the list's; the list must
// leave the index with its chunks, or the next differential backup of the
// unchanged file (a file cache hit, confirmed by the list alone) records
// content that is gone.
func TestTortureDeadContentList(t *testing.T) {
	ctx := context.Background()
	st := mem.New(mem.Options{})
	e1, e2 := testEngine(t, st), testEngine(t, st)
	rng := rand.New(rand.NewPCG(1, 2))
	shared := randomBytes(rng, 150<<10)
	d1, d2 := t.TempDir(), t.TempDir()
	// One worker: a-, b-, c-Data.db go into packs in this order, and b's
	// chunks straddle the first 128 KiB pack.
	writeTree(t, d1, []treeFile{
		{"ks/t-01/a-Data.db", randomBytes(rng, 100<<10)},
		{"ks/t-01/b-Data.db", randomBytes(rng, 40<<10)},
		{"ks/t-01/c-Data.db", shared},
	})
	writeTree(t, d2, []treeFile{{"ks/t-01/c-Data.db", shared}})
	for _, b := range []struct {
		e          *Engine
		node, data string
	}{{e1, "n1", d1}, {e2, "n2", d2}} {
		if _, err := b.e.Backup(ctx, BackupOptions{Name: "b1", Node: b.node, DataDirs: []string{b.data}, Workers: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e1.Delete(ctx, "b1", "n1"); err != nil {
		t.Fatal(err)
	}
	gc, err := e1.GC(ctx, GCOptions{RepackBelow: -1})
	if err != nil {
		t.Fatal(err)
	}
	if gc.PacksDeleted == 0 || gc.PacksDeleted == gc.PacksTotal {
		t.Fatalf("the layout this test needs did not happen: %+v", gc)
	}
	if _, err := e1.Backup(ctx, BackupOptions{Name: "b2", Node: "n1", DataDirs: []string{d1}, Workers: 1}); err != nil {
		t.Fatal(err)
	}
	vr, err := e1.Verify(ctx, VerifyOptions{ReadData: true})
	if err != nil || len(vr.Problems) > 0 {
		t.Fatalf("verify after a backup that trusted a dead content list: %v %v", vr.Problems, err)
	}
	target := filepath.Join(t.TempDir(), "r")
	if _, err := e1.Restore(ctx, RestoreOptions{Name: "b2", Node: "n1", Target: target}); err != nil {
		t.Fatal(err)
	}
	compareTrees(t, d1, target)
}

// TestTortureGCLeavesLivePacks: a pack whose blobs are all live is never
// repacked, however small they are next to its header and trailer (the
// state machine found every GC rewriting such a pack, forever).
func TestTortureGCLeavesLivePacks(t *testing.T) {
	ctx := context.Background()
	e := testEngine(t, mem.New(mem.Options{}))
	data := t.TempDir()
	writeTree(t, data, []treeFile{{"ks/t-01/nb-1-big-TOC.txt", []byte("Data.db\n")}, {"ks/t-01/nb-1-big-Data.db", []byte("row")}})
	if _, err := e.Backup(ctx, BackupOptions{Name: "b1", Node: "n1", DataDirs: []string{data}}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		gc, err := e.GC(ctx, GCOptions{RepackBelow: 1})
		if err != nil || gc.PacksRepacked+gc.PacksDeleted != 0 || gc.BytesFreed != 0 {
			t.Fatalf("gc %d of a repository without garbage: %+v %v", i+1, gc, err)
		}
	}
}

// TestTortureStaleLockNotRevived: a backup whose lock could not be
// refreshed for longer than the stale timeout (a paused VM, a partitioned
// network) may have had its lock removed and the chunks it deduplicated
// against collected. When its refreshes get through again they must not
// bring the lock back to life: the backup has to fail its last check
// instead of writing a manifest that names collected chunks.
func TestTortureStaleLockNotRevived(t *testing.T) {
	ctx := context.Background()
	fs := faulty.New(mem.New(mem.Options{}))
	e, gc := testEngine(t, fs), testEngine(t, fs)
	locks := LockOptions{StaleAfter: 300 * time.Millisecond, Wait: -1}
	e.Locks, gc.Locks = locks, locks
	rng := rand.New(rand.NewPCG(3, 4))
	data := t.TempDir()
	writeTree(t, data, []treeFile{{"ks/t-01/nb-1-big-Data.db", randomBytes(rng, 60<<10)}})
	if _, err := e.Backup(ctx, BackupOptions{Name: "b1", Node: "n1", DataDirs: []string{data}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Delete(ctx, "b1", "n1"); err != nil {
		t.Fatal(err)
	}
	// b2 finds nb-1 in its file cache (chunks of b1, garbage now) and
	// uploads nb-2, slowly; its lock refreshes fail meanwhile.
	writeTree(t, data, []treeFile{{"ks/t-01/nb-2-big-Data.db", randomBytes(rng, 10<<10)}})
	fs.ResetCalls()
	fs.AddRule(faulty.Rule{Op: faulty.OpPut, KeyPrefix: chunkstore.PackPrefix, Action: faulty.Delay, Delay: 1500 * time.Millisecond, Times: 1})
	fs.AddRule(faulty.Rule{Op: faulty.OpPut, KeyPrefix: locksPrefix + LockShared, After: 1})
	done := make(chan error, 1)
	go func() {
		_, err := e.Backup(ctx, BackupOptions{Name: "b2", Node: "n1", DataDirs: []string{data}})
		done <- err
	}()
	// Once b2 is uploading (under its lock, its index synced), another
	// machine finds the lock stale, removes it and collects b1.
	deadline := time.Now().Add(2 * time.Second)
	for fs.Count(faulty.OpPut, chunkstore.PackPrefix) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("backup b2 never uploaded a pack")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for {
		res, err := gc.GC(ctx, GCOptions{})
		if err == nil {
			if res.PacksDeleted == 0 {
				t.Fatalf("the collection this test needs did not happen: %+v", res)
			}
			break
		}
		if !errors.Is(err, ErrLocked) || time.Now().After(deadline) {
			t.Fatalf("gc: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The network heals while b2's upload is still on its way.
	fs.ClearRules()
	err := <-done
	if err == nil {
		vr, verr := e.Verify(ctx, VerifyOptions{ReadData: true})
		if verr != nil || len(vr.Problems) > 0 {
			t.Fatalf("backup b2 succeeded after its lock went stale and was collected under it: %v %v", vr.Problems, verr)
		}
		return
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("backup b2: %v; want ErrLocked (its lock went stale)", err)
	}
}

// TestTortureLockReadErrorIsNotStale: a lock that cannot be read because
// the connection broke (a transient, truncated read) is not a stale lock:
// the sweep must fail, not remove a running backup's lock and collect
// under it.
func TestTortureLockReadErrorIsNotStale(t *testing.T) {
	ctx := context.Background()
	fs := faulty.New(mem.New(mem.Options{}))
	e, gc := testEngine(t, fs), testEngine(t, fs)
	held, err := e.AcquireLock(ctx, LockShared, "backup b1", LockOptions{Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	for _, r := range []faulty.Rule{
		{Op: faulty.OpGet, KeyPrefix: locksPrefix + LockShared, Action: faulty.Truncate, Bytes: 20},
		{Op: faulty.OpGet, KeyPrefix: locksPrefix + LockShared, Action: faulty.Truncate, Bytes: 0, Err: fmt.Errorf("connection reset: %w", io.EOF)},
	} {
		fs.ClearRules()
		fs.AddRule(r)
		if _, err := gc.GC(ctx, GCOptions{}); err == nil {
			t.Errorf("gc succeeded although a live backup lock could not be read (%+v)", r)
		}
		fs.ClearRules()
		if err := held.Check(ctx); err != nil {
			t.Fatalf("the backup's lock after a sweep failed to read it (%+v): %v", r, err)
		}
	}
}

// TestTortureRemovedLockStaysLost: once someone removed a live lock (as
// stale, wrongly or not), its holder's next refresh must not put it back
// and pass the last check.
func TestTortureRemovedLockStaysLost(t *testing.T) {
	ctx := context.Background()
	st := mem.New(mem.Options{})
	e := testEngine(t, st)
	l, err := e.AcquireLock(ctx, LockShared, "backup b1", LockOptions{StaleAfter: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if err := st.Delete(ctx, l.info.Key); err != nil {
		t.Fatal(err)
	}
	time.Sleep(250 * time.Millisecond) // two refreshes
	if err := l.Check(ctx); !errors.Is(err, ErrLocked) {
		t.Fatalf("check of a lock removed by someone else: %v", err)
	}
}
