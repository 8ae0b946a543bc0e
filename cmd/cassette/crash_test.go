package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/bench/datagen"
	"github.com/cassette-backup/cassette/bench/harness"
	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/providers/local"
)

// TestCrashKill kills the real cassette binary at random moments of
// backups, purges and garbage collections on one local repository, with the
// node's data changing between backups, and then checks what an operator
// relies on: after removing the dead processes' locks, the next backup
// succeeds, a full garbage collection succeeds and leaves nothing more to
// collect, verify --read-data finds no problem, and every backup that list
// shows as SUCCESS restores byte for byte to the data it was taken from.
//
// CASSETTE_CRASH_SEED=<n> replays a schedule (kill delays are wall-clock,
// so where a kill lands still varies a little).
func TestCrashKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the cassette binary and kills it a dozen times; skipped with -short")
	}
	start := time.Now()
	dir := t.TempDir()
	cr := &crashRig{t: t, bin: buildCassette(t, dir), cfg: writeConfig(t, dir)}
	data := filepath.Join(dir, "data")
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CASSETTE_CRASH_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("CASSETTE_CRASH_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (CASSETTE_CRASH_SEED=%d replays this schedule)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0xc4a5))

	// Small chunks and packs: a backup of a few MiB writes dozens of packs,
	// several index segments and content lists, so kills land mid-stream.
	// cassette init has no chunk-size flags; the repository is created with
	// the library, everything afterwards goes through the binary.
	initSmallRepo(t, filepath.Join(dir, "buckets", "backups"))
	spec := datagen.Spec{Seed: seed, Keyspaces: 2, TablesPerKeyspace: 3, SSTablesPerTable: 3, DataBytes: 512 << 10, CompressedFraction: 0.5}
	if _, err := datagen.Generate(data, spec); err != nil {
		t.Fatal(err)
	}
	sources := filepath.Join(dir, "sources")
	backup := func(name string, killAfter time.Duration) crashResult {
		// The copy is what this attempt reads; a retry of a name reads the
		// same data, so the copy stays right whichever attempt completes.
		src := filepath.Join(sources, name)
		if err := os.RemoveAll(src); err != nil {
			t.Fatal(err)
		}
		if err := harness.CopyTree(data, src); err != nil {
			t.Fatal(err)
		}
		return cr.run(killAfter, "backup", "--name", name)
	}
	r := backup("b00", -1)
	if r.code != 0 {
		t.Fatalf("first backup: %s", r)
	}

	// How long each kind of run takes here, so that kills land inside
	// runs rather than after them: a kill comes after a random delay of
	// 0-300 ms, at most 1.2 times the last complete run of that kind.
	took := map[string]time.Duration{"backup": r.elapsed}
	if r := cr.run(-1, "gc", "--grace-days", "0", "--dry-run"); r.code == 0 {
		took["gc"], took["purge"] = r.elapsed, r.elapsed
	} else {
		t.Fatalf("gc --dry-run: %s", r)
	}

	// The schedule: six backups, three purges and three collections in a
	// random order; three of the twelve run to the end, the others are
	// killed.
	ops := []string{"backup", "backup", "backup", "backup", "backup", "backup", "purge", "purge", "purge", "gc", "gc", "gc"}
	rng.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
	finish := map[int]bool{}
	for len(finish) < 3 {
		finish[rng.IntN(len(ops))] = true
	}
	var killed, landed int
	retry := "" // a killed backup whose name the next backup reuses
	for i, op := range ops {
		// Every earlier process is gone: whatever lock is left is a dead
		// process's, and `unlock --stale` is how an operator clears it.
		cr.mustRun("unlock", "--stale", "--stale-after", "1ns")
		killAfter := time.Duration(-1)
		if !finish[i] {
			limit := min(300*time.Millisecond, took[op]*6/5)
			killAfter = time.Duration(rng.Int64N(int64(limit) + 1))
			killed++
		}
		var r crashResult
		switch op {
		case "backup":
			name, again := retry, retry != ""
			if !again || rng.IntN(2) == 0 {
				again = false
				name = fmt.Sprintf("b%02d", i+1)
				if _, err := datagen.Compact(data, seed+uint64(i), 0.5); err != nil {
					t.Fatal(err)
				}
			}
			r = backup(name, killAfter)
			retry = ""
			if r.killed {
				retry = name
			}
			// A retry may find that the killed attempt completed after all.
			if !r.killed && r.code != 0 && !(again && strings.Contains(r.stderr, "already exists")) {
				t.Errorf("backup %s ran to its end but failed: %s", name, r)
			}
		case "purge":
			r = cr.run(killAfter, "purge", "--max-backup-count", "2", "--grace-days", "0")
		case "gc":
			r = cr.run(killAfter, "gc", "--grace-days", "0")
		}
		switch {
		case r.killed:
			landed++
		case r.code == 0:
			took[op] = r.elapsed
		case op != "backup":
			t.Errorf("%s ran to its end but failed: %s", op, r)
		}
		t.Logf("%2d %-6s %s", i+1, op, r.short())
	}
	if landed == 0 {
		t.Errorf("none of the %d kills landed before its process ended: the test proved nothing", killed)
	}

	// Recovery, as an operator does it.
	out := cr.mustRun("unlock", "--stale", "--stale-after", "1ns")
	t.Logf("unlock --stale: %s", strings.TrimSpace(out))
	if _, err := datagen.Compact(data, seed+100, 0.5); err != nil {
		t.Fatal(err)
	}
	if r := backup("after", -1); r.code != 0 {
		t.Fatalf("the first backup after the kills failed: %s", r)
	}
	t.Logf("gc: %s", strings.TrimSpace(cr.mustRun("gc", "--grace-days", "0")))
	if out := cr.mustRun("gc", "--grace-days", "0"); !strings.Contains(out, "deleted 0, repacked 0") {
		t.Errorf("a second full gc still found work, so the first left garbage behind: %s", out)
	}
	if out := cr.mustRun("verify", "--read-data"); !strings.Contains(out, "no problems") {
		t.Errorf("verify --read-data: %s", out)
	}
	var list []struct{ Name, Status string }
	if err := json.Unmarshal([]byte(cr.mustRun("list", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	restored := 0
	for _, b := range list {
		if b.Status != "SUCCESS" {
			continue
		}
		target := filepath.Join(dir, "restore", b.Name)
		r := cr.run(-1, "restore", "--name", b.Name, "--node", "node1", "--target", target)
		switch {
		case r.code == exitNotFound:
			// A purge killed between deleting a node backup and rewriting
			// summaries/<name> must not leave a SUCCESS that list trusts.
			t.Errorf("list shows %s as SUCCESS, but it is gone (a stale summaries/%s left by a killed purge?): %s", b.Name, b.Name, r)
			continue
		case r.code != 0:
			t.Errorf("backup %s listed as SUCCESS does not restore: %s", b.Name, r)
			continue
		}
		if err := harness.CompareTrees(filepath.Join(sources, b.Name), target); err != nil {
			t.Errorf("backup %s: %v", b.Name, err)
		}
		restored++
	}
	if restored == 0 || list[len(list)-1].Name != "after" {
		t.Errorf("list after recovery: %+v; want the backup taken after the kills last, and SUCCESS", list)
	}
	// Not failures, but worth seeing: temporary files killed processes
	// leave in the cache folder (nothing removes them later).
	marks, _ := filepath.Glob(filepath.Join(dir, "cache", "gc-marks-*.db"))
	staged, _ := filepath.Glob(filepath.Join(dir, "cache", "manifest-*.tmp"))
	t.Logf("%d processes killed (%d before they ended); %d backups restored byte for byte; left in the cache: %d GC mark files, %d manifest staging files; %s",
		killed, landed, restored, len(marks), len(staged), time.Since(start).Round(time.Millisecond))
}

// buildCassette builds the cassette binary into dir.
func buildCassette(t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	bin := filepath.Join(dir, "cassette")
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// initSmallRepo creates a repository with small chunks and packs in the
// folder the test's local storage configuration names.
func initSmallRepo(t *testing.T, root string) {
	t.Helper()
	ctx := context.Background()
	st, err := local.Create(ctx, root, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	repo, err := chunkstore.Init(ctx, st, chunkstore.InitOptions{MinChunkSize: 8 << 10, MaxChunkSize: 128 << 10, AverageChunkBits: 15, PackSize: 128 << 10},
		chunkstore.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	repo.Close()
}

// crashRig runs the cassette binary with the test's configuration.
type crashRig struct {
	t        *testing.T
	bin, cfg string
}

type crashResult struct {
	args           []string
	killed         bool // ended by our SIGKILL
	code           int
	elapsed        time.Duration
	stdout, stderr string
}

func (r crashResult) String() string {
	return fmt.Sprintf("cassette %s: exit %d after %s\nstdout: %s\nstderr: %s", strings.Join(r.args, " "), r.code, r.elapsed.Round(time.Millisecond), r.stdout, r.stderr)
}

func (r crashResult) short() string {
	if r.killed {
		return fmt.Sprintf("killed after %s", r.elapsed.Round(time.Millisecond))
	}
	return fmt.Sprintf("exit %d after %s", r.code, r.elapsed.Round(time.Millisecond))
}

// run starts cassette with args and kills it (SIGKILL) after killAfter, or
// lets it finish when killAfter is negative. A process that runs for a
// minute fails the test: nothing here should wait that long.
func (c *crashRig) run(killAfter time.Duration, args ...string) crashResult {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, append([]string{"--config", c.cfg}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CASSETTE_") && !strings.HasPrefix(kv, "POD_NAME=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	if killAfter >= 0 {
		timer := time.AfterFunc(killAfter, func() { _ = cmd.Process.Kill() })
		defer timer.Stop()
	}
	_ = cmd.Wait()
	r := crashResult{args: args, code: cmd.ProcessState.ExitCode(), elapsed: time.Since(start), stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() != nil {
		c.t.Fatalf("still running after a minute: %s", r)
	}
	r.killed = killAfter >= 0 && r.code == -1
	return r
}

// mustRun runs cassette to its end and fails the test unless it exits 0.
func (c *crashRig) mustRun(args ...string) string {
	c.t.Helper()
	r := c.run(-1, args...)
	if r.code != 0 {
		c.t.Fatalf("%s", r)
	}
	return r.stdout
}
