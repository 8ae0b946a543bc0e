// Package providertest is the conformance suite for providers.Storage.
//
// Every backend (mem, local, s3, gcs, azure) and every decorator (retry,
// faulty, …) runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		providertest.Run(t, func(t *testing.T) providers.Storage {
//			s, err := local.Create(t.Context(), t.TempDir(), local.Options{ListPageSize: 7})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { _ = s.Close(context.Background()) })
//			return s
//		})
//	}
//
// The suite checks exactly the contract written on providers.Storage: atomic
// Put (also when the payload fails or the context is cancelled), ranged Get
// with ErrInvalidRange past the end, Stat, List across pages in lexical
// order, idempotent Delete and DeleteMany, conditional create, key handling
// and concurrent use. Subtests run in parallel and each one opens its own
// storage, so the open function must return a fresh, empty Storage on every
// call, be safe to call from several goroutines at once, and register its
// own cleanup (the suite never calls Close).
//
// Keep the suite fast on remote backends by configuring small list pages
// (StorageProperties.ListPageSize): the paging tests write
// ListPageSize*2+3 objects, at most 2100.
//
// Remote backends also run the contracts of suite_backend.go: how Open and
// Create treat a missing bucket (RunBucketCreation) and how a bad
// credentials file is reported (RunCredentialsFileErrors).
//
// The rest of the package starts real servers for tests, on 127.0.0.1:
// StartMinIO, StartFakeGCS and StartAzurite (servers.go) start the
// emulators installed by scripts/install-servers.sh and describe them as an
// operator's storage properties; Shared and Main (shared.go) share one
// server among the tests of a binary and stop it afterwards; Backend
// (backend.go) adds a backend's Open and Create, the test bucket and fresh
// prefixes; server.go has the building blocks (free ports, waiting for a
// listener, locating binaries, a Process that keeps the server's output).
// A missing server skips its tests, or fails them when RequireServers.
package providertest

import (
	"testing"

	"github.com/cassette-backup/cassette/providers"
)

// DefaultLargeObjectSize is the size of the "large" object test when
// Options.LargeObjectSize is zero: 12 MiB, above S3's 5 MiB minimum part size,
// so backends that switch to multipart uploads do so.
const DefaultLargeObjectSize = 12 << 20

// maxKeys caps the number of objects the paging tests write, so backends
// with large native pages (S3: 1000) stay fast. Tests should configure small
// list pages (StorageProperties.ListPageSize) to cross many of them.
const maxKeys = 2100

// Options adjust the suite for backends that need it.
type Options struct {
	// LargeObjectSize is the size of the "large" object test; 0 means
	// DefaultLargeObjectSize.
	LargeObjectSize int64
	// SkipConditionalCreate skips the IfNotExists tests. Only for backends
	// whose Properties().ConditionalCreate is false (for example an
	// S3-compatible server that ignores If-None-Match); setting it for a
	// backend that claims ConditionalCreate is a test failure. Without it a
	// backend that reports ConditionalCreate=false must answer IfNotExists
	// with ErrNotSupported.
	SkipConditionalCreate bool
}

func (o Options) withDefaults() Options {
	if o.LargeObjectSize <= 0 {
		o.LargeObjectSize = DefaultLargeObjectSize
	}
	return o
}

// Run runs the whole contract against storages made by open; each call of
// open must return a fresh, empty Storage (e.g. a new temp dir or a unique
// prefix) and register its own cleanup with t.Cleanup. open is called from
// parallel subtests.
func Run(t *testing.T, open func(t *testing.T) providers.Storage) {
	t.Helper()
	RunWithOptions(t, open, Options{})
}

// RunWithOptions is Run with options for backends that need them.
//
// All subtests run in parallel inside one "Contract" subtest, so
// RunWithOptions returns only when every one of them has finished: a caller
// may stop a server right after it returns.
func RunWithOptions(t *testing.T, open func(t *testing.T) providers.Storage, o Options) {
	t.Helper()
	s := &suite{open: open, o: o.withDefaults()}
	t.Run("Contract", func(t *testing.T) {
		for _, g := range []struct {
			name string
			run  func(*testing.T)
		}{
			{"Properties", s.testProperties},
			{"PutGet", s.testPutGet},
			{"PutFailure", s.testPutFailure},
			{"IfNotExists", s.testIfNotExists},
			{"Get", s.testGet},
			{"Stat", s.testStat},
			{"List", s.testList},
			{"Delete", s.testDelete},
			{"Keys", s.testKeys},
			{"Concurrency", s.testConcurrency},
		} {
			t.Run(g.name, func(t *testing.T) {
				t.Parallel()
				g.run(t)
			})
		}
	})
}

// suite carries the open function and options through the tests.
type suite struct {
	open func(t *testing.T) providers.Storage
	o    Options
}

// parallel runs fn as a parallel subtest called name.
func parallel(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		t.Parallel()
		fn(t)
	})
}

func (s *suite) testProperties(t *testing.T) {
	st := s.open(t)
	p := st.Properties()
	if p.Name == "" {
		t.Error("Properties().Name is empty")
	}
	if p.DeleteBatch < 1 {
		t.Errorf("Properties().DeleteBatch = %d, want >= 1", p.DeleteBatch)
	}
	if p.ListPageSize < 1 {
		t.Errorf("Properties().ListPageSize = %d, want >= 1", p.ListPageSize)
	}
	if p.Concurrency < 1 {
		t.Errorf("Properties().Concurrency = %d, want >= 1", p.Concurrency)
	}
	if s.o.SkipConditionalCreate && p.ConditionalCreate {
		t.Error("Options.SkipConditionalCreate is set but Properties().ConditionalCreate is true: the suite would skip a capability the backend claims")
	}
	n := 0
	if err := st.List(t.Context(), "", func(providers.ObjectInfo) error { n++; return nil }); err != nil {
		t.Fatalf("List of a fresh storage: %v", err)
	}
	if n != 0 {
		t.Errorf("open returned a storage holding %d objects, want a fresh, empty one", n)
	}
}
