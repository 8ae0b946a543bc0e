package purgebench

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cassette-backup/cassette/bench/harness"
	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/s3"
)

// Config is one purge bench run.
type Config struct {
	Cassette string // cassette binary
	MinIO    string // MinIO binary; "" is the cached one
	Self     string // this binary, whose measure subcommand is the launcher
	WorkDir  string // parent of the run's temporary folder
	Keep     bool   // keep the temporary folder

	Spec        Spec
	KeepBackups int  // purge --max-backup-count
	Concurrency int  // cassette's concurrentTransfers
	Sample      int  // objects deleted one by one (and in batches) for the comparison
	Warm        bool // sync the purging node's index cache before the purge
	Check       bool // verify --read-data and a restore after the purge
	StepTimeout time.Duration
	Command     string
}

// DefaultConfig keeps 10% of 1,000 backups of 3 nodes.
func DefaultConfig() Config {
	return Config{Cassette: "bin/cassette", Spec: DefaultSpec(), KeepBackups: 100, Concurrency: 4, Sample: 5000,
		Warm: true, Check: true, StepTimeout: 20 * time.Minute}
}

// Measured is one cassette run: what the OS and the proxy saw.
type Measured struct {
	Args      []string
	Usage     harness.Usage
	Counts    harness.Counts
	Memory    *Memory // nil when /proc could not be read
	ServerCPU time.Duration
	Out       string
	Err       error
}

// SampleRun is a timed deletion of sample objects.
type SampleRun struct {
	Objects int
	Wall    time.Duration
	Counts  harness.Counts
}

// PerObject is the wall time per object deleted.
func (s SampleRun) PerObject() time.Duration {
	if s.Objects == 0 {
		return 0
	}
	return s.Wall / time.Duration(s.Objects)
}

// Report is what a run measured.
type Report struct {
	Machine       harness.Machine
	Config        Config
	Shape         *Shape
	Warm          *Measured
	Purge         *Measured
	BackupsPurged int
	ObjectsPurged int64
	Verify        *Measured
	Restore       *Measured
	Single, Batch SampleRun
	SampleSize    int64 // bytes per sample object (the mean pack)
	Commit        string
	Duration      time.Duration
}

type bench struct {
	cfg   Config
	log   io.Writer
	work  string
	minio *harness.MinIO
	proxy *harness.Proxy
	run   *harness.Runner
	conf  string // cassette's configuration file
	rep   *Report
}

// Run builds the repository, purges it with the cassette binary, checks
// the result and times Medusa-style single deletes. Progress goes to log.
func Run(ctx context.Context, cfg Config, log io.Writer) (*Report, error) {
	start := time.Now()
	b := &bench{cfg: cfg, log: log, rep: &Report{Machine: harness.DescribeMachine(), Config: cfg, Commit: commit()}}
	var err error
	if b.cfg.Cassette, err = filepath.Abs(cfg.Cassette); err != nil {
		return nil, err
	}
	if _, err := os.Stat(b.cfg.Cassette); err != nil {
		return nil, fmt.Errorf("%w (run make build first)", err)
	}
	if b.work, err = os.MkdirTemp(cfg.WorkDir, "cassette-purgebench-"); err != nil {
		return nil, err
	}
	if !cfg.Keep {
		defer os.RemoveAll(b.work)
	}
	b.logf("work folder %s", b.work)
	if b.minio, err = harness.StartMinIO(ctx, cfg.MinIO, b.work, "bench"); err != nil {
		return nil, fmt.Errorf("start MinIO: %w", err)
	}
	defer b.minio.Stop()
	b.proxy = harness.NewProxy(&url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(b.minio.Port)})
	if err := b.proxy.Start(); err != nil {
		return nil, err
	}
	defer b.proxy.Close()
	if err := os.MkdirAll(filepath.Join(b.work, "logs"), 0o755); err != nil {
		return nil, err
	}
	b.run = &harness.Runner{Self: cfg.Self, LogDir: filepath.Join(b.work, "logs"), StepTimeout: cfg.StepTimeout}
	for _, step := range []func(context.Context) error{b.generate, b.purge, b.check, b.samples} {
		if err := step(ctx); err != nil {
			return b.rep, err
		}
	}
	b.rep.Machine.LoadEnd = harness.LoadAvg()
	b.rep.Duration = time.Since(start)
	return b.rep, nil
}

