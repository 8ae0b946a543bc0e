package chunkstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/index"
	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/faulty"
	"github.com/cassette-backup/cassette/providers/mem"
	"github.com/cassette-backup/cassette/providers/retry"
)

// streamRepo is a small repository behind faulty and retry (no waiting),
// holding one file of random data; it returns the file's blobs.
func streamRepo(t *testing.T) (*Repo, *faulty.Storage, []index.Entry) {
	t.Helper()
	f := faulty.New(mem.New(mem.Options{}))
	st := retry.New(f, retry.Options{MaxAttempts: 10, Sleep: func(context.Context, time.Duration) error { return nil }})
	r := smallRepo(t, st)
	rng := rand.New(rand.NewPCG(5, 6))
	data := make([]byte, 400<<10)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	// Half of it compressible, so that raw and zstd blobs share spans.
	copy(data[200<<10:], bytes.Repeat([]byte("INSERT INTO ks.t (id, v) VALUES (1, 'row');\n"), 4000))
	res := writeAndRead(t, r, data)
	var ents []index.Entry
	err := r.ChunkIDs(context.Background(), res.Content, func(id index.ID) error {
		e, err := r.Lookup(id)
		ents = append(ents, e)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) < 20 {
		t.Fatalf("only %d blobs", len(ents))
	}
	return r, f, ents
}

// readAll reads ents and checks that fn saw each entry once, verified, in
// pack order.
func readAll(t *testing.T, r *Repo, ents []index.Entry) error {
	t.Helper()
	seen := map[index.ID]int{}
	var order []index.Entry
	err := r.ReadBlobs(context.Background(), ents, func(e index.Entry, plain []byte) error {
		if sha256.Sum256(plain) != e.ID {
			t.Errorf("blob %s: fn got bytes that do not match its hash", e.ID)
		}
		seen[e.ID]++
		order = append(order, e)
		return nil
	})
	if err != nil {
		return err
	}
	want := map[index.ID]int{}
	for _, e := range ents {
		want[e.ID]++
	}
	for id, n := range want {
		if seen[id] != n {
			t.Errorf("blob %s handed over %d times, want %d", id, seen[id], n)
		}
	}
	if !sort.SliceIsSorted(order, func(i, j int) bool {
		if c := bytes.Compare(order[i].Pack[:], order[j].Pack[:]); c != 0 {
			return c < 0
		}
		return order[i].Offset < order[j].Offset
	}) {
		t.Error("blobs not handed over in pack order")
	}
	return nil
}

// A read cut off mid-span is re-run by the retry decorator: the blobs fn
// already had are not handed over again, the rest are.
func TestReadBlobsStreamsAcrossRetries(t *testing.T) {
	r, f, ents := streamRepo(t)
	for _, cut := range []int64{0, 1, 5000, 20000, 40000} {
		f.ClearRules()
		f.AddRule(faulty.Rule{Op: faulty.OpGet, KeyPrefix: PackPrefix, Action: faulty.Truncate, Bytes: cut, Times: 3})
		if err := readAll(t, r, ents); err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
	}
	// The same entry listed twice is handed over twice, also across a cut.
	f.ClearRules()
	f.AddRule(faulty.Rule{Op: faulty.OpGet, KeyPrefix: PackPrefix, Action: faulty.Truncate, Bytes: int64(ents[3].Offset + ents[3].Length + 10), Times: 1})
	twice := append([]index.Entry{ents[3]}, ents...)
	if err := readAll(t, r, twice); err != nil {
		t.Fatal(err)
	}
}

// A flipped byte fails the read with ErrIntegrity (not retried), and fn's
// own error comes back as it is.
func TestReadBlobsIntegrityAndCallerErrors(t *testing.T) {
	r, f, ents := streamRepo(t)
	f.AddRule(faulty.Rule{Op: faulty.OpGet, KeyPrefix: PackPrefix, Action: faulty.Corrupt, Bytes: 100, Times: 1})
	err := r.ReadBlobs(context.Background(), ents, func(index.Entry, []byte) error { return nil })
	if !errors.Is(err, ErrIntegrity) {
		t.Fatalf("corrupt span: want ErrIntegrity, got %v", err)
	}
	f.ClearRules()
	mine := errors.New("disk full")
	calls := 0
	err = r.ReadBlobs(context.Background(), ents, func(index.Entry, []byte) error {
		calls++
		if calls == 2 {
			return mine
		}
		return nil
	})
	if err != mine || calls != 2 {
		t.Fatalf("caller's error: got %v after %d calls", err, calls)
	}
	// A blob the index places outside its pack is an integrity error, not
	// a panic or a silent short read.
	bad := ents[0]
	bad.Offset += 1 << 30
	err = r.ReadBlobs(context.Background(), []index.Entry{bad}, func(index.Entry, []byte) error { return nil })
	if !errors.Is(err, ErrIntegrity) && !errors.Is(err, providers.ErrInvalidRange) {
		t.Fatalf("blob past the end of its pack: got %v", err)
	}
}
