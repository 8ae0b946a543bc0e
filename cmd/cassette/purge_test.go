package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCLIPurgeDeleteGCUnlock(t *testing.T) {
	t.Setenv("CASSETTE_CONFIG", "")
	dir := t.TempDir()
	tbl := filepath.Join(dir, "data", "ks1", "users-0a1b2c")
	os.MkdirAll(tbl, 0o755)
	cfg := writeConfig(t, dir)
	if code, _, stderr := runCLI(t, "--config", cfg, "init"); code != 0 {
		t.Fatal(stderr)
	}
	for i, name := range []string{"b1", "b2", "b3"} {
		// Compaction: each backup sees one new SSTable, the previous one gone.
		os.RemoveAll(tbl)
		os.MkdirAll(tbl, 0o755)
		os.WriteFile(filepath.Join(tbl, "nb-"+name+"-big-Data.db"), bytes.Repeat([]byte{byte('a' + i), 1, 2, 3, byte(i)}, 60000), 0o644)
		if code, _, stderr := runCLI(t, "--config", cfg, "backup", "--name", name); code != 0 {
			t.Fatal(stderr)
		}
	}
	code, out, stderr := runCLI(t, "--config", cfg, "purge", "--max-backup-count", "1", "--grace-days", "0", "--dry-run")
	if code != 0 || !strings.Contains(out, "would purge b1 node node1") || !strings.Contains(out, "backups would purge: 2") {
		t.Fatalf("dry run: %d %s %s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, "--config", cfg, "purge", "--max-backup-count", "1", "--grace-days", "0")
	if code != 0 || !strings.Contains(out, "backups purged: 2") || !strings.Contains(out, "gc:") {
		t.Fatalf("purge: %d %s %s", code, out, stderr)
	}
	if code, out, _ = runCLI(t, "--config", cfg, "list"); strings.Contains(out, "b1") || !strings.Contains(out, "b3") {
		t.Fatalf("list after purge: %s", out)
	}
	if code, out, stderr = runCLI(t, "--config", cfg, "verify", "--read-data"); code != 0 {
		t.Fatalf("verify after purge: %s %s", out, stderr)
	}
	packGlob := filepath.Join(dir, "buckets", "backups", "packs", "*", "*")
	if packs, _ := filepath.Glob(packGlob); len(packs) == 0 {
		t.Fatalf("no packs under %s: the test looks in the wrong place", packGlob)
	}
	if code, _, stderr = runCLI(t, "--config", cfg, "delete", "--name", "nope"); code != exitNotFound {
		t.Fatalf("delete of a missing backup: %d %s", code, stderr)
	}
	if code, out, stderr = runCLI(t, "--config", cfg, "delete", "--name", "b3", "--all-nodes"); code != 0 || !strings.Contains(out, "deleted b3 node node1") {
		t.Fatalf("delete: %d %s %s", code, out, stderr)
	}
	if code, out, stderr = runCLI(t, "--config", cfg, "gc", "--grace-days", "0"); code != 0 || !strings.Contains(out, "gc:") {
		t.Fatalf("gc: %d %s %s", code, out, stderr)
	}
	packs, _ := filepath.Glob(packGlob)
	if len(packs) != 0 {
		t.Fatalf("%d packs survive with no backup left", len(packs))
	}
	if code, out, _ = runCLI(t, "--config", cfg, "unlock", "--stale"); code != 0 || !strings.Contains(out, "no locks") {
		t.Fatalf("unlock: %d %s", code, out)
	}
}
