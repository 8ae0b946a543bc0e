package engine

import (
	"testing"

	"github.com/cassette-backup/cassette/index"
)

// Every GC of the engine's tests (the torture tests included) decides in
// pages of 3 packs and repacks 2 blobs per Repack call, so the paging and
// batching paths run everywhere, not only at the scale of millions of packs.
func init() {
	planPage = 3
	repackBatch = 2
}

func TestMarkSetPacks(t *testing.T) {
	m, err := newMarkSet(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	p1, p2 := index.ID{1}, index.ID{2}
	for i, ent := range []index.Entry{
		{ID: index.ID{10}, Pack: p2, Offset: 1 << 40, Length: 7},
		{ID: index.ID{11}, Pack: p1, Offset: 0, Length: 100},
		{ID: index.ID{12}, Pack: p1, Offset: 100, Length: 50},
		{ID: index.ID{13}, Pack: p2, Offset: ^uint64(0), Length: 3},
	} {
		if err := m.add(ent); err != nil {
			t.Fatal(i, err)
		}
	}
	if err := m.flush(); err != nil {
		t.Fatal(err)
	}
	var packs []index.ID
	if err := m.forEachPack(func(id index.ID) error { packs = append(packs, id); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(packs) != 2 || packs[0] != p1 || packs[1] != p2 {
		t.Fatalf("packs %v", packs)
	}
	err = m.view(func(v markView) error {
		if got := v.liveBytes(p1); got != 150 {
			t.Errorf("live bytes of p1: %d", got)
		}
		if got := v.liveBytes(p2); got != 10 {
			t.Errorf("live bytes of p2: %d", got)
		}
		if got := v.liveBytes(index.ID{3}); got != 0 {
			t.Errorf("live bytes of an unmarked pack: %d", got)
		}
		if !v.has(index.Entry{Pack: p2, Offset: ^uint64(0)}) || v.has(index.Entry{Pack: p2, Offset: 5}) {
			t.Error("has")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
