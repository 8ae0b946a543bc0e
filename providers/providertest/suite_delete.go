package providertest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/cassette-backup/cassette/providers"
)

func (s *suite) testDelete(t *testing.T) {
	parallel(t, "Existing", func(t *testing.T) {
		st := s.open(t)
		put(t, st, "del/obj", []byte("x"))
		put(t, st, "del/keep", []byte("y"))
		if err := st.Delete(t.Context(), "del/obj"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := st.Stat(t.Context(), "del/obj"); !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("Stat after Delete = %v, want ErrNotFound", err)
		}
		checkList(t, st, "", []providers.Key{"del/keep"}, nil)
	})
	parallel(t, "MissingIsNotAnError", func(t *testing.T) {
		st := s.open(t)
		if err := st.Delete(t.Context(), "del/missing"); err != nil {
			t.Errorf("Delete of a missing key = %v, want nil", err)
		}
		put(t, st, "del/twice", []byte("x"))
		for i := range 2 {
			if err := st.Delete(t.Context(), "del/twice"); err != nil {
				t.Errorf("Delete #%d = %v, want nil", i+1, err)
			}
		}
	})
	parallel(t, "PrefixIsNotAnObject", func(t *testing.T) {
		st := s.open(t)
		put(t, st, "del/dir/obj", []byte("x"))
		if err := st.Delete(t.Context(), "del/dir"); err != nil {
			t.Errorf("Delete of a key that is only a prefix = %v, want nil", err)
		}
		checkList(t, st, "", []providers.Key{"del/dir/obj"}, nil)
	})
	parallel(t, "ManyNone", func(t *testing.T) {
		st := s.open(t)
		if err := st.DeleteMany(t.Context(), nil); err != nil {
			t.Errorf("DeleteMany(nil) = %v", err)
		}
		if err := st.DeleteMany(t.Context(), []providers.Key{}); err != nil {
			t.Errorf("DeleteMany(empty) = %v", err)
		}
	})
	parallel(t, "ManyOne", func(t *testing.T) {
		st := s.open(t)
		put(t, st, "del/one", []byte("x"))
		put(t, st, "del/two", []byte("x"))
		if err := st.DeleteMany(t.Context(), []providers.Key{"del/one"}); err != nil {
			t.Fatalf("DeleteMany of one key: %v", err)
		}
		checkList(t, st, "", []providers.Key{"del/two"}, nil)
		if err := st.DeleteMany(t.Context(), []providers.Key{"del/missing"}); err != nil {
			t.Errorf("DeleteMany of one missing key = %v, want nil", err)
		}
	})
	parallel(t, "ManyBatches", func(t *testing.T) {
		st := s.open(t)
		n := min(st.Properties().DeleteBatch*2+1, maxKeys)
		var present, survivors, batch []providers.Key
		for i := range n + 1 {
			k := providers.Key(fmt.Sprintf("del/many/%05d", i))
			if i == n/2 {
				survivors = append(survivors, k)
			} else {
				present = append(present, k)
			}
		}
		putMany(t, st, append(slices.Clone(present), survivors...))
		// Interleave missing keys with present ones, more than one batch.
		for i, k := range present {
			batch = append(batch, k)
			if i%3 == 0 {
				batch = append(batch, providers.Key(fmt.Sprintf("del/missing/%05d", i)))
			}
		}
		if err := st.DeleteMany(t.Context(), batch); err != nil {
			t.Fatalf("DeleteMany of %d keys (%d present): %v", len(batch), len(present), err)
		}
		checkList(t, st, "", survivors, nil)
		if err := st.DeleteMany(t.Context(), batch); err != nil {
			t.Errorf("DeleteMany of %d deleted keys again = %v, want nil", len(batch), err)
		}
	})
}

// goodKeys are valid keys every backend must store and list faithfully.
var goodKeys = []providers.Key{
	"a",
	"deep/a/b/c/d/e/f/g/h/i/obj",
	"sp ace/file name",
	"unicode/données/日本語/ключ/🙂",
	"punct/a+b=c,d;e@f!g~h'i(j)k",
	"punct/percent%20encoded%2Fnot",
	"punct/dots.in.name..too",
	"punct/-dash_under",
	"upper/CaSe/MiXeD",
}

// badKeys are rejected by providers.ValidateKey.
var badKeys = []providers.Key{
	"", "/", "/abs", "trailing/", "double//slash", ".", "..", "./rel", "a/./b",
	"../escape", "a/../../escape", "a/..",
}

