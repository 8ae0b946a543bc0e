package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/cmd/internal/control"
	"github.com/cassette-backup/cassette/cmd/internal/schedule"
)

// TestControlPlane runs three `cassette serve` sidecars on one local
// repository (datacenter dc1: two nodes in racks r1 and r2; dc2: one node
// served with mutual TLS) and drives them with `cassette control` as
// k8ssandra-operator would: a backup per datacenter with every MedusaBackup
// field checked, a restore prepared on every node and applied by the
// RESTORE entrypoint with the environment the control plane gives, a
// refused restore, a restore the sidecars run on every node (--run), purges with per-node counters (one node after the
// other, then all at once), schedules per datacenter on a fake clock with
// their state persisted, and a backup whose node is killed mid-way, then
// one whose node is down, then a purge with it down: FAILED, the node
// named, exit 1.
func TestControlPlane(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cassette and runs three servers; skipped with -short")
	}
	t.Setenv("CASSETTE_CONFIG", "")
	t.Setenv("CASSETTE_INVENTORY", "")
	t.Cleanup(func() { controlHooks.clock, controlHooks.started = nil, nil })
	testStart := time.Now().Add(-time.Second)
	c := startControlCluster(t)
	dir, bin, buckets, fake, nodes, inv := c.dir, c.bin, c.buckets, c.fake, c.nodes, c.inv
	ctl := func(sub string, args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, append([]string{"control", sub, "--inventory", inv, "--poll-interval", "100ms", "--unreachable-after", "1s"}, args...)...)
	}

	code, out, stderr := ctl("inventory")
	if code != 0 || !strings.Contains(out, nodes[2].proc.addr+"  mutual TLS") || !strings.Contains(out, "file "+filepath.Join(dir, "secrets", "none.ini")) {
		t.Fatalf("inventory: %d\n%s%s", code, out, stderr)
	}

	// A full backup of dc1: every field the operator copies into its
	// MedusaBackup.
	code, out, stderr = ctl("backup", "--dc", "dc1", "--name", "full-1", "--type", "full", "-o", "json")
	var job control.BackupJob
	if code != 0 || json.Unmarshal([]byte(out), &job) != nil {
		t.Fatalf("backup dc1: %d\n%s%s", code, out, stderr)
	}
	b := job.Backup
	if job.Status != control.StatusSuccess || !slices.Equal(job.Finished, []string{nodes[0].name, nodes[1].name}) || len(job.Failed) != 0 || b == nil ||
		b.Name != "full-1" || b.Datacenter != "dc1" || b.BackupType != "full" || b.Status != control.StatusSuccess || b.TotalNodes != 2 ||
		b.FinishedNodes != 2 || b.TotalFiles != nodes[0].files+nodes[1].files || b.TotalSize != nodes[0].bytes+nodes[1].bytes || len(b.Nodes) != 2 {
		t.Fatalf("backup dc1: %s\n%s", out, stderr)
	}
	for i, bn := range b.Nodes {
		n := nodes[i]
		if bn.Host != n.name || bn.Datacenter != "dc1" || bn.Rack != n.rack || !slices.Equal(bn.Tokens, n.tokens) || job.Nodes[i].Status != control.StatusSuccess ||
			!statusTimeRE.MatchString(job.Nodes[i].FinishTime) {
			t.Errorf("node %d: %+v %+v", i, bn, job.Nodes[i])
		}
	}
	if b.StartTime.Before(testStart.Truncate(time.Second)) || b.FinishTime.Before(b.StartTime) || b.FinishTime.After(time.Now()) {
		t.Errorf("times %s..%s, test started %s", b.StartTime, b.FinishTime, testStart)
	}
	if !strings.Contains(stderr, "dc1/"+nodes[1].name+" ("+nodes[1].proc.addr+"): SUCCESS") {
		t.Errorf("progress: %s", stderr)
	}

	// dc2 through mutual TLS, table output.
	code, out, stderr = ctl("backup", "--dc", "dc2", "--name", "dc2-full", "--type", "full")
	if code != 0 || !regexpFind(`(?m)^dc2-full\s.*\s1\s+1\s+SUCCESS\s+full\s`, out) || !strings.Contains(out, nodes[2].name) {
		t.Fatalf("backup dc2: %d\n%s%s", code, out, stderr)
	}

	checkControlRestore(t, ctl, nodes, bin, buckets, fake, dir)
	checkControlRestoreRun(t, ctl, nodes, bin, buckets, fake, dir)

	// A differential backup of dc1, then purges: maxBackupCount 1 leaves
	// each dc1 node its newest backup.
	if code, out, stderr = ctl("backup", "--dc", "dc1", "--name", "diff-2"); code != 0 || !strings.Contains(out, ": SUCCESS") {
		t.Fatalf("backup diff-2: %d\n%s%s", code, out, stderr)
	}
	purge := func(want int, args ...string) *control.PurgeJob {
		t.Helper()
		code, out, stderr := ctl("purge", append([]string{"--dc", "dc1", "-o", "json"}, args...)...)
		var job control.PurgeJob
		if json.Unmarshal([]byte(out), &job) != nil || len(job.Nodes) != 2 || (want >= 0) != (code == 0) {
			t.Fatalf("purge %v: %d\n%s%s", args, code, out, stderr)
		}
		for _, pn := range job.Nodes {
			if want >= 0 && (pn.Status != control.StatusSuccess || int(pn.NbBackupsPurged) != want || pn.Attempts != 1) {
				// Nodes purging at once may collide on the repository's
				// garbage-collection lock: the control plane asks again
				// and says the first attempt's counters were not returned.
				if len(args) > 0 || pn.Status != control.StatusSuccess || pn.Attempts < 2 || pn.Note == "" {
					t.Errorf("purge %v of %s: %+v", args, pn.Node, pn)
				}
			}
		}
		return &job
	}
	if job := purge(1, "--sequential"); job.Nodes[0].NbObjectsPurged <= 0 || job.Nodes[1].TotalPurgedSize <= 0 {
		t.Errorf("sequential purge: %+v", job)
	}
	if code, _, stderr = ctl("restore", "--dc", "dc1", "--backup", "full-1"); code != exitNotFound || !strings.Contains(stderr, `list no backup "full-1"`) {
		t.Fatalf("restore of a purged backup: %d %s", code, stderr)
	}
	purge(0) // all at once; nothing left to purge

	checkControlSchedules(t, inv)
	checkControlNodeFailures(t, ctl, nodes, bin, buckets, fake, dir)

	// Node 1 is down: node 0 purges diff-2 and killed-3, node 1 is FAILED.
	if job := purge(-1); job.Status != control.StatusFailed || job.Nodes[0].Status != control.StatusSuccess || job.Nodes[0].NbBackupsPurged != 2 ||
		job.Nodes[1].Status != control.StatusFailed || !strings.Contains(job.Nodes[1].Error, "connection refused") {
		t.Errorf("purge with node 1 down: %+v", job)
	}
	for _, n := range nodes {
		if os.Getenv("DEBUG_SERVE") != "" {
			t.Logf("%s:\n%s", n.name, n.proc.stderr())
		}
	}
}

