package azure

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"golang.org/x/sync/errgroup"

	"github.com/cassette-backup/cassette/providers"
)

// partPool recycles the part buffers of uploads.
type partPool struct {
	size int
	pool sync.Pool
}

func newPartPool(size int) *partPool {
	p := &partPool{size: size}
	p.pool.New = func() any { b := make([]byte, size); return &b }
	return p
}

func (p *partPool) get() *[]byte  { return p.pool.Get().(*[]byte) }
func (p *partPool) put(b *[]byte) { p.pool.Put(b) }

// Put implements providers.Storage. It reads the payload a part at a time
// into pooled buffers, each holding a transfer slot: a payload that fits in
// one part goes up with one Put Blob, a larger one as blocks staged in
// parallel and committed with Put Block List. A payload or request failure
// before the commit leaves only uncommitted blocks, which are invisible and
// expire; with IfNotExists the commit carries If-None-Match: *.
func (s *Storage) Put(ctx context.Context, key providers.Key, p providers.Payload, opts providers.PutOptions) error {
	if err := providers.ValidateKey(key); err != nil {
		return fmt.Errorf("azure put: %w", err)
	}
	name := s.blobName(key)
	fail := func(err error) error { return fmt.Errorf("azure put %s/%s: %w", s.container, name, err) }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	r, err := p.Reader()
	if err != nil {
		return fail(err)
	}
	bb := s.cc.NewBlockBlobClient(name)
	var cond *blob.AccessConditions
	if opts.IfNotExists {
		cond = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}}
	}
	headers := &blob.HTTPHeaders{BlobContentType: to.Ptr("application/octet-stream")}

	// The first part decides: the whole payload, or the start of a staged
	// upload.
	if err := s.slots.Acquire(ctx, 1); err != nil {
		return fail(err)
	}
	buf := s.parts.get()
	n, last, err := readPart(r, *buf)
	if err == nil && !last && int64(n) == p.Size() {
		// Exactly one part: confirm the end rather than stage one block.
		last, err = atEnd(r)
	}
	if err != nil {
		s.parts.put(buf)
		s.slots.Release(1)
		return fail(fmt.Errorf("reading the payload: %w", err))
	}
	if last {
		defer func() { s.parts.put(buf); s.slots.Release(1) }()
		if size := p.Size(); size >= 0 && int64(n) != size {
			return fail(fmt.Errorf("the payload holds %d bytes, not the declared %d", n, size))
		}
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		_, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader((*buf)[:n])), &blockblob.UploadOptions{
			HTTPHeaders: headers, AccessConditions: cond,
		})
		return s.translateError(err, "put", name)
	}
	ids, total, err := s.stageBlocks(ctx, name, r, buf, n, !p.Replayable())
	if err != nil {
		return err
	}
	if size := p.Size(); size >= 0 && total != size {
		return fail(fmt.Errorf("the payload holds %d bytes, not the declared %d", total, size))
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	_, err = bb.CommitBlockList(ctx, ids, &blockblob.CommitBlockListOptions{HTTPHeaders: headers, AccessConditions: cond})
	return s.translateError(err, "commit block list", name)
}

// stageBlocks stages first[:n] and the rest of r as blocks, in parallel,
// one transfer slot and one pooled buffer per block in flight (the caller's
// slot and buffer for the first block are taken over). It returns the block
// IDs in order and the payload's length.
func (s *Storage) stageBlocks(ctx context.Context, name string, r io.Reader, first *[]byte, n int, oneShot bool) ([]string, int64, error) {
	client := s.cc
	if oneShot {
		client = s.stager // see the package comment
	}
	bb := client.NewBlockBlobClient(name)
	nonce, err := blockNonce()
	if err != nil {
		s.parts.put(first)
		s.slots.Release(1)
		return nil, 0, err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(sctx)
	var ids []string
	var total int64
	buf, last := first, false
	for i := 0; ; i++ {
		id := blockID(nonce, i)
		ids = append(ids, id)
		total += int64(n)
		part, size := buf, n
		g.Go(func() error {
			defer func() { s.parts.put(part); s.slots.Release(1) }()
			_, err := bb.StageBlock(gctx, id, streaming.NopCloser(bytes.NewReader((*part)[:size])), nil)
			return s.translateError(err, "stage block", name)
		})
		if last {
			break
		}
		if err := s.slots.Acquire(gctx, 1); err != nil {
			break // a block failed or ctx ended; g.Wait reports it
		}
		buf = s.parts.get()
		n, last, err = readPart(r, *buf)
		if err == nil && n == 0 && last {
			s.parts.put(buf)
			s.slots.Release(1)
			break
		}
		if err != nil {
			s.parts.put(buf)
			s.slots.Release(1)
			cancel()
			_ = g.Wait()
			return nil, 0, fmt.Errorf("azure put %s/%s: reading the payload: %w", s.container, name, err)
		}
	}
	if err := g.Wait(); err != nil {
		return nil, 0, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("azure put %s/%s: %w", s.container, name, err)
	}
	return ids, total, nil
}

// readPart fills buf from r. last is true when r ended within buf (n may be
// less than len(buf), or 0 for an empty remainder).
func readPart(r io.Reader, buf []byte) (n int, last bool, err error) {
	n, err = io.ReadFull(r, buf)
	switch {
	case err == nil:
		return n, false, nil // full: the next read tells whether more follows
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return n, true, nil
	default:
		return n, false, err
	}
}

// atEnd reports whether r has nothing left. A payload declaring its size
// that has more is an error.
func atEnd(r io.Reader) (bool, error) {
	var b [1]byte
	for range 100 {
		n, err := r.Read(b[:])
		switch {
		case n > 0:
			return false, errors.New("the payload holds more bytes than its declared size")
		case errors.Is(err, io.EOF):
			return true, nil
		case err != nil:
			return false, err
		}
	}
	return false, io.ErrNoProgress
}

// blockNonce makes the block IDs of one upload unique, so concurrent
// uploads of the same blob never commit each other's blocks.
func blockNonce() ([12]byte, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return b, fmt.Errorf("azure put: block ID nonce: %w", err)
	}
	return b, nil
}

// blockID is the base64 ID of block i of an upload: 16 bytes before
// encoding, so every ID of a blob has the same length as Azure requires.
func blockID(nonce [12]byte, i int) string {
	var b [16]byte
	copy(b[:], nonce[:])
	binary.BigEndian.PutUint32(b[12:], uint32(i))
	return base64.StdEncoding.EncodeToString(b[:])
}
