package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/cassette-backup/cassette/providers/s3"
)

// Config is one bench run.
type Config struct {
	Cassette string // cassette binary
	Datagen  string // datagen binary
	MinIO    string // MinIO binary; "" is the cached one
	WorkDir  string // parent of the run's temporary folder
	Keep     bool   // keep the temporary folder

	Size        int64   // incompressible dataset (throughput sweep)
	ChurnSize   int64   // mixed dataset (churn, differential, replica)
	Files       int     // files of the many-small-files dataset; 0 skips it
	Churn       float64 // datagen compact --fraction
	Concurrency []int   // concurrentTransfers of the sweep
	Default     int     // concurrentTransfers of every other step
	Seed        uint64
	PackSize    int64 // cassette's pack size (cassette init's default)

	// Repeat runs every throughput-sweep backup (each on a fresh prefix)
	// and every restore this many times and reports the run with the
	// median wall time: the machine is shared, and one run is noise.
	Repeat int
	// Steps names the steps to run (StepNames); empty runs them all.
	Steps []string

	StepTimeout time.Duration
	Stall       time.Duration // kill a remote run when nothing moves for this long
	Local       bool          // also the local provider
	Peers       bool          // restic and kopia when on PATH or installed
	// InstallPeers builds restic and kopia with the go command into
	// PeersDir when they are neither on PATH nor there yet.
	InstallPeers bool
	PeersDir     string // default: <repo>/.cache/peers/bin
	Command      string
}

// StepNames are the steps of the bench in the order they run.
var StepNames = []string{"throughput", "churn", "files", "local", "peers", "purge"}

func (c Config) runs(step string) bool {
	if len(c.Steps) == 0 {
		return true
	}
	for _, s := range c.Steps {
		if s == step {
			return true
		}
	}
	return false
}

// DefaultConfig is the quick run: about five minutes on two cores.
func DefaultConfig() Config {
	return Config{
		Cassette: "bin/cassette", Datagen: "bin/datagen",
		Size: 512 << 20, ChurnSize: 512 << 20, Files: 10000, Churn: 0.1,
		Concurrency: []int{1, 4, 8}, Default: 4, Seed: 42, PackSize: 32 << 20, Repeat: 3,
		StepTimeout: 5 * time.Minute, Stall: 20 * time.Second, Local: true, Peers: true,
	}
}

type bench struct {
	cfg   Config
	work  string
	self  string
	minio *MinIO
	proxy *Proxy
	run   *Runner
	log   io.Writer
	rep   Report
	t     results
}

// results are the rows the targets are judged on.
type results struct {
	fullTP, fullTPBase        map[int]Row
	restoreTP, restoreTPBase  map[int]Row
	churnFull, churnFullBase  Row
	diff, diffBase            Row
	unchanged                 Row
	filesUnchanged            Row
	filesCount                int
	replica, replicaBase      Row
	restoreChurn, restoreBase Row
	newFiles                  int
	newBytes, tpBytes         int64
	restic                    Row
	peerRows                  []Row
	purge, purgeBase          Row
	churnRepo, churnBaseRepo  Repo   // the mixed dataset's repositories
	churnDir                  string // and its node data
	cassetteRows              []Row
	tpDir                     string // the incompressible dataset, once generated
}

