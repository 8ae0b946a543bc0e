package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/index"
)

// ManifestFormat is the node manifest version this cassette writes and the
// newest it reads.
const ManifestFormat = 1

// Backup types, as Medusa names them.
const (
	TypeDifferential = "differential"
	TypeFull         = "full"
)

// Header is the first line of a node manifest.
type Header struct {
	Format     int       `json:"format"`
	Backup     string    `json:"backup"`
	Node       string    `json:"node"`
	Type       string    `json:"type"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`
	Repository string    `json:"repository"`
	// DataDirs are the data directories as they were on the node; FileEntry.Dir
	// indexes this list.
	DataDirs []string `json:"dataDirs"`
	// Identity is the node's place in the ring when it was backed up.
	Identity NodeInfo `json:"identity"`
	// Snapshot is the tag of the snapshot the files were read from ("" for
	// snapshot: none).
	Snapshot string `json:"snapshot,omitempty"`
	// Schema is the key of the node's schema.cql object (DESCRIBE SCHEMA
	// output), "" when cqlsh could not give it; system_schema's SSTables
	// are in the backup either way.
	Schema  string  `json:"schema,omitempty"`
	Summary Summary `json:"summary"`
}

// Summary counts what one node backup holds and what it cost.
type Summary struct {
	Files       int64   `json:"files"`
	Bytes       int64   `json:"bytes"`
	ReadFiles   int64   `json:"readFiles"`   // files read (not taken from the file cache)
	ReadBytes   int64   `json:"readBytes"`   // bytes read from disk
	NewChunks   int64   `json:"newChunks"`   // blobs uploaded
	NewBytes    int64   `json:"newBytes"`    // plain bytes uploaded
	StoredBytes int64   `json:"storedBytes"` // bytes uploaded after compression
	Packs       int64   `json:"packs"`
	Segments    int64   `json:"indexSegments"` // index objects written
	Seconds     float64 `json:"seconds"`
}

// FileEntry is one file of a node backup.
type FileEntry struct {
	Dir   int      `json:"dir"`   // index into Header.DataDirs
	Path  string   `json:"path"`  // "<keyspace>/<table>-<id>/<file>", '/'-separated
	Size  int64    `json:"size"`  // bytes
	MTime int64    `json:"mtime"` // unix nanoseconds
	Mode  uint32   `json:"mode"`  // permission bits
	Hash  index.ID `json:"hash"`  // chunkstore.FileHasher over the content
	chunkstore.Content
}

// Keyspace and Table return the first two path elements (table without its
// "-<id>" suffix).
func (f *FileEntry) Keyspace() string {
	ks, _, _ := strings.Cut(f.Path, "/")
	return ks
}

// Table is the table name of the file, without the table ID.
func (f *FileEntry) Table() string {
	_, rest, _ := strings.Cut(f.Path, "/")
	dir, _, _ := strings.Cut(rest, "/")
	if i := strings.LastIndexByte(dir, '-'); i > 0 {
		return dir[:i]
	}
	return dir
}

// maxManifestLine bounds one decoded line (a file entry with its content
// lists is far smaller).
const maxManifestLine = 4 << 20

// validPath reports whether p is a clean relative path that stays inside
// the folder it is joined to.
func validPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || strings.ContainsRune(p, 0) || path.Clean(p) != p {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == ".." || seg == "." || seg == "" {
			return false
		}
	}
	return true
}

func (f *FileEntry) validate(h *Header) error {
	switch {
	case !validPath(f.Path):
		return fmt.Errorf("%w: %q", ErrUnsafePath, f.Path)
	case f.Dir < 0 || f.Dir >= max(1, len(h.DataDirs)):
		return fmt.Errorf("file %s: data directory index %d out of range", f.Path, f.Dir)
	case f.Size < 0:
		return fmt.Errorf("file %s: negative size", f.Path)
	case f.Chunk != nil && len(f.Lists) > 0:
		return fmt.Errorf("file %s: both an inline chunk and content lists", f.Path)
	case f.Size > 0 && f.Chunk == nil && len(f.Lists) == 0:
		return fmt.Errorf("file %s: %d bytes but no content", f.Path, f.Size)
	case f.Size == 0 && (f.Chunk != nil || len(f.Lists) > 0):
		return fmt.Errorf("file %s: empty but has content", f.Path)
	}
	return nil
}

