package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/engine"
	"github.com/cassette-backup/cassette/index"
)

func FuzzDecodeSegment(f *testing.F) {
	for _, s := range seedSegments() {
		b, _, _ := index.EncodeSegment(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := index.DecodeSegment(b)
		if err != nil {
			return
		}
		// What decodes must re-encode to the same bytes.
		b2, _, err := index.EncodeSegment(s)
		if err != nil {
			t.Fatalf("decoded segment does not re-encode: %v", err)
		}
		if !bytes.Equal(b, b2) {
			t.Fatal("re-encoding differs")
		}
	})
}

func FuzzParsePack(f *testing.F) {
	for _, p := range seedPacks() {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := chunkstore.ParsePack(index.ID{}, b)
		if err != nil {
			if !errors.Is(err, chunkstore.ErrIntegrity) {
				t.Fatalf("error does not wrap ErrIntegrity: %v", err)
			}
			return
		}
		for _, e := range entries {
			if e.Offset+e.Length > uint64(len(b)) {
				t.Fatalf("entry %+v outside pack of %d bytes", e, len(b))
			}
		}
	})
}

func FuzzDecodeManifest(f *testing.F) {
	for _, m := range seedManifests() {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = engine.DecodeManifest(bytes.NewReader(b), func(fe *engine.FileEntry) error {
			if fe.Size < 0 || fe.Path == "" {
				t.Fatalf("invalid entry passed validation: %+v", fe)
			}
			return nil
		})
	})
}

func FuzzDecodeConfig(f *testing.F) {
	f.Add([]byte(`{"version":1,"id":"` + index.RandomID().String() + `","chunkerPolynomial":"3da3358b4dc173","minChunkSize":524288,"maxChunkSize":8388608,"averageChunkBits":20,"compression":"zstd","packSize":33554432}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := chunkstore.DecodeConfig(b)
		if err == nil && c.Validate() != nil {
			t.Fatal("decoded config does not validate")
		}
	})
}

// TestWriteSeedCorpus regenerates testdata/fuzz from the seed builders when
// CASSETTE_WRITE_CORPUS=1 (run it after changing a format).
func TestWriteSeedCorpus(t *testing.T) {
	if os.Getenv("CASSETTE_WRITE_CORPUS") != "1" {
		t.Skip("set CASSETTE_WRITE_CORPUS=1 to rewrite the seed corpora")
	}
	write := func(target string, items [][]byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, b := range items {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var segs [][]byte
	for _, s := range seedSegments() {
		b, _, _ := index.EncodeSegment(s)
		segs = append(segs, b)
		if len(b) > 40 {
			segs = append(segs, b[:len(b)/2]) // truncated
		}
	}
	write("FuzzDecodeSegment", segs)
	packs := seedPacks()
	for _, p := range seedPacks() {
		c := append([]byte(nil), p...)
		c[len(c)-12] ^= 0xff // damaged trailer length
		packs = append(packs, c)
	}
	write("FuzzParsePack", packs)
	write("FuzzDecodeManifest", seedManifests())
	write("FuzzDecodeConfig", [][]byte{[]byte(`{"version":1}`), []byte(`{"version":99}`), []byte(`not json`)})
}
