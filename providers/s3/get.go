package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cassette-backup/cassette/providers"
)

// Get calls fn with a reader over [offset, offset+length) of the object
// (length < 0: to the end) using a ranged GetObject. A range past the end is
// providers.ErrInvalidRange; a body that ends early is a transient error
// wrapping io.ErrUnexpectedEOF. The download holds one of the Storage's
// transfer slots until fn returns.
func (s *Storage) Get(ctx context.Context, key providers.Key, offset, length int64, fn func(io.Reader) error) error {
	if err := providers.ValidateKey(key); err != nil {
		return fmt.Errorf("s3 get: %w", err)
	}
	if offset < 0 {
		return fmt.Errorf("s3 get %s: negative offset %d: %w", key, offset, providers.ErrInvalidRange)
	}
	if length == 0 {
		return s.getEmpty(ctx, key, offset, fn)
	}
	in := &s3sdk.GetObjectInput{
		Bucket:               &s.bucket,
		Key:                  aws.String(s.objectKey(key)),
		SSECustomerAlgorithm: s.sse.cAlgo,
		SSECustomerKey:       s.sse.cKey,
		SSECustomerKeyMD5:    s.sse.cKeyMD5,
	}
	if length > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", offset, offset+length-1))
	} else if offset > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", offset))
	}
	if err := s.xfers.Acquire(ctx, 1); err != nil {
		return fmt.Errorf("s3 get %s: %w", key, err)
	}
	defer s.xfers.Release(1)
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		err = s.translateError(ctx, "get", string(key), err)
		if length < 0 && errors.Is(err, providers.ErrInvalidRange) {
			// "bytes=size-" is unsatisfiable, yet offset == size is an
			// empty read, not an invalid range.
			return s.getEmpty(ctx, key, offset, fn)
		}
		return err
	}
	defer out.Body.Close()
	want, err := expectedLength(out, in.Range != nil, offset, length)
	if err != nil {
		return fmt.Errorf("s3 get %s: %w", key, err)
	}
	body := &bodyReader{r: out.Body, left: want, down: s.stats.Down}
	if err := fn(body); err != nil {
		if body.err != nil {
			return s.translateError(ctx, "get", string(key), body.err)
		}
		return err
	}
	if body.err != nil {
		return s.translateError(ctx, "get", string(key), body.err)
	}
	return nil
}

// getEmpty serves a zero-length read at offset: valid up to the object's
// size.
func (s *Storage) getEmpty(ctx context.Context, key providers.Key, offset int64, fn func(io.Reader) error) error {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return err
	}
	if offset > info.Size {
		return fmt.Errorf("s3 get %s: offset %d beyond size %d: %w", key, offset, info.Size, providers.ErrInvalidRange)
	}
	return fn(bytes.NewReader(nil))
}

// expectedLength checks the response's range against the request and
// returns how many bytes fn may read.
func expectedLength(out *s3sdk.GetObjectOutput, ranged bool, offset, length int64) (int64, error) {
	total := int64(-1)
	switch {
	case out.ContentRange != nil:
		total = parseContentRangeTotal(aws.ToString(out.ContentRange))
	case !ranged || offset == 0:
		// The whole object came back (no Range sent, or the server ignored
		// one that started at 0).
		total = aws.ToInt64(out.ContentLength)
	default:
		return 0, fmt.Errorf("server ignored the Range header: %w", providers.ErrNotSupported)
	}
	if total < 0 {
		return 0, fmt.Errorf("unreadable Content-Range %q: %w", aws.ToString(out.ContentRange), providers.ErrTransient)
	}
	if length < 0 {
		if offset > total {
			return 0, fmt.Errorf("offset %d beyond size %d: %w", offset, total, providers.ErrInvalidRange)
		}
		return total - offset, nil
	}
	if offset+length > total {
		return 0, fmt.Errorf("range [%d, %d) beyond size %d: %w", offset, offset+length, total, providers.ErrInvalidRange)
	}
	return length, nil
}

// parseContentRangeTotal reads the size from "bytes a-b/size"; -1 when
// absent or malformed.
func parseContentRangeTotal(cr string) int64 {
	_, after, ok := strings.Cut(cr, "/")
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(strings.TrimSpace(after), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// bodyReader hands fn exactly left bytes of the response body and records
// a failure of the body itself (as opposed to fn's own errors): a body that
// ends early is io.ErrUnexpectedEOF.
type bodyReader struct {
	r    io.Reader
	left int64
	err  error
	down func(int64) // counts the bytes read
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	b.down(int64(n))
	if err == nil && b.left == 0 {
		err = b.finish()
	}
	switch {
	case err == io.EOF && b.left > 0:
		err = io.ErrUnexpectedEOF
	case err == io.EOF:
		return n, io.EOF
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

// finish reads the body to its end once the expected bytes are in, so the
// SDK's response checksum (validated at the body's EOF) is checked. Extra
// bytes (a server that ignored the Range) are not fn's business.
func (b *bodyReader) finish() error {
	var one [1]byte
	for range 3 {
		m, err := b.r.Read(one[:])
		if m > 0 || err == io.EOF {
			return io.EOF
		}
		if err != nil {
			return err
		}
	}
	return io.EOF
}

// Stat returns the object's size and modification time.
func (s *Storage) Stat(ctx context.Context, key providers.Key) (providers.ObjectInfo, error) {
	if err := providers.ValidateKey(key); err != nil {
		return providers.ObjectInfo{}, fmt.Errorf("s3 stat: %w", err)
	}
	out, err := s.client.HeadObject(ctx, &s3sdk.HeadObjectInput{
		Bucket:               &s.bucket,
		Key:                  aws.String(s.objectKey(key)),
		SSECustomerAlgorithm: s.sse.cAlgo,
		SSECustomerKey:       s.sse.cKey,
		SSECustomerKeyMD5:    s.sse.cKeyMD5,
	})
	if err != nil {
		return providers.ObjectInfo{}, s.translateError(ctx, "stat", string(key), err)
	}
	return providers.ObjectInfo{
		Key:     key,
		Size:    aws.ToInt64(out.ContentLength),
		ModTime: aws.ToTime(out.LastModified),
	}, nil
}
