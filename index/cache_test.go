package index

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

func testSegment(packs, blobsPerPack int) *Segment {
	s := &Segment{}
	for p := 0; p < packs; p++ {
		pi := PackInfo{ID: RandomID(), Size: 1 << 20, Hash: RandomID()}
		s.Packs = append(s.Packs, pi)
		for b := 0; b < blobsPerPack; b++ {
			s.Blobs = append(s.Blobs, Entry{ID: RandomID(), Type: DataBlob, Compression: Zstd, Pack: pi.ID, Offset: uint64(b * 100), Length: 100, RawLength: 300})
		}
	}
	return s
}

func TestCacheSync(t *testing.T) {
	ctx := context.Background()
	c, err := OpenCache(filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	segs := map[ID]*Segment{}
	var order []ID
	for i := 0; i < 3; i++ {
		s := testSegment(2, 50)
		_, id, err := EncodeSegment(s)
		if err != nil {
			t.Fatal(err)
		}
		segs[id] = s
		order = append(order, id)
	}
	load := func(_ context.Context, id ID) (*Segment, error) {
		s, ok := segs[id]
		if !ok {
			return nil, fmt.Errorf("no segment %s", id)
		}
		return s, nil
	}
	st, err := c.Sync(ctx, order, 4, load)
	if err != nil || st.Loaded != 3 {
		t.Fatalf("sync: %+v %v", st, err)
	}
	for _, s := range segs {
		for _, e := range s.Blobs {
			got, ok, err := c.Get(e.ID)
			if err != nil || !ok || got != e {
				t.Fatalf("get %s: %+v %v %v", e.ID.Short(), got, ok, err)
			}
		}
	}
	// A consolidated segment repeats segment 0's content; then 0 vanishes.
	cons := &Segment{Packs: segs[order[0]].Packs, Blobs: segs[order[0]].Blobs, Supersedes: []ID{order[0]}}
	_, consID, _ := EncodeSegment(cons)
	segs[consID] = cons
	st, err = c.Sync(ctx, []ID{consID, order[2]}, 2, load)
	if err != nil || st.Loaded != 1 || st.Dropped != 2 || st.Known != 1 {
		t.Fatalf("second sync: %+v %v", st, err)
	}
	for _, e := range segs[order[0]].Blobs {
		if ok, _ := c.Has(e.ID); !ok {
			t.Fatal("entry of consolidated segment dropped")
		}
	}
	for _, e := range segs[order[1]].Blobs {
		if ok, _ := c.Has(e.ID); ok {
			t.Fatal("entry of vanished segment still present")
		}
	}
	for _, p := range segs[order[1]].Packs {
		if _, ok, _ := c.Pack(p.ID); ok {
			t.Fatal("pack of vanished segment still present")
		}
	}
	n := 0
	if err := c.ForEachPack(func(PackInfo) error { n++; return nil }); err != nil || n != 4 {
		t.Fatalf("packs: %d %v", n, err)
	}
}

func TestCacheRecreatesGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.db")
	if err := writeFile(path, []byte("not a bolt file at all, just junk bytes")); err != nil {
		t.Fatal(err)
	}
	c, err := OpenCache(path)
	if err != nil {
		t.Fatalf("garbage cache not recreated: %v", err)
	}
	c.Close()
}

// Dropping many entries runs in several small transactions and drops
// exactly the entries of the vanished segments.
func TestCacheDropInBatches(t *testing.T) {
	old := dropBatch
	dropBatch = 7
	defer func() { dropBatch = old }()
	c, err := OpenCache(filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, b := testSegment(3, 20), testSegment(2, 15)
	_, ida, _ := EncodeSegment(a)
	_, idb, _ := EncodeSegment(b)
	if err := c.AddSegment(ida, a); err != nil {
		t.Fatal(err)
	}
	if err := c.AddSegment(idb, b); err != nil {
		t.Fatal(err)
	}
	if err := c.DropSegments([]ID{ida}); err != nil {
		t.Fatal(err)
	}
	for _, e := range a.Blobs {
		if ok, _ := c.Has(e.ID); ok {
			t.Fatalf("blob %s of the dropped segment survived", e.ID.Short())
		}
	}
	for _, e := range b.Blobs {
		if ok, _ := c.Has(e.ID); !ok {
			t.Fatalf("blob %s of the kept segment was dropped", e.ID.Short())
		}
	}
	n := 0
	c.ForEachPack(func(PackInfo) error { n++; return nil })
	if n != len(b.Packs) {
		t.Fatalf("%d packs left, want %d", n, len(b.Packs))
	}
}
