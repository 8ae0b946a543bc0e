package s3

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/cassette-backup/cassette/providers"
)

// putMultipart uploads r as a multipart upload whose first part, first, is
// already read. It owns first (returns it to the pool). On any failure,
// including a cancelled ctx, the upload is aborted.
func (s *Storage) putMultipart(ctx context.Context, key providers.Key, r io.Reader, first []byte, size int64, opts providers.PutOptions) (err error) {
	id, err := s.createUpload(ctx, key)
	if err != nil {
		s.bufs.put(first)
		return err
	}
	defer func() {
		if err != nil {
			s.abortUpload(ctx, key, id)
		}
	}()
	parts, total, err := s.uploadParts(ctx, key, id, r, first)
	if err != nil {
		return err
	}
	if size >= 0 && total != size {
		return fmt.Errorf("s3 put %s: payload has %d bytes, declared %d", key, total, size)
	}
	return s.completeUpload(ctx, key, id, parts, total, opts)
}

func (s *Storage) createUpload(ctx context.Context, key providers.Key) (string, error) {
	kms, kmsID := s.sse.kms()
	in := &s3sdk.CreateMultipartUploadInput{
		Bucket:               &s.bucket,
		Key:                  aws.String(s.objectKey(key)),
		StorageClass:         s.sse.storageClass,
		ServerSideEncryption: kms,
		SSEKMSKeyId:          kmsID,
		SSECustomerAlgorithm: s.sse.cAlgo,
		SSECustomerKey:       s.sse.cKey,
		SSECustomerKeyMD5:    s.sse.cKeyMD5,
	}
	if s.checksum {
		in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32
	}
	var id string
	err := s.withRetries(ctx, "create multipart upload", string(key), s.opts.PartAttempts, func() error {
		out, err := s.client.CreateMultipartUpload(ctx, in)
		if err == nil {
			id = aws.ToString(out.UploadId)
		}
		return err
	})
	return id, err
}

// uploadParts reads the payload part by part into pooled buffers and sends
// the parts in parallel. It returns the parts in order and the total size.
func (s *Storage) uploadParts(ctx context.Context, key providers.Key, id string, r io.Reader, buf []byte) ([]types.CompletedPart, int64, error) {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(pctx)
	var (
		mu      sync.Mutex
		parts   []types.CompletedPart
		total   int64
		readErr error
		n       = len(buf)
		last    bool
	)
	for num := int32(1); ; num++ {
		if num > MaxParts {
			s.bufs.put(buf)
			readErr = fmt.Errorf("s3 put %s: payload exceeds %d parts of %d bytes; raise multipartPartSize", key, MaxParts, s.opts.PartSize)
			break
		}
		b, data := buf, buf[:n]
		total += int64(n)
		g.Go(func() error {
			defer s.bufs.put(b)
			cp, err := s.uploadPart(gctx, key, id, num, data)
			if err != nil {
				return err
			}
			mu.Lock()
			parts = append(parts, cp)
			mu.Unlock()
			return nil
		})
		if last {
			break
		}
		var err error
		if buf, err = s.bufs.get(gctx); err != nil {
			break // a part failed (g.Wait reports it) or ctx ended
		}
		n, err = io.ReadFull(r, buf)
		if err == io.EOF {
			s.bufs.put(buf)
			break
		}
		if err == io.ErrUnexpectedEOF {
			last = true
		} else if err != nil {
			s.bufs.put(buf)
			readErr = fmt.Errorf("s3 put %s: read payload: %w", key, err)
			break
		}
	}
	if readErr != nil {
		cancel()
	}
	werr := g.Wait()
	switch {
	case readErr != nil:
		return nil, 0, readErr
	case werr != nil:
		return nil, 0, werr
	case ctx.Err() != nil:
		return nil, 0, fmt.Errorf("s3 put %s: %w", key, ctx.Err())
	}
	slices.SortFunc(parts, func(a, b types.CompletedPart) int {
		return cmp.Compare(aws.ToInt32(a.PartNumber), aws.ToInt32(b.PartNumber))
	})
	return parts, total, nil
}

// uploadPart sends one buffered part, retrying transient failures.
func (s *Storage) uploadPart(ctx context.Context, key providers.Key, id string, num int32, data []byte) (types.CompletedPart, error) {
	var out *s3sdk.UploadPartOutput
	err := s.withRetries(ctx, "upload part", fmt.Sprintf("%s#%d", key, num), s.opts.PartAttempts, func() error {
		in := &s3sdk.UploadPartInput{
			Bucket:               &s.bucket,
			Key:                  aws.String(s.objectKey(key)),
			UploadId:             &id,
			PartNumber:           aws.Int32(num),
			Body:                 bytes.NewReader(data),
			ContentLength:        aws.Int64(int64(len(data))),
			SSECustomerAlgorithm: s.sse.cAlgo,
			SSECustomerKey:       s.sse.cKey,
			SSECustomerKeyMD5:    s.sse.cKeyMD5,
		}
		if s.checksum {
			in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32
		}
		var err error
		out, err = s.client.UploadPart(ctx, in, s.bodyOptions)
		s.stats.Up(int64(len(data)))
		return err
	})
	if err != nil {
		return types.CompletedPart{}, err
	}
	return types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num), ChecksumCRC32: out.ChecksumCRC32}, nil
}

// completeUpload commits the parts. When a retried complete finds the
// upload gone, the first attempt may have committed it: an object of the
// expected size then counts as success.
func (s *Storage) completeUpload(ctx context.Context, key providers.Key, id string, parts []types.CompletedPart, total int64, opts providers.PutOptions) error {
	in := &s3sdk.CompleteMultipartUploadInput{
		Bucket:               &s.bucket,
		Key:                  aws.String(s.objectKey(key)),
		UploadId:             &id,
		MultipartUpload:      &types.CompletedMultipartUpload{Parts: parts},
		SSECustomerAlgorithm: s.sse.cAlgo,
		SSECustomerKey:       s.sse.cKey,
		SSECustomerKeyMD5:    s.sse.cKeyMD5,
	}
	if opts.IfNotExists {
		in.IfNoneMatch = aws.String("*")
	}
	attempt := 0
	err := s.withRetries(ctx, "complete multipart upload", string(key), s.opts.PartAttempts, func() error {
		attempt++
		_, err := s.client.CompleteMultipartUpload(ctx, in)
		return err
	})
	if err != nil && attempt > 1 && errors.Is(err, providers.ErrNotFound) {
		if info, serr := s.Stat(ctx, key); serr == nil && info.Size == total {
			return nil
		}
	}
	return err
}

// abortUpload aborts a failed upload, also when ctx is already cancelled.
// A failure is logged: AbortStaleUploads removes the upload later.
func (s *Storage) abortUpload(ctx context.Context, key providers.Key, id string) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_, err := s.client.AbortMultipartUpload(actx, &s3sdk.AbortMultipartUploadInput{
		Bucket: &s.bucket, Key: aws.String(s.objectKey(key)), UploadId: &id,
	})
	if err != nil {
		s.opts.Logger.Warn("s3: could not abort a failed multipart upload; AbortStaleUploads will remove it",
			"key", string(key), "err", s.translateError(actx, "abort multipart upload", string(key), err))
	}
}
