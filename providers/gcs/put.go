package gcs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"cloud.google.com/go/storage"

	"github.com/cassette-backup/cassette/providers"
)

// copyBufSize is the size of the pooled buffers payloads are copied through.
const copyBufSize = 256 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// chunkRetryDeadline bounds the client's retries of one chunk of a one-shot
// stream (the only retries left to the client, see the package comment).
const chunkRetryDeadline = 2 * time.Minute

// Put implements providers.Storage. The payload goes up through the
// client's buffered (resumable) upload: each chunk is read whole into the
// writer's buffer before it is sent, and the object is finalised only by the
// chunk that reaches the payload's end. Known sizes up to the part size fit
// in one chunk and one request, with a buffer no larger than the payload
// (rounded to 256 KiB); larger or unsized payloads hold one part in memory.
// On any failure the upload's context is cancelled before finalisation, so
// nothing becomes visible.
//
// The unbuffered single-request mode (ChunkSize 0) is never used: when its
// source fails, the client's multipart encoder still writes the closing MIME
// boundary, and a server can store the truncated object.
func (s *Storage) Put(ctx context.Context, key providers.Key, p providers.Payload, opts providers.PutOptions) error {
	if err := providers.ValidateKey(key); err != nil {
		return fmt.Errorf("gcs put: %w", err)
	}
	name := s.objectName(key)
	if err := s.slots.Acquire(ctx, 1); err != nil {
		return fmt.Errorf("gcs put gs://%s/%s: %w", s.bucket, name, err)
	}
	defer s.slots.Release(1)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("gcs put gs://%s/%s: %w", s.bucket, name, err)
	}
	r, err := p.Reader()
	if err != nil {
		return fmt.Errorf("gcs put gs://%s/%s: %w", s.bucket, name, err)
	}

	obj := s.bkt.Object(name)
	if opts.IfNotExists {
		obj = obj.If(storage.Conditions{DoesNotExist: true})
	}
	size := p.Size()
	chunked := size < 0 || size > int64(s.partSize)
	chunk := s.partSize
	if !chunked {
		chunk = int(max(minPartSize, (size+minPartSize-1)/minPartSize*minPartSize))
	}
	if chunked && !p.Replayable() {
		// Nothing above can resend a one-shot stream: let the client retry
		// a chunk within the upload session.
		obj = obj.Retryer(storage.WithPolicy(storage.RetryAlways), storage.WithMaxAttempts(3))
	}

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := obj.NewWriter(wctx)
	w.ContentType = "application/octet-stream"
	w.ChunkSize = chunk
	w.ChunkRetryDeadline = chunkRetryDeadline

	src := &sourceReader{r: r}
	bufp := copyBufs.Get().(*[]byte)
	_, werr := io.CopyBuffer(writerOnly{w}, src, *bufp)
	copyBufs.Put(bufp)

	// Abort without finalising: cancelling the context makes the writer
	// close its pipe with an error, so the server never sees a complete
	// upload. Close is not called on these paths, as it would finalise.
	switch {
	case src.err != nil:
		cancel()
		return fmt.Errorf("gcs put gs://%s/%s: reading the payload: %w", s.bucket, name, src.err)
	case ctx.Err() != nil:
		cancel()
		return fmt.Errorf("gcs put gs://%s/%s: %w", s.bucket, name, ctx.Err())
	case werr != nil:
		cancel()
		return s.translateError(werr, "put", name)
	case size >= 0 && src.n != size:
		cancel()
		return fmt.Errorf("gcs put gs://%s/%s: the payload holds %d bytes, not the declared %d", s.bucket, name, src.n, size)
	}
	if err := w.Close(); err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return fmt.Errorf("gcs put gs://%s/%s: %w", s.bucket, name, ctx.Err())
		}
		return s.translateError(err, "put", name)
	}
	return nil
}

// sourceReader reads the payload, counting its bytes and keeping its error
// apart from the upload's.
type sourceReader struct {
	r   io.Reader
	n   int64
	err error
}

func (r *sourceReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// writerOnly hides everything but Write, so io.CopyBuffer uses the pooled
// buffer.
type writerOnly struct{ w io.Writer }

func (w writerOnly) Write(p []byte) (int, error) { return w.w.Write(p) }
