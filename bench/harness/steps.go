package harness

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/dustin/go-humanize"

	"github.com/cassette-backup/cassette/providers"
)

// Dataset shapes. The incompressible dataset has 80 SSTables; the mixed one
// has twice the tables, so that compacting a fraction of them moves the
// churn in small steps (about 5% of the bytes at -churn 0.1).
const (
	bigKeyspaces  = 4
	bigTables     = 5
	bigSSTables   = 4
	churnTables   = 10
	baselineFsync = "baseline+fsync"
)

// throughput: first full backup and restore of incompressible data at each
// concurrency, cassette and baseline on fresh prefixes.
func (b *bench) throughput(ctx context.Context) error {
	dir, err := b.tpData(ctx)
	if err != nil {
		return err
	}
	bytes := b.t.tpBytes
	rep := ""
	if b.cfg.Repeat > 1 {
		rep = fmt.Sprintf(" Every run is repeated %d times (backups on fresh prefixes); the row is the run with the median wall time.", b.cfg.Repeat)
	}
	backup := Step{Title: "First full backup, incompressible data, by concurrentTransfers",
		About: "Each run on a fresh prefix (and a fresh cassette cache). Baseline: every file as its own object (Medusa full mode)." + rep}
	restore := Step{Title: "Restore of that backup, incompressible data, by concurrentTransfers",
		About: fmt.Sprintf("The c=%d backup, restored at each concurrentTransfers into an empty folder with a fresh cassette cache, then compared byte for byte with the source (not timed). cassette verifies every chunk and file, and flushes the target file system at the end (syncfs); the baseline only downloads.", b.cfg.Default) + rep}
	backup.Chart, restore.Chart = map[string]ChartRef{}, map[string]ChartRef{}
	for _, c := range b.cfg.Concurrency {
		run := fmt.Sprintf("c=%d", c)
		backup.Chart[run] = ChartRef{Group: "first backup, incompressible, " + run}
		restore.Chart[run] = ChartRef{Group: "restore, incompressible, " + run}
		row, err := b.repeat(func(i int) (Row, error) {
			cr := b.repo(repPrefix(fmt.Sprintf("tp-c%d-cassette", c), i), c)
			if err := b.cassetteInit(ctx, cr); err != nil {
				return Row{}, err
			}
			defer b.dropRepetition(ctx, cr, i)
			return b.cassette(ctx, run, cr, dir, "n1", b.cache(repPrefix(fmt.Sprintf("tp-c%d", c), i)), bytes, "backup", "--name", "full1")
		})
		if err != nil {
			return err
		}
		backup.Rows, b.t.fullTP[c] = append(backup.Rows, row), row
		row, err = b.repeat(func(i int) (Row, error) {
			br := b.repo(repPrefix(fmt.Sprintf("tp-c%d-baseline", c), i), c)
			defer b.dropRepetition(ctx, br, i)
			return b.baseline(ctx, run, "baseline-backup", br, bytes, "-node", "n1", "-backup", "full1", "-mode", ModeFull, "-data-dir", dir), nil
		})
		if err != nil {
			return err
		}
		backup.Rows, b.t.fullTPBase[c] = append(backup.Rows, row), row
		if c != b.cfg.Default {
			// Only the default concurrency's backups are read again.
			b.dropPrefix(ctx, b.repo(fmt.Sprintf("tp-c%d-cassette", c), c))
			b.dropPrefix(ctx, b.repo(fmt.Sprintf("tp-c%d-baseline", c), c))
		}
	}
	// Every restore reads the backup made at the default concurrency, so a
	// failed backup at another concurrency does not hide its restore.
	d := b.cfg.Default
	for _, c := range b.cfg.Concurrency {
		run := fmt.Sprintf("c=%d", c)
		cr, br := b.repo(fmt.Sprintf("tp-c%d-cassette", d), c), b.repo(fmt.Sprintf("tp-c%d-baseline", d), c)
		dst := filepath.Join(b.work, "restore", "tp-cassette")
		row := Row{Tool: ToolCassette, Run: run, Skipped: fmt.Sprintf("the c=%d backup failed", d)}
		if b.t.fullTP[d].OK() {
			if row, err = b.repeat(func(i int) (Row, error) {
				return b.restoreAndCompare(dir, dst, func() (Row, error) {
					return b.cassette(ctx, run, cr, dir, "n1", b.cache(repPrefix(fmt.Sprintf("tp-restore-c%d", c), i)), bytes, "restore", "--name", "full1", "--node", "n1", "--target", dst)
				})
			}); err != nil {
				return err
			}
		}
		restore.Rows, b.t.restoreTP[c] = append(restore.Rows, row), row
		dst = filepath.Join(b.work, "restore", "tp-baseline")
		row = Row{Tool: ToolBaseline, Run: run, Skipped: fmt.Sprintf("the c=%d backup failed", d)}
		if b.t.fullTPBase[d].OK() {
			if row, err = b.repeat(func(int) (Row, error) {
				return b.restoreAndCompare(dir, dst, func() (Row, error) {
					return b.baseline(ctx, run, "baseline-restore", br, bytes, "-node", "n1", "-backup", "full1", "-target", dst), nil
				})
			}); err != nil {
				return err
			}
		}
		restore.Rows, b.t.restoreTPBase[c] = append(restore.Rows, row), row
		if c == d && row.OK() {
			row, err = b.baselineFsyncRestore(ctx, run, br, dir, bytes, "full1")
			if err != nil {
				return err
			}
			restore.Rows = append(restore.Rows, row)
		}
	}
	b.rep.Steps = append(b.rep.Steps, backup, restore)
	return nil
}

