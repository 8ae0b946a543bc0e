package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/bench/datagen"
	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/engine"
	"github.com/cassette-backup/cassette/providers/all"
	"github.com/cassette-backup/cassette/providers/s3"
)

// TestProfileBackupRestore runs cassette's backup and restore in-process
// against MinIO, wired as cmd/cassette wires them (providers/all, retry
// decorator, chunkstore, engine), and writes CPU profiles, since the CLI
// has no profiling flag. It runs only when CASSETTE_BENCH_PROFILE names a
// folder for the profiles:
//
//	CASSETTE_BENCH_PROFILE=/tmp/prof go test -run TestProfileBackupRestore -v ./bench/harness
//	go tool pprof -top /tmp/prof/restore.cpu.pprof
//
// CASSETTE_BENCH_PROFILE_MIB sets the data size (default 512),
// CASSETTE_BENCH_PROFILE_C the concurrentTransfers (default 4). The
// baseline's restore of the same files is profiled too
// (baseline-restore.*.pprof), and CASSETTE_BENCH_PROFILE_REPEAT=N runs both
// restores N more times, alternately, logging wall and CPU time.
//
// In-process profiles carry the test's own heap; for the CLI as the bench
// runs it, `perf record -g` of `cassette restore` works as well (the
// kernel's share, such as the page cache's, is most of a restore).
func TestProfileBackupRestore(t *testing.T) {
	out := os.Getenv("CASSETTE_BENCH_PROFILE")
	if out == "" {
		t.Skip("set CASSETTE_BENCH_PROFILE to a folder to profile backup and restore against MinIO")
	}
	sizeMiB, conc := envInt("CASSETTE_BENCH_PROFILE_MIB", 512), envInt("CASSETTE_BENCH_PROFILE_C", 4)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	work := t.TempDir()
	m, err := StartMinIO(ctx, "", work, "prof")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	data := filepath.Join(work, "data")
	sst := bigKeyspaces * bigTables * bigSSTables
	if _, err := datagen.Generate(data, datagen.Spec{Seed: 42, Keyspaces: bigKeyspaces, TablesPerKeyspace: bigTables, SSTablesPerTable: bigSSTables,
		DataBytes: dataSize(int64(sizeMiB)<<20, sst), CompressedFraction: 1}); err != nil {
		t.Fatal(err)
	}
	sp := Repo{Provider: s3.KindCompatible, Host: "127.0.0.1", Port: m.Port, Bucket: "prof", Prefix: "p", CredentialsFile: m.CredFile, Concurrency: conc}.Props()
	st, err := all.Create(ctx, sp, all.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	repo, err := chunkstore.Init(ctx, st, chunkstore.InitOptions{PackSize: 32 << 20, Compression: "zstd"}, chunkstore.Options{CacheDir: filepath.Join(work, "cache1")})
	if err != nil {
		t.Fatal(err)
	}
	e := &engine.Engine{Repo: repo, CacheDir: filepath.Join(work, "cache1")}
	profile(t, filepath.Join(out, "backup"), func() error {
		_, err := e.Backup(ctx, engine.BackupOptions{Name: "b1", Node: "n1", DataDirs: []string{data}})
		return err
	})
	repo.Close()
	// Restore as on a fresh machine: a new cache, the index synced first.
	repo, err = chunkstore.Open(ctx, st, chunkstore.Options{CacheDir: filepath.Join(work, "cache2")})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	e = &engine.Engine{Repo: repo, CacheDir: filepath.Join(work, "cache2")}
	target := filepath.Join(work, "restore")
	profile(t, filepath.Join(out, "restore"), func() error {
		_, err := e.Restore(ctx, engine.RestoreOptions{Name: "b1", Node: "n1", Target: target})
		return err
	})
	if err := CompareTrees(data, target); err != nil {
		t.Fatal(err)
	}
	// The baseline's restore of the same files, profiled the same way, so
	// that the two profiles can be compared syscall by syscall.
	bst, err := Repo{Provider: s3.KindCompatible, Host: "127.0.0.1", Port: m.Port, Bucket: "prof", Prefix: "b", CredentialsFile: m.CredFile, Concurrency: conc}.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer bst.Close(ctx)
	if _, err := BaselineBackup(ctx, bst, "n1", "b1", ModeFull, data, conc); err != nil {
		t.Fatal(err)
	}
	btarget := filepath.Join(work, "restore-baseline")
	profile(t, filepath.Join(out, "baseline-restore"), func() error {
		_, err := BaselineRestore(ctx, bst, "n1", "b1", btarget, conc, false)
		return err
	})
	// CASSETTE_BENCH_PROFILE_REPEAT alternates both restores a few more
	// times (unprofiled) to see through the noise of a shared machine.
	for i := range envInt("CASSETTE_BENCH_PROFILE_REPEAT", 0) {
		for _, dir := range []string{target, btarget} {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
		}
		timed(t, fmt.Sprintf("cassette restore #%d", i+1), func() error {
			_, err := e.Restore(ctx, engine.RestoreOptions{Name: "b1", Node: "n1", Target: target})
			return err
		})
		timed(t, fmt.Sprintf("baseline restore #%d", i+1), func() error {
			_, err := BaselineRestore(ctx, bst, "n1", "b1", btarget, conc, false)
			return err
		})
	}
}

// timed runs fn and logs its wall time and the process's CPU time.
func timed(t *testing.T, what string, fn func() error) {
	t.Helper()
	cpu0, start := procCPU(os.Getpid()), time.Now()
	if err := fn(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	t.Logf("%s: %s wall, %s CPU (user+sys)", what, time.Since(start).Round(time.Millisecond), procCPU(os.Getpid())-cpu0)
}

// profile runs fn under the CPU profiler (prefix.cpu.pprof) with block and
// mutex profiles (prefix.block.pprof, prefix.mutex.pprof) and logs its time
// and CPU.
func profile(t *testing.T, prefix string, fn func() error) {
	t.Helper()
	f, err := os.Create(prefix + ".cpu.pprof")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	runtime.SetBlockProfileRate(int(time.Millisecond))
	runtime.SetMutexProfileFraction(10)
	defer runtime.SetBlockProfileRate(0)
	defer runtime.SetMutexProfileFraction(0)
	cpu0 := procCPU(os.Getpid())
	start := time.Now()
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	err = fn()
	pprof.StopCPUProfile()
	wall, cpu := time.Since(start), procCPU(os.Getpid())-cpu0
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(prefix), err)
	}
	for _, name := range []string{"block", "mutex"} {
		pf, err := os.Create(fmt.Sprintf("%s.%s.pprof", prefix, name))
		if err != nil {
			t.Fatal(err)
		}
		_ = pprof.Lookup(name).WriteTo(pf, 0)
		pf.Close()
	}
	t.Logf("%s: %s wall, %s CPU (user+sys); profiles %s.*.pprof", filepath.Base(prefix), wall.Round(time.Millisecond), cpu, prefix)
}

func envInt(name string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(name), &n); err != nil || n <= 0 {
		return def
	}
	return n
}