// Run runs the whole bench and returns the report. Progress goes to log.
func Run(ctx context.Context, cfg Config, log io.Writer) (*Report, error) {
	start := time.Now()
	b := &bench{cfg: cfg, log: log}
	b.t.fullTP, b.t.fullTPBase = map[int]Row{}, map[int]Row{}
	b.t.restoreTP, b.t.restoreTPBase = map[int]Row{}, map[int]Row{}
	b.rep.Machine = DescribeMachine()
	b.rep.Command = cfg.Command
	var err error
	for _, p := range []*string{&b.cfg.Cassette, &b.cfg.Datagen} {
		if *p, err = filepath.Abs(*p); err != nil {
			return nil, err
		}
		if _, err := os.Stat(*p); err != nil {
			return nil, fmt.Errorf("%w (run make build first)", err)
		}
	}
	if b.self, err = os.Executable(); err != nil {
		return nil, err
	}
	if b.work, err = os.MkdirTemp(cfg.WorkDir, "cassette-bench-"); err != nil {
		return nil, err
	}
	if !cfg.Keep {
		defer os.RemoveAll(b.work)
	}
	b.logf("work folder %s", b.work)
	if b.minio, err = StartMinIO(ctx, cfg.MinIO, b.work, "bench"); err != nil {
		return nil, fmt.Errorf("start MinIO: %w", err)
	}
	defer b.minio.Stop()
	b.proxy = NewProxy(&url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(b.minio.Port)})
	if err := b.proxy.Start(); err != nil {
		return nil, err
	}
	defer b.proxy.Close()
	b.logf("MinIO on 127.0.0.1:%d, counting proxy on %s", b.minio.Port, b.proxy.Addr())
	if err := os.MkdirAll(filepath.Join(b.work, "logs"), 0o755); err != nil {
		return nil, err
	}
	b.run = &Runner{Self: b.self, LogDir: filepath.Join(b.work, "logs"), StepTimeout: cfg.StepTimeout}
	if cfg.Keep {
		b.logf("logs in %s", b.run.LogDir)
	}
	steps := map[string]func(context.Context) error{"throughput": b.throughput, "churn": b.churn, "files": b.manyFiles, "local": b.local, "peers": b.peers, "purge": b.purge}
	for _, name := range StepNames {
		fn := steps[name]
		if fn == nil || !cfg.runs(name) {
			continue
		}
		if err := fn(ctx); err != nil {
			return nil, fmt.Errorf("step %s: %w", name, err)
		}
	}
	b.rep.Targets = b.targets()
	b.rep.Notes = append(b.rep.Notes, b.notes()...)
	b.rep.Machine.LoadEnd = LoadAvg()
	b.rep.Duration = time.Since(start)
	return &b.rep, nil
}

func (b *bench) logf(format string, a ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", a...)
}

// datagen runs the generator (not measured).
func (b *bench) datagen(ctx context.Context, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, b.cfg.Datagen, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("datagen %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	b.logf("%s", strings.TrimSpace(string(out)))
	return string(out), nil
}

// generate writes a dataset with about size bytes in nTables x sstables
// SSTables and describes it in the report.
func (b *bench) generate(ctx context.Context, name, dir string, seed uint64, ks, tables, sstables int, dataSize int64, compressed float64) ([]FileEntry, error) {
	if _, err := b.datagen(ctx, "generate", dir, "--seed", strconv.FormatUint(seed, 10), "--keyspaces", strconv.Itoa(ks),
		"--tables", strconv.Itoa(tables), "--sstables", strconv.Itoa(sstables), "--data-size", strconv.FormatInt(dataSize, 10),
		"--compressed", strconv.FormatFloat(compressed, 'f', -1, 64)); err != nil {
		return nil, err
	}
	files, err := WalkNode(dir)
	if err != nil {
		return nil, err
	}
	b.rep.Datasets = append(b.rep.Datasets, fmt.Sprintf("**%s**: %d files, %s (%d keyspaces x %d tables x %d SSTable generations, Data.db about %s each, %.0f%% of tables LZ4-like incompressible, the rest text-like), seed %d",
		name, len(files), humanize.IBytes(uint64(TotalBytes(files))), ks, tables, sstables, humanize.IBytes(uint64(dataSize)), compressed*100, seed))
	return files, nil
}

// tpData generates the incompressible dataset once (the throughput sweep,
// the local provider and the peers share it) and returns its folder.
func (b *bench) tpData(ctx context.Context) (string, error) {
	if b.t.tpDir != "" {
		return b.t.tpDir, nil
	}
	dir := filepath.Join(b.work, "tp", "n1")
	files, err := b.generate(ctx, "incompressible", dir, b.cfg.Seed, bigKeyspaces, bigTables, bigSSTables,
		dataSize(b.cfg.Size, bigKeyspaces*bigTables*bigSSTables), 1.0)
	if err != nil {
		return "", err
	}
	b.t.tpDir, b.t.tpBytes = dir, TotalBytes(files)
	return dir, nil
}

// repeat runs fn cfg.Repeat times (fn gets the run's index) and returns the
// run with the median wall time; a failed or skipped run is returned at
// once.
func (b *bench) repeat(fn func(i int) (Row, error)) (Row, error) {
	var rows []Row
	for i := range max(b.cfg.Repeat, 1) {
		r, err := fn(i)
		if err != nil || !r.OK() {
			return r, err
		}
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Usage.Wall < rows[j].Usage.Wall })
	med := rows[(len(rows)-1)/2]
	for _, r := range rows {
		med.Walls = append(med.Walls, r.Usage.Wall)
	}
	return med, nil
}

