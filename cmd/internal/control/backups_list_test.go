package control

import (
	"context"
	"testing"

	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
)

// TestListBackupsOfADatacenter: the first node that answers gives the
// list; backups of another datacenter sharing the repository are left out.
func TestListBackupsOfADatacenter(t *testing.T) {
	live := startFake(t)
	dc1 := testDC("dc1", []string{deadAddress(t), live.addr})
	dc2 := testDC("dc2", []string{deadAddress(t)})
	older := summary("older", 2, dc1.Nodes...)
	older.StartTime -= 3600
	live.backups = []*medusapb.BackupSummary{older, summary("newer", 1, dc1.Nodes...), summary("other-dc", 1, dc2.Nodes...)}
	c := fastController(t, dc1, dc2)
	got, err := c.ListBackups(context.Background(), dc1)
	if err != nil || len(got) != 2 || got[0].Name != "newer" || got[1].Name != "older" {
		t.Fatalf("%+v %v", got, err)
	}
	if b := got[1]; b.Status != StatusSuccess || b.TotalNodes != 2 || b.FinishedNodes != 2 || b.TotalFiles != 30 || b.Datacenter != "dc1" || len(b.Nodes) != 2 {
		t.Fatalf("%+v", b)
	}
	if got[0].Status != StatusInProgress {
		t.Fatalf("in progress: %+v", got[0])
	}
	if _, err := c.ListBackups(context.Background(), dc2); err == nil {
		t.Fatal("no sidecar answered, yet no error")
	}
}
