package control

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
	"github.com/cassette-backup/cassette/cmd/internal/schedule"
)

// TestSchedulesChangeWhileRunning: a schedule put into a running scheduler
// backs up its datacenter at its time; disabled, it is skipped; removed, it
// is gone from the operations and the state.
func TestSchedulesChangeWhileRunning(t *testing.T) {
	n1 := startFake(t)
	dc1 := testDC("dc1", []string{n1.addr})
	n1.statuses = []any{medusapb.StatusType_SUCCESS}
	c := fastController(t, dc1)
	cl := c.Inventory().Clusters[0]
	at := func(h, m int) time.Time { return time.Date(2026, 3, 1, h, m, 0, 0, time.UTC) }
	clock := schedule.NewFakeClock(at(0, 45))
	s, err := c.NewSchedules(cl, nil, ScheduleOptions{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	ops, _, err := ParseSchedules("console", []byte("kind: MedusaBackupSchedule\nmetadata: {name: hourly}\nspec:\n  cronSchedule: '0 * * * *'\n  backupSpec: {backupType: full, cassandraDatacenter: dc1}\n"), cl)
	if err != nil {
		t.Fatal(err)
	}
	backup := fmt.Sprintf("hourly-%d", at(1, 0).Unix())
	n1.backups = []*medusapb.BackupSummary{summary(backup, 1, dc1.Nodes...)}
	if err := s.Put(ops[0]); err != nil {
		t.Fatal(err)
	}
	if got := s.Ops(); len(got) != 1 || got[0].Datacenters[0] != dc1 {
		t.Fatalf("ops %+v", got)
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	r, err := clock.RunAt(wctx, s.Scheduler, "hourly", at(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != schedule.StatusSuccess || r.Backup != backup {
		t.Fatalf("%+v", r)
	}
	if err := s.SetDisabled("hourly", true); err != nil {
		t.Fatal(err)
	}
	if !s.Ops()[0].Schedule.Disabled || !s.Status().Schedules["hourly"].NextSchedule.IsZero() {
		t.Fatalf("not disabled: %+v", s.Status().Schedules["hourly"])
	}
	if err := s.Remove("hourly"); err != nil || len(s.Ops()) != 0 {
		t.Fatalf("remove: %v %v", err, s.Ops())
	}
	other := &Datacenter{Cluster: "other", Name: "dcx"}
	if err := s.Put(ScheduledOp{Schedule: ops[0].Schedule, Datacenters: []*Datacenter{other}}); err == nil {
		t.Fatal("a datacenter of another cluster was accepted")
	}
}
