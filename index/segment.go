package index

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Segment is one index object: the packs it covers and every blob in them.
// A segment is immutable and named by the SHA-256 of its encoding.
type Segment struct {
	Packs []PackInfo
	Blobs []Entry // every Entry.Pack is one of Packs
	// Supersedes lists segments whose content this one repeats (garbage
	// collection consolidation); readers may ignore them once this one is
	// loaded. Informational in format version 1.
	Supersedes []ID
}

// Segment encoding, version 1 (docs/format.md, "Index segments"):
//
//	magic   "CSTIDX" 0x00 0x01
//	uvarint len(Supersedes), then 32-byte IDs
//	uvarint len(Packs), then per pack: id[32] uvarint(size) hash[32]
//	uvarint len(Blobs), then per blob: id[32] type[1] compression[1]
//	        uvarint(pack index) uvarint(offset) uvarint(length) uvarint(raw length)
//	sha256 of everything before it [32]
const (
	segmentMagic = "CSTIDX\x00\x01"
	// MaxSegmentBlobs bounds one segment so decoding never needs more than a
	// few tens of MB; writers split larger sets.
	MaxSegmentBlobs = 1 << 20
	// MaxSegmentPacks bounds the packs one segment covers.
	MaxSegmentPacks = 1 << 16
	maxSupersedes   = 1 << 16
	// MaxBlobLength bounds one stored or raw blob (chunks are at most a few
	// MiB; content lists at most 2 MiB).
	MaxBlobLength = 64 << 20
)

// ErrCorruptSegment is returned for an index segment that fails to decode.
var ErrCorruptSegment = errors.New("corrupt index segment")

// EncodeSegment returns the encoding of s and its ID.
func EncodeSegment(s *Segment) ([]byte, ID, error) {
	if len(s.Blobs) > MaxSegmentBlobs || len(s.Packs) > MaxSegmentPacks || len(s.Supersedes) > maxSupersedes {
		return nil, ID{}, fmt.Errorf("index segment too large: %d blobs, %d packs", len(s.Blobs), len(s.Packs))
	}
	packIdx := make(map[ID]uint64, len(s.Packs))
	for i, p := range s.Packs {
		packIdx[p.ID] = uint64(i)
	}
	b := make([]byte, 0, len(segmentMagic)+len(s.Packs)*80+len(s.Blobs)*50+64)
	b = append(b, segmentMagic...)
	b = binary.AppendUvarint(b, uint64(len(s.Supersedes)))
	for _, id := range s.Supersedes {
		b = append(b, id[:]...)
	}
	b = binary.AppendUvarint(b, uint64(len(s.Packs)))
	for _, p := range s.Packs {
		b = append(b, p.ID[:]...)
		b = binary.AppendUvarint(b, p.Size)
		b = append(b, p.Hash[:]...)
	}
	b = binary.AppendUvarint(b, uint64(len(s.Blobs)))
	for _, e := range s.Blobs {
		pi, ok := packIdx[e.Pack]
		if !ok {
			return nil, ID{}, fmt.Errorf("index segment: blob %s names pack %s that the segment does not list", e.ID.Short(), e.Pack.Short())
		}
		b = append(b, e.ID[:]...)
		b = append(b, byte(e.Type), byte(e.Compression))
		b = binary.AppendUvarint(b, pi)
		b = binary.AppendUvarint(b, e.Offset)
		b = binary.AppendUvarint(b, e.Length)
		b = binary.AppendUvarint(b, e.RawLength)
	}
	sum := sha256.Sum256(b)
	b = append(b, sum[:]...)
	return b, sha256.Sum256(b), nil
}

// segReader is a bounds-checked cursor; the first failure sticks.
type segReader struct {
	b   []byte
	err error
}

func (r *segReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrCorruptSegment, what)
	}
}

func (r *segReader) uvarint(what string) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad " + what)
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *segReader) id(what string) (id ID) {
	if r.err != nil {
		return id
	}
	if len(r.b) < len(id) {
		r.fail("truncated " + what)
		return id
	}
	copy(id[:], r.b)
	r.b = r.b[len(id):]
	return id
}

