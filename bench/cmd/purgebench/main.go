// Command purgebench measures `cassette purge` at scale (bench/purgebench):
// it starts MinIO on 127.0.0.1 behind a counting proxy, builds a repository
// of many backups over many small packs directly in cassette's formats,
// runs the cassette binary's purge on it (wall time, requests by type, peak
// memory), checks what is left with verify --read-data and a restore, and
// times Medusa-style one-by-one deletes on a sample for comparison. It
// writes bench/PURGE-RESULTS.md.
//
//	purgebench [flags]                          the bench (make build first)
//	purgebench measure -o usage.json -- CMD...  the measuring launcher it runs cassette with
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cassette-backup/cassette/bench/purgebench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string) int {
	if len(args) > 0 && args[0] == "measure" {
		fs := flag.NewFlagSet("measure", flag.ExitOnError)
		out := fs.String("o", "", "write the child's usage as JSON to this file")
		fs.Parse(args[1:])
		return purgebench.MeasureMain(*out, fs.Args())
	}
	cfg := purgebench.DefaultConfig()
	sp := &cfg.Spec
	fs := flag.NewFlagSet("purgebench", flag.ExitOnError)
	fs.StringVar(&cfg.Cassette, "cassette", cfg.Cassette, "cassette binary (make build)")
	fs.StringVar(&cfg.MinIO, "minio", "", "MinIO binary (default: .cache/servers/bin/minio from scripts/install-servers.sh minio)")
	fs.StringVar(&cfg.WorkDir, "work", "", "parent folder of the run's temporary folder (default: $TMPDIR)")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the temporary folder (MinIO data, logs, configuration)")
	fs.IntVar(&sp.Backups, "backups", sp.Backups, "backups (one a day)")
	fs.IntVar(&sp.Nodes, "nodes", sp.Nodes, "nodes backing up under each backup name")
	fs.IntVar(&sp.Packs, "packs", sp.Packs, "packs to aim for over the whole repository")
	fs.IntVar(&sp.PackBlobs, "pack-blobs", sp.PackBlobs, "blobs per pack")
	fs.IntVar(&sp.Lifetime, "lifetime", sp.Lifetime, "mean number of backups an SSTable lives")
	fs.Float64Var(&sp.ListFraction, "list-fraction", sp.ListFraction, "share of SSTables whose Data.db spans several chunks (a content list)")
	fs.Uint64Var(&sp.Seed, "seed", sp.Seed, "generator seed")
	fs.IntVar(&sp.Concurrency, "build-concurrency", sp.Concurrency, "uploads in flight while building the repository")
	fs.IntVar(&cfg.KeepBackups, "max-backup-count", cfg.KeepBackups, "purge keeps this many newest backups of each node")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "cassette's concurrentTransfers")
	fs.IntVar(&cfg.Sample, "sample", cfg.Sample, "objects deleted one by one for the Medusa comparison (0 skips it)")
	fs.BoolVar(&cfg.Warm, "warm", cfg.Warm, "sync the purging node's index cache first, as its daily backups do (false: the purge starts from an empty cache)")
	fs.BoolVar(&cfg.Check, "check", cfg.Check, "verify --read-data and restore the newest backup after the purge")
	fs.DurationVar(&cfg.StepTimeout, "step-timeout", cfg.StepTimeout, "time limit of one cassette run")
	timeout := fs.Duration("timeout", 30*time.Minute, "time limit of the whole bench")
	results := fs.String("results", "bench/PURGE-RESULTS.md", "markdown file to write (empty: stdout only)")
	fs.Parse(args)
	if sp.Backups < 1 || sp.Nodes < 1 || sp.Packs < 1 || sp.PackBlobs < 1 || sp.Lifetime < 1 || cfg.KeepBackups < 1 || cfg.KeepBackups >= sp.Backups {
		fmt.Fprintln(os.Stderr, "purgebench: -backups, -nodes, -packs, -pack-blobs, -lifetime must be positive and -max-backup-count between 1 and -backups-1")
		return 2
	}
	var err error
	if cfg.Self, err = os.Executable(); err != nil {
		fmt.Fprintln(os.Stderr, "purgebench:", err)
		return 1
	}
	cfg.Command = strings.TrimSpace("purgebench " + strings.Join(args, " "))
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	rep, err := purgebench.Run(ctx, cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "purgebench:", err)
		return 1
	}
	var buf bytes.Buffer
	rep.WriteMarkdown(&buf)
	os.Stdout.Write(buf.Bytes())
	if *results != "" {
		if err := os.WriteFile(*results, buf.Bytes(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "purgebench:", err)
			return 1
		}
		fmt.Fprintln(os.Stderr, "purgebench: wrote", *results)
	}
	return 0
}
