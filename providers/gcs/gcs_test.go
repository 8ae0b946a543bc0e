package gcs

import (
	"bytes"
	"testing"

	"github.com/cassette-backup/cassette/providers/providertest"
)

func TestConformance(t *testing.T) {
	fakeGCS.RunConformance(t, providertest.Options{LargeObjectSize: 3*testPartSize + 12345})
}

func TestCreateMakesMissingBucket(t *testing.T) { fakeGCS.RunBucketCreation(t) }

func TestStats(t *testing.T) {
	s := fakeGCS.OpenFresh(t)
	data := bytes.Repeat([]byte("x"), 3*testPartSize)
	d := providertest.CountRoundTrip(t, s, s.Stats, data)
	if d.Puts < 3 || d.Gets < 1 || d.Lists < 1 || d.Deletes != 1 {
		t.Errorf("request counts %+v: want >= 3 chunk PUTs, >= 1 GET, >= 1 LIST, 1 DELETE", d)
	}
	if d.BytesUp < int64(len(data)) || d.BytesDown < int64(len(data)) {
		t.Errorf("bytes up %d, down %d; want both >= %d", d.BytesUp, d.BytesDown, len(data))
	}
}