// dataSize is the average Data.db size that makes about total bytes.
func dataSize(total int64, sstables int) int64 {
	return max(int64(float64(total)/float64(sstables)/1.03), 4<<10)
}

func (b *bench) repo(prefix string, c int) Repo {
	host, port, _ := net.SplitHostPort(b.proxy.Addr())
	p, _ := strconv.Atoi(port)
	return Repo{Provider: s3.KindCompatible, Host: host, Port: p, Bucket: "bench", Prefix: prefix, CredentialsFile: b.minio.CredFile, Concurrency: c}
}

// measure runs argv measured and returns its row. A run that fails, times
// out or stalls (watch: no request through the proxy for cfg.Stall) is a
// row with Failed set, not an error: the bench goes on.
func (b *bench) measure(ctx context.Context, tool, run string, nodeBytes int64, watch bool, env, argv []string) (Row, string) {
	// No run pays for the write-back of what the one before it wrote.
	syscall.Sync()
	before, cpu0 := b.proxy.Counts(), b.minio.CPU()
	_, mark := b.proxy.Written(1 << 62)
	if watch && b.cfg.Stall > 0 {
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		go b.watchStall(ctx, cancel)
	}
	u, out, err := b.run.Run(ctx, tool+"-"+run, env, argv...)
	row := Row{Tool: tool, Run: run, NodeBytes: nodeBytes, Usage: u, Counts: b.proxy.Counts().Sub(before), ServerCPU: b.minio.CPU() - cpu0, ReadBytes: -1}
	row.Written, _ = b.proxy.Written(mark)
	if err != nil {
		msg := err.Error()
		if !b.cfg.Keep {
			msg = logRE.ReplaceAllString(msg, "")
		}
		row.Failed = oneLine(msg, 300)
		b.logf("  %-8s %-22s FAILED: %v", tool, run, err)
		return row, out
	}
	if tool == ToolCassette {
		row.ReadBytes = parseCassetteRead(out)
		b.t.cassetteRows = append(b.t.cassetteRows, row)
	}
	b.logf("  %-8s %-22s %6.2f s %7.1f MiB/s  %5d objects %6d requests %8s up  RSS %4.0f MiB  CPU %.2f s",
		tool, run, u.Wall.Seconds(), row.MiBps(), row.Counts.Objects(), row.Counts.Requests(), humanize.IBytes(uint64(max(row.Counts.BytesUp, 0))),
		float64(u.MaxRSS)/(1<<20), u.CPU().Seconds())
	return row, out
}

// watchStall cancels ctx when no request or byte has gone through the
// proxy for cfg.Stall.
func (b *bench) watchStall(ctx context.Context, cancel context.CancelCauseFunc) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last, since := b.proxy.Counts(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		c := b.proxy.Counts()
		if c != last {
			last, since = c, time.Now()
			continue
		}
		if time.Since(since) >= b.cfg.Stall {
			cancel(fmt.Errorf("stalled: no request or byte through the proxy for %s (killed)", b.cfg.Stall))
			return
		}
	}
}