// repPrefix names the prefix (or cache) of repetition i: the first run
// keeps the plain name, which later steps read.
func repPrefix(name string, i int) string {
	if i == 0 {
		return name
	}
	return fmt.Sprintf("%s-r%d", name, i)
}

// dropRepetition deletes what repetition i > 0 wrote under repo's prefix
// (straight to MinIO, not through the counting proxy), so that repeated
// backups of a large dataset do not fill the disk.
func (b *bench) dropRepetition(ctx context.Context, repo Repo, i int) {
	if i > 0 {
		b.dropPrefix(ctx, repo)
	}
}

// dropPrefix deletes everything under repo's prefix, straight to MinIO.
func (b *bench) dropPrefix(ctx context.Context, repo Repo) {
	repo.Port = b.minio.Port
	st, err := repo.Open(ctx)
	if err != nil {
		b.logf("drop %s: %v", repo.Prefix, err)
		return
	}
	defer st.Close(ctx)
	var keys []providers.Key
	err = st.List(ctx, "", func(oi providers.ObjectInfo) error {
		keys = append(keys, oi.Key)
		return nil
	})
	for _, k := range keys {
		if err == nil {
			err = st.Delete(ctx, k)
		}
	}
	if err != nil {
		b.logf("drop %s: %v", repo.Prefix, err)
	}
}

// pair runs cassette and the baseline on one step and returns both rows.
type pair func(ctx context.Context) (Row, Row, error)

