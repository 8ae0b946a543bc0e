package chunkstore

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/cassette-backup/cassette/index"
)

// Pack format, version 1 (docs/format.md, "Packs"):
//
//	header  "CSTPACK" 0x01                         8 bytes
//	blobs   stored bytes, back to back
//	trailer uvarint count, then per blob:
//	        type[1] compression[1] id[32] uvarint(stored length) uvarint(raw length)
//	footer  crc32c(trailer)[4 LE] len(trailer)[4 LE] "CSTPKEND"   16 bytes
//
// Blob offsets are implicit: the first starts right after the header, each
// next one where the previous ended. The trailer lets a pack be understood
// without any index (verify, index rebuild).
const (
	packHeader     = "CSTPACK\x01"
	packFooterMark = "CSTPKEND"
	packFooterSize = 16
	// maxTrailerSize bounds the trailer a reader will fetch and decode.
	maxTrailerSize = 16 << 20
	minTrailerItem = 1 + 1 + 32 + 1 + 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// packEntry is one blob as the trailer records it.
type packEntry struct {
	Type        index.BlobType
	Compression index.Compression
	ID          index.ID
	Length      uint64
	RawLength   uint64
}

func encodeTrailer(entries []packEntry) []byte {
	t := make([]byte, 0, 8+len(entries)*44+packFooterSize)
	t = binary.AppendUvarint(t, uint64(len(entries)))
	for _, e := range entries {
		t = append(t, byte(e.Type), byte(e.Compression))
		t = append(t, e.ID[:]...)
		t = binary.AppendUvarint(t, e.Length)
		t = binary.AppendUvarint(t, e.RawLength)
	}
	n := len(t)
	t = binary.LittleEndian.AppendUint32(t, crc32.Checksum(t[:n], castagnoli))
	t = binary.LittleEndian.AppendUint32(t, uint32(n))
	return append(t, packFooterMark...)
}

// DecodePackFooter reads the last 16 bytes of a pack and returns the
// trailer's length. It never panics.
func DecodePackFooter(footer []byte) (trailerLen int, crc uint32, err error) {
	if len(footer) != packFooterSize || string(footer[8:]) != packFooterMark {
		return 0, 0, fmt.Errorf("%w: pack footer missing or damaged", ErrIntegrity)
	}
	crc = binary.LittleEndian.Uint32(footer[0:4])
	n := binary.LittleEndian.Uint32(footer[4:8])
	if n < 1 || n > maxTrailerSize {
		return 0, 0, fmt.Errorf("%w: pack trailer length %d out of range", ErrIntegrity, n)
	}
	return int(n), crc, nil
}

// DecodePackTrailer decodes a trailer (without the footer) of a pack of
// packSize bytes and returns the entries with their offsets. Every length is
// checked against the pack: it never panics, whatever the bytes.
func DecodePackTrailer(packID index.ID, trailer []byte, crc uint32, packSize uint64) ([]index.Entry, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: pack %s: trailer: %s", ErrIntegrity, packID, fmt.Sprintf(format, a...))
	}
	if crc32.Checksum(trailer, castagnoli) != crc {
		return nil, bad("checksum mismatch")
	}
	count, n := binary.Uvarint(trailer)
	if n <= 0 {
		return nil, bad("bad blob count")
	}
	rest := trailer[n:]
	if count > uint64(len(rest)/minTrailerItem) {
		return nil, bad("blob count %d larger than the trailer can hold", count)
	}
	dataEnd := packSize
	if packSize < uint64(len(packHeader)+len(trailer)+packFooterSize) {
		return nil, bad("pack of %d bytes too small for its trailer", packSize)
	}
	dataEnd = packSize - uint64(len(trailer)+packFooterSize)
	entries := make([]index.Entry, 0, count)
	off := uint64(len(packHeader))
	for i := uint64(0); i < count; i++ {
		if len(rest) < 34 {
			return nil, bad("truncated at blob %d", i)
		}
		e := index.Entry{Type: index.BlobType(rest[0]), Compression: index.Compression(rest[1]), Pack: packID, Offset: off}
		copy(e.ID[:], rest[2:34])
		rest = rest[34:]
		var k int
		if e.Length, k = binary.Uvarint(rest); k <= 0 {
			return nil, bad("bad length of blob %d", i)
		}
		rest = rest[k:]
		if e.RawLength, k = binary.Uvarint(rest); k <= 0 {
			return nil, bad("bad raw length of blob %d", i)
		}
		rest = rest[k:]
		if e.Type != index.DataBlob && e.Type != index.MetaBlob {
			return nil, bad("blob %s: unknown type %d", e.ID, e.Type)
		}
		if e.Compression != index.Raw && e.Compression != index.Zstd {
			return nil, bad("blob %s: unknown compression %d", e.ID, e.Compression)
		}
		if e.Length > index.MaxBlobLength || e.RawLength > index.MaxBlobLength || (e.Compression == index.Raw && e.Length != e.RawLength) {
			return nil, bad("blob %s: lengths %d/%d invalid", e.ID, e.Length, e.RawLength)
		}
		if e.Length > dataEnd-off {
			return nil, bad("blob %s runs past the data area", e.ID)
		}
		off += e.Length
		entries = append(entries, e)
	}
	if len(rest) != 0 {
		return nil, bad("%d trailing bytes", len(rest))
	}
	if off != dataEnd {
		return nil, bad("blobs cover %d bytes, data area is %d", off, dataEnd)
	}
	return entries, nil
}
