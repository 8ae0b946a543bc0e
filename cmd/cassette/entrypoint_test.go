package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cassette-backup/cassette/engine/cassandra"
)

// TestEntrypointRestoreMode runs the image's init container the way the
// operator does: the binary with no arguments, MEDUSA_MODE=RESTORE and the
// operator's variables. It refuses while Cassandra runs, restores the
// mapped source node's backup in place once it is down, records the key,
// and a second start with the same key does nothing.
func TestEntrypointRestoreMode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cassette and runs it; skipped with -short")
	}
	t.Setenv("CASSETTE_CONFIG", "")
	dir := t.TempDir()
	bin := buildCassette(t, dir)
	buckets := filepath.Join(dir, "buckets")
	storage := "storageProperties:\n  storageProvider: local\n  basePath: " + buckets + "\n  bucketName: backups\n"

	// The source node's backup, taken with the CLI.
	src := filepath.Join(dir, "src", "data")
	makeTables(t, src, 1)
	srcCfg := filepath.Join(dir, "src", "cassette.yaml")
	os.WriteFile(srcCfg, []byte(storage+"cassandra:\n  dataDirs: ["+src+"]\n  node: demo-dc1-default-sts-1\n  snapshot: none\ncacheDir: "+filepath.Join(dir, "src", "cache")+"\n"), 0o600)
	for _, args := range [][]string{{"init"}, {"backup", "--name", "medusa-backup-1"}} {
		if code, _, stderr := runCLI(t, append([]string{"--config", srcCfg}, args...)...); code != 0 {
			t.Fatalf("%v: %s", args, stderr)
		}
	}

	// The pod being restored: no data directory configured, so its data
	// directory is <data root>/data; its tables hold other data, replaced
	// (and not kept aside: no .cassette-aside is left).
	pod := "demo-dc1-default-sts-0"
	state := filepath.Join(dir, "pod", "var-lib-cassandra")
	data := filepath.Join(state, "data")
	makeTables(t, data, 7)
	users := filepath.Join(data, "ks1", "users-0a1b2c", "nb-1-big-Data.db")
	before, _ := os.ReadFile(users)
	fake, err := cassandra.FakeNodetoolPath()
	if err != nil {
		t.Fatal(err)
	}
	podCfg := filepath.Join(dir, "pod", "cassette.yaml")
	os.WriteFile(podCfg, []byte(storage+"cassandra:\n  nodetool:\n    executable: "+fake+"\ncacheDir: "+filepath.Join(dir, "pod", "cache")+"\n"), 0o600)
	tmp := filepath.Join(dir, "pod", "tmp")
	os.MkdirAll(tmp, 0o755)
	mapping := `{"in_place": false, "host_map": {"demo-dc1-default-sts-0": {"source": ["demo-dc1-default-sts-1"], "seed": false}}}`
	env := map[string]string{
		"MEDUSA_MODE": "RESTORE", "CASSETTE_CONFIG": podCfg, "CASSETTE_STATE_DIR": state, "POD_NAME": pod, "MEDUSA_TMP_DIR": tmp,
		"BACKUP_NAME": "medusa-backup-1", "RESTORE_KEY": "7c1e5a", "RESTORE_MAPPING": mapping, "FAKE_NODETOOL_DATA_DIRS": data,
	}
	entry := func(change map[string]string) (int, string, string) {
		t.Helper()
		cmd := exec.Command(bin) // no arguments: MEDUSA_MODE decides
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "CASSETTE_") && !strings.HasPrefix(kv, "POD_NAME=") && !strings.HasPrefix(kv, "MEDUSA_") && !strings.HasPrefix(kv, "FAKE_NODETOOL") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		for k, v := range env {
			if nv, ok := change[k]; ok {
				v = nv
			}
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		for k, v := range change {
			if _, ok := env[k]; !ok {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
		}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), out.String(), errb.String()
	}
	last := filepath.Join(state, ".last-restore")

	// Cassandra runs (nodetool answers): refused, nothing touched.
	if code, out, stderr := entry(nil); code == 0 || !strings.Contains(stderr, "running") {
		t.Fatalf("restore while Cassandra runs: exit %d\n%s%s", code, out, stderr)
	}
	if b, _ := os.ReadFile(users); !bytes.Equal(b, before) {
		t.Fatal("a refused restore changed the data")
	}
	if _, err := os.Stat(last); !os.IsNotExist(err) {
		t.Fatalf("a refused restore recorded its key: %v", err)
	}

	// Not started yet (nodetool cannot connect, as in the init container).
	down := map[string]string{"FAKE_NODETOOL_DOWN": "1"}
	code, out, stderr := entry(down)
	if code != 0 || !strings.Contains(out, "restored backup medusa-backup-1 node demo-dc1-default-sts-1 onto "+pod) {
		t.Fatalf("restore: exit %d\n%s%s", code, out, stderr)
	}
	sameTree(t, src, data)
	if b, _ := os.ReadFile(last); string(b) != "7c1e5a\n" {
		t.Fatalf(".last-restore = %q", b)
	}

	// A restarted init container with the same key restores nothing.
	os.WriteFile(users, []byte("written by Cassandra since"), 0o644)
	if code, out, stderr := entry(down); code != 0 || !strings.Contains(out, "already applied") {
		t.Fatalf("second run: exit %d\n%s%s", code, out, stderr)
	}
	if b, _ := os.ReadFile(users); string(b) != "written by Cassandra since" {
		t.Fatal("the second run with the same key restored again")
	}

	// No restore requested: nothing to do.
	if code, out, _ := entry(map[string]string{"BACKUP_NAME": ""}); code != 0 || !strings.Contains(out, "no restore requested") {
		t.Fatalf("without BACKUP_NAME: exit %d %s", code, out)
	}
	// A mapping that names no source for this pod (a node added since the
	// backup): nothing to restore, the key is recorded.
	other := `{"in_place": false, "host_map": {"demo-dc1-default-sts-5": {"source": ["demo-dc1-default-sts-1"], "seed": false}}}`
	if code, out, stderr := entry(map[string]string{"RESTORE_KEY": "8d2f", "RESTORE_MAPPING": other, "FAKE_NODETOOL_DOWN": "1"}); code != 0 || !strings.Contains(out, "nothing to restore here") {
		t.Fatalf("pod not in the mapping: exit %d\n%s%s", code, out, stderr)
	}
	if b, _ := os.ReadFile(last); string(b) != "8d2f\n" {
		t.Fatalf(".last-restore = %q", b)
	}

	// Without RESTORE_MAPPING, the mapping PrepareRestore wrote for the key.
	m := restoreMappingFile{InPlace: true, HostMap: map[string]hostMapEntry{pod: {Source: []string{"demo-dc1-default-sts-1"}}}, BackupName: "medusa-backup-1", RestoreKey: "9a3b"}
	b, _ := json.Marshal(m)
	os.MkdirAll(filepath.Join(state, ".restore_mapping"), 0o755)
	os.WriteFile(restoreMappingPath(state, "9a3b"), b, 0o644)
	if code, out, stderr := entry(map[string]string{"RESTORE_KEY": "9a3b", "RESTORE_MAPPING": "", "FAKE_NODETOOL_DOWN": "1"}); code != 0 || !strings.Contains(out, "restored backup") {
		t.Fatalf("restore from PrepareRestore's mapping: exit %d\n%s%s", code, out, stderr)
	}
	sameTree(t, src, data)

	// A backup that does not exist fails the init container loudly.
	if code, _, stderr := entry(map[string]string{"RESTORE_KEY": "aa11", "BACKUP_NAME": "nope", "FAKE_NODETOOL_DOWN": "1"}); code != exitNotFound || !strings.Contains(stderr, "nope") {
		t.Fatalf("missing backup: exit %d %s", code, stderr)
	}
	if code, _, stderr := entry(map[string]string{"MEDUSA_MODE": "BOGUS"}); code != exitUsage || !strings.Contains(stderr, "use GRPC or RESTORE") {
		t.Fatalf("bad MEDUSA_MODE: exit %d %s", code, stderr)
	}
}

