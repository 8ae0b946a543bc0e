package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"

	"github.com/cassette-backup/cassette/providers"
)

// Put stores the payload under key atomically.
//
// A payload of known size up to PartSize goes up in one PutObject; anything
// larger, or a stream of unknown size that fills a part, goes up as a
// multipart upload whose parts are read into pooled buffers and sent in
// parallel. A failed or cancelled multipart upload is aborted, so nothing
// becomes visible.
//
// Retries: a replayable payload sent in one request is not retried here
// (the retry decorator resends it). Buffered data that the caller cannot
// resend — every multipart part, and a one-shot stream small enough for one
// request — is retried here on transient failures, up to PartAttempts. A
// failed one-shot stream's error also wraps providers.ErrPayloadConsumed.
//
// Part buffers are shared by all Puts of the Storage (concurrentTransfers of
// them); callers must not make one streamed Put's payload wait for another
// Put to finish, or a full pool can deadlock them.
func (s *Storage) Put(ctx context.Context, key providers.Key, p providers.Payload, opts providers.PutOptions) error {
	if err := providers.ValidateKey(key); err != nil {
		return fmt.Errorf("s3 put: %w", err)
	}
	if opts.IfNotExists && !s.condPut {
		return fmt.Errorf("s3 put %s: create-if-absent on %s: %w", key, s.Properties().Name, providers.ErrNotSupported)
	}
	size := p.Size()
	if size > s.opts.PartSize*MaxParts {
		return fmt.Errorf("s3 put %s: %d bytes exceed %d parts of %d bytes; raise multipartPartSize", key, size, MaxParts, s.opts.PartSize)
	}
	r, err := p.Reader()
	if err != nil {
		return fmt.Errorf("s3 put %s: %w", key, err)
	}
	if c, ok := r.(io.Closer); ok && p.Replayable() {
		// A replayable payload opens a fresh reader for each Put: ours to close.
		defer c.Close()
	}
	if p.Replayable() && size >= 0 && size <= s.opts.PartSize {
		if rs, ok := r.(io.ReadSeeker); ok {
			return s.putObject(ctx, key, func() io.ReadSeeker { return rs }, size, opts, 1)
		}
	}
	err = s.putStream(ctx, key, r, size, !p.Replayable(), opts)
	if err != nil && !p.Replayable() && errors.Is(err, providers.ErrTransient) {
		err = fmt.Errorf("%w (%w)", err, providers.ErrPayloadConsumed)
	}
	return err
}

// putStream buffers the first part; a payload that fits goes up in one
// request, a larger one as a multipart upload.
func (s *Storage) putStream(ctx context.Context, key providers.Key, r io.Reader, size int64, oneShot bool, opts providers.PutOptions) error {
	buf, err := s.bufs.get(ctx)
	if err != nil {
		return fmt.Errorf("s3 put %s: %w", key, err)
	}
	n, rerr := io.ReadFull(r, buf)
	switch {
	case rerr == io.EOF || rerr == io.ErrUnexpectedEOF || (rerr == nil && int64(n) == size):
		defer s.bufs.put(buf)
		if size >= 0 && int64(n) != size {
			return fmt.Errorf("s3 put %s: payload has %d bytes, declared %d", key, n, size)
		}
		attempts := 1
		if oneShot {
			attempts = s.opts.PartAttempts
		}
		data := buf[:n]
		return s.putObject(ctx, key, func() io.ReadSeeker { return bytes.NewReader(data) }, int64(n), opts, attempts)
	case rerr != nil:
		s.bufs.put(buf)
		return fmt.Errorf("s3 put %s: read payload: %w", key, rerr)
	}
	return s.putMultipart(ctx, key, r, buf, size, opts)
}

// putObject sends one PutObject, up to attempts times on transient errors.
func (s *Storage) putObject(ctx context.Context, key providers.Key, body func() io.ReadSeeker, size int64, opts providers.PutOptions, attempts int) error {
	kms, kmsID := s.sse.kms()
	return s.withRetries(ctx, "put", string(key), attempts, func() error {
		in := &s3sdk.PutObjectInput{
			Bucket:               &s.bucket,
			Key:                  aws.String(s.objectKey(key)),
			Body:                 body(),
			ContentLength:        aws.Int64(size),
			StorageClass:         s.sse.storageClass,
			ServerSideEncryption: kms,
			SSEKMSKeyId:          kmsID,
			SSECustomerAlgorithm: s.sse.cAlgo,
			SSECustomerKey:       s.sse.cKey,
			SSECustomerKeyMD5:    s.sse.cKeyMD5,
		}
		if opts.IfNotExists {
			in.IfNoneMatch = aws.String("*")
		}
		_, err := s.client.PutObject(ctx, in, s.bodyOptions)
		s.stats.Up(size)
		return err
	})
}

// withRetries runs one request under the transfer limit, retrying
// transient failures up to attempts times with doubling pauses. It returns
// the translated error.
func (s *Storage) withRetries(ctx context.Context, op, key string, attempts int, fn func() error) error {
	delay := s.opts.RetryBackoff
	for attempt := 1; ; attempt++ {
		if err := s.xfers.Acquire(ctx, 1); err != nil {
			return fmt.Errorf("s3 %s %s: %w", op, key, err)
		}
		err := fn()
		s.xfers.Release(1)
		if err == nil {
			return nil
		}
		err = s.translateError(ctx, op, key, err)
		if attempt >= attempts || !errors.Is(err, providers.ErrTransient) {
			return err
		}
		s.opts.Logger.Debug("s3: retrying after a transient failure", "op", op, "key", key, "attempt", attempt, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("s3 %s %s: %w (after: %w)", op, key, ctx.Err(), err)
		case <-t.C:
		}
		delay *= 2
	}
}

// bufferPool hands out part buffers: at most n are in use at once, and up
// to n are kept for reuse, so multipart memory stays at n x size.
type bufferPool struct {
	tokens chan struct{}
	free   chan []byte
	size   int
}

func newBufferPool(n, size int) *bufferPool {
	return &bufferPool{tokens: make(chan struct{}, n), free: make(chan []byte, n), size: size}
}

// get waits for a free buffer slot and returns a buffer of full size.
func (p *bufferPool) get(ctx context.Context) ([]byte, error) {
	select {
	case p.tokens <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case b := <-p.free:
		return b, nil
	default:
		return make([]byte, p.size), nil
	}
}

// drain drops the idle buffers (Close).
func (p *bufferPool) drain() {
	for {
		select {
		case <-p.free:
		default:
			return
		}
	}
}

// put returns a buffer obtained from get.
func (p *bufferPool) put(b []byte) {
	select {
	case p.free <- b[:cap(b)]:
	default:
	}
	<-p.tokens
}

// bodyOptions adjusts requests that carry object data. With request
// checksums on, a CRC32 of the body travels with it (a header over HTTP, a
// trailer over HTTPS), so SigV4 need not hash the body too: signing it as
// UNSIGNED-PAYLOAD saves a SHA-256 pass over every byte — over half the
// client's CPU on plain HTTP, CPU a server on the same machine does not get.
// Without checksums (when_required) the signed SHA-256 is the only
// integrity check over plain HTTP and stays.
func (s *Storage) bodyOptions(o *s3sdk.Options) {
	if s.checksum {
		o.APIOptions = append(o.APIOptions, unsignedPayload)
	}
}

func unsignedPayload(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("cassetteUnsignedPayload",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
			middleware.InitializeOutput, middleware.Metadata, error,
		) {
			return next.HandleInitialize(v4.SetPayloadHash(ctx, "UNSIGNED-PAYLOAD"), in)
		}), middleware.Before)
}
