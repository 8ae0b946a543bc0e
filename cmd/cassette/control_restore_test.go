package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cassette-backup/cassette/cmd/internal/control"
)

// checkControlRestoreRun restores backup full-1 onto dc1 through the
// sidecars (`cassette control restore --run`): every node's data, changed
// since the backup, is the backup's again byte for byte; the same key
// again restores nothing; a node whose Cassandra is up (the fake nodetool
// answers) is refused and reported FAILED by name while the other node
// restores, and exit is 1.
func checkControlRestoreRun(t *testing.T, ctl func(string, ...string) (int, string, string), nodes []*controlNode, bin, buckets, fake, dir string) {
	t.Helper()
	inv := ctlInventory(t, ctl)
	dc1 := nodes[:2]
	// The dc1 sidecars ask the fake nodetool whether Cassandra runs, as an
	// in-place restore does; with FAKE_NODETOOL_DOWN=1 it is stopped.
	nodetool := fmt.Sprintf("  snapshot: hardlink\n  nodetool:\n    executable: %s\n", fake)
	for _, n := range dc1 {
		n.restart(t, inv, bin, buckets, nodetool, "FAKE_NODETOOL_DOWN=1")
	}
	want := make([]string, len(dc1))
	for i, n := range dc1 {
		want[i] = filepath.Join(dir, fmt.Sprintf("expected-run-%d", i))
		makeTables(t, want[i], n.seed)
		// Since the backup: a file deleted, one changed, one added.
		os.Remove(filepath.Join(n.data, "ks1", "users-0a1b2c", "nb-1-big-Data.db"))
		os.WriteFile(filepath.Join(n.data, "ks1", "events-3d4e5f", "nb-1-big-Index.db"), []byte("changed"), 0o644)
		os.WriteFile(filepath.Join(n.data, "system_schema", "tables-afddfb", "nb-2-big-Data.db"), []byte("flushed after the backup"), 0o644)
	}

	code, out, stderr := ctl("restore", "--dc", "dc1", "--backup", "full-1", "--restore-key", "run-1", "--run", "-o", "json")
	var plan control.RestorePlan
	if code != 0 || json.Unmarshal([]byte(out), &plan) != nil || plan.Status != control.StatusSuccess || !plan.Run || plan.Note != control.RunNote || len(plan.Nodes) != 2 {
		t.Fatalf("restore --run: %d\n%s%s", code, out, stderr)
	}
	for i, n := range dc1 {
		rn := plan.Nodes[i]
		p := rn.Progress
		if rn.Status != control.StatusSuccess || rn.Source != n.name || p == nil || p.FilesDone != n.files || p.FilesTotal != n.files || p.BytesDone != n.bytes ||
			!statusTimeRE.MatchString(rn.StartTime) || !statusTimeRE.MatchString(rn.FinishTime) || rn.Note != "" {
			t.Errorf("node %s: %+v %+v", n.name, rn, p)
		}
		if !strings.Contains(stderr, "dc1/"+n.name+" ("+n.proc.addr+"): SUCCESS") {
			t.Errorf("progress of %s: %s", n.name, stderr)
		}
		sameTree(t, want[i], n.data)
	}

	// The same key again is answered, not applied: a change made since
	// stays.
	changed := filepath.Join(dc1[0].data, "ks1", "users-0a1b2c", "nb-1-big-TOC.txt")
	os.WriteFile(changed, []byte("changed after the restore"), 0o644)
	code, out, stderr = ctl("restore", "--dc", "dc1", "--backup", "full-1", "--restore-key", "run-1", "--run")
	if code != 0 || !strings.Contains(out, "restore run-1 of backup full-1 to datacenter dc1 (cluster demo): SUCCESS, restored on 2 of 2 nodes") ||
		!strings.Contains(out, "node "+dc1[0].name+": restore key run-1 was already applied on this node: not restored again") ||
		!regexpFind(`(?m)^`+dc1[1].name+`\s+r2\s+\S+\s+`+dc1[1].name+`\s+SUCCESS\s`, out) || strings.Contains(out, "NOT RESTORED YET") {
		t.Fatalf("restore --run again: %d\n%s%s", code, out, stderr)
	}
	if b, _ := os.ReadFile(changed); string(b) != "changed after the restore" {
		t.Fatal("restore run-1 was applied twice")
	}

	// Cassandra is up on node 1: it is refused, named, and keeps its data;
	// node 0 restores the new key.
	up := dc1[1]
	up.restart(t, inv, bin, buckets, nodetool)
	kept := filepath.Join(up.data, "ks1", "users-0a1b2c", "nb-1-big-TOC.txt")
	os.WriteFile(kept, []byte("live data"), 0o644)
	code, out, stderr = ctl("restore", "--dc", "dc1", "--backup", "full-1", "--restore-key", "run-2", "--run", "-o", "json")
	plan = control.RestorePlan{}
	if code != exitError || json.Unmarshal([]byte(out), &plan) != nil || plan.Status != control.StatusFailed || len(plan.Nodes) != 2 {
		t.Fatalf("restore --run with Cassandra up on %s: %d\n%s%s", up.name, code, out, stderr)
	}
	if rn := plan.Nodes[1]; rn.Status != control.StatusFailed ||
		rn.Error != "Cassandra is running on node "+up.name+": stop Cassandra on that node first, then run the same command again with --restore-key run-2" {
		t.Errorf("node %s: %+v", up.name, rn)
	}
	if plan.Nodes[0].Status != control.StatusSuccess || !strings.Contains(stderr, "restore run-2 of backup full-1 to datacenter dc1 is FAILED (1 of 2 nodes restored): node "+up.name+" (") ||
		!strings.Contains(stderr, "dc1/"+up.name+" ("+up.proc.addr+"): FAILED: Cassandra is running on node "+up.name) {
		t.Errorf("restore --run with Cassandra up on %s: %+v\n%s", up.name, plan.Nodes[0], stderr)
	}
	sameTree(t, want[0], dc1[0].data)
	if b, _ := os.ReadFile(kept); string(b) != "live data" {
		t.Fatalf("%s was restored while its Cassandra runs", up.name)
	}
}