// sameTree fails unless want and got hold the same files, byte for byte.
func sameTree(t *testing.T, want, got string) {
	t.Helper()
	files := func(root string) map[string][]byte {
		m := map[string][]byte{}
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			if !d.IsDir() {
				b, _ := os.ReadFile(p)
				rel, _ := filepath.Rel(root, p)
				m[rel] = b
			}
			return nil
		})
		return m
	}
	w, g := files(want), files(got)
	if len(w) != len(g) {
		var extra []string
		for rel := range g {
			if _, ok := w[rel]; !ok {
				extra = append(extra, rel)
			}
		}
		t.Fatalf("%s has %d files, %s has %d (extra: %v)", want, len(w), got, len(g), extra)
	}
	for rel, b := range w {
		if !bytes.Equal(g[rel], b) {
			t.Fatalf("%s differs from the source", rel)
		}
	}
}

// TestEntrypointReadsMedusaINI: `cassette` alone with MEDUSA_MODE set is
// the entrypoint, and it reads /etc/medusa/medusa.ini when no
// configuration is named.
func TestEntrypointReadsMedusaINI(t *testing.T) {
	dir := t.TempDir()
	fake, err := cassandra.FakeNodetoolPath()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAKE_NODETOOL_DOWN", "1")
	ini := filepath.Join(dir, "medusa.ini")
	os.WriteFile(ini, []byte("[storage]\nstorage_provider = local\nbase_path = "+dir+"\nbucket_name = backups\n\n[cassandra]\nnodetool_executable = "+fake+"\n\n[grpc]\nenabled = 1\n"), 0o600)
	if code, _, stderr := runCLI(t, "--config", ini, "--cache-dir", filepath.Join(dir, "cache"), "init"); code != 0 {
		t.Fatal(stderr)
	}
	saved := medusaINIPath
	t.Cleanup(func() { medusaINIPath = saved })
	t.Setenv("CASSETTE_CONFIG", "")
	t.Setenv("CASSETTE_CACHE_DIR", filepath.Join(dir, "cache"))
	t.Setenv("CASSETTE_STATE_DIR", dir)
	t.Setenv("MEDUSA_MODE", "RESTORE")
	t.Setenv("BACKUP_NAME", "never-taken")
	t.Setenv("RESTORE_KEY", "k1")
	t.Setenv("RESTORE_MAPPING", "")
	t.Setenv("POD_NAME", "demo-dc1-default-sts-0")
	var out, errb bytes.Buffer
	medusaINIPath = ini
	if code := run(context.Background(), []string{"cassette"}, &out, &errb); code != exitNotFound || !strings.Contains(errb.String(), "never-taken") {
		t.Fatalf("with %s: exit %d %s", ini, code, errb.String())
	}
	medusaINIPath = filepath.Join(dir, "absent.ini")
	errb.Reset()
	if code := run(context.Background(), []string{"cassette"}, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "no storage configured") {
		t.Fatalf("without a medusa.ini: exit %d %s", code, errb.String())
	}
}
