package azure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/internal/transport"
)

// Get implements providers.Storage with one ranged Get Blob. The blob's
// size comes back in Content-Range, so a range past the end is
// ErrInvalidRange before fn runs, and a body that ends early is a transient
// error inside fn's reader, never a silent short read.
func (s *Storage) Get(ctx context.Context, key providers.Key, offset, length int64, fn func(io.Reader) error) error {
	if err := providers.ValidateKey(key); err != nil {
		return fmt.Errorf("azure get: %w", err)
	}
	name := s.blobName(key)
	if offset < 0 || length < -1 {
		return fmt.Errorf("azure get %s/%s: offset %d, length %d: %w", s.container, name, offset, length, providers.ErrInvalidRange)
	}
	if length == 0 { // a Range header cannot ask for nothing
		return s.getAtEnd(ctx, key, offset, length, fn)
	}
	rng := blob.HTTPRange{Offset: offset} // Count 0: to the end
	if length > 0 {
		rng.Count = length
	}
	resp, err := s.cc.NewBlobClient(name).DownloadStream(ctx, &blob.DownloadStreamOptions{Range: rng})
	if err != nil {
		if errors.Is(classify(err), providers.ErrInvalidRange) {
			return s.getAtEnd(ctx, key, offset, length, fn)
		}
		return s.translateError(err, "get", name)
	}
	defer func() { _ = resp.Body.Close() }()

	size, err := objectSize(resp.ContentRange, resp.ContentLength)
	if err != nil {
		return s.translateError(err, "get", name)
	}
	want := length
	if length < 0 {
		want = size - offset
	}
	if offset > size || offset+want > size {
		return fmt.Errorf("azure get %s/%s: %s of a %d-byte blob: %w", s.container, name, transport.DescribeRange(offset, length), size, providers.ErrInvalidRange)
	}
	return fn(transport.ExactReader(resp.Body, want, "blob", func(err error) error {
		return s.translateError(err, "read", name)
	}))
}

// objectSize is the whole blob's size: the total of Content-Range
// ("bytes 0-99/1000") for a ranged response, else Content-Length.
func objectSize(contentRange *string, contentLength *int64) (int64, error) {
	if contentRange != nil && *contentRange != "" {
		_, total, ok := strings.Cut(*contentRange, "/")
		if n, err := strconv.ParseInt(total, 10, 64); ok && err == nil {
			return n, nil
		}
		return 0, fmt.Errorf("unexpected Content-Range %q", *contentRange)
	}
	if contentLength == nil {
		return 0, errors.New("response without Content-Length")
	}
	return *contentLength, nil
}

// getAtEnd answers reads a Range header cannot express or the server
// refused with 416: valid only for an empty read within the blob.
func (s *Storage) getAtEnd(ctx context.Context, key providers.Key, offset, length int64, fn func(io.Reader) error) error {
	oi, err := s.Stat(ctx, key)
	if err != nil {
		return err
	}
	if !(length == 0 && offset <= oi.Size) && !(length < 0 && offset == oi.Size) {
		return fmt.Errorf("azure get %s/%s: %s of a %d-byte blob: %w", s.container, s.blobName(key), transport.DescribeRange(offset, length), oi.Size, providers.ErrInvalidRange)
	}
	return fn(bytes.NewReader(nil))
}

// Stat implements providers.Storage.
func (s *Storage) Stat(ctx context.Context, key providers.Key) (providers.ObjectInfo, error) {
	if err := providers.ValidateKey(key); err != nil {
		return providers.ObjectInfo{}, fmt.Errorf("azure stat: %w", err)
	}
	name := s.blobName(key)
	props, err := s.cc.NewBlobClient(name).GetProperties(ctx, nil)
	if err != nil {
		return providers.ObjectInfo{}, s.translateError(err, "stat", name)
	}
	oi := providers.ObjectInfo{Key: key}
	if props.ContentLength != nil {
		oi.Size = *props.ContentLength
	}
	if props.LastModified != nil {
		oi.ModTime = *props.LastModified
	}
	return oi, nil
}
