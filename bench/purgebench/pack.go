package purgebench

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/index"
)

// blob is one blob to store: its plain content (stored raw: the generated
// content is random and would not compress).
type blob struct {
	typ  index.BlobType
	id   index.ID
	data []byte
}

func newBlob(typ index.BlobType, data []byte) blob {
	return blob{typ: typ, id: index.Hash(data), data: data}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Pack layout, docs/format.md "Packs" (chunkstore writes it with an
// unexported streaming writer, so it is spelled out again here and every
// pack is checked with chunkstore.ParsePack, cassette's own decoder).
const (
	packHeader     = "CSTPACK\x01"
	packFooterMark = "CSTPKEND"
)

// encodePack returns pack id holding blobs, and the index entries of its
// blobs, after checking it with chunkstore.ParsePack.
func encodePack(id index.ID, blobs []blob) ([]byte, []index.Entry, error) {
	size := len(packHeader) + 64
	for _, b := range blobs {
		size += len(b.data) + 40
	}
	p := make([]byte, 0, size)
	p = append(p, packHeader...)
	entries := make([]index.Entry, len(blobs))
	for i, b := range blobs {
		entries[i] = index.Entry{ID: b.id, Type: b.typ, Compression: index.Raw, Pack: id,
			Offset: uint64(len(p)), Length: uint64(len(b.data)), RawLength: uint64(len(b.data))}
		p = append(p, b.data...)
	}
	start := len(p)
	p = binary.AppendUvarint(p, uint64(len(blobs)))
	for _, b := range blobs {
		p = append(p, byte(b.typ), byte(index.Raw))
		p = append(p, b.id[:]...)
		p = binary.AppendUvarint(p, uint64(len(b.data)))
		p = binary.AppendUvarint(p, uint64(len(b.data)))
	}
	trailer := p[start:]
	p = binary.LittleEndian.AppendUint32(p, crc32.Checksum(trailer, castagnoli))
	p = binary.LittleEndian.AppendUint32(p, uint32(len(trailer)))
	p = append(p, packFooterMark...)

	got, err := chunkstore.ParsePack(id, p)
	if err != nil {
		return nil, nil, fmt.Errorf("generated pack does not parse: %w", err)
	}
	if len(got) != len(entries) {
		return nil, nil, fmt.Errorf("generated pack parses to %d blobs, want %d", len(got), len(entries))
	}
	for i := range got {
		if got[i] != entries[i] {
			return nil, nil, fmt.Errorf("generated pack: blob %d parses as %+v, want %+v", i, got[i], entries[i])
		}
	}
	return p, entries, nil
}