func (b *bench) logf(format string, a ...any) { fmt.Fprintf(b.log, "purgebench: "+format+"\n", a...) }

// repo addresses prefix of the bench bucket, through the proxy or not.
func (b *bench) repo(prefix string, proxied bool, concurrency int) harness.Repo {
	port := b.minio.Port
	if proxied {
		_, p, _ := strings.Cut(b.proxy.Addr(), ":")
		port, _ = strconv.Atoi(p)
	}
	return harness.Repo{Provider: s3.KindCompatible, Host: "127.0.0.1", Port: port, Bucket: "bench", Prefix: prefix,
		CredentialsFile: b.minio.CredFile, Concurrency: concurrency}
}

// generate writes the repository straight to MinIO (not counted) and the
// cassette configuration that reaches it through the proxy.
func (b *bench) generate(ctx context.Context) error {
	st, err := b.repo("purge", false, b.cfg.Spec.Concurrency).Open(ctx)
	if err != nil {
		return err
	}
	defer st.Close(context.Background())
	sp := b.cfg.Spec
	b.logf("building %d backups x %d nodes over about %d packs", sp.Backups, sp.Nodes, sp.Packs)
	if b.rep.Shape, err = Generate(ctx, st, sp, b.log); err != nil {
		return fmt.Errorf("build the repository: %w", err)
	}
	s := b.rep.Shape
	b.logf("built in %s: %d objects, %d packs, %d index segments, %d manifests", s.Duration.Round(time.Second), s.Objects, s.Packs, s.Segments, s.Manifests)
	b.conf = filepath.Join(b.work, "cassette.yaml")
	body := b.repo("purge", true, b.cfg.Concurrency).CassetteConfig(filepath.Join(b.work, "data"), NodeName(0), filepath.Join(b.work, "cache"))
	return os.WriteFile(b.conf, []byte(body), 0o600)
}

// cassette runs the cassette binary measured.
func (b *bench) cassette(ctx context.Context, name string, args ...string) *Measured {
	before, cpu := b.proxy.Counts(), b.minio.CPU()
	argv := append([]string{b.cfg.Cassette, "--config", b.conf}, args...)
	u, out, err := b.run.Run(ctx, name, nil, argv...)
	m := &Measured{Args: args, Usage: u, Counts: b.proxy.Counts().Sub(before), ServerCPU: b.minio.CPU() - cpu, Out: out, Err: err,
		Memory: readMemory(b.run.LogDir, name)}
	status := "ok"
	if err != nil {
		status = "FAILED: " + err.Error()
	}
	b.logf("cassette %s: %.1f s, %d requests, max RSS %.0f MiB: %s", strings.Join(args, " "), u.Wall.Seconds(), m.Counts.Requests(), float64(u.MaxRSS)/(1<<20), status)
	return m
}

var purgedRE = regexp.MustCompile(`backups purged: (\d+); objects: (\d+)`)

// purge runs the measured purge (after warming the cache when asked).
func (b *bench) purge(ctx context.Context) error {
	if b.cfg.Warm {
		// A node whose daily backups keep its index cache current: what a
		// backup or verify does first is syncing it.
		b.rep.Warm = b.cassette(ctx, "warm", "verify", "--name", b.rep.Shape.LastBackup, "--node", NodeName(0))
		if b.rep.Warm.Err != nil {
			return b.rep.Warm.Err
		}
	}
	b.rep.Purge = b.cassette(ctx, "purge", "purge", "--all-nodes", "--max-backup-count", strconv.Itoa(b.cfg.KeepBackups),
		"--max-backup-age", "0", "--grace-days", "0")
	if b.rep.Purge.Err != nil {
		return b.rep.Purge.Err
	}
	m := purgedRE.FindStringSubmatch(b.rep.Purge.Out)
	if m == nil {
		return fmt.Errorf("purge output has no summary line:\n%s", tailLines(b.rep.Purge.Out, 5))
	}
	b.rep.BackupsPurged, _ = strconv.Atoi(m[1])
	b.rep.ObjectsPurged, _ = strconv.ParseInt(m[2], 10, 64)
	if want := (b.cfg.Spec.Backups - b.cfg.KeepBackups) * b.cfg.Spec.Nodes; b.rep.BackupsPurged != want {
		return fmt.Errorf("purge removed %d node backups, want %d:\n%s", b.rep.BackupsPurged, want, tailLines(b.rep.Purge.Out, 3))
	}
	return nil
}