func (h *Header) validate() error {
	switch {
	case h.Format < 1:
		return errors.New("missing format version")
	case h.Format > ManifestFormat:
		return fmt.Errorf("manifest format %d is newer than this cassette reads (%d): upgrade cassette", h.Format, ManifestFormat)
	case h.Backup == "" || h.Node == "":
		return errors.New("missing backup name or node")
	case h.Type != TypeFull && h.Type != TypeDifferential:
		return fmt.Errorf("unknown backup type %q", h.Type)
	}
	return nil
}

// ManifestWriter streams file entries into a zstd frame (a temporary file
// or buffer) so a node with many files never holds them all in memory. The
// finished manifest is the header's frame followed by the entries' frame;
// zstd readers read concatenated frames as one stream.
type ManifestWriter struct {
	zw  *zstd.Encoder
	enc *json.Encoder
	n   int64
}

// NewManifestWriter writes compressed entries to w.
func NewManifestWriter(w io.Writer) (*ManifestWriter, error) {
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	return &ManifestWriter{zw: zw, enc: json.NewEncoder(zw)}, nil
}

// Add appends one entry.
func (m *ManifestWriter) Add(f *FileEntry) error {
	m.n++
	return m.enc.Encode(f)
}

// Close ends the entries' frame.
func (m *ManifestWriter) Close() error { return m.zw.Close() }

// EncodeHeader returns the header's compressed frame.
func EncodeHeader(h *Header) ([]byte, error) {
	line, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	zw.Write(append(line, '\n'))
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// manifestDecoders reuses zstd decoders: each one allocates its window
// history (megabytes), and status, list and purge read many manifests
// concurrently — a new decoder per manifest made purge's memory grow with
// the number of backups. Single-goroutine decoders (concurrency 1) are safe
// to reuse after Reset.
var manifestDecoders sync.Pool

func getManifestDecoder(r io.Reader) (*zstd.Decoder, error) {
	if d, ok := manifestDecoders.Get().(*zstd.Decoder); ok {
		if err := d.Reset(r); err != nil {
			d.Close()
			return nil, err
		}
		return d, nil
	}
	return zstd.NewReader(r, zstd.WithDecoderMaxMemory(64<<20), zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
}

func putManifestDecoder(d *zstd.Decoder) {
	if d.Reset(nil) != nil {
		d.Close()
		return
	}
	manifestDecoders.Put(d)
}

// DecodeManifest reads a manifest: it returns the header and calls fn (when
// not nil) with every file entry, validated. Hostile bytes produce an error
// wrapping ErrBadManifest, never a panic or an unbounded allocation.
func DecodeManifest(r io.Reader, fn func(*FileEntry) error) (*Header, error) {
	zr, err := getManifestDecoder(r)
	if err != nil {
		return nil, err
	}
	defer putManifestDecoder(zr)
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 64<<10), maxManifestLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadManifest, err)
		}
		return nil, fmt.Errorf("%w: empty", ErrBadManifest)
	}
	h := &Header{}
	if err := json.Unmarshal(sc.Bytes(), h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrBadManifest, err)
	}
	if err := h.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadManifest, err)
	}
	if fn == nil {
		return h, nil
	}
	var n int64
	for sc.Scan() {
		var f FileEntry
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			return h, fmt.Errorf("%w: entry %d: %v", ErrBadManifest, n+1, err)
		}
		if err := f.validate(h); err != nil {
			return h, fmt.Errorf("%w: %v", ErrBadManifest, err)
		}
		n++
		if err := fn(&f); err != nil {
			return h, err
		}
	}
	if err := sc.Err(); err != nil {
		return h, fmt.Errorf("%w: %v", ErrBadManifest, err)
	}
	if n != h.Summary.Files {
		return h, fmt.Errorf("%w: %d file entries, header says %d", ErrBadManifest, n, h.Summary.Files)
	}
	return h, nil
}