// checkControlRestore prepares a restore of full-1 on dc1, applies it on
// one node with the RESTORE entrypoint and the environment the control
// plane wrote, and checks refusals.
func checkControlRestore(t *testing.T, ctl func(string, ...string) (int, string, string), nodes []*controlNode, bin, buckets, fake, dir string) {
	t.Helper()
	envDir := filepath.Join(dir, "restore-env")
	code, out, stderr := ctl("restore", "--dc", "dc1", "--backup", "full-1", "--restore-key", "key-1", "--env-dir", envDir, "-o", "json")
	var plan control.RestorePlan
	if code != 0 || json.Unmarshal([]byte(out), &plan) != nil {
		t.Fatalf("restore: %d\n%s%s", code, out, stderr)
	}
	wantMap := control.HostMap{{Source: nodes[0].name, Target: nodes[0].name}, {Source: nodes[1].name, Target: nodes[1].name}}
	if plan.Status != control.StatusSuccess || !plan.InPlace || !slices.Equal(plan.HostMap, wantMap) || plan.RestoreKey != "key-1" ||
		len(plan.Nodes) != 2 || plan.Nodes[1].Status != control.StatusPrepared || plan.Nodes[1].Source != nodes[1].name || plan.Note != control.NoRestoreRPC {
		t.Fatalf("restore plan: %s", out)
	}
	// PrepareRestore ran on both dc1 nodes, and only there.
	for i, n := range nodes {
		raw, err := os.ReadFile(filepath.Join(n.state, ".restore_mapping", "key-1"))
		var m restoreMappingFile
		if i < 2 && (err != nil || json.Unmarshal(raw, &m) != nil || m.BackupName != "full-1" || m.Datacenter != "dc1" || m.HostMap[n.name].Source[0] != n.name) {
			t.Errorf("%s: restore mapping %v %s", n.name, err, raw)
		}
		if i == 2 && err == nil {
			t.Errorf("%s (dc2) got a restore mapping", n.name)
		}
	}
	// The table output says plainly that nothing was restored yet.
	if code, out, _ := ctl("restore", "--dc", "dc1", "--backup", "full-1", "--restore-key", "key-1"); code != 0 ||
		!strings.Contains(out, "NOT RESTORED YET") || !strings.Contains(out, "MEDUSA_MODE=RESTORE BACKUP_NAME=full-1 RESTORE_KEY=key-1") {
		t.Fatalf("restore table: %d\n%s", code, out)
	}

	// Node 0's data changes; its RESTORE step, with the environment file
	// the control plane wrote, brings back the backup.
	n := nodes[0]
	os.Remove(filepath.Join(n.data, "ks1", "users-0a1b2c", "nb-1-big-Data.db"))
	os.WriteFile(filepath.Join(n.data, "ks1", "events-3d4e5f", "nb-1-big-Index.db"), []byte("changed"), 0o644)
	restoreCfg := filepath.Join(dir, "restore.yaml")
	os.WriteFile(restoreCfg, []byte(fmt.Sprintf("storageProperties:\n  storageProvider: local\n  basePath: %s\n  bucketName: backups\n"+
		"cassandra:\n  dataDirs: [%s]\n  nodetool:\n    executable: %s\ncacheDir: %s\n", buckets, n.data, fake, filepath.Join(dir, "restore-cache"))), 0o600)
	envFile, err := os.ReadFile(filepath.Join(envDir, n.name+".env"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "entrypoint")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CASSETTE_") && !strings.HasPrefix(kv, "POD_NAME=") && !strings.HasPrefix(kv, "MEDUSA_") && !strings.HasPrefix(kv, "FAKE_NODETOOL") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(string(envFile)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		cmd.Env = append(cmd.Env, k+"="+strings.Trim(v, "'"))
	}
	cmd.Env = append(cmd.Env, "CASSETTE_CONFIG="+restoreCfg, "CASSETTE_STATE_DIR="+n.state, "FAKE_NODETOOL_DOWN=1")
	var eout, eerr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &eout, &eerr
	if err := cmd.Run(); err != nil || !strings.Contains(eout.String(), "restored backup full-1 node "+n.name+" onto "+n.name) {
		t.Fatalf("RESTORE entrypoint: %v\n%s%s", err, eout.String(), eerr.String())
	}
	want := filepath.Join(dir, "expected-data")
	makeTables(t, want, n.seed)
	sameTree(t, want, n.data)

	// The operator's checks: dc2 has one node, the backup two.
	if code, _, stderr := ctl("restore", "--dc", "dc2", "--backup", "full-1"); code != exitError || !strings.Contains(stderr, "node counts differ") {
		t.Fatalf("restore to dc2: %d %s", code, stderr)
	}
	if code, _, stderr := ctl("restore", "--dc", "dc1", "--backup", "never-taken"); code != exitNotFound {
		t.Fatalf("restore of an unknown backup: %d %s", code, stderr)
	}
}

