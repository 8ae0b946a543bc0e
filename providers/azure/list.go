package azure

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/cassette-backup/cassette/providers"
)

// List implements providers.Storage, one page of listPageSize blobs per
// request, in the service's lexical order.
func (s *Storage) List(ctx context.Context, prefix string, fn func(providers.ObjectInfo) error) error {
	full := s.root + prefix
	pageSize := int32(s.pageSize)
	pager := s.cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &full, MaxResults: &pageSize})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return s.translateError(err, "list", full+"*")
		}
		if page.Segment == nil {
			continue
		}
		for _, item := range page.Segment.BlobItems {
			if item == nil || item.Name == nil {
				continue
			}
			key, ok := strings.CutPrefix(*item.Name, s.root)
			if !ok || key == "" {
				continue
			}
			oi := providers.ObjectInfo{Key: providers.Key(key)}
			if p := item.Properties; p != nil {
				if p.ContentLength != nil {
					oi.Size = *p.ContentLength
				}
				if p.LastModified != nil {
					oi.ModTime = *p.LastModified
				}
			}
			if err := fn(oi); err != nil {
				return err
			}
		}
	}
	return nil
}

// Delete implements providers.Storage; a missing key is not an error.
func (s *Storage) Delete(ctx context.Context, key providers.Key) error {
	if err := providers.ValidateKey(key); err != nil {
		return fmt.Errorf("azure delete: %w", err)
	}
	name := s.blobName(key)
	_, err := s.cc.NewBlobClient(name).Delete(ctx, nil)
	if err == nil || errors.Is(classify(err), providers.ErrNotFound) {
		return nil
	}
	return s.translateError(err, "delete", name)
}

// DeleteMany implements providers.Storage with blob batches of up to 256
// deletes, concurrentTransfers batches at a time. Missing keys are not
// errors; the keys that could not be deleted are reported joined.
func (s *Storage) DeleteMany(ctx context.Context, keys []providers.Key) error {
	for _, k := range keys {
		if err := providers.ValidateKey(k); err != nil {
			return fmt.Errorf("azure delete: %w", err)
		}
	}
	return providers.DeleteBatches(ctx, keys, maxBatch, s.transfers, s.deleteBatch)
}

// deleteBatch deletes keys (at most maxBatch) with one Blob Batch request
// and reports the sub-requests that failed for another reason than a
// missing blob.
func (s *Storage) deleteBatch(ctx context.Context, keys []providers.Key) error {
	if len(keys) == 1 {
		return s.Delete(ctx, keys[0])
	}
	bb, err := s.cc.NewBatchBuilder()
	if err != nil {
		return fmt.Errorf("azure delete batch: %w", err)
	}
	for _, k := range keys {
		if err := bb.Delete(s.blobName(k), nil); err != nil {
			return fmt.Errorf("azure delete batch: %w", err)
		}
	}
	resp, err := s.cc.SubmitBatch(ctx, bb, nil)
	if err != nil {
		return s.translateError(err, fmt.Sprintf("delete batch of %d blobs from", len(keys)), "")
	}
	var errs []error
	for _, item := range resp.Responses {
		if item == nil || item.Error == nil || bloberror.HasCode(item.Error, bloberror.BlobNotFound) {
			continue
		}
		name := ""
		if item.BlobName != nil {
			name = *item.BlobName
		}
		errs = append(errs, s.translateError(item.Error, "delete", name))
	}
	if len(resp.Responses) != len(keys) {
		errs = append(errs, fmt.Errorf("azure delete batch from %s: %d answers for %d blobs", s.container, len(resp.Responses), len(keys)))
	}
	return errors.Join(errs...)
}