// churn: a node's life on mixed data: first backup, differential after a
// day of compaction, unchanged, restore of the latest, and a replica.
func (b *bench) churn(ctx context.Context) error {
	c := b.cfg.Default
	dir := filepath.Join(b.work, "churn", "n1")
	before, err := b.generate(ctx, "mixed", dir, b.cfg.Seed+1, bigKeyspaces, churnTables, bigSSTables,
		dataSize(b.cfg.ChurnSize, bigKeyspaces*churnTables*bigSSTables), 0.5)
	if err != nil {
		return err
	}
	run := fmt.Sprintf("c=%d", c)
	cr, br := b.repo("churn-cassette", c), b.repo("churn-baseline", c)
	if err := b.cassetteInit(ctx, cr); err != nil {
		return err
	}
	cache := b.cache("churn-n1")
	bytes := TotalBytes(before)
	b.t.churnRepo, b.t.churnBaseRepo, b.t.churnDir = cr, br, dir
	backup := func(name, node, data, cache string) pair {
		return func(ctx context.Context) (Row, Row, error) {
			r, err := b.cassette(ctx, run, cr, data, node, cache, bytes, "backup", "--name", name, "--node", node)
			rb := b.baseline(ctx, run, "baseline-backup", br, bytes, "-node", node, "-backup", name, "-mode", ModeDifferential, "-data-dir", data)
			return r, rb, err
		}
	}
	charts := map[string]ChartRef{
		"First backup of a node, mixed data":           {Group: "first backup, mixed"},
		"Differential backup after a day of churn":     {Group: "differential after a day of churn", Time: true},
		"Backup of an unchanged node, mixed data":      {Group: "unchanged node, mixed", Time: true},
		"Restore of the latest backup, mixed data":     {Group: "restore, mixed"},
		"Second replica node into the same repository": {Group: "second replica's backup, mixed"},
	}
	step := func(title, about string, fn pair) (Row, Row, error) {
		r, rb, err := fn(ctx)
		s := Step{Title: title, About: about, Rows: []Row{r, rb}}
		if ref, ok := charts[title]; ok {
			s.Chart = map[string]ChartRef{run: ref}
		}
		b.rep.Steps = append(b.rep.Steps, s)
		return r, rb, err
	}
	b.t.churnFull, _, err = step("First backup of a node, mixed data",
		"cassette's first backup; the baseline in Medusa's differential mode (the first one uploads every file).",
		backup("day1", "n1", dir, cache))
	if err != nil {
		return err
	}
	if _, err := b.datagen(ctx, "compact", dir, "--seed", strconv.FormatUint(b.cfg.Seed+2, 10), "--fraction", strconv.FormatFloat(b.cfg.Churn, 'f', -1, 64)); err != nil {
		return err
	}
	after, err := WalkNode(dir)
	if err != nil {
		return err
	}
	nf := NewFiles(before, after)
	b.t.newFiles, b.t.newBytes = len(nf), TotalBytes(nf)
	bytes = TotalBytes(after)
	about := fmt.Sprintf("After `datagen compact --fraction %g`: %d new files, %s new (%.1f%% of the node's %s). Medusa's differential mode uploads the files whose name and size are not in the bucket yet.",
		b.cfg.Churn, len(nf), humanize.IBytes(uint64(b.t.newBytes)), 100*float64(b.t.newBytes)/float64(bytes), humanize.IBytes(uint64(bytes)))
	if b.t.diff, b.t.diffBase, err = step("Differential backup after a day of churn", about, backup("day2", "n1", dir, cache)); err != nil {
		return err
	}
	if b.t.unchanged, _, err = step("Backup of an unchanged node, mixed data", "", backup("day3", "n1", dir, cache)); err != nil {
		return err
	}
	b.t.restoreChurn, b.t.restoreBase, err = step("Restore of the latest backup, mixed data",
		"day3 of node n1 into an empty folder (fresh cassette cache), compared byte for byte with the node afterwards."+b.repeatNote(),
		func(ctx context.Context) (Row, Row, error) {
			dst := filepath.Join(b.work, "restore", "churn-cassette")
			r, err := b.repeat(func(i int) (Row, error) {
				return b.restoreAndCompare(dir, dst, func() (Row, error) {
					return b.cassette(ctx, run, cr, dir, "n1", b.cache(repPrefix("churn-restore", i)), bytes, "restore", "--name", "day3", "--node", "n1", "--target", dst)
				})
			})
			if err != nil {
				return r, Row{}, err
			}
			bdst := filepath.Join(b.work, "restore", "churn-baseline")
			rb, err := b.repeat(func(int) (Row, error) {
				return b.restoreAndCompare(dir, bdst, func() (Row, error) {
					return b.baseline(ctx, run, "baseline-restore", br, bytes, "-node", "n1", "-backup", "day3", "-target", bdst), nil
				})
			})
			return r, rb, err
		})
	if err != nil {
		return err
	}
	if b.t.restoreBase.OK() {
		rf, err := b.baselineFsyncRestore(ctx, run, br, dir, bytes, "day3")
		if err != nil {
			return err
		}
		s := &b.rep.Steps[len(b.rep.Steps)-1]
		s.Rows = append(s.Rows, rf)
	}
	return b.replicaStep(ctx, step, backup, dir)
}

