package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/dustin/go-humanize"
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
	dir := filepath.Join(b.work, "tp", "n1")
	files, err := b.generate(ctx, "incompressible", dir, b.cfg.Seed, bigKeyspaces, bigTables, bigSSTables,
		dataSize(b.cfg.Size, bigKeyspaces*bigTables*bigSSTables), 1.0)
	if err != nil {
		return err
	}
	bytes := TotalBytes(files)
	b.t.tpBytes = bytes
	backup := Step{Title: "First full backup, incompressible data, by concurrentTransfers",
		About: "Each run on a fresh prefix (and a fresh cassette cache). Baseline: every file as its own object (Medusa full mode)."}
	restore := Step{Title: "Restore of that backup, incompressible data, by concurrentTransfers",
		About: fmt.Sprintf("The c=%d backup, restored at each concurrentTransfers into an empty folder with a fresh cassette cache, then compared byte for byte with the source (not timed). cassette verifies every chunk and file and fsyncs; the baseline only downloads.", b.cfg.Default)}
	for _, c := range b.cfg.Concurrency {
		run := fmt.Sprintf("c=%d", c)
		cr, br := b.repo(fmt.Sprintf("tp-c%d-cassette", c), c), b.repo(fmt.Sprintf("tp-c%d-baseline", c), c)
		if err := b.cassetteInit(ctx, cr); err != nil {
			return err
		}
		row, err := b.cassette(ctx, run, cr, dir, "n1", b.cache(fmt.Sprintf("tp-c%d", c)), bytes, "backup", "--name", "full1")
		if err != nil {
			return err
		}
		backup.Rows, b.t.fullTP[c] = append(backup.Rows, row), row
		row = b.baseline(ctx, run, "baseline-backup", br, bytes, "-node", "n1", "-backup", "full1", "-mode", ModeFull, "-data-dir", dir)
		backup.Rows, b.t.fullTPBase[c] = append(backup.Rows, row), row
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
			if row, err = b.restoreAndCompare(dir, dst, func() (Row, error) {
				return b.cassette(ctx, run, cr, dir, "n1", b.cache(fmt.Sprintf("tp-restore-c%d", c)), bytes, "restore", "--name", "full1", "--node", "n1", "--target", dst)
			}); err != nil {
				return err
			}
		}
		restore.Rows, b.t.restoreTP[c] = append(restore.Rows, row), row
		dst = filepath.Join(b.work, "restore", "tp-baseline")
		row = Row{Tool: ToolBaseline, Run: run, Skipped: fmt.Sprintf("the c=%d backup failed", d)}
		if b.t.fullTPBase[d].OK() {
			if row, err = b.restoreAndCompare(dir, dst, func() (Row, error) {
				return b.baseline(ctx, run, "baseline-restore", br, bytes, "-node", "n1", "-backup", "full1", "-target", dst), nil
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
	backup := func(name, node, data, cache string) pair {
		return func(ctx context.Context) (Row, Row, error) {
			r, err := b.cassette(ctx, run, cr, data, node, cache, bytes, "backup", "--name", name, "--node", node)
			rb := b.baseline(ctx, run, "baseline-backup", br, bytes, "-node", node, "-backup", name, "-mode", ModeDifferential, "-data-dir", data)
			return r, rb, err
		}
	}
	step := func(title, about string, fn pair) (Row, Row, error) {
		r, rb, err := fn(ctx)
		b.rep.Steps = append(b.rep.Steps, Step{Title: title, About: about, Rows: []Row{r, rb}})
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
		"day3 of node n1 into an empty folder (fresh cassette cache), compared byte for byte with the node afterwards.",
		func(ctx context.Context) (Row, Row, error) {
			dst := filepath.Join(b.work, "restore", "churn-cassette")
			r, err := b.restoreAndCompare(dir, dst, func() (Row, error) {
				return b.cassette(ctx, run, cr, dir, "n1", b.cache("churn-restore"), bytes, "restore", "--name", "day3", "--node", "n1", "--target", dst)
			})
			if err != nil {
				return r, Row{}, err
			}
			dst = filepath.Join(b.work, "restore", "churn-baseline")
			rb, err := b.restoreAndCompare(dir, dst, func() (Row, error) {
				return b.baseline(ctx, run, "baseline-restore", br, bytes, "-node", "n1", "-backup", "day3", "-target", dst), nil
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
		About: "Small SSTables (Data.db about 8 KiB), the shape of a node with many tables. Baseline in differential mode."}
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
	dir := filepath.Join(b.work, "tp", "n1")
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
		About: fmt.Sprintf("storageProvider local on the same disk, concurrentTransfers %d. Baseline: one file per file (full mode), then a copy of every file back.", c)}
	r, err := b.cassette(ctx, "backup", cr, dir, "n1", b.cache("local-n1"), bytes, "backup", "--name", "full1")
	if err != nil {
		return err
	}
	rb := b.baseline(ctx, "backup", "baseline-backup", br, bytes, "-node", "n1", "-backup", "full1", "-mode", ModeFull, "-data-dir", dir)
	s.Rows = append(s.Rows, r, rb)
	dst := filepath.Join(b.work, "restore", "local-cassette")
	if r, err = b.restoreAndCompare(dir, dst, func() (Row, error) {
		return b.cassette(ctx, "restore", cr, dir, "n1", b.cache("local-restore"), bytes, "restore", "--name", "full1", "--node", "n1", "--target", dst)
	}); err != nil {
		return err
	}
	dst = filepath.Join(b.work, "restore", "local-baseline")
	if rb, err = b.restoreAndCompare(dir, dst, func() (Row, error) {
		return b.baseline(ctx, "restore", "baseline-restore", br, bytes, "-node", "n1", "-backup", "full1", "-target", dst), nil
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
