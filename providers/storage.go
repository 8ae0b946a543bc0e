// Package providers defines the object-store abstraction cassette writes
// repositories to: the Storage interface and its contract, object keys,
// payloads, capability properties and the sentinel errors every backend maps
// its own failures to.
//
// Backends live in sub-packages (local, mem, s3, gcs, azure); decorators
// (retry, faulty) wrap any Storage and expose the wrapped one through
// Unwrap. The conformance suite in providertest checks exactly the contract
// written here, and every backend and decorator runs it.
package providers

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"
)

// Key is the name of an object, relative to the repository root (the
// configured bucket and prefix). Keys use '/' as separator, never start or
// end with '/', and contain no empty, "." or ".." segments.
type Key string

// ValidateKey reports whether k is a well-formed key (see Key).
func ValidateKey(k Key) error {
	s := string(k)
	if s == "" {
		return errors.New("empty object key")
	}
	for _, seg := range strings.Split(s, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return errors.New("object key " + quote(s) + " has an empty, '.' or '..' segment")
		}
	}
	return nil
}

func quote(s string) string { return "\"" + s + "\"" }

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key     Key
	Size    int64
	ModTime time.Time
}

// PutOptions modify a Put.
type PutOptions struct {
	// IfNotExists makes the Put a create-if-absent: when the key already
	// exists the Put fails with ErrAlreadyExists and the existing object is
	// left untouched. Backends whose Properties().ConditionalCreate is false
	// return ErrNotSupported instead of silently overwriting.
	IfNotExists bool
}

// Properties reports what a backend can do; callers choose strategies from it
// (lock protocol, delete batching, multipart sizing).
type Properties struct {
	// Name is the backend's kind and location for messages, e.g.
	// "local:/srv/backups" or "s3_compatible:bucket/prefix". Never holds
	// credentials.
	Name string
	// ConditionalCreate is true when Put with IfNotExists is atomic on the
	// server (exactly one of many concurrent creators wins).
	ConditionalCreate bool
	// DeleteBatch is the number of keys one round trip can delete (1 when
	// there is no batch API).
	DeleteBatch int
	// ListPageSize is the number of keys one list request returns.
	ListPageSize int
	// Concurrency is the number of transfers the backend runs at once
	// (concurrentTransfers); callers size their worker pools from it.
	Concurrency int
}

// Storage is an object store holding one repository.
//
// Contract (checked by providertest.Run):
//
//   - Put is atomic: readers see either no object or the whole object, never
//     a partial one, also when the payload fails part-way or ctx is
//     cancelled. A failed Put leaves no object behind (and no half-written
//     temporary file or multipart upload that List reports).
//   - Get calls fn with a reader over [offset, offset+length) of the object;
//     length < 0 means "to the end". A range that extends past the end of the
//     object is ErrInvalidRange, never a silent short read. fn may be called
//     more than once (a decorator retries the whole Get), so it must reset
//     whatever it accumulated. Get never leaks a reader: it is closed when fn
//     returns.
//   - Stat returns the object's info or ErrNotFound.
//   - List calls fn for every object whose key starts with prefix, across
//     as many pages as needed, in lexical key order. fn returning an error
//     stops the listing and List returns that error.
//   - Delete removes the object; deleting a missing key is not an error.
//     DeleteMany removes many keys, batching where the backend can; it
//     reports the keys it could not delete joined in one error.
//   - Errors wrap the sentinels below so callers branch with errors.Is.
//   - Every method is safe for concurrent use.
type Storage interface {
	Put(ctx context.Context, key Key, p Payload, opts PutOptions) error
	Get(ctx context.Context, key Key, offset, length int64, fn func(io.Reader) error) error
	Stat(ctx context.Context, key Key) (ObjectInfo, error)
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error
	Delete(ctx context.Context, key Key) error
	DeleteMany(ctx context.Context, keys []Key) error
	Properties() Properties
	Close(ctx context.Context) error
}

// Wrapper is implemented by decorators; Unwrap returns the decorated Storage.
type Wrapper interface {
	Unwrap() Storage
}

// Sentinel errors. Backends translate their native errors to these (one
// translateError function per backend) and wrap them with what was being
// done on which key.
var (
	// ErrNotFound: the object (or bucket) does not exist.
	ErrNotFound = errors.New("object not found")
	// ErrAlreadyExists: a create-if-absent Put found the key taken.
	ErrAlreadyExists = errors.New("object already exists")
	// ErrInvalidRange: a Get asked for bytes beyond the end of the object.
	ErrInvalidRange = errors.New("range outside the object")
	// ErrPermission: the credentials are missing, expired or not allowed to
	// do this. Never retried.
	ErrPermission = errors.New("permission denied")
	// ErrNotSupported: the backend cannot do what was asked (for example a
	// conditional create on a server that ignores If-None-Match).
	ErrNotSupported = errors.New("not supported by this storage backend")
	// ErrTransient: a failure that may succeed when tried again (timeouts,
	// throttling, 5xx, dropped connections). The retry decorator retries
	// these and only these.
	ErrTransient = errors.New("transient storage failure")
	// ErrPayloadConsumed: a Put of a one-shot streamed payload failed after
	// reading from it, so it cannot be retried by resending.
	ErrPayloadConsumed = errors.New("payload stream already consumed")
)