// replicaStep backs up a copy of node n1's data as node n2.
func (b *bench) replicaStep(ctx context.Context, step func(string, string, pair) (Row, Row, error), backup func(name, node, data, cache string) pair, dir string) error {
	n2 := filepath.Join(b.work, "churn", "n2")
	if err := CopyTree(dir, n2); err != nil {
		return err
	}
	defer os.RemoveAll(n2)
	var err error
	b.t.replica, b.t.replicaBase, err = step("Second replica node into the same repository",
		"Node n2 holds a copy of n1's data (the extreme of RF=3 replicas sharing rows) and backs up with its own, empty cache. Medusa stores every node's files under the node's own folder.",
		backup("day3", "n2", n2, b.cache("churn-n2")))
	return err
}

// manyFiles: the unchanged-node target is stated for 10,000 files.
func (b *bench) manyFiles(ctx context.Context) error {
	if b.cfg.Files <= 0 {
		return nil
	}
	const ks, tables = 10, 25
	sst := max(1, b.cfg.Files/(ks*tables*8))
	dir := filepath.Join(b.work, "files", "n1")
	files, err := b.generate(ctx, "many files", dir, b.cfg.Seed+3, ks, tables, sst, 8<<10, 1.0)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b.t.filesCount = len(files)
	bytes := TotalBytes(files)
	c := b.cfg.Default
	cr, br := b.repo("files-cassette", c), b.repo("files-baseline", c)
	if err := b.cassetteInit(ctx, cr); err != nil {
		return err
	}
	s := Step{Title: fmt.Sprintf("Many small files (%d files): first backup and unchanged backup", len(files)),
		About: "Small SSTables (Data.db about 8 KiB), the shape of a node with many tables. Baseline in differential mode.",
		Chart: map[string]ChartRef{"first": {Group: fmt.Sprintf("first backup, %d small files", len(files)), Time: true},
			"unchanged": {Group: fmt.Sprintf("unchanged node, %d small files", len(files)), Time: true}}}
	cache := b.cache("files-n1")
	for _, name := range []string{"first", "unchanged"} {
		r, err := b.cassette(ctx, name, cr, dir, "n1", cache, bytes, "backup", "--name", name)
		if err != nil {
			return err
		}
		rb := b.baseline(ctx, name, "baseline-backup", br, bytes, "-node", "n1", "-backup", name, "-mode", ModeDifferential, "-data-dir", dir)
		s.Rows = append(s.Rows, r, rb)
		if name == "unchanged" {
			b.t.filesUnchanged = r
		}
	}
	b.rep.Steps = append(b.rep.Steps, s)
	return nil
}

// local: the incompressible dataset to the local provider.
func (b *bench) local(ctx context.Context) error {
	if !b.cfg.Local {
		return nil
	}
	dir, err := b.tpData(ctx)
	if err != nil {
		return err
	}
	bytes := b.t.tpBytes
	c := b.cfg.Default
	base := filepath.Join(b.work, "local")
	cr := Repo{Provider: "local", BasePath: base, Bucket: "bench", Prefix: "cassette", Concurrency: c}
	br := Repo{Provider: "local", BasePath: base, Bucket: "bench", Prefix: "baseline", Concurrency: c}
	defer os.RemoveAll(base)
	if err := b.cassetteInit(ctx, cr); err != nil {
		return err
	}
	s := Step{Title: "Local provider, incompressible data: full backup and restore",
		About: fmt.Sprintf("storageProvider local on the same disk, concurrentTransfers %d. Baseline: one file per file (full mode), then a copy of every file back.", c) + b.repeatNote(),
		Chart: map[string]ChartRef{"backup": {Group: "local provider: first backup"}, "restore": {Group: "local provider: restore"}}}
	r, err := b.cassette(ctx, "backup", cr, dir, "n1", b.cache("local-n1"), bytes, "backup", "--name", "full1")
	if err != nil {
		return err
	}
	rb := b.baseline(ctx, "backup", "baseline-backup", br, bytes, "-node", "n1", "-backup", "full1", "-mode", ModeFull, "-data-dir", dir)
	s.Rows = append(s.Rows, r, rb)
	dst := filepath.Join(b.work, "restore", "local-cassette")
	if r, err = b.repeat(func(i int) (Row, error) {
		return b.restoreAndCompare(dir, dst, func() (Row, error) {
			return b.cassette(ctx, "restore", cr, dir, "n1", b.cache(repPrefix("local-restore", i)), bytes, "restore", "--name", "full1", "--node", "n1", "--target", dst)
		})
	}); err != nil {
		return err
	}
	bdst := filepath.Join(b.work, "restore", "local-baseline")
	if rb, err = b.repeat(func(int) (Row, error) {
		return b.restoreAndCompare(dir, bdst, func() (Row, error) {
			return b.baseline(ctx, "restore", "baseline-restore", br, bytes, "-node", "n1", "-backup", "full1", "-target", bdst), nil
		})
	}); err != nil {
		return err
	}
	s.Rows = append(s.Rows, r, rb)
	b.rep.Steps = append(b.rep.Steps, s)
	return nil
}

