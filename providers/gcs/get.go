package gcs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/internal/transport"
)

// Get implements providers.Storage with one ranged read. The object's size
// comes back with the read, so a range past the end is ErrInvalidRange
// before fn runs, and a body that ends early is a transient error inside
// fn's reader, never a silent short read.
func (s *Storage) Get(ctx context.Context, key providers.Key, offset, length int64, fn func(io.Reader) error) error {
	if err := providers.ValidateKey(key); err != nil {
		return fmt.Errorf("gcs get: %w", err)
	}
	name := s.objectName(key)
	if offset < 0 || length < -1 {
		return fmt.Errorf("gcs get gs://%s/%s: offset %d, length %d: %w", s.bucket, name, offset, length, providers.ErrInvalidRange)
	}
	rd, err := s.bkt.Object(name).NewRangeReader(ctx, offset, length)
	if err != nil {
		if errors.Is(classify(err), providers.ErrInvalidRange) {
			return s.getAtEnd(ctx, key, offset, length, fn)
		}
		return s.translateError(err, "get", name)
	}
	defer func() { _ = rd.Close() }()

	size := rd.Attrs.Size
	want := length
	if length < 0 {
		want = size - offset
	}
	if offset > size || offset+want > size {
		return fmt.Errorf("gcs get gs://%s/%s: %s of a %d-byte object: %w", s.bucket, name, transport.DescribeRange(offset, length), size, providers.ErrInvalidRange)
	}
	var body io.Reader = rd
	if want == 0 {
		body = bytes.NewReader(nil)
	}
	return fn(transport.ExactReader(body, want, "object", func(err error) error {
		return s.translateError(err, "read", name)
	}))
}

// getAtEnd answers a read the server refused with 416: valid only when it
// starts exactly at the end of the object (an empty read).
func (s *Storage) getAtEnd(ctx context.Context, key providers.Key, offset, length int64, fn func(io.Reader) error) error {
	oi, err := s.Stat(ctx, key)
	if err != nil {
		return err
	}
	if offset != oi.Size || length > 0 {
		return fmt.Errorf("gcs get gs://%s/%s: %s of a %d-byte object: %w", s.bucket, s.objectName(key), transport.DescribeRange(offset, length), oi.Size, providers.ErrInvalidRange)
	}
	return fn(bytes.NewReader(nil))
}

// Stat implements providers.Storage.
func (s *Storage) Stat(ctx context.Context, key providers.Key) (providers.ObjectInfo, error) {
	if err := providers.ValidateKey(key); err != nil {
		return providers.ObjectInfo{}, fmt.Errorf("gcs stat: %w", err)
	}
	name := s.objectName(key)
	attrs, err := s.bkt.Object(name).Attrs(ctx)
	if err != nil {
		return providers.ObjectInfo{}, s.translateError(err, "stat", name)
	}
	return providers.ObjectInfo{Key: key, Size: attrs.Size, ModTime: attrs.Updated}, nil
}
