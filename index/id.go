package index

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// ID names a blob (SHA-256 of its plain content), a pack (random) or an
// index segment (SHA-256 of its encoding).
type ID [32]byte

// Hash returns the content ID of b.
func Hash(b []byte) ID { return sha256.Sum256(b) }

// RandomID returns a fresh random ID (pack names).
func RandomID() ID {
	var id ID
	if _, err := rand.Read(id[:]); err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+ panics
		// internally instead); keep the signature simple.
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return id
}

// String is the lowercase hex form used in object keys and manifests.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short is the first 8 hex digits, for messages.
func (id ID) Short() string { return hex.EncodeToString(id[:4]) }

// IsZero reports whether id is all zero bytes.
func (id ID) IsZero() bool { return id == ID{} }

// ParseID parses the 64-hex-digit form.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 64 {
		return id, fmt.Errorf("invalid ID %q: want 64 hex digits", s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("invalid ID %q: %w", s, err)
	}
	return id, nil
}

// MarshalText encodes the hex form (JSON manifests).
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText decodes the hex form.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// BlobType tells what a blob holds.
type BlobType uint8

const (
	// DataBlob is a chunk of file content.
	DataBlob BlobType = 1
	// MetaBlob is a content list: the ordered chunk IDs of (part of) a file.
	MetaBlob BlobType = 2
)

func (t BlobType) String() string {
	switch t {
	case DataBlob:
		return "data"
	case MetaBlob:
		return "meta"
	}
	return fmt.Sprintf("blobtype(%d)", uint8(t))
}

// Compression is how a blob is stored in its pack.
type Compression uint8

const (
	// Raw blobs are stored as they are (incompressible data such as LZ4
	// compressed SSTables).
	Raw Compression = 0
	// Zstd blobs are one zstd frame each.
	Zstd Compression = 1
)

// Entry locates one blob.
type Entry struct {
	ID          ID
	Type        BlobType
	Compression Compression
	Pack        ID
	Offset      uint64 // byte offset in the pack
	Length      uint64 // stored length in the pack
	RawLength   uint64 // length after decompression
}

// PackInfo describes one pack object.
type PackInfo struct {
	ID   ID
	Size uint64
	Hash ID // reserved: zero (written by earlier versions as the SHA-256 of the whole pack)
}