// baselineFsyncRestore is the baseline's restore with an fsync per file, as
// cassette does: it shows what durability costs on this disk.
func (b *bench) baselineFsyncRestore(ctx context.Context, run string, br Repo, src string, bytes int64, backup string) (Row, error) {
	dst := filepath.Join(b.work, "restore", "fsync-baseline")
	row, err := b.restoreAndCompare(src, dst, func() (Row, error) {
		return b.baseline(ctx, run, "baseline-restore", br, bytes, "-node", "n1", "-backup", backup, "-target", dst, "-fsync"), nil
	})
	row.Tool = baselineFsync
	return row, err
}

// repeatNote tells a step's reader that its restores are medians.
func (b *bench) repeatNote() string {
	if b.cfg.Repeat <= 1 {
		return ""
	}
	return fmt.Sprintf(" Restores run %d times each; the row is the run with the median wall time.", b.cfg.Repeat)
}

// purge: after the churn step n1 has three backups (day1, day2, day3);
// both tools keep the newest and delete the other two with what only they
// use. cassette runs its garbage collection with no grace period.
func (b *bench) purge(ctx context.Context) error {
	s := Step{Title: "Purge of old backups, mixed data",
		About: "Node n1 keeps its newest backup (day3) of three. cassette: `purge --node n1 --max-backup-count 1 --max-backup-age 0 --grace-days 0` (retention, then garbage collection: dead packs deleted in batches, mostly dead ones repacked). Baseline: Medusa's purge of differential backups, one DELETE per object no kept manifest names. At scale (3,000 node backups, 100,000 packs): bench/PURGE-RESULTS.md (`make bench-purge`).",
		Chart: map[string]ChartRef{"keep 1 of 3": {Group: "purge 2 of 3 backups", Time: true}}}
	defer func() { b.rep.Steps = append(b.rep.Steps, s) }()
	if b.t.churnDir == "" || !b.t.unchanged.OK() {
		s.Rows = []Row{{Tool: ToolCassette, Run: "keep 1 of 3", Skipped: "the churn step did not run or failed"}}
		return nil
	}
	run := "keep 1 of 3"
	var err error
	b.t.purge, err = b.cassette(ctx, run, b.t.churnRepo, b.t.churnDir, "n1", b.cache("churn-n1"), 0,
		"purge", "--node", "n1", "--max-backup-count", "1", "--max-backup-age", "0", "--grace-days", "0")
	if err != nil {
		return err
	}
	b.t.purgeBase = b.baseline(ctx, run, "baseline-purge", b.t.churnBaseRepo, 0, "-node", "n1", "-keep", "1")
	s.Rows = []Row{b.t.purge, b.t.purgeBase}
	if !b.t.purge.OK() {
		return nil
	}
	// What is left must still restore byte for byte.
	dst := filepath.Join(b.work, "restore", "after-purge")
	r, err := b.restoreAndCompare(b.t.churnDir, dst, func() (Row, error) {
		return b.cassette(ctx, "restore after purge", b.t.churnRepo, b.t.churnDir, "n1", b.cache("purge-restore"), 0,
			"restore", "--name", "day3", "--node", "n1", "--target", dst)
	})
	if err != nil {
		return err
	}
	if !r.OK() {
		b.t.purge.Failed = "the kept backup no longer restores: " + cmp.Or(r.Failed, r.Skipped)
		s.Rows[0] = b.t.purge
	}
	return nil
}
