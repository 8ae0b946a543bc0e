package index

import (
	"errors"
	"testing"

	"pgregory.net/rapid"
)

func genID() *rapid.Generator[ID] {
	return rapid.Custom(func(t *rapid.T) ID {
		var id ID
		copy(id[:], rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "id"))
		return id
	})
}

// genSegment draws a valid segment: every blob lies inside its pack.
func genSegment() *rapid.Generator[*Segment] {
	return rapid.Custom(func(t *rapid.T) *Segment {
		s := &Segment{Supersedes: rapid.SliceOfN(genID(), 0, 3).Draw(t, "sup")}
		np := rapid.IntRange(0, 5).Draw(t, "npacks")
		for i := 0; i < np; i++ {
			s.Packs = append(s.Packs, PackInfo{ID: genID().Draw(t, "pack"), Size: rapid.Uint64Range(0, 1<<40).Draw(t, "size"), Hash: genID().Draw(t, "hash")})
		}
		if np == 0 {
			return s
		}
		nb := rapid.IntRange(0, 40).Draw(t, "nblobs")
		for i := 0; i < nb; i++ {
			p := s.Packs[rapid.IntRange(0, np-1).Draw(t, "pi")]
			off := rapid.Uint64Range(0, p.Size).Draw(t, "off")
			maxLen := min(p.Size-off, MaxBlobLength)
			length := rapid.Uint64Range(0, maxLen).Draw(t, "len")
			e := Entry{ID: genID().Draw(t, "blob"), Pack: p.ID, Offset: off, Length: length,
				Type: rapid.SampledFrom([]BlobType{DataBlob, MetaBlob}).Draw(t, "type"), Compression: Raw, RawLength: length}
			if rapid.Bool().Draw(t, "zstd") {
				e.Compression = Zstd
				e.RawLength = rapid.Uint64Range(0, MaxBlobLength).Draw(t, "raw")
			}
			s.Blobs = append(s.Blobs, e)
		}
		return s
	})
}

func TestSegmentRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := genSegment().Draw(t, "seg")
		b, id, err := EncodeSegment(s)
		if err != nil {
			t.Fatal(err)
		}
		if id != Hash(b) {
			t.Fatal("segment ID is not the hash of its encoding")
		}
		got, err := DecodeSegment(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Packs) != len(s.Packs) || len(got.Blobs) != len(s.Blobs) || len(got.Supersedes) != len(s.Supersedes) {
			t.Fatalf("counts differ")
		}
		for i := range s.Packs {
			if got.Packs[i] != s.Packs[i] {
				t.Fatalf("pack %d: %+v != %+v", i, got.Packs[i], s.Packs[i])
			}
		}
		for i := range s.Blobs {
			if got.Blobs[i] != s.Blobs[i] {
				t.Fatalf("blob %d: %+v != %+v", i, got.Blobs[i], s.Blobs[i])
			}
		}
		for i := range s.Supersedes {
			if got.Supersedes[i] != s.Supersedes[i] {
				t.Fatalf("supersedes %d differs", i)
			}
		}
		// Any single flipped byte is detected.
		if len(b) > 0 {
			i := rapid.IntRange(0, len(b)-1).Draw(t, "flip")
			c := append([]byte(nil), b...)
			c[i] ^= 0x01
			if _, err := DecodeSegment(c); err == nil {
				t.Fatalf("flipped byte %d not detected", i)
			}
		}
	})
}

func TestSegmentRejectsForeignPack(t *testing.T) {
	s := &Segment{Blobs: []Entry{{ID: RandomID(), Pack: RandomID(), Type: DataBlob}}}
	if _, _, err := EncodeSegment(s); err == nil {
		t.Fatal("blob naming an unlisted pack was encoded")
	}
}

func TestSegmentNewerVersion(t *testing.T) {
	b, _, err := EncodeSegment(&Segment{})
	if err != nil {
		t.Fatal(err)
	}
	b[7] = 2
	_, err = DecodeSegment(b)
	if err == nil || errors.Is(err, ErrCorruptSegment) {
		t.Fatalf("want a version error, got %v", err)
	}
}
