package azure

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/providertest"
)

func TestConformance(t *testing.T) {
	azurite.RunConformance(t, providertest.Options{LargeObjectSize: 3*testPartSize + 12345})
}

func TestCreateMakesMissingContainer(t *testing.T) { azurite.RunBucketCreation(t) }

func TestDeleteManyBatches(t *testing.T) {
	s := azurite.OpenFresh(t)
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
	s := azurite.OpenFresh(t)
	data := bytes.Repeat([]byte("x"), 3*testPartSize)
	d := providertest.CountRoundTrip(t, s, s.Stats, data)
	if d.Puts != 4 || d.Gets != 1 || d.Lists != 1 || d.Deletes != 1 {
		t.Errorf("request counts %+v: want 3 blocks + 1 commit, 1 GET, 1 LIST, 1 DELETE", d)
	}
	if d.BytesUp < int64(len(data)) || d.BytesDown < int64(len(data)) {
		t.Errorf("bytes up %d, down %d; want both >= %d", d.BytesUp, d.BytesDown, len(data))
	}
}