func (s *suite) testKeys(t *testing.T) {
	parallel(t, "Valid", func(t *testing.T) {
		st := s.open(t)
		sizes := make(map[providers.Key]int64, len(goodKeys))
		for i, k := range goodKeys {
			body := bytes.Repeat([]byte{byte('a' + i)}, i+1)
			sizes[k] = int64(len(body))
			put(t, st, k, body)
			checkContent(t, st, k, body)
			if oi, err := st.Stat(t.Context(), k); err != nil || oi.Key != k || oi.Size != int64(len(body)) {
				t.Errorf("Stat(%q) = {Key: %q, Size: %d}, %v; want {%q, %d}", k, oi.Key, oi.Size, err, k, len(body))
			}
		}
		checkList(t, st, "", goodKeys, sizes)
		checkList(t, st, "unicode/données/", []providers.Key{"unicode/données/日本語/ключ/🙂"}, sizes)
		if err := st.DeleteMany(t.Context(), goodKeys); err != nil {
			t.Fatalf("DeleteMany: %v", err)
		}
		checkList(t, st, "", nil, nil)
	})
	parallel(t, "Invalid", func(t *testing.T) {
		st := s.open(t)
		ctx := t.Context()
		put(t, st, "a/b", []byte("x"))
		for _, k := range badKeys {
			if err := providers.ValidateKey(k); err == nil {
				t.Fatalf("ValidateKey(%q) = nil; the suite's bad keys are out of date", k)
			}
			if err := st.Put(ctx, k, providers.Bytes([]byte("bad")), providers.PutOptions{}); err == nil {
				t.Errorf("Put(%q) succeeded, want an error", k)
			}
			if err := st.Put(ctx, k, providers.Bytes([]byte("bad")), ifNotExists); err == nil {
				t.Errorf("Put(%q, IfNotExists) succeeded, want an error", k)
			}
			if err := st.Get(ctx, k, 0, -1, func(io.Reader) error { return nil }); err == nil {
				t.Errorf("Get(%q) succeeded, want an error", k)
			}
			if _, err := st.Stat(ctx, k); err == nil {
				t.Errorf("Stat(%q) succeeded, want an error", k)
			}
			if err := st.Delete(ctx, k); err == nil {
				t.Errorf("Delete(%q) succeeded, want an error", k)
			}
			if err := st.DeleteMany(ctx, []providers.Key{k}); err == nil {
				t.Errorf("DeleteMany([%q]) succeeded, want an error", k)
			}
		}
		checkContent(t, st, "a/b", []byte("x"))
		checkList(t, st, "", []providers.Key{"a/b"}, nil)
	})
}

func (s *suite) testConcurrency(t *testing.T) {
	parallel(t, "PutGetDifferentKeys", func(t *testing.T) {
		st := s.open(t)
		const workers, rounds = 16, 8
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for r := range rounds {
					k := providers.Key(fmt.Sprintf("conc/%02d/%02d", w, r))
					body := randomBytes(int64(1000 + w*100 + r))
					if err := st.Put(t.Context(), k, providers.Bytes(body), providers.PutOptions{}); err != nil {
						t.Errorf("Put(%q): %v", k, err)
						return
					}
					got, err := get(t.Context(), st, k, 0, -1)
					if err != nil || !bytes.Equal(got, body) {
						t.Errorf("Get(%q) = %s, %v; want %s", k, describe(got), err, describe(body))
						return
					}
					if _, err := st.Stat(t.Context(), k); err != nil {
						t.Errorf("Stat(%q): %v", k, err)
					}
					if err := st.List(t.Context(), fmt.Sprintf("conc/%02d/", w), func(providers.ObjectInfo) error { return nil }); err != nil {
						t.Errorf("List: %v", err)
					}
				}
			})
		}
		wg.Wait()
		if n := len(listAll(t, st, "conc/")); n != workers*rounds {
			t.Errorf("List after concurrent Puts reports %d objects, want %d", n, workers*rounds)
		}
	})
	parallel(t, "OverwriteWhileReading", func(t *testing.T) {
		// Readers see the old or the new object whole, never a mix.
		st := s.open(t)
		a, b := bytes.Repeat([]byte{'a'}, 64<<10), bytes.Repeat([]byte{'b'}, 64<<10)
		put(t, st, "conc/flip", a)
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := range 20 {
				body := a
				if i%2 == 0 {
					body = b
				}
				if err := st.Put(t.Context(), "conc/flip", providers.Bytes(body), providers.PutOptions{}); err != nil {
					t.Errorf("Put: %v", err)
					return
				}
			}
		})
		for range 4 {
			wg.Go(func() {
				for range 20 {
					got, err := get(t.Context(), st, "conc/flip", 0, -1)
					if err != nil {
						t.Errorf("Get while overwriting: %v", err)
						return
					}
					if !bytes.Equal(got, a) && !bytes.Equal(got, b) {
						t.Errorf("Get while overwriting returned a mix of versions: %s", describe(got))
						return
					}
				}
			})
		}
		wg.Wait()
	})
}
