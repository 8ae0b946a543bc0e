package providertest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/cassette-backup/cassette/providers"
)

// putMany stores each key with a body whose length depends on its index,
// using the backend's concurrency. It returns the expected sizes.
func putMany(t *testing.T, st providers.Storage, keys []providers.Key) map[providers.Key]int64 {
	t.Helper()
	sizes := make(map[providers.Key]int64, len(keys))
	g, ctx := errgroup.WithContext(t.Context())
	g.SetLimit(min(max(st.Properties().Concurrency, 4), 32))
	for i, k := range keys {
		body := make([]byte, i%7)
		for j := range body {
			body[j] = byte(i)
		}
		sizes[k] = int64(len(body))
		g.Go(func() error {
			if err := st.Put(ctx, k, providers.Bytes(body), providers.PutOptions{}); err != nil {
				return fmt.Errorf("put %s: %w", k, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	return sizes
}

// checkList fails the test unless List(prefix) reports exactly want (in
// lexical order) with the sizes in sizes.
func checkList(t *testing.T, st providers.Storage, prefix string, want []providers.Key, sizes map[providers.Key]int64) {
	t.Helper()
	want = slices.Clone(want)
	slices.Sort(want)
	got := listAll(t, st, prefix)
	keys := make([]providers.Key, len(got))
	for i, oi := range got {
		keys[i] = oi.Key
		if w, ok := sizes[oi.Key]; ok && oi.Size != w {
			t.Errorf("List(%q) reports %q with size %d, want %d", prefix, oi.Key, oi.Size, w)
		}
	}
	if !slices.Equal(keys, want) {
		if len(keys) > 20 || len(want) > 20 {
			t.Fatalf("List(%q) returned %d keys, want %d (first difference at %d)", prefix, len(keys), len(want), firstDiff(keys, want))
		}
		t.Fatalf("List(%q) = %q, want %q", prefix, keys, want)
	}
}

func firstDiff(a, b []providers.Key) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// pagedCount is how many keys cross at least two list pages.
func pagedCount(st providers.Storage) int {
	return min(st.Properties().ListPageSize*2+3, maxKeys)
}

func (s *suite) testList(t *testing.T) {
	// Lexical order of these keys is not the order of a naive directory
	// walk: '-' < '/' < '0', so "p/a-c" < "p/a/b" < "p/a0". No key is also
	// the folder of other keys ("a" and "a/b"): file-system backends cannot
	// store both.
	tricky := []providers.Key{
		"p/a/b", "p/a-c", "p/a0", "p/a/bc/d", "p/ab", "p/b", "p/a/a",
		"pa", "p-", "q/x", "o",
	}
	parallel(t, "Prefix", func(t *testing.T) {
		st := s.open(t)
		sizes := putMany(t, st, tricky)
		checkList(t, st, "p/", []providers.Key{"p/a/b", "p/a-c", "p/a0", "p/a/bc/d", "p/ab", "p/b", "p/a/a"}, sizes)
		checkList(t, st, "p/a", []providers.Key{"p/a/b", "p/a-c", "p/a0", "p/a/bc/d", "p/ab", "p/a/a"}, sizes)
		checkList(t, st, "p/a/", []providers.Key{"p/a/b", "p/a/bc/d", "p/a/a"}, sizes)
		checkList(t, st, "p/a/b", []providers.Key{"p/a/b", "p/a/bc/d"}, sizes)
		checkList(t, st, "p", []providers.Key{"p/a/b", "p/a-c", "p/a0", "p/a/bc/d", "p/ab", "p/b", "p/a/a", "pa", "p-"}, sizes)
		checkList(t, st, "p/a/bc/d", []providers.Key{"p/a/bc/d"}, sizes)
		checkList(t, st, "p/a/b/", nil, sizes)
	})
	parallel(t, "EmptyPrefixListsAll", func(t *testing.T) {
		st := s.open(t)
		sizes := putMany(t, st, tricky)
		checkList(t, st, "", tricky, sizes)
	})
	parallel(t, "NoMatch", func(t *testing.T) {
		st := s.open(t)
		putMany(t, st, tricky)
		for _, prefix := range []string{"z", "p/c/", "p/a/bc/d/e", "p/a/b/c", "nothing/here/"} {
			checkList(t, st, prefix, nil, nil)
		}
	})
	parallel(t, "EmptyStorage", func(t *testing.T) {
		checkList(t, s.open(t), "", nil, nil)
	})
	parallel(t, "CrossesPages", func(t *testing.T) {
		st := s.open(t)
		n := pagedCount(st)
		keys := make([]providers.Key, 0, n+2)
		for i := range n {
			// Two levels, so directory-based backends walk several folders.
			keys = append(keys, providers.Key(fmt.Sprintf("many/%02d/key-%05d", i%13, i)))
		}
		keys = append(keys, "other/a", "manz")
		sizes := putMany(t, st, keys)
		checkList(t, st, "many/", keys[:n], sizes)
		checkList(t, st, "", keys, sizes)
		var sub []providers.Key
		for _, k := range keys[:n] {
			if k[:8] == "many/07/" {
				sub = append(sub, k)
			}
		}
		checkList(t, st, "many/07/", sub, sizes)
	})
	parallel(t, "FnErrorStops", func(t *testing.T) {
		st := s.open(t)
		n := pagedCount(st)
		keys := make([]providers.Key, n)
		for i := range keys {
			keys[i] = providers.Key(fmt.Sprintf("stop/%05d", i))
		}
		putMany(t, st, keys)
		errStop := errors.New("enough")
		for _, stopAt := range []int{1, 3, n - 1} {
			calls := 0
			err := st.List(t.Context(), "stop/", func(providers.ObjectInfo) error {
				calls++
				if calls == stopAt {
					return errStop
				}
				return nil
			})
			if !errors.Is(err, errStop) {
				t.Errorf("List whose fn failed at call %d = %v, want the fn's error", stopAt, err)
			}
			if calls != stopAt {
				t.Errorf("List called fn %d times after it failed at call %d", calls, stopAt)
			}
		}
	})
}
