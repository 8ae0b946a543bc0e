package control

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// operatorBackup is the backup of k8ssandra-operator's hostmap_test.go:
// test-dc1 in one rack with hosts out of order, test-dc2 in three racks.
var operatorBackup = []BackupNode{
	{Host: "test-cluster-test-dc1-default-sts-0", Datacenter: "test-dc1", Rack: "default"},
	{Host: "test-cluster-test-dc1-default-sts-2", Datacenter: "test-dc1", Rack: "default"},
	{Host: "test-cluster-test-dc1-default-sts-1", Datacenter: "test-dc1", Rack: "default"},
	{Host: "test-cluster-test-dc2-test-rack1-sts-0", Datacenter: "test-dc2", Rack: "test-rack1"},
	{Host: "test-cluster-test-dc2-test-rack3-sts-0", Datacenter: "test-dc2", Rack: "test-rack3"},
	{Host: "test-cluster-test-dc2-test-rack2-sts-0", Datacenter: "test-dc2", Rack: "test-rack2"},
}

func racksOf(nodes ...[2]string) []Rack {
	dc := &Datacenter{Name: "x"}
	for _, n := range nodes {
		dc.Nodes = append(dc.Nodes, &Node{Name: n[0], Rack: n[1]})
	}
	return dc.Racks()
}

// TestBuildHostMapLikeTheOperator replays the operator's TestGetHostMap:
// hosts sorted within racks (in place for test-dc1), racks matched in
// sorted order (test-rack1 onto rack1 and so on).
func TestBuildHostMapLikeTheOperator(t *testing.T) {
	target := racksOf([2]string{"test-cluster-test-dc1-default-sts-2", "default"}, [2]string{"test-cluster-test-dc1-default-sts-0", "default"},
		[2]string{"test-cluster-test-dc1-default-sts-1", "default"})
	got, err := BuildHostMap(operatorBackup, "test-dc1", target)
	want := HostMap{
		{Source: "test-cluster-test-dc1-default-sts-0", Target: "test-cluster-test-dc1-default-sts-0"},
		{Source: "test-cluster-test-dc1-default-sts-1", Target: "test-cluster-test-dc1-default-sts-1"},
		{Source: "test-cluster-test-dc1-default-sts-2", Target: "test-cluster-test-dc1-default-sts-2"},
	}
	if err != nil || !reflect.DeepEqual(got, want) || !got.InPlace() {
		t.Fatalf("one rack: %v %v", got, err)
	}

	target = racksOf([2]string{"test-cluster-test-dc2-rack3-sts-0", "rack3"}, [2]string{"test-cluster-test-dc2-rack1-sts-0", "rack1"},
		[2]string{"test-cluster-test-dc2-rack2-sts-0", "rack2"})
	got, err = BuildHostMap(operatorBackup, "test-dc2", target)
	want = HostMap{
		{Source: "test-cluster-test-dc2-test-rack1-sts-0", Target: "test-cluster-test-dc2-rack1-sts-0"},
		{Source: "test-cluster-test-dc2-test-rack2-sts-0", Target: "test-cluster-test-dc2-rack2-sts-0"},
		{Source: "test-cluster-test-dc2-test-rack3-sts-0", Target: "test-cluster-test-dc2-rack3-sts-0"},
	}
	if err != nil || !reflect.DeepEqual(got, want) || got.InPlace() {
		t.Fatalf("three racks: %v %v", got, err)
	}
	m := got.Mapping()
	if m.InPlace || len(m.HostMap) != 3 || m.HostMap["test-cluster-test-dc2-rack2-sts-0"].Source[0] != "test-cluster-test-dc2-test-rack2-sts-0" {
		t.Fatalf("mapping: %+v", m)
	}
	if !strings.HasPrefix(m.JSON(), `{"in_place":false,"host_map":{"test-cluster-test-dc2-rack1-sts-0":{"source":["test-cluster-test-dc2-test-rack1-sts-0"],"seed":false}`) {
		t.Fatalf("RESTORE_MAPPING: %s", m.JSON())
	}
}

