// Package mem is an in-memory providers.Storage: the fast reference backend
// for tests of chunkstore, index and engine. Objects live in a map guarded by
// a RWMutex; data is copied in and out, so callers cannot alter stored
// objects. A Put reads its whole payload before publishing the object, so a
// failed or cancelled Put leaves nothing behind.
package mem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cassette-backup/cassette/providers"
)

// DefaultListPageSize is the list page size when Options.ListPageSize is 0.
const DefaultListPageSize = 1000

// Options configure a Storage. The zero value is ready to use.
type Options struct {
	// ListPageSize is the number of keys List collects under one read lock
	// before calling fn (tests set it small to cross pages); 0 means
	// DefaultListPageSize.
	ListPageSize int
	// Concurrency is what Properties reports; 0 means 4.
	Concurrency int
	// Now returns the modification time of new objects; nil means time.Now.
	Now func() time.Time
}

// Storage is an in-memory object store. Create it with New.
type Storage struct {
	opts Options

	mu      sync.RWMutex
	objects map[providers.Key]object
	sorted  []providers.Key // the keys of objects, in lexical order
	closed  bool
}

// object is one stored object; data is never modified once stored.
type object struct {
	data    []byte
	modTime time.Time
}

// New returns an empty in-memory storage.
func New(opts Options) *Storage {
	if opts.ListPageSize <= 0 {
		opts.ListPageSize = DefaultListPageSize
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Storage{opts: opts, objects: make(map[providers.Key]object)}
}

var _ providers.Storage = (*Storage)(nil)

// Put stores the payload under key once all of it has been read.
func (s *Storage) Put(ctx context.Context, key providers.Key, p providers.Payload, opts providers.PutOptions) error {
	if err := providers.ValidateKey(key); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	data, err := readPayload(ctx, p)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("put %s: %w", key, errClosed)
	}
	// A cancellation seen here wins over publishing: the caller was told
	// nothing yet, and the contract says a cancelled Put leaves nothing.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if _, ok := s.objects[key]; ok && opts.IfNotExists {
		return fmt.Errorf("put %s: %w", key, providers.ErrAlreadyExists)
	}
	if i, found := slices.BinarySearch(s.sorted, key); !found {
		s.sorted = slices.Insert(s.sorted, i, key)
	}
	s.objects[key] = object{data: data, modTime: s.opts.Now()}
	return nil
}

// readPayload reads all of p, checking its declared size and ctx.
func readPayload(ctx context.Context, p providers.Payload) ([]byte, error) {
	r, err := p.Reader()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if p.Size() > 0 {
		buf.Grow(int(p.Size()))
	}
	if _, err := io.Copy(&buf, ctxReader{ctx: ctx, r: r}); err != nil {
		return nil, fmt.Errorf("read payload: %w", err)
	}
	if p.Size() >= 0 && int64(buf.Len()) != p.Size() {
		return nil, fmt.Errorf("payload declared %d bytes but held %d", p.Size(), buf.Len())
	}
	return buf.Bytes(), nil
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Get calls fn with a reader over [offset, offset+length) of the object.
func (s *Storage) Get(ctx context.Context, key providers.Key, offset, length int64, fn func(io.Reader) error) error {
	obj, err := s.lookup(ctx, "get", key)
	if err != nil {
		return err
	}
	size := int64(len(obj.data))
	if length < 0 {
		length = size - offset
	}
	if offset < 0 || length < 0 || offset > size || length > size-offset {
		return fmt.Errorf("get %s [%d,+%d) of %d bytes: %w", key, offset, length, size, providers.ErrInvalidRange)
	}
	// The stored slice is never modified, so the reader needs no copy.
	return fn(bytes.NewReader(obj.data[offset : offset+length]))
}

// Stat returns the object's key, size and modification time.
func (s *Storage) Stat(ctx context.Context, key providers.Key) (providers.ObjectInfo, error) {
	obj, err := s.lookup(ctx, "stat", key)
	if err != nil {
		return providers.ObjectInfo{}, err
	}
	return providers.ObjectInfo{Key: key, Size: int64(len(obj.data)), ModTime: obj.modTime}, nil
}

// lookup validates key and returns its object or ErrNotFound.
func (s *Storage) lookup(ctx context.Context, op string, key providers.Key) (object, error) {
	if err := providers.ValidateKey(key); err != nil {
		return object{}, fmt.Errorf("%s %s: %w", op, key, err)
	}
	if err := ctx.Err(); err != nil {
		return object{}, fmt.Errorf("%s %s: %w", op, key, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return object{}, fmt.Errorf("%s %s: %w", op, key, errClosed)
	}
	obj, ok := s.objects[key]
	if !ok {
		return object{}, fmt.Errorf("%s %s: %w", op, key, providers.ErrNotFound)
	}
	return obj, nil
}

// List calls fn for every object whose key starts with prefix, in lexical
// order. It works in pages of Options.ListPageSize keys: each page is
// collected under the read lock and fn runs without it, so fn may call
// back into the storage. Objects written or deleted during a List may or
// may not be reported, as with a real object store.
func (s *Storage) List(ctx context.Context, prefix string, fn func(providers.ObjectInfo) error) error {
	after := ""
	first := true
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("list %s: %w", prefix, err)
		}
		page, err := s.page(prefix, after, first)
		if err != nil {
			return err
		}
		for _, oi := range page {
			if err := fn(oi); err != nil {
				return err
			}
		}
		if len(page) < s.opts.ListPageSize {
			return nil
		}
		after, first = string(page[len(page)-1].Key), false
	}
}

