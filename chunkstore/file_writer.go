package chunkstore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/restic/chunker"

	"github.com/cassette-backup/cassette/index"
)

// Content says where a file's bytes are: nothing (empty file), one data
// chunk named inline (small files: most SSTable components), or a list of
// content-list blobs, each holding up to MaxListChunks chunk IDs in order.
type Content struct {
	Chunk *index.ID  `json:"chunk,omitempty"`
	Lists []index.ID `json:"lists,omitempty"`
}

// MaxListChunks bounds one content-list blob (2 MiB of IDs, about 64 GiB of
// file at the default chunk size).
const MaxListChunks = 1 << 16

// FileResult describes one stored file.
type FileResult struct {
	Size    int64
	Hash    index.ID // FileHash of the content
	Content Content
	Chunks  int   // number of chunks
	New     int   // chunks that were not in the repository yet
	NewRaw  int64 // plain bytes of those chunks
}

// FileHasher computes cassette's whole-file hash: SHA-256 over a domain
// tag, the file size and the ordered chunk IDs. Each chunk ID is the
// SHA-256 of the chunk, so this pins every byte of the file without hashing
// the data a second time; restore recomputes it from verified chunks.
type FileHasher struct{ h hash.Hash }

// NewFileHasher starts a file hash.
func NewFileHasher() *FileHasher {
	h := sha256.New()
	h.Write([]byte("cassette file v1\n"))
	return &FileHasher{h: h}
}

// Add appends one chunk ID.
func (f *FileHasher) Add(id index.ID) { f.h.Write(id[:]) }

// Sum finishes the hash for a file of size bytes.
func (f *FileHasher) Sum(size int64) index.ID {
	var id index.ID
	f.h.Write(binary.LittleEndian.AppendUint64(nil, uint64(size)))
	copy(id[:], f.h.Sum(nil))
	return id
}

type chunkBuffers struct {
	chunk []byte
	enc   []byte
	ch    *chunker.Chunker
	stage stage
}

var bufPool sync.Pool

func (r *Repo) getBuffers(rd io.Reader) *chunkBuffers {
	b, _ := bufPool.Get().(*chunkBuffers)
	if b == nil || cap(b.chunk) < int(r.cfg.MaxChunkSize) {
		b = &chunkBuffers{chunk: make([]byte, r.cfg.MaxChunkSize), enc: make([]byte, 0, r.cfg.MaxChunkSize+r.cfg.MaxChunkSize/8+1024)}
		b.ch = chunker.NewWithBoundaries(rd, r.pol, r.cfg.MinChunkSize, r.cfg.MaxChunkSize)
	} else {
		b.ch.ResetWithBoundaries(rd, r.pol, r.cfg.MinChunkSize, r.cfg.MaxChunkSize)
	}
	b.ch.SetAverageBits(r.cfg.AverageChunkBits)
	return b
}

// WriteFile chunks rd, stores every chunk the repository does not have yet,
// and returns how to find the file again. Memory use is bounded by a few
// chunk buffers however large the file is (content lists are flushed every
// MaxListChunks chunks).
func (s *Session) WriteFile(ctx context.Context, rd io.Reader) (res FileResult, err error) {
	bufs := s.repo.getBuffers(rd)
	defer bufPool.Put(bufs)
	defer func() {
		// Staged blobs are claimed: write them whatever happened to the file.
		if ferr := s.flushStage(&bufs.stage); ferr != nil && err == nil {
			err = ferr
		}
	}()
	res, err = s.writeFile(ctx, rd, bufs)
	return res, err
}

func (s *Session) writeFile(ctx context.Context, rd io.Reader, bufs *chunkBuffers) (FileResult, error) {
	var res FileResult
	fh := NewFileHasher()
	var (
		list  []byte // current content-list blob: concatenated chunk IDs
		first index.ID
	)
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		c, err := bufs.ch.Next(bufs.chunk)
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, fmt.Errorf("read: %w", err)
		}
		id, isNew, err := s.putBlob(ctx, &bufs.stage, index.DataBlob, c.Data, bufs.enc)
		if err != nil {
			return res, err
		}
		fh.Add(id)
		res.Size += int64(c.Length)
		res.Chunks++
		if isNew {
			res.New++
			res.NewRaw += int64(c.Length)
		}
		if res.Chunks == 1 {
			first = id
			continue
		}
		if res.Chunks == 2 {
			list = append(list, first[:]...)
		}
		list = append(list, id[:]...)
		if len(list) == MaxListChunks*len(id) {
			lid, _, err := s.putBlob(ctx, &bufs.stage, index.MetaBlob, list, bufs.enc)
			if err != nil {
				return res, err
			}
			res.Content.Lists = append(res.Content.Lists, lid)
			list = list[:0]
		}
	}
	switch {
	case res.Chunks == 1:
		res.Content.Chunk = &first
	case len(list) > 0:
		lid, _, err := s.putBlob(ctx, &bufs.stage, index.MetaBlob, list, bufs.enc)
		if err != nil {
			return res, err
		}
		res.Content.Lists = append(res.Content.Lists, lid)
	}
	res.Hash = fh.Sum(res.Size)
	return res, nil
}

// HashFile computes the whole-file hash of rd as WriteFile would record it,
// without storing anything: restore uses it to recognise files already in
// place.
func (r *Repo) HashFile(ctx context.Context, rd io.Reader) (int64, index.ID, error) {
	bufs := r.getBuffers(rd)
	defer bufPool.Put(bufs)
	fh := NewFileHasher()
	var size int64
	for {
		if err := ctx.Err(); err != nil {
			return 0, index.ID{}, err
		}
		c, err := bufs.ch.Next(bufs.chunk)
		if err == io.EOF {
			return size, fh.Sum(size), nil
		}
		if err != nil {
			return 0, index.ID{}, err
		}
		fh.Add(index.Hash(c.Data))
		size += int64(c.Length)
	}
}
