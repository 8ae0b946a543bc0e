package s3

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/cassette-backup/cassette/providers"
)

// List calls fn for every object whose key starts with prefix, in lexical
// order, across as many ListObjectsV2 pages as needed. Incomplete multipart
// uploads are never listed.
func (s *Storage) List(ctx context.Context, prefix string, fn func(providers.ObjectInfo) error) error {
	in := &s3sdk.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.listPrefix(prefix))}
	if s.opts.ListPageSize > 0 {
		in.MaxKeys = aws.Int32(int32(s.opts.ListPageSize))
	}
	pages := s3sdk.NewListObjectsV2Paginator(s.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return s.translateError(ctx, "list", prefix, err)
		}
		for _, o := range page.Contents {
			err := fn(providers.ObjectInfo{
				Key:     s.repoKey(aws.ToString(o.Key)),
				Size:    aws.ToInt64(o.Size),
				ModTime: aws.ToTime(o.LastModified),
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete removes the object; a missing key is not an error.
func (s *Storage) Delete(ctx context.Context, key providers.Key) error {
	if err := providers.ValidateKey(key); err != nil {
		return fmt.Errorf("s3 delete: %w", err)
	}
	_, err := s.client.DeleteObject(ctx, &s3sdk.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.objectKey(key))})
	if err != nil {
		var ae interface{ ErrorCode() string }
		if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchKey" {
			return nil
		}
		return s.translateError(ctx, "delete", string(key), err)
	}
	return nil
}

// DeleteMany removes keys with DeleteObjects, up to Options.DeleteBatch keys
// a request and concurrentTransfers requests at once. It reads the per-key
// errors of each response and joins every failure (missing keys are not
// failures).
func (s *Storage) DeleteMany(ctx context.Context, keys []providers.Key) error {
	var (
		mu   sync.Mutex
		errs []error
		objs = make([]types.ObjectIdentifier, 0, len(keys))
	)
	for _, k := range keys {
		if err := providers.ValidateKey(k); err != nil {
			errs = append(errs, fmt.Errorf("s3 delete: %w", err))
			continue
		}
		objs = append(objs, types.ObjectIdentifier{Key: aws.String(s.objectKey(k))})
	}
	var g errgroup.Group
	g.SetLimit(s.transfer)
	for batch := range slices.Chunk(objs, s.opts.DeleteBatch) {
		g.Go(func() error {
			if failed := s.deleteBatch(ctx, batch); len(failed) > 0 {
				mu.Lock()
				errs = append(errs, failed...)
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	return errors.Join(errs...)
}

func (s *Storage) deleteBatch(ctx context.Context, batch []types.ObjectIdentifier) []error {
	out, err := s.client.DeleteObjects(ctx, &s3sdk.DeleteObjectsInput{
		Bucket: &s.bucket,
		Delete: &types.Delete{Objects: batch, Quiet: aws.Bool(true)},
	})
	if err != nil {
		first := s.repoKey(aws.ToString(batch[0].Key))
		return []error{s.translateError(ctx, "delete", fmt.Sprintf("%d keys from %s", len(batch), first), err)}
	}
	var errs []error
	for _, e := range out.Errors {
		code := aws.ToString(e.Code)
		if code == "NoSuchKey" {
			continue
		}
		errs = append(errs, &opError{
			op: "delete", key: string(s.repoKey(aws.ToString(e.Key))),
			kind:   classifyAPI(code, 0),
			detail: code + ": " + aws.ToString(e.Message),
			cause:  errors.New(code),
		})
	}
	return errs
}

// AbortStaleUploads aborts the incomplete multipart uploads under the
// repository's prefix that were started more than olderThan ago (uploads of
// crashed processes, which S3 keeps and bills until aborted). It returns
// how many it aborted. Pass an age well above the longest upload, as a
// younger upload may still be in progress.
func (s *Storage) AbortStaleUploads(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := s.opts.Now().Add(-olderThan)
	aborted := 0
	err := s.listUploads(ctx, func(u types.MultipartUpload) error {
		if u.Initiated == nil || !u.Initiated.Before(cutoff) {
			return nil
		}
		_, err := s.client.AbortMultipartUpload(ctx, &s3sdk.AbortMultipartUploadInput{
			Bucket: &s.bucket, Key: u.Key, UploadId: u.UploadId,
		})
		if err != nil {
			var ae interface{ ErrorCode() string }
			if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchUpload" {
				return nil // finished or aborted meanwhile
			}
			return s.translateError(ctx, "abort multipart upload", string(s.repoKey(aws.ToString(u.Key))), err)
		}
		aborted++
		return nil
	})
	return aborted, err
}

// listUploads calls fn for every incomplete multipart upload under the
// repository's prefix. It lists the whole bucket and filters here: MinIO
// matches the Prefix of ListMultipartUploads only against whole object
// names, so a folder prefix would find nothing there.
func (s *Storage) listUploads(ctx context.Context, fn func(types.MultipartUpload) error) error {
	in := &s3sdk.ListMultipartUploadsInput{Bucket: &s.bucket}
	root := s.listPrefix("")
	for {
		out, err := s.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return s.translateError(ctx, "list multipart uploads", root, err)
		}
		for _, u := range out.Uploads {
			if !strings.HasPrefix(aws.ToString(u.Key), root) {
				continue
			}
			if err := fn(u); err != nil {
				return err
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			return nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}