func (r *segReader) byte1(what string) byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 1 {
		r.fail("truncated " + what)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

// count reads a element count and checks it against limit and against the
// bytes left (each element needs at least minSize bytes), so a hostile count
// never makes us allocate.
func (r *segReader) count(what string, limit uint64, minSize int) int {
	n := r.uvarint(what)
	if r.err != nil {
		return 0
	}
	if n > limit || n*uint64(minSize) > uint64(len(r.b)) {
		r.fail(fmt.Sprintf("%s count %d out of range", what, n))
		return 0
	}
	return int(n)
}

// DecodeSegment decodes and checks a segment. It never panics, whatever b
// holds; every failure wraps ErrCorruptSegment.
func DecodeSegment(b []byte) (*Segment, error) {
	if len(b) < len(segmentMagic)+sha256.Size {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrCorruptSegment, len(b))
	}
	if string(b[:len(segmentMagic)-1]) != segmentMagic[:len(segmentMagic)-1] {
		return nil, fmt.Errorf("%w: bad magic", ErrCorruptSegment)
	}
	if v := b[len(segmentMagic)-1]; v != segmentMagic[len(segmentMagic)-1] {
		return nil, fmt.Errorf("index segment format version %d is newer than this cassette understands (1): upgrade cassette", v)
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); string(got[:]) != string(sum) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorruptSegment)
	}
	r := &segReader{b: body[len(segmentMagic):]}
	s := &Segment{}
	if n := r.count("supersedes", maxSupersedes, 32); n > 0 {
		s.Supersedes = make([]ID, n)
		for i := range s.Supersedes {
			s.Supersedes[i] = r.id("supersedes")
		}
	}
	np := r.count("pack", MaxSegmentPacks, 65)
	s.Packs = make([]PackInfo, np)
	for i := range s.Packs {
		s.Packs[i] = PackInfo{ID: r.id("pack id"), Size: r.uvarint("pack size"), Hash: r.id("pack hash")}
	}
	nb := r.count("blob", MaxSegmentBlobs, 38)
	s.Blobs = make([]Entry, nb)
	for i := range s.Blobs {
		e := &s.Blobs[i]
		e.ID = r.id("blob id")
		e.Type = BlobType(r.byte1("blob type"))
		e.Compression = Compression(r.byte1("compression"))
		pi := r.uvarint("pack index")
		e.Offset = r.uvarint("offset")
		e.Length = r.uvarint("length")
		e.RawLength = r.uvarint("raw length")
		if r.err != nil {
			break
		}
		if pi >= uint64(len(s.Packs)) {
			r.fail(fmt.Sprintf("blob %s: pack index %d out of range", e.ID.Short(), pi))
			break
		}
		p := s.Packs[pi]
		e.Pack = p.ID
		if err := checkEntry(e, p.Size); err != nil {
			r.fail(err.Error())
			break
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail(fmt.Sprintf("%d trailing bytes", len(r.b)))
	}
	if r.err != nil {
		return nil, r.err
	}
	return s, nil
}

// checkEntry validates one entry against the pack it claims to live in.
func checkEntry(e *Entry, packSize uint64) error {
	switch {
	case e.Type != DataBlob && e.Type != MetaBlob:
		return fmt.Errorf("blob %s: unknown type %d", e.ID.Short(), e.Type)
	case e.Compression != Raw && e.Compression != Zstd:
		return fmt.Errorf("blob %s: unknown compression %d", e.ID.Short(), e.Compression)
	case e.Length > MaxBlobLength || e.RawLength > MaxBlobLength:
		return fmt.Errorf("blob %s: length %d/%d too large", e.ID.Short(), e.Length, e.RawLength)
	case e.Compression == Raw && e.Length != e.RawLength:
		return fmt.Errorf("blob %s: raw blob with stored length %d != raw length %d", e.ID.Short(), e.Length, e.RawLength)
	case e.Offset > packSize || e.Length > packSize-e.Offset:
		return fmt.Errorf("blob %s: bytes [%d, +%d) outside pack of %d bytes", e.ID.Short(), e.Offset, e.Length, packSize)
	}
	return nil
}
