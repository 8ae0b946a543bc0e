// Command harness is cassette's end-to-end benchmark (issue 7): it starts
// MinIO on 127.0.0.1 behind a counting proxy, generates node data with
// datagen, and measures the cassette CLI next to a Medusa-style baseline on
// the same data, writing bench/RESULTS.md.
//
//	harness [run flags]                      the bench (make build first)
//	harness baseline-backup  [repo flags] -node N -backup B -mode full|differential -data-dir D
//	harness baseline-restore [repo flags] -node N -backup B -target D
//	harness baseline-purge   [repo flags] -node N -keep K
//	harness measure -o usage.json -- CMD ARGS...
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/cassette-backup/cassette/bench/harness"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string) int {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "measure":
			fs := flag.NewFlagSet("measure", flag.ExitOnError)
			out := fs.String("o", "", "write the child's usage as JSON to this file")
			fs.Parse(args[1:])
			return harness.MeasureMain(*out, fs.Args())
		case "baseline-backup", "baseline-restore", "baseline-purge":
			return baseline(ctx, args[0], args[1:])
		case "run":
			args = args[1:]
		default:
			fmt.Fprintf(os.Stderr, "harness: unknown command %q (run, baseline-backup, baseline-restore, baseline-purge, measure)\n", args[0])
			return 2
		}
	}
	return bench(ctx, args)
}

func bench(ctx context.Context, args []string) int {
	cfg := harness.DefaultConfig()
	fs := flag.NewFlagSet("harness", flag.ExitOnError)
	fs.StringVar(&cfg.Cassette, "cassette", cfg.Cassette, "cassette binary (make build)")
	fs.StringVar(&cfg.Datagen, "datagen", cfg.Datagen, "datagen binary (make build)")
	fs.StringVar(&cfg.MinIO, "minio", "", "MinIO binary (default: .cache/servers/bin/minio from scripts/install-servers.sh minio)")
	fs.StringVar(&cfg.WorkDir, "work", "", "parent folder of the run's temporary folder (default: $TMPDIR)")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the temporary folder (data, logs, configs)")
	size := fs.String("size", "512MiB", "incompressible dataset size (throughput sweep, local provider, peers)")
	churnSize := fs.String("churn-size", "512MiB", "mixed dataset size (differential, unchanged, restore, replica)")
	fs.IntVar(&cfg.Files, "files", cfg.Files, "files of the small-files dataset for the unchanged-node target (0 skips it)")
	fs.Float64Var(&cfg.Churn, "churn", cfg.Churn, "datagen compact --fraction between the first and the differential backup")
	conc := fs.String("concurrency", "1,4,8", "concurrentTransfers of the throughput sweep")
	fs.IntVar(&cfg.Default, "default-concurrency", cfg.Default, "concurrentTransfers of the other steps")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "dataset seed")
	fs.DurationVar(&cfg.StepTimeout, "step-timeout", cfg.StepTimeout, "time limit of one measured run")
	fs.DurationVar(&cfg.Stall, "stall", cfg.Stall, "kill a run against MinIO when no request or byte moves for this long (0: never)")
	timeout := fs.Duration("timeout", 30*time.Minute, "time limit of the whole bench")
	fs.BoolVar(&cfg.Local, "local", cfg.Local, "also measure the local provider")
	fs.IntVar(&cfg.Repeat, "repeat", cfg.Repeat, "run each sweep backup and each restore this many times and report the median run")
	steps := fs.String("steps", strings.Join(harness.StepNames, ","), "steps to run (comma-separated)")
	fs.BoolVar(&cfg.Peers, "peers", cfg.Peers, "also run restic and kopia when they are on PATH (or in -peers-dir)")
	fs.BoolVar(&cfg.InstallPeers, "install-peers", cfg.InstallPeers, "build restic and kopia (go command, Go module proxy) into -peers-dir when missing")
	fs.StringVar(&cfg.PeersDir, "peers-dir", "", "where -install-peers puts restic and kopia (default: .cache/peers/bin)")
	results := fs.String("results", "bench/RESULTS.md", "markdown file to write (empty: stdout only)")
	chart := fs.String("chart", "bench/results.svg", "chart of the results to write, .svg or .png (empty: none)")
	fs.Parse(args)
	var err error
	if cfg.Size, err = parseSize(*size); err == nil {
		cfg.ChurnSize, err = parseSize(*churnSize)
	}
	if err == nil {
		cfg.Concurrency, err = parseInts(*conc)
	}
	if err == nil {
		cfg.Steps, err = parseSteps(*steps)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 2
	}
	cfg.Command = strings.TrimSpace("harness " + strings.Join(args, " "))
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	rep, err := harness.Run(ctx, cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		return 1
	}
	code := 0
	if *chart != "" {
		if err := rep.WriteChart(*chart); err != nil {
			// The tables are still worth writing.
			fmt.Fprintln(os.Stderr, "harness:", err)
			code = 1
		} else {
			fmt.Fprintln(os.Stderr, "harness: wrote", *chart)
			rep.Chart = *chart
		}
	}
	if rep.Chart != "" && *results != "" {
		if rel, err := filepath.Rel(filepath.Dir(*results), *chart); err == nil {
			rep.Chart = filepath.ToSlash(rel)
		}
	}
	var buf bytes.Buffer
	rep.WriteMarkdown(&buf)
	os.Stdout.Write(buf.Bytes())
	if *results != "" {
		if err := os.WriteFile(*results, buf.Bytes(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "harness:", err)
			return 1
		}
		fmt.Fprintln(os.Stderr, "harness: wrote", *results)
	}
	return code
}

func parseSize(s string) (int64, error) {
	v, err := humanize.ParseBytes(s)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	return int64(v), nil
}

func parseSteps(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if !slices.Contains(harness.StepNames, f) {
			return nil, fmt.Errorf("step %q: want some of %s", f, strings.Join(harness.StepNames, ","))
		}
		out = append(out, f)
	}
	return out, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &n); err != nil || n < 1 {
			return nil, fmt.Errorf("concurrency %q: want a comma-separated list of positive numbers", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// baseline runs one Medusa-style backup, restore or purge and prints its
// stats as a JSON line.
func baseline(ctx context.Context, cmd string, args []string) int {
	var repo harness.Repo
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	repo.RegisterFlags(fs)
	node := fs.String("node", "n1", "node name")
	backup := fs.String("backup", "", "backup name")
	mode := fs.String("mode", harness.ModeFull, "full or differential")
	dataDir := fs.String("data-dir", "", "data directory to back up")
	target := fs.String("target", "", "folder to restore into")
	fsync := fs.Bool("fsync", false, "restore: fsync every file (Medusa does not)")
	keep := fs.Int("keep", 1, "purge: backups of the node to keep")
	fs.Parse(args)
	st, err := repo.Open(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		return 1
	}
	defer st.Close(context.Background())
	var stats harness.BaselineStats
	switch cmd {
	case "baseline-backup":
		stats, err = harness.BaselineBackup(ctx, st, *node, *backup, *mode, *dataDir, repo.Concurrency)
	case "baseline-restore":
		stats, err = harness.BaselineRestore(ctx, st, *node, *backup, *target, repo.Concurrency, *fsync)
	default:
		stats, err = harness.BaselinePurge(ctx, st, *node, *keep, repo.Concurrency)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		return 1
	}
	b, _ := json.Marshal(stats)
	fmt.Println(string(b))
	return 0
}
