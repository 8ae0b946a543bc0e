package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cassette-backup/cassette/engine/cassandra"
)

// A node driven through nodetool (the fake script, which snapshots the data
// directory with hard links as Cassandra does): backup takes and clears the
// snapshot and records what nodetool says of the node; restore --in-place
// refuses while the node is up and restores once it is down.
func TestCLINodetoolBackupAndInPlaceRestore(t *testing.T) {
	t.Setenv("CASSETTE_CONFIG", "")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	tbl := filepath.Join(data, "ks1", "users-0a1b2c")
	os.MkdirAll(tbl, 0o755)
	orig := bytes.Repeat([]byte("row data "), 50000)
	os.WriteFile(filepath.Join(tbl, "nb-1-big-Data.db"), orig, 0o644)
	os.WriteFile(filepath.Join(tbl, "nb-1-big-TOC.txt"), []byte("Data.db\nTOC.txt\n"), 0o644)
	fake, err := cassandra.FakeNodetoolPath()
	if err != nil {
		t.Fatal(err)
	}
	calls := filepath.Join(dir, "nodetool.log")
	t.Setenv("FAKE_NODETOOL_DATA_DIRS", data)
	t.Setenv("FAKE_NODETOOL_LOG", calls)
	t.Setenv("FAKE_NODETOOL_DC", "dc-east")
	t.Setenv("FAKE_NODETOOL_RACK", "rack-b")
	cfg := filepath.Join(dir, "cassette.yaml")
	os.WriteFile(cfg, []byte("storageProperties:\n  storageProvider: local\n  basePath: "+filepath.Join(dir, "buckets")+
		"\n  bucketName: backups\ncassandra:\n  dataDirs: ["+data+"]\n  node: node1\n  nodetool:\n    executable: "+fake+
		"\n    username: cassandra\n    password: s3cr3t-jmx\ncacheDir: "+filepath.Join(dir, "cache")+"\n"), 0o600)
	if code, _, stderr := runCLI(t, "--config", cfg, "init"); code != 0 {
		t.Fatal(stderr)
	}
	code, out, stderr := runCLI(t, "--config", cfg, "backup", "--name", "b1")
	if code != 0 {
		t.Fatalf("backup: %d %s", code, stderr)
	}
	if !strings.Contains(out, "dedup ratio") || !strings.Contains(out, "objects written") {
		t.Fatalf("no final summary: %s", out)
	}
	log, _ := os.ReadFile(calls)
	for _, want := range []string{"snapshot -t cassette-b1", "clearsnapshot -t cassette-b1", "info -T", "version"} {
		if !strings.Contains(string(log), want) {
			t.Fatalf("nodetool was not asked %q:\n%s", want, log)
		}
	}
	if strings.Contains(string(log)+out+stderr, "s3cr3t-jmx") {
		t.Fatal("the JMX password leaked into a log or the output")
	}
	if _, err := os.Stat(filepath.Join(tbl, "snapshots", "cassette-b1")); !os.IsNotExist(err) {
		t.Fatalf("snapshot left behind: %v", err)
	}
	code, out, _ = runCLI(t, "--config", cfg, "status", "--name", "b1", "-o", "json")
	if code != 0 || !strings.Contains(out, `"datacenter": "dc-east"`) || !strings.Contains(out, `"rack": "rack-b"`) ||
		!strings.Contains(out, `"totalNodes": 1`) || !strings.Contains(out, `"status": "SUCCESS"`) || !strings.Contains(out, `"hostId"`) {
		t.Fatalf("status does not carry nodetool's topology: %s", out)
	}

	// The node "runs": in-place restore refuses and touches nothing.
	os.WriteFile(filepath.Join(tbl, "nb-1-big-Data.db"), []byte("damaged"), 0o644)
	code, _, stderr = runCLI(t, "--config", cfg, "restore", "--name", "b1", "--in-place")
	if code == 0 || !strings.Contains(stderr, "running") {
		t.Fatalf("in-place restore while up: %d %q", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(tbl, "nb-1-big-Data.db")); string(b) != "damaged" {
		t.Fatal("a refused in-place restore changed the data directory")
	}
	// Stopped: it restores, and keeps the old tables aside.
	t.Setenv("FAKE_NODETOOL_DOWN", "1")
	code, out, stderr = runCLI(t, "--config", cfg, "restore", "--name", "b1", "--in-place")
	if code != 0 {
		t.Fatalf("in-place restore: %d %s", code, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(tbl, "nb-1-big-Data.db")); !bytes.Equal(b, orig) {
		t.Fatal("in-place restore did not restore the Data.db")
	}
	if !strings.Contains(out, ".cassette-aside") {
		t.Fatalf("restore does not say where the old tables went: %s", out)
	}
	// A configured check instead of nodetool.
	code, _, stderr = runCLI(t, "--config", cfg, "restore", "--name", "b1", "--in-place", "--running-check", "true")
	if code == 0 || !strings.Contains(stderr, "running") {
		t.Fatalf("--running-check true must refuse: %d %q", code, stderr)
	}
}

func TestCLIBackupUnknownKeyspace(t *testing.T) {
	t.Setenv("CASSETTE_CONFIG", "")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "data", "inventory", "items-01"), 0o755)
	os.WriteFile(filepath.Join(dir, "data", "inventory", "items-01", "nb-1-big-Data.db"), []byte("x"), 0o644)
	cfg := writeConfig(t, dir)
	runCLI(t, "--config", cfg, "init")
	code, _, stderr := runCLI(t, "--config", cfg, "backup", "--name", "b1", "--keyspace", "inventroy")
	if code != exitUsage || !strings.Contains(stderr, `"inventroy" does not exist`) || !strings.Contains(stderr, `did you mean "inventory"`) {
		t.Fatalf("unknown keyspace: %d %q", code, stderr)
	}
}
