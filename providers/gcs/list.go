package gcs

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"

	"github.com/cassette-backup/cassette/providers"
)

// List implements providers.Storage, one page of listPageSize objects per
// request. GCS lists in lexical order of the UTF-8 names, which is the
// order of the keys since they all share the root prefix.
func (s *Storage) List(ctx context.Context, prefix string, fn func(providers.ObjectInfo) error) error {
	q := &storage.Query{Prefix: s.root + prefix}
	if err := q.SetAttrSelection([]string{"Name", "Size", "Updated"}); err != nil {
		return fmt.Errorf("gcs list: %w", err)
	}
	pager := iterator.NewPager(s.bkt.Objects(ctx, q), s.pageSize, "")
	for {
		var page []*storage.ObjectAttrs
		next, err := pager.NextPage(&page)
		if err != nil {
			return s.translateError(err, "list", s.root+prefix+"*")
		}
		for _, a := range page {
			key, ok := strings.CutPrefix(a.Name, s.root)
			if !ok || key == "" {
				continue
			}
			if err := fn(providers.ObjectInfo{Key: providers.Key(key), Size: a.Size, ModTime: a.Updated}); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
	}
}

// Delete implements providers.Storage; a missing key is not an error.
func (s *Storage) Delete(ctx context.Context, key providers.Key) error {
	if err := providers.ValidateKey(key); err != nil {
		return fmt.Errorf("gcs delete: %w", err)
	}
	name := s.objectName(key)
	err := s.bkt.Object(name).Delete(ctx)
	if err == nil || errors.Is(classify(err), providers.ErrNotFound) {
		return nil
	}
	return s.translateError(err, "delete", name)
}

// DeleteMany implements providers.Storage. The Go client has no batch
// delete, so the keys are deleted in parallel, concurrentTransfers at a
// time; the failures are joined in one error.
func (s *Storage) DeleteMany(ctx context.Context, keys []providers.Key) error {
	return providers.DeleteBatches(ctx, keys, 1, s.transfers, func(ctx context.Context, k []providers.Key) error {
		return s.Delete(ctx, k[0])
	})
}
