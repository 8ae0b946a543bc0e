package index

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
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

// A segment larger than addBatch is written in several transactions and
// counts as loaded only when complete; a crash in the middle of an add
// resets the cache on the next open, a crash in the middle of a drop is
// finished by it.
func TestCacheLargeAddAndCrashRecovery(t *testing.T) {
	old := addBatch
	addBatch = 16
	defer func() { addBatch = old }()
	path := filepath.Join(t.TempDir(), "cache.db")
	c, err := OpenCache(path)
	if err != nil {
		t.Fatal(err)
	}
	a, b := testSegment(5, 30), testSegment(2, 3) // a: several batches; b: one
	_, ida, _ := EncodeSegment(a)
	_, idb, _ := EncodeSegment(b)
	if err := c.AddSegment(ida, a); err != nil {
		t.Fatal(err)
	}
	if err := c.AddSegment(idb, b); err != nil {
		t.Fatal(err)
	}
	for _, e := range append(append([]Entry(nil), a.Blobs...), b.Blobs...) {
		if got, ok, err := c.Get(e.ID); err != nil || !ok || got != e {
			t.Fatalf("get %s after a batched add: %+v %v %v", e.ID.Short(), got, ok, err)
		}
	}
	segs, _ := c.Segments()
	if len(segs) != 2 || pending(t, c) != 0 {
		t.Fatalf("segments %d, pending %d after complete adds", len(segs), pending(t, c))
	}

	// A drop interrupted after its first transaction: a's record is gone,
	// its seq pending, its entries still there.
	if err := c.db.Update(func(tx *bolt.Tx) error {
		v := tx.Bucket(bktSegments).Get(ida[:])
		if err := tx.Bucket(bktPending).Put(append([]byte(nil), v...), []byte{pendingDrop}); err != nil {
			return err
		}
		return tx.Bucket(bktSegments).Delete(ida[:])
	}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if c, err = OpenCache(path); err != nil {
		t.Fatal(err)
	}
	for _, e := range a.Blobs {
		if ok, _ := c.Has(e.ID); ok {
			t.Fatalf("blob %s of the interrupted drop survived reopening", e.ID.Short())
		}
	}
	for _, e := range b.Blobs {
		if ok, _ := c.Has(e.ID); !ok {
			t.Fatalf("blob %s of a kept segment lost by the drop's recovery", e.ID.Short())
		}
	}
	if pending(t, c) != 0 {
		t.Fatal("pending marks left after recovery")
	}

	// An add interrupted after two batches: the entries written may have
	// replaced others, so the cache resets and the next Sync reloads all.
	if err := c.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bktPending).Put(seqKey(99), []byte{pendingAdd}); err != nil {
			return err
		}
		return putBlobs(tx, 99, a.Blobs[:32], nil)
	}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if c, err = OpenCache(path); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	segs, _ = c.Segments()
	if len(segs) != 0 || pending(t, c) != 0 {
		t.Fatalf("after an interrupted add: %d segments, %d pending; want a reset cache", len(segs), pending(t, c))
	}
	if ok, _ := c.Has(a.Blobs[0].ID); ok {
		t.Fatal("entry of an interrupted add survived")
	}
	load := func(_ context.Context, id ID) (*Segment, error) {
		if id == idb {
			return b, nil
		}
		return nil, fmt.Errorf("no segment %s", id)
	}
	if st, err := c.Sync(context.Background(), []ID{idb}, 2, load); err != nil || st.Loaded != 1 {
		t.Fatalf("sync after reset: %+v %v", st, err)
	}
	for _, e := range b.Blobs {
		if ok, _ := c.Has(e.ID); !ok {
			t.Fatalf("blob %s not reloaded after the reset", e.ID.Short())
		}
	}
}

func pending(t *testing.T, c *Cache) int {
	t.Helper()
	n := 0
	if err := c.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bktPending).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