// checkControlSchedules runs `cassette control schedule` in-process on a
// fake clock: a backup schedule and a purge schedule of dc2.
func checkControlSchedules(t *testing.T, inv string) {
	t.Helper()
	dir := t.TempDir()
	file, state := filepath.Join(dir, "schedules.yaml"), filepath.Join(dir, "state.json")
	os.WriteFile(file, []byte(`apiVersion: medusa.k8ssandra.io/v1alpha1
kind: MedusaBackupSchedule
metadata:
  name: dc2-nightly
spec:
  backupSpec:
    backupType: full
    cassandraDatacenter: dc2
  cronSchedule: "0 1 * * *"
---
apiVersion: medusa.k8ssandra.io/v1alpha1
kind: MedusaBackupSchedule
metadata:
  name: dc2-purge
spec:
  backupSpec:
    cassandraDatacenter: dc2
  operationType: purge
  cronSchedule: "30 1 * * *"
`), 0o600)
	at := func(h, m int) time.Time { return time.Date(2026, 3, 1, h, m, 0, 0, time.UTC) }
	clock := schedule.NewFakeClock(at(0, 50))
	started := make(chan *schedule.Scheduler, 1)
	controlHooks.clock, controlHooks.started = clock, func(s *schedule.Scheduler) { started <- s }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errb := &schedBuffer{}, &schedBuffer{}
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"cassette", "control", "schedule", "--inventory", inv, "--schedules", file, "--state", state,
			"--poll-interval", "100ms", "--unreachable-after", "1s"}, out, errb)
	}()
	var sch *schedule.Scheduler
	select {
	case sch = <-started:
	case code := <-exit:
		t.Fatalf("control schedule exited %d: %s %s", code, out, errb)
	case <-time.After(10 * time.Second):
		t.Fatal("control schedule did not start")
	}
	if !strings.Contains(out.String(), `dc2-nightly: backup (full) of dc2 "0 1 * * *", next 2026-03-01 01:00:00 UTC`) {
		t.Fatalf("start message: %s", out)
	}
	result := func(name string, when time.Time) *schedule.Run {
		t.Helper()
		wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
		defer wcancel()
		r, err := clock.RunAt(wctx, sch, name, when)
		if err != nil {
			t.Fatalf("%v: %s", err, errb)
		}
		return r
	}
	backup := "dc2-nightly-" + strconv.FormatInt(at(1, 0).Unix(), 10)
	if r := result("dc2-nightly", at(1, 0)); r.Status != schedule.StatusSuccess || r.Backup != backup || !strings.Contains(r.Summary, "datacenter dc2: SUCCESS, 1 of 1 nodes") {
		t.Fatalf("scheduled backup: %+v\n%s", r, errb)
	}
	// maxBackupCount 1: the purge removes dc2-full, keeps the scheduled one.
	if r := result("dc2-purge", at(1, 30)); r.Status != schedule.StatusSuccess || !strings.Contains(r.Summary, "datacenter dc2: SUCCESS, 1 nodes, 1 backups") {
		t.Fatalf("scheduled purge: %+v\n%s", r, errb)
	}
	cancel()
	if code := <-exit; code != 0 {
		t.Fatalf("control schedule exited %d: %s", code, errb)
	}
	code, status, stderr := runCLI(t, "control", "schedule", "status", "--inventory", inv, "--state", state)
	if code != 0 || !regexpFind(`dc2-nightly\s+backup \(full\)\s+0 1 \* \* \*\s+2026-03-01 01:00:00\s+\S+ 01:00:00\s+SUCCESS\s+`+backup, status) ||
		!regexpFind(`dc2-purge\s+purge\s+30 1 \* \* \*\s+2026-03-01 01:30:00\s+\S+ \S+\s+SUCCESS`, status) {
		t.Fatalf("schedule status: %d\n%s%s", code, status, stderr)
	}
}

