package azure

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/providertest"
)

func TestConformance(t *testing.T) {
	needServer(t)
	providertest.RunWithOptions(t, func(t *testing.T) providers.Storage { return openFresh(t) },
		providertest.Options{LargeObjectSize: 3*testPartSize + 12345})
}

func TestCreateMakesMissingContainer(t *testing.T) {
	f := needServer(t)
	ctx := t.Context()
	name := fmt.Sprintf("cassette-create-%d", prefixSeq.Add(1))
	if _, err := Open(ctx, f.props(t, name, "repo"), Options{}); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("Open of a missing container = %v, want ErrNotFound", err)
	}
	s, err := Create(ctx, f.props(t, name, "repo"), Options{})
	if err != nil {
		t.Fatalf("Create of a missing container: %v", err)
	}
	if err := s.Put(ctx, "config", providers.Bytes([]byte("v1")), providers.PutOptions{IfNotExists: true}); err != nil {
		t.Fatalf("Put into the created container: %v", err)
	}
	if _, err := Create(ctx, f.props(t, name, "repo"), Options{}); err != nil {
		t.Fatalf("Create of an existing container: %v", err)
	}
	s2, err := Open(ctx, f.props(t, name, "repo"), Options{})
	if err != nil {
		t.Fatalf("Open after Create: %v", err)
	}
	if _, err := s2.Stat(ctx, "config"); err != nil {
		t.Fatalf("Stat through a second Storage: %v", err)
	}
}

// failAfter yields data and then fails after n bytes.
type failAfter struct {
	data []byte
	n    int
}

func (r *failAfter) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, errors.New("source broke")
	}
	c := copy(p, r.data[:min(len(p), r.n, len(r.data))])
	r.data, r.n = r.data[c:], r.n-c
	return c, nil
}

func TestStreamFailingHalfWayLeavesNothing(t *testing.T) {
	s := openFresh(t)
	ctx := t.Context()
	data := bytes.Repeat([]byte("cassette"), 4*testPartSize/8)
	for _, size := range []int64{-1, int64(len(data))} {
		key := providers.Key(fmt.Sprintf("packs/failing-%d", size))
		src := &failAfter{data: data, n: len(data) / 2} // two blocks staged, then the failure
		if err := s.Put(ctx, key, providers.Stream(src, size), providers.PutOptions{}); err == nil {
			t.Fatalf("Put of a stream failing half-way (size %d) succeeded", size)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, providers.ErrNotFound) {
			t.Fatalf("Stat after a failed Put = %v, want ErrNotFound", err)
		}
	}
	// Nothing under the prefix, uncommitted blobs included.
	pager := s.cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{
		Prefix: &s.root, Include: container.ListBlobsInclude{UncommittedBlobs: true},
	})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			t.Logf("after failed Puts, listing with uncommitted blobs shows %s (expected: staged blocks stay until they expire)", *b.Name)
		}
	}
	n := 0
	if err := s.List(ctx, "", func(providers.ObjectInfo) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("List after failed Puts = %d objects, %v; want none", n, err)
	}
}

func TestDeleteManyBatches(t *testing.T) {
	s := openFresh(t)
	ctx := t.Context()
	var keys []providers.Key
	for i := range 2*maxBatch + 10 {
		k := providers.Key(fmt.Sprintf("gc/%02d/pack-%04d", i%5, i))
		keys = append(keys, k)
	}
	for _, k := range keys[:300] { // the rest are missing: not an error
		if err := s.Put(ctx, k, providers.Bytes([]byte("x")), providers.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	before := s.Stats()
	if err := s.DeleteMany(ctx, keys); err != nil {
		t.Fatalf("DeleteMany: %v", err)
	}
	if d := s.Stats().Deletes - before.Deletes; d != 3 {
		t.Errorf("DeleteMany of %d keys sent %d delete requests, want 3 batches", len(keys), d)
	}
	n := 0
	if err := s.List(ctx, "", func(providers.ObjectInfo) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("List after DeleteMany = %d objects, %v; want none", n, err)
	}
}

func TestStats(t *testing.T) {
	s := openFresh(t)
	ctx := t.Context()
	before := s.Stats()
	data := bytes.Repeat([]byte("x"), 3*testPartSize)
	if err := s.Put(ctx, "a", providers.Bytes(data), providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Get(ctx, "a", 0, -1, func(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err }); err != nil {
		t.Fatal(err)
	}
	if err := s.List(ctx, "", func(providers.ObjectInfo) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	d := s.Stats()
	if d.Puts-before.Puts != 4 || d.Gets-before.Gets != 1 || d.Lists-before.Lists != 1 || d.Deletes-before.Deletes != 1 {
		t.Errorf("request counts %+v (before %+v): want 3 blocks + 1 commit, 1 GET, 1 LIST, 1 DELETE", d, before)
	}
	if up, down := d.BytesUp-before.BytesUp, d.BytesDown-before.BytesDown; up < int64(len(data)) || down < int64(len(data)) {
		t.Errorf("bytes up %d, down %d; want both >= %d", up, down, len(data))
	}
}
