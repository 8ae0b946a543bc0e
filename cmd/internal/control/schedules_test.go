package control

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
	"github.com/cassette-backup/cassette/cmd/internal/schedule"
)

const testSchedules = `apiVersion: medusa.k8ssandra.io/v1alpha1
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
kind: MedusaBackupScheduleList
items:
  - metadata:
      name: dc1-daily
    spec:
      backupSpec:
        cassandraDatacenter: dc1
      cronSchedule: "30 1 * * *"
  - metadata:
      name: purge-all
    spec:
      operationType: purge
      cronSchedule: "0 4 * * *"
`

func TestParseSchedulesPicksDatacenters(t *testing.T) {
	cl := &Cluster{Name: "demo", Datacenters: []*Datacenter{{Name: "dc1"}, {Name: "dc2"}}}
	ops, _, err := ParseSchedules("s.yaml", []byte(testSchedules), cl)
	if err != nil || len(ops) != 3 {
		t.Fatalf("%v %v", ops, err)
	}
	got := map[string]string{}
	for _, op := range ops {
		var names []string
		for _, dc := range op.Datacenters {
			names = append(names, dc.Name)
		}
		got[op.Schedule.Name] = strings.Join(names, ",")
	}
	if got["dc2-nightly"] != "dc2" || got["dc1-daily"] != "dc1" || got["purge-all"] != "dc1,dc2" {
		t.Fatalf("datacenters: %v", got)
	}

	bad := strings.Replace(testSchedules, "cassandraDatacenter: dc2", "cassandraDatacenter: dc3", 1)
	_, _, err = ParseSchedules("s.yaml", []byte(bad), cl)
	if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), `s.yaml:8: schedule "dc2-nightly": spec.backupSpec.cassandraDatacenter "dc3" is not a datacenter of cluster demo`) {
		t.Fatalf("unknown datacenter: %v", err)
	}
	bad = strings.Replace(testSchedules, "        cassandraDatacenter: dc1\n", "", 1)
	_, _, err = ParseSchedules("s.yaml", []byte(bad), cl)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `schedule "dc1-daily": spec.backupSpec.cassandraDatacenter is not set and cluster demo has 2 datacenters`) {
		t.Fatalf("no datacenter: %v", err)
	}
	// One datacenter: the schedules without one use it.
	one := &Cluster{Name: "demo", Datacenters: []*Datacenter{{Name: "dc1"}}}
	ops, _, err = ParseSchedules("s.yaml", []byte(bad[strings.Index(bad, "---"):]), one)
	if err != nil || len(ops) != 2 || ops[0].Datacenters[0].Name != "dc1" {
		t.Fatalf("one datacenter: %v %v", ops, err)
	}
	if _, _, err := ParseSchedules("s.yaml", []byte("kind: MedusaBackupSchedule\nmetadata: {name: x}\nspec: {cronSchedule: nope}\n"), cl); !errors.Is(err, schedule.ErrInvalid) {
		t.Fatalf("bad cron: %v", err)
	}
}

// TestSchedulerRunsPerDatacenter: on a fake clock, a backup schedule backs
// up its datacenter only, named <schedule>-<unix seconds>; a purge
// schedule purges every datacenter; the state records the runs.
func TestSchedulerRunsPerDatacenter(t *testing.T) {
	n1, n2 := startFake(t), startFake(t)
	dc1, dc2 := testDC("dc1", []string{n1.addr}), testDC("dc2", []string{n2.addr})
	n2.statuses = []any{medusapb.StatusType_SUCCESS}
	c := fastController(t, dc1, dc2)
	cl := c.Inventory().Clusters[0]
	ops, _, err := ParseSchedules("s.yaml", []byte(testSchedules), cl)
	if err != nil {
		t.Fatal(err)
	}
	at := func(h, m int) time.Time { return time.Date(2026, 3, 1, h, m, 0, 0, time.UTC) }
	backup := fmt.Sprintf("dc2-nightly-%d", at(1, 0).Unix())
	n2.backups = []*medusapb.BackupSummary{summary(backup, 1, dc2.Nodes...)}
	n1.purge = &medusapb.PurgeBackupsResponse{NbBackupsPurged: 1}
	n2.purge = &medusapb.PurgeBackupsResponse{NbBackupsPurged: 2}
	clock := schedule.NewFakeClock(at(0, 45))
	state := filepath.Join(t.TempDir(), "state.json")
	sch, err := c.NewScheduler(cl, ops, ScheduleOptions{StatePath: state, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sch.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	wait := func(name string, when time.Time) *schedule.Run {
		t.Helper()
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		defer wcancel()
		r, err := clock.RunAt(wctx, sch, name, when)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// 01:00: dc1-daily (01:30, daily) and purge (04:00) wait; dc2-nightly backs
	// up dc2.
	r := wait("dc2-nightly", at(1, 0))
	if r.Status != schedule.StatusSuccess || r.Backup != backup || !strings.Contains(r.Summary, "datacenter dc2: SUCCESS, 1 of 1 nodes") {
		t.Fatalf("backup run: %+v", r)
	}
	if len(n2.async) != 1 || n2.async[0].GetName() != backup || n2.async[0].GetMode() != medusapb.BackupRequest_FULL || len(n1.async) != 0 {
		t.Fatalf("AsyncBackup: dc1 %v dc2 %v", n1.async, n2.async)
	}
	// 01:30: dc1's node never answers: FAILED, named.
	n1.mu.Lock()
	n1.asyncErr = errUnavailable
	n1.mu.Unlock()
	r = wait("dc1-daily", at(1, 30))
	if r.Status != schedule.StatusFailed || !strings.Contains(r.Error, "node dc1-sts-0") {
		t.Fatalf("failed run: %+v", r)
	}
	r = wait("purge-all", at(4, 0))
	if r.Status != schedule.StatusSuccess || !strings.Contains(r.Summary, "datacenter dc1: SUCCESS, 1 nodes, 1 backups") ||
		!strings.Contains(r.Summary, "datacenter dc2: SUCCESS, 1 nodes, 2 backups") {
		t.Fatalf("purge run: %+v", r)
	}
	st, err := schedule.LoadState(state)
	if err != nil || st.Node != "control-demo" || !st.Schedules["dc2-nightly"].LastExecution.Equal(at(1, 0)) ||
		!st.Schedules["dc2-nightly"].NextSchedule.Equal(time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)) {
		t.Fatalf("state: %+v %v", st, err)
	}
}
