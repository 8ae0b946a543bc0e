package gcs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/providertest"
)

func TestConformance(t *testing.T) {
	needServer(t)
	providertest.RunWithOptions(t, func(t *testing.T) providers.Storage { return openFresh(t) },
		providertest.Options{LargeObjectSize: 3*testPartSize + 12345})
}

func TestCreateMakesMissingBucket(t *testing.T) {
	f := needServer(t)
	ctx := t.Context()
	bucket := fmt.Sprintf("cassette-create-%d", prefixSeq.Add(1))
	if _, err := Open(ctx, f.props(bucket, "repo"), Options{}); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("Open of a missing bucket = %v, want ErrNotFound", err)
	}
	s, err := Create(ctx, f.props(bucket, "repo"), Options{})
	if err != nil {
		t.Fatalf("Create of a missing bucket: %v", err)
	}
	defer func() { _ = s.Close(context.Background()) }()
	if err := s.Put(ctx, "config", providers.Bytes([]byte("v1")), providers.PutOptions{IfNotExists: true}); err != nil {
		t.Fatalf("Put into the created bucket: %v", err)
	}
	// Create over an existing bucket is fine (init decides about repositories).
	s2, err := Create(ctx, f.props(bucket, "repo"), Options{})
	if err != nil {
		t.Fatalf("Create of an existing bucket: %v", err)
	}
	_ = s2.Close(ctx)
	s3, err := Open(ctx, f.props(bucket, "repo"), Options{})
	if err != nil {
		t.Fatalf("Open after Create: %v", err)
	}
	defer func() { _ = s3.Close(context.Background()) }()
	if _, err := s3.Stat(ctx, "config"); err != nil {
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
		src := &failAfter{data: data, n: len(data) / 2} // two chunks sent, then the failure
		err := s.Put(ctx, key, providers.Stream(src, size), providers.PutOptions{})
		if err == nil {
			t.Fatalf("Put of a stream failing half-way (size %d) succeeded", size)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, providers.ErrNotFound) {
			t.Fatalf("Stat after a failed Put = %v, want ErrNotFound", err)
		}
	}
	// Nothing at all under the prefix, looking with the raw client.
	it := s.bkt.Objects(ctx, &storage.Query{Prefix: s.root})
	if a, err := it.Next(); !errors.Is(err, iterator.Done) {
		t.Fatalf("the bucket holds %v (err %v) after failed Puts, want nothing", a, err)
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
	if d.Puts-before.Puts < 3 || d.Gets-before.Gets < 1 || d.Lists-before.Lists < 1 || d.Deletes-before.Deletes != 1 {
		t.Errorf("request counts %+v (before %+v): want >= 3 chunk PUTs, >= 1 GET, >= 1 LIST, 1 DELETE", d, before)
	}
	if up, down := d.BytesUp-before.BytesUp, d.BytesDown-before.BytesDown; up < int64(len(data)) || down < int64(len(data)) {
		t.Errorf("bytes up %d, down %d; want both >= %d", up, down, len(data))
	}
}
