package providertest

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/providers"
)

// Backend is what the tests of a remote backend package need to run
// against their emulator: the server they share, with DefaultBucket created
// through the backend's own Create, and the backend's Open and Create. S is
// the backend's Storage type, so tests reach its internals, and O its
// Options. Declare one as a package variable and call Main from TestMain:
//
//	var fakeGCS = &providertest.Backend[*Storage, Options]{Start: providertest.StartFakeGCS, Open: Open, Create: Create}
//
//	func TestMain(m *testing.M) { providertest.Main(m) }
type Backend[S providers.Storage, O any] struct {
	// Start starts the emulator.
	Start StartFunc
	// Open and Create are the backend's.
	Open, Create func(ctx context.Context, sp providers.StorageProperties, o O) (S, error)
	// Options are passed to Open and Create.
	Options O
	// Tune, when set, adds test settings (small parts and list pages) to
	// the properties Props returns.
	Tune func(*providers.StorageProperties)

	once   sync.Once
	shared Shared
}

// Server returns the shared server, starting it and creating DefaultBucket
// on first use; it skips t when the server is not installed (see
// Shared.Require).
func (b *Backend[S, O]) Server(t testing.TB) *Server {
	t.Helper()
	b.once.Do(func() { b.shared.Start, b.shared.Setup = b.Start, b.createBucket })
	return b.shared.Require(t)
}

// createBucket creates DefaultBucket with Create.
func (b *Backend[S, O]) createBucket(srv *Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sp := srv.Props("")
	if b.Tune != nil {
		b.Tune(&sp)
	}
	s, err := b.Create(ctx, sp, b.Options)
	if err != nil {
		return fmt.Errorf("create bucket %s: %w", sp.BucketName, err)
	}
	return s.Close(ctx)
}

// Props returns the server's properties (see Server.Props) on
// DefaultBucket and prefix, tuned by Tune.
func (b *Backend[S, O]) Props(t testing.TB, prefix string) providers.StorageProperties {
	t.Helper()
	sp := b.Server(t).Props(prefix)
	if b.Tune != nil {
		b.Tune(&sp)
	}
	return sp
}

// OpenFresh opens DefaultBucket on a prefix of its own (UniquePrefix) with
// Open, and closes the storage when t ends.
func (b *Backend[S, O]) OpenFresh(t testing.TB) S {
	t.Helper()
	s, err := b.Open(t.Context(), b.Props(t, UniquePrefix(t)), b.Options)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// RunConformance runs the whole contract (RunWithOptions) on fresh
// prefixes of DefaultBucket.
func (b *Backend[S, O]) RunConformance(t *testing.T, o Options) {
	t.Helper()
	b.Server(t)
	RunWithOptions(t, func(t *testing.T) providers.Storage { return b.OpenFresh(t) }, o)
}

// RunBucketCreation runs RunBucketCreation on a bucket of its own.
func (b *Backend[S, O]) RunBucketCreation(t *testing.T) {
	t.Helper()
	sp := b.Props(t, "repo")
	sp.BucketName = fmt.Sprintf("cassette-create-%d", time.Now().UnixNano())
	RunBucketCreation(t, sp,
		func(ctx context.Context, sp providers.StorageProperties) (providers.Storage, error) {
			return b.Open(ctx, sp, b.Options)
		},
		func(ctx context.Context, sp providers.StorageProperties) (providers.Storage, error) {
			return b.Create(ctx, sp, b.Options)
		})
}

// CountRoundTrip puts data under a key of st, reads it back whole, lists
// and deletes it, and returns what stats (the backend's Stats method)
// counted meanwhile.
func CountRoundTrip(t *testing.T, st providers.Storage, stats func() providers.Stats, data []byte) providers.Stats {
	t.Helper()
	ctx := t.Context()
	before := stats()
	put(t, st, "stats/object", data)
	err := st.Get(ctx, "stats/object", 0, -1, func(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err })
	if err != nil {
		t.Fatal(err)
	}
	if err := st.List(ctx, "", func(providers.ObjectInfo) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, "stats/object"); err != nil {
		t.Fatal(err)
	}
	return stats().Sub(before)
}