// checkControlNodeFailures kills node 1 in the middle of its backup, then
// backs up with node 1 down: FAILED both times, node 1 named, exit 1.
func checkControlNodeFailures(t *testing.T, ctl func(string, ...string) (int, string, string), nodes []*controlNode, bin, buckets, fake, dir string) {
	t.Helper()
	n := nodes[1]
	// Node 1 now takes snapshots with a nodetool that hangs: its backup
	// stays in progress until the test kills it. The inventory follows it
	// to its new address.
	pidFile := filepath.Join(dir, "nodetool-sleep.pid")
	n.restart(t, ctlInventory(t, ctl), bin, buckets, fmt.Sprintf("  snapshot: nodetool\n  nodetool:\n    executable: %s\n", fake),
		"FAKE_NODETOOL_SLEEP=60", "FAKE_NODETOOL_PIDFILE="+pidFile, "FAKE_NODETOOL_DATA_DIRS="+n.data)
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGKILL) // the fake nodetool's sleep, which outlives its killed server
			}
		}
	})
	type result struct {
		code        int
		out, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, out, stderr := ctl("backup", "--dc", "dc1", "--name", "killed-3", "-o", "json")
		done <- result{code, out, stderr}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(pidFile); err == nil {
			break // node 1 is inside its backup, in nodetool snapshot
		}
		if time.Now().After(deadline) {
			t.Fatalf("node 1's backup never reached nodetool: %s", n.proc.stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
	n.proc.cmd.Process.Signal(syscall.SIGKILL)
	r := <-done
	var job control.BackupJob
	if r.code != exitError || json.Unmarshal([]byte(r.out), &job) != nil {
		t.Fatalf("backup with a node killed: %d\n%s%s", r.code, r.out, r.stderr)
	}
	if job.Status != control.StatusFailed || job.Backup.Status != control.StatusFailed || !slices.Equal(job.Failed, []string{n.name}) ||
		!slices.Equal(job.Finished, []string{nodes[0].name}) || job.Nodes[1].Status != control.StatusFailed ||
		// (No StartTime check for the killed node: it may die before its
		// first BackupStatus answer.)
		!strings.Contains(job.Nodes[1].Error, "did not answer BackupStatus") ||
		!strings.Contains(r.stderr, "cassette: backup killed-3 of datacenter dc1 is FAILED (1 of 2 nodes finished): node "+n.name) {
		t.Fatalf("backup with a node killed: %s\n%s", r.out, r.stderr)
	}

	// Node 1 stays down: the next backup fails on it by name at once.
	code, out, stderr := ctl("backup", "--dc", "dc1", "--name", "unreachable-4")
	if code != exitError || !regexpFind(`(?m)^unreachable-4\s.*\s2\s+1\s+FAILED\s`, out) ||
		!regexpFind(`(?m)^`+n.name+`\s+r2\s+\S+\s+FAILED\s.*did not answer AsyncBackup.*connection refused`, out) ||
		!strings.Contains(stderr, "node "+n.name+" ("+n.proc.addr+") FAILED") {
		t.Fatalf("backup with a node down: %d\n%s%s", code, out, stderr)
	}
}

// ctlInventory returns the --inventory ctl passes.
func ctlInventory(t *testing.T, ctl func(string, ...string) (int, string, string)) string {
	t.Helper()
	code, out, stderr := ctl("inventory", "-o", "json")
	var inv control.Inventory
	if code != 0 || json.Unmarshal([]byte(out), &inv) != nil {
		t.Fatalf("inventory: %d %s %s", code, out, stderr)
	}
	return inv.File
}

// addrOf finds node's address in the inventory text.
func addrOf(t *testing.T, raw []byte, node string) string {
	t.Helper()
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.Contains(line, "name: "+node+",") {
			_, rest, _ := strings.Cut(line, `address: "`)
			addr, _, _ := strings.Cut(rest, `"`)
			return addr
		}
	}
	t.Fatalf("no %s in the inventory", node)
	return ""
}

func regexpFind(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
