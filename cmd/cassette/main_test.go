package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs cassette in-process and returns exit code, stdout, stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"cassette"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func writeConfig(t *testing.T, dir string) string {
	t.Helper()
	cfg := filepath.Join(dir, "cassette.yaml")
	body := "storageProperties:\n  storageProvider: local\n  basePath: " + filepath.Join(dir, "buckets") +
		"\n  bucketName: backups\ncassandra:\n  dataDirs: [" + filepath.Join(dir, "data") + "]\n  node: node1\n  snapshot: none\ncacheDir: " + filepath.Join(dir, "cache") + "\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestCLIRoundTrip(t *testing.T) {
	t.Setenv("CASSETTE_CONFIG", "")
	dir := t.TempDir()
	tbl := filepath.Join(dir, "data", "ks1", "users-0a1b2c")
	os.MkdirAll(tbl, 0o755)
	os.WriteFile(filepath.Join(tbl, "nb-1-big-Data.db"), bytes.Repeat([]byte("row data "), 100000), 0o644)
	os.WriteFile(filepath.Join(tbl, "nb-1-big-TOC.txt"), []byte("Data.db\nTOC.txt\n"), 0o644)
	cfg := writeConfig(t, dir)

	if code, _, stderr := runCLI(t, "--config", cfg, "list"); code != exitNotFound || !strings.Contains(stderr, "cassette init") {
		t.Fatalf("list before init: code %d, %q", code, stderr)
	}
	if code, out, stderr := runCLI(t, "--config", cfg, "init"); code != 0 || !strings.Contains(out, "initialised repository") {
		t.Fatalf("init: %d %q %q", code, out, stderr)
	}
	if code, _, stderr := runCLI(t, "--config", cfg, "init"); code == 0 || !strings.Contains(stderr, "already exists") {
		t.Fatalf("second init: %d %q", code, stderr)
	}
	if code, out, stderr := runCLI(t, "--config", cfg, "backup", "--name", "b1"); code != 0 || !strings.Contains(out, "complete") {
		t.Fatalf("backup: %d %q %q", code, out, stderr)
	}
	if code, _, stderr := runCLI(t, "--config", cfg, "backup", "--name", "b1"); code == 0 || !strings.Contains(stderr, "already exists") {
		t.Fatalf("backup with a taken name: %d %q", code, stderr)
	}
	code, out, _ := runCLI(t, "--config", cfg, "list")
	if code != 0 || !strings.Contains(out, "b1") || !strings.Contains(out, "SUCCESS") {
		t.Fatalf("list: %d %q", code, out)
	}
	target := filepath.Join(dir, "restore")
	if code, out, stderr := runCLI(t, "--config", cfg, "restore", "--name", "b1", "--target", target); code != 0 {
		t.Fatalf("restore: %d %q %q", code, out, stderr)
	}
	got, _ := os.ReadFile(filepath.Join(target, "ks1", "users-0a1b2c", "nb-1-big-Data.db"))
	if !bytes.Equal(got, bytes.Repeat([]byte("row data "), 100000)) {
		t.Fatal("restored Data.db differs")
	}
	// Re-running a restore keeps what is already there (resume).
	if code, out, stderr := runCLI(t, "--config", cfg, "restore", "--name", "b1", "--target", target); code != 0 || !strings.Contains(out, "already in place") {
		t.Fatalf("restore again: %d %q %q", code, out, stderr)
	}
	// A different file in the way needs --overwrite.
	os.WriteFile(filepath.Join(target, "ks1", "users-0a1b2c", "nb-1-big-TOC.txt"), []byte("something else"), 0o644)
	if code, _, stderr := runCLI(t, "--config", cfg, "restore", "--name", "b1", "--target", target); code == 0 || !strings.Contains(stderr, "--overwrite") {
		t.Fatalf("restore over a different file: %d %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "--config", cfg, "restore", "--name", "b1", "--target", target, "--overwrite"); code != 0 {
		t.Fatalf("restore --overwrite: %d %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "--config", cfg, "restore", "--name", "nope", "--target", filepath.Join(dir, "r2")); code != exitNotFound || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("restore of a missing backup: %d %q", code, stderr)
	}
	if code, out, stderr := runCLI(t, "--config", cfg, "verify", "--read-data"); code != 0 || !strings.Contains(out, "no problems") {
		t.Fatalf("verify: %d %q %q", code, out, stderr)
	}
	// Corrupt every pack: verify --read-data exits with the integrity code.
	filepath.Walk(filepath.Join(dir, "buckets", "backups", "packs"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			b[20] ^= 0xff
			os.WriteFile(p, b, 0o644)
		}
		return nil
	})
	if code, _, stderr := runCLI(t, "--config", cfg, "verify", "--read-data"); code != exitIntegrity || !strings.Contains(stderr, "packs/") {
		t.Fatalf("verify of corrupt packs: %d %q", code, stderr)
	}
}

func TestCLIUsageErrors(t *testing.T) {
	t.Setenv("CASSETTE_CONFIG", "")
	if code, _, stderr := runCLI(t, "list"); code != exitUsage || !strings.Contains(stderr, "--config") {
		t.Fatalf("no config: %d %q", code, stderr)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("storageProperties:\n  storageProvider: local\n  bucket_name: x\n"), 0o600)
	if code, _, stderr := runCLI(t, "--config", bad, "list"); code != exitUsage || !strings.Contains(stderr, "bucket_name") {
		t.Fatalf("bad key: %d %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "--config", filepath.Join(dir, "missing.yaml"), "list"); code != exitUsage || !strings.Contains(stderr, "missing.yaml") {
		t.Fatalf("missing config: %d %q", code, stderr)
	}
}

func TestHelpMentionsEveryCommand(t *testing.T) {
	code, out, _ := runCLI(t, "--help")
	if code != 0 {
		t.Fatal(code)
	}
	for _, c := range []string{"init", "backup", "list", "status", "restore", "verify", "purge", "delete", "gc", "unlock", "schedule"} {
		if !strings.Contains(out, c) {
			t.Errorf("--help lacks %s", c)
		}
	}
}

func TestRestoreSelection(t *testing.T) {
	ks, tbl, err := restoreSelection([]string{"ks1"}, []string{"users"})
	if err != nil || len(ks) != 0 || len(tbl) != 1 || tbl[0] != "ks1.users" {
		t.Fatalf("--keyspace ks1 --table users: %v %v %v", ks, tbl, err)
	}
	ks, tbl, _ = restoreSelection([]string{"ks1", "ks2"}, nil)
	if len(ks) != 2 || len(tbl) != 0 {
		t.Fatalf("keyspaces only: %v %v", ks, tbl)
	}
	_, tbl, _ = restoreSelection(nil, []string{"users", "ks3.events"})
	if len(tbl) != 2 {
		t.Fatalf("tables only: %v", tbl)
	}
	if _, _, err := restoreSelection(nil, []string{"ks."}); err == nil {
		t.Fatal("ks. accepted")
	}
}

func TestCLIStatusAndListFormats(t *testing.T) {
	t.Setenv("CASSETTE_CONFIG", "")
	dir := t.TempDir()
	tbl := filepath.Join(dir, "data", "ks1", "users-0a1b2c")
	os.MkdirAll(tbl, 0o755)
	os.WriteFile(filepath.Join(tbl, "nb-1-big-Data.db"), []byte("some rows"), 0o644)
	cfg := writeConfig(t, dir)
	for _, args := range [][]string{{"init"}, {"backup", "--name", "nightly"}} {
		if code, _, stderr := runCLI(t, append([]string{"--config", cfg}, args...)...); code != 0 {
			t.Fatalf("%v: %s", args, stderr)
		}
	}
	code, out, _ := runCLI(t, "--config", cfg, "status", "--name", "nightly", "-o", "yaml")
	for _, want := range []string{"status: SUCCESS", "totalNodes: 1", "finishedNodes: 1", "host: node1", "backupType: differential", "totalFiles: 1"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("status -o yaml lacks %q: %d %s", want, code, out)
		}
	}
	if code, out, _ := runCLI(t, "--config", cfg, "list", "-o", "json"); code != 0 || !strings.Contains(out, `"status": "SUCCESS"`) {
		t.Fatalf("list -o json: %d %s", code, out)
	}
	if code, out, _ := runCLI(t, "--config", cfg, "list", "--nodes"); code != 0 || !strings.Contains(out, "complete") {
		t.Fatalf("list --nodes: %d %s", code, out)
	}
	if code, _, stderr := runCLI(t, "--config", cfg, "status", "--name", "nope"); code != exitNotFound {
		t.Fatalf("status of a missing backup: %d %s", code, stderr)
	}
}

func TestCLINotFoundHints(t *testing.T) {
	t.Setenv("CASSETTE_CONFIG", "")
	dir := t.TempDir()
	tbl := filepath.Join(dir, "data", "ks1", "users-0a1b2c")
	os.MkdirAll(tbl, 0o755)
	os.WriteFile(filepath.Join(tbl, "nb-1-big-Data.db"), []byte("rows"), 0o644)
	cfg := writeConfig(t, dir)
	runCLI(t, "--config", cfg, "init")
	runCLI(t, "--config", cfg, "backup", "--name", "nightly-2026-11-24")
	_, _, stderr := runCLI(t, "--config", cfg, "restore", "--name", "nightly-2026-11-25", "--target", filepath.Join(dir, "r"))
	if !strings.Contains(stderr, `did you mean "nightly-2026-11-24"`) {
		t.Fatalf("no name suggestion: %q", stderr)
	}
	_, _, stderr = runCLI(t, "--config", cfg, "restore", "--name", "nightly-2026-11-24", "--node", "node2", "--target", filepath.Join(dir, "r"))
	if !strings.Contains(stderr, "--node node1") || !strings.Contains(stderr, "has nodes node1") {
		t.Fatalf("no node hint: %q", stderr)
	}
}

func sourceFromHostMap(arg, target string) (string, error) {
	m, err := readHostMap(arg)
	if err != nil {
		return "", err
	}
	return m.source(target)
}

func TestSourceFromHostMap(t *testing.T) {
	m := `{"in_place": false, "host_map": {"dc1-rack1-sts-0": {"source": ["old-dc1-rack1-sts-0"], "seed": false}}}`
	if src, err := sourceFromHostMap(m, "dc1-rack1-sts-0"); err != nil || src != "old-dc1-rack1-sts-0" {
		t.Fatalf("%q %v", src, err)
	}
	if _, err := sourceFromHostMap(m, "other"); err == nil || !strings.Contains(err.Error(), "dc1-rack1-sts-0") {
		t.Fatalf("unknown target: %v", err)
	}
	if _, err := sourceFromHostMap(`{"host_map": {`, "x"); err == nil || exitCode(err) != exitUsage {
		t.Fatalf("bad JSON: %v", err)
	}
}

func TestCLIExpectedNodesKeepBackupInProgress(t *testing.T) {
	t.Setenv("CASSETTE_CONFIG", "")
	dir := t.TempDir()
	tbl := filepath.Join(dir, "data", "ks1", "users-0a1b2c")
	os.MkdirAll(tbl, 0o755)
	os.WriteFile(filepath.Join(tbl, "nb-1-big-Data.db"), []byte("rows"), 0o644)
	os.WriteFile(filepath.Join(dir, "tokens"), []byte("-100,200\n300\n"), 0o644)
	cfg := writeConfig(t, dir)
	runCLI(t, "--config", cfg, "init")
	if code, _, stderr := runCLI(t, "--config", cfg, "backup", "--name", "b", "--datacenter", "dc1", "--rack", "r1",
		"--tokens-file", filepath.Join(dir, "tokens"), "--expect-nodes", "node1:dc1:r1,node2:dc2:r1"); code != 0 {
		t.Fatal(stderr)
	}
	_, out, _ := runCLI(t, "--config", cfg, "status", "--name", "b", "-o", "json")
	for _, want := range []string{`"status": "IN_PROGRESS"`, `"totalNodes": 2`, `"finishedNodes": 1`, `"datacenter": "dc2"`, `300`} {
		if !strings.Contains(out, want) {
			t.Fatalf("status lacks %s: %s", want, out)
		}
	}
}