// TestBuildHostMapSortsHostsWithinRacks: several hosts per rack, given in
// any order, pair off in sorted order rack by rack.
func TestBuildHostMapSortsHostsWithinRacks(t *testing.T) {
	src := []BackupNode{
		{Host: "old-b-2", Datacenter: "dc1", Rack: "b"}, {Host: "old-a-1", Datacenter: "dc1", Rack: "a"},
		{Host: "old-b-1", Datacenter: "dc1", Rack: "b"}, {Host: "old-a-2", Datacenter: "dc1", Rack: "a"},
		{Host: "elsewhere", Datacenter: "dc2", Rack: "a"},
	}
	target := racksOf([2]string{"new-b-y", "b"}, [2]string{"new-a-y", "a"}, [2]string{"new-b-x", "b"}, [2]string{"new-a-x", "a"})
	got, err := BuildHostMap(src, "dc1", target)
	want := HostMap{{"old-a-1", "new-a-x"}, {"old-a-2", "new-a-y"}, {"old-b-1", "new-b-x"}, {"old-b-2", "new-b-y"}}
	if err != nil || !reflect.DeepEqual(got, want) || got.Source("new-b-y") != "old-b-2" {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := BuildHostMap(src, "dc1", racksOf([2]string{"x", "a"}, [2]string{"y", "a"}, [2]string{"z", "a"}, [2]string{"w", "a"})); err == nil ||
		!strings.Contains(err.Error(), "number of racks in source != racks in destination") {
		t.Fatalf("rack count: %v", err)
	}
	if _, err := BuildHostMap(src, "dc1", racksOf([2]string{"x", "a"}, [2]string{"y", "b"}, [2]string{"z", "b"}, [2]string{"w", "b"})); err == nil ||
		!strings.Contains(err.Error(), "source rack a has 2 nodes and destination rack a 1") {
		t.Fatalf("rack size: %v", err)
	}
	if _, err := BuildHostMap(src, "dc9", target); err == nil {
		t.Fatal("no node in the datacenter: no error")
	}
}

// TestValidateRestoreLikeTheOperator: the checks of the operator's
// validateBackupForRestore, one by one.
func TestValidateRestoreLikeTheOperator(t *testing.T) {
	dc := testDC("dc1", []string{"a:1", "b:1", "c:1", "d:1"}, "r1", "r2")
	good := MedusaBackup{Name: "b1", FinishTime: time.Unix(1772359205, 0), TotalNodes: 4, FinishedNodes: 4, Status: StatusSuccess}
	for _, n := range dc.Nodes {
		good.Nodes = append(good.Nodes, BackupNode{Host: n.Name, Datacenter: "dc1", Rack: n.Rack})
	}
	if err := ValidateRestore(good, dc); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		change func(*MedusaBackup)
		want   string
	}{
		{func(b *MedusaBackup) { b.FinishTime = time.Time{} }, "target backup has not finished"},
		{func(b *MedusaBackup) { b.FinishedNodes = 3 }, "target backup has not completed successfully: 3 of 4"},
		{func(b *MedusaBackup) { b.TotalNodes, b.FinishedNodes = 3, 3 }, "node counts differ for source backup and destination datacenter"},
		{func(b *MedusaBackup) { b.Nodes[2].Datacenter = "dc2" }, "target datacenter has different name than backup"},
		{func(b *MedusaBackup) { b.Nodes[1].Rack, b.Nodes[3].Rack = "r1", "r1" }, "amount of racks must match"},
		{func(b *MedusaBackup) { b.Nodes[1].Rack, b.Nodes[3].Rack = "r3", "r3" }, "rack names must match"},
	}
	for _, tc := range cases {
		b := good.clone()
		tc.change(&b)
		err := ValidateRestore(b, dc)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.want, err)
		}
	}
}