// check verifies every remaining backup's data and restores the newest
// backup of the first node (restore re-hashes every chunk and file).
func (b *bench) check(ctx context.Context) error {
	if !b.cfg.Check {
		return nil
	}
	b.rep.Verify = b.cassette(ctx, "verify", "verify", "--read-data")
	if b.rep.Verify.Err != nil {
		return b.rep.Verify.Err
	}
	b.rep.Restore = b.cassette(ctx, "restore", "restore", "--name", b.rep.Shape.LastBackup, "--node", NodeName(0),
		"--target", filepath.Join(b.work, "restore"))
	return b.rep.Restore.Err
}

// samples times deleting Sample objects of the mean pack size one by one
// (DeleteObject, one at a time, as Medusa does) and in batches (cassette's
// DeleteObjects at its concurrency), through the proxy.
func (b *bench) samples(ctx context.Context) error {
	n := b.cfg.Sample
	if n <= 0 {
		return nil
	}
	b.rep.SampleSize = b.rep.Shape.PackBytes / int64(max(1, b.rep.Shape.Packs))
	var err error
	if b.rep.Single, err = b.sample(ctx, "single", 1, func(ctx context.Context, st providers.Storage, keys []providers.Key) error {
		for _, k := range keys {
			if err := st.Delete(ctx, k); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	b.rep.Batch, err = b.sample(ctx, "batch", b.cfg.Concurrency, func(ctx context.Context, st providers.Storage, keys []providers.Key) error {
		return st.DeleteMany(ctx, keys)
	})
	return err
}

func (b *bench) sample(ctx context.Context, name string, concurrency int, del func(context.Context, providers.Storage, []providers.Key) error) (SampleRun, error) {
	prefix := "medusa-sample/" + name
	direct, err := b.repo(prefix, false, b.cfg.Spec.Concurrency).Open(ctx)
	if err != nil {
		return SampleRun{}, err
	}
	defer direct.Close(context.Background())
	body := make([]byte, b.rep.SampleSize)
	keys := make([]providers.Key, b.cfg.Sample)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.cfg.Spec.Concurrency)
	for i := range keys {
		keys[i] = providers.Key(fmt.Sprintf("node%d/data/ks1/table%02d/nb-%d-big-Data.db", i%3+1, i%40, i))
		g.Go(func() error { return direct.Put(gctx, keys[i], providers.Bytes(body), providers.PutOptions{}) })
	}
	if err := g.Wait(); err != nil {
		return SampleRun{}, fmt.Errorf("write the %s delete sample: %w", name, err)
	}
	st, err := b.repo(prefix, true, concurrency).Open(ctx)
	if err != nil {
		return SampleRun{}, err
	}
	defer st.Close(context.Background())
	before, start := b.proxy.Counts(), time.Now()
	if err := del(ctx, st, keys); err != nil {
		return SampleRun{}, fmt.Errorf("%s deletes: %w", name, err)
	}
	r := SampleRun{Objects: len(keys), Wall: time.Since(start), Counts: b.proxy.Counts().Sub(before)}
	b.logf("%s deletes of %d objects: %.2f s, %d requests", name, r.Objects, r.Wall.Seconds(), r.Counts.Requests())
	return r, nil
}

// commit names the checkout the bench runs in: the HEAD commit, marked
// when tracked files have uncommitted changes ("" outside a git checkout).
func commit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += " with uncommitted changes"
	}
	return c
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