var logRE = regexp.MustCompile(` \(log [^)]*\)`)

var readRE = regexp.MustCompile(`read (\d+) files, ([0-9.]+ ?[KMGTPE]?i?B)`)

// parseCassetteRead reads "read N files, X MiB" from cassette backup's
// summary; -1 when absent.
func parseCassetteRead(out string) int64 {
	m := readRE.FindStringSubmatch(out)
	if m == nil {
		return -1
	}
	n, err := humanize.ParseBytes(m[2])
	if err != nil {
		return -1
	}
	return int64(n)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// cassetteConfig writes a cassette configuration for repo, node and cache
// folder and returns its path.
func (b *bench) cassetteConfig(repo Repo, dataDir, node, cache string) (string, error) {
	name := sanitize(fmt.Sprintf("%s-%s-%s-%s", repo.Provider, repo.Prefix, node, filepath.Base(cache))) + ".yaml"
	p := filepath.Join(b.work, "configs", name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	return p, os.WriteFile(p, []byte(repo.CassetteConfig(dataDir, node, cache)), 0o644)
}

// cassetteInit creates the repository (not measured).
func (b *bench) cassetteInit(ctx context.Context, repo Repo) error {
	cfg, err := b.cassetteConfig(repo, b.work, "init", filepath.Join(b.work, "cache", "init-"+sanitize(repo.Prefix)))
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, b.cfg.Cassette, "-c", cfg, "init", "--pack-size", strconv.FormatInt(b.cfg.PackSize, 10)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("cassette init %s: %w\n%s", repo.Prefix, err, out)
	}
	return nil
}

// cassette runs one measured cassette command.
func (b *bench) cassette(ctx context.Context, run string, repo Repo, dataDir, node, cache string, nodeBytes int64, args ...string) (Row, error) {
	cfg, err := b.cassetteConfig(repo, dataDir, node, cache)
	if err != nil {
		return Row{}, err
	}
	row, _ := b.measure(ctx, ToolCassette, run, nodeBytes, repo.Provider != "local", nil, append([]string{b.cfg.Cassette, "-c", cfg}, args...))
	return row, nil
}

// baseline runs one measured baseline subcommand (backup or restore).
func (b *bench) baseline(ctx context.Context, run, sub string, repo Repo, nodeBytes int64, args ...string) Row {
	argv := append(append([]string{b.self, sub}, repo.Args()...), args...)
	row, out := b.measure(ctx, ToolBaseline, run, nodeBytes, repo.Provider != "local", nil, argv)
	var st BaselineStats
	if row.Failed == "" && sub == "baseline-backup" && json.Unmarshal([]byte(lastLine(out)), &st) == nil {
		row.ReadBytes = st.TransferBytes
	}
	return row
}

// restoreAndCompare restores with fn into dst, compares dst with src and
// removes dst. Different bytes fail the row.
func (b *bench) restoreAndCompare(src, dst string, fn func() (Row, error)) (Row, error) {
	return b.restoreAndCompareAt(src, dst, dst, fn)
}

// restoreAndCompareAt is restoreAndCompare for tools that restore into a
// sub-folder at of dst (restic keeps the absolute source path).
func (b *bench) restoreAndCompareAt(src, dst, at string, fn func() (Row, error)) (Row, error) {
	defer os.RemoveAll(dst)
	row, err := fn()
	if err != nil || row.Failed != "" {
		return row, err
	}
	if err := CompareTrees(src, at); err != nil {
		row.Failed = "restored different bytes: " + oneLine(err.Error(), 300)
		b.logf("  %-8s %-22s FAILED: %v", row.Tool, row.Run, err)
	}
	return row, nil
}

func (b *bench) cache(name string) string { return filepath.Join(b.work, "cache", name) }