// page returns up to ListPageSize objects under prefix with keys after
// after (or from the start when first), in lexical order.
func (s *Storage) page(prefix, after string, first bool) ([]providers.ObjectInfo, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("list %s: %w", prefix, errClosed)
	}
	i, _ := slices.BinarySearch(s.sorted, providers.Key(prefix))
	if !first {
		j, found := slices.BinarySearch(s.sorted, providers.Key(after))
		if found {
			j++
		}
		i = max(i, j)
	}
	var page []providers.ObjectInfo
	for ; i < len(s.sorted) && len(page) < s.opts.ListPageSize; i++ {
		k := s.sorted[i]
		if !strings.HasPrefix(string(k), prefix) {
			break
		}
		obj := s.objects[k]
		page = append(page, providers.ObjectInfo{Key: k, Size: int64(len(obj.data)), ModTime: obj.modTime})
	}
	return page, nil
}

// Delete removes the object; a missing key is not an error.
func (s *Storage) Delete(ctx context.Context, key providers.Key) error {
	if err := providers.ValidateKey(key); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("delete %s: %w", key, errClosed)
	}
	s.remove(key)
	return nil
}

// remove deletes key from the map and the sorted keys; s.mu is held.
func (s *Storage) remove(key providers.Key) {
	if i, found := slices.BinarySearch(s.sorted, key); found {
		s.sorted = slices.Delete(s.sorted, i, i+1)
	}
	delete(s.objects, key)
}

// deleteBatch is the number of keys DeleteMany removes under one lock.
const deleteBatch = 1000

// DeleteMany removes every key, deleteBatch keys per lock. Invalid keys are
// reported joined in one error; the valid ones are deleted.
func (s *Storage) DeleteMany(ctx context.Context, keys []providers.Key) error {
	var errs []error
	valid := make([]providers.Key, 0, len(keys))
	for _, k := range keys {
		if err := providers.ValidateKey(k); err != nil {
			errs = append(errs, fmt.Errorf("delete %s: %w", k, err))
			continue
		}
		valid = append(valid, k)
	}
	for batch := range slices.Chunk(valid, deleteBatch) {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, fmt.Errorf("delete %d keys: %w", len(keys), err))...)
		}
		s.mu.Lock()
		closed := s.closed
		if !closed {
			for _, k := range batch {
				s.remove(k)
			}
		}
		s.mu.Unlock()
		if closed {
			return errors.Join(append(errs, fmt.Errorf("delete %d keys: %w", len(keys), errClosed))...)
		}
	}
	return errors.Join(errs...)
}

// Properties reports an atomic conditional create and the configured list
// page size.
func (s *Storage) Properties() providers.Properties {
	return providers.Properties{
		Name:              "mem",
		ConditionalCreate: true,
		DeleteBatch:       deleteBatch,
		ListPageSize:      s.opts.ListPageSize,
		Concurrency:       s.opts.Concurrency,
	}
}

// Close drops every object; later calls fail. Closing twice is not an error.
func (s *Storage) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.objects, s.sorted = nil, nil
	return nil
}

// errClosed is returned by calls on a closed Storage.
var errClosed = errors.New("mem storage is closed")
