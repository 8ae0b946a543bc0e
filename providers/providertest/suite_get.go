package providertest

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/cassette-backup/cassette/providers"
)

func (s *suite) testGet(t *testing.T) {
	data := randomBytes(10_000)
	size := int64(len(data))
	ranges := []struct {
		name           string
		offset, length int64
	}{
		{"Whole", 0, size},
		{"Start", 0, 100},
		{"Middle", 4321, 1234},
		{"End", size - 100, 100},
		{"ToEndFromMiddle", 5000, -1},
		{"ToEndFromStart", 0, -1},
		{"ZeroLength", 10, 0},
		{"ZeroLengthAtEnd", size, 0},
		{"ToEndAtEnd", size, -1},
		{"LastByte", size - 1, 1},
	}
	for _, r := range ranges {
		parallel(t, "Range"+r.name, func(t *testing.T) {
			st := s.open(t)
			key := providers.Key("ranges/obj")
			put(t, st, key, data)
			got, err := get(t.Context(), st, key, r.offset, r.length)
			if err != nil {
				t.Fatalf("Get(%q, %d, %d): %v", key, r.offset, r.length, err)
			}
			end := size
			if r.length >= 0 {
				end = r.offset + r.length
			}
			if want := data[r.offset:end]; !bytes.Equal(got, want) {
				t.Fatalf("Get(%q, %d, %d) = %s, want %s", key, r.offset, r.length, describe(got), describe(want))
			}
		})
	}
	invalid := []struct {
		name           string
		offset, length int64
	}{
		{"PastEnd", size - 10, 11},
		{"WholePlusOne", 0, size + 1},
		{"OffsetPastEnd", size + 1, 0},
		{"OffsetPastEndToEnd", size + 1, -1},
		{"NegativeOffset", -1, 10},
	}
	for _, r := range invalid {
		parallel(t, "Invalid"+r.name, func(t *testing.T) {
			st := s.open(t)
			key := providers.Key("ranges/obj")
			put(t, st, key, data)
			called := false
			err := st.Get(t.Context(), key, r.offset, r.length, func(rd io.Reader) error {
				called = true
				_, err := io.Copy(io.Discard, rd)
				return err
			})
			if !errors.Is(err, providers.ErrInvalidRange) {
				t.Fatalf("Get(%q, %d, %d) of a %d-byte object = %v (fn called: %v), want ErrInvalidRange", key, r.offset, r.length, size, err, called)
			}
		})
	}
	parallel(t, "EmptyObject", func(t *testing.T) {
		st := s.open(t)
		key := providers.Key("ranges/empty")
		put(t, st, key, nil)
		for _, length := range []int64{-1, 0} {
			if got, err := get(t.Context(), st, key, 0, length); err != nil || len(got) != 0 {
				t.Errorf("Get(empty, 0, %d) = %s, %v; want 0 bytes, nil", length, describe(got), err)
			}
		}
		if _, err := get(t.Context(), st, key, 0, 1); !errors.Is(err, providers.ErrInvalidRange) {
			t.Errorf("Get(empty, 0, 1) = %v, want ErrInvalidRange", err)
		}
	})
	parallel(t, "Missing", func(t *testing.T) {
		st := s.open(t)
		called := false
		err := st.Get(t.Context(), "ranges/missing", 0, -1, func(io.Reader) error { called = true; return nil })
		if !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("Get of a missing key = %v, want ErrNotFound", err)
		}
		if called {
			t.Error("Get of a missing key called fn")
		}
		if _, err := get(t.Context(), st, "ranges/missing", 10, 5); !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("ranged Get of a missing key = %v, want ErrNotFound", err)
		}
	})
	parallel(t, "FnCalledOnce", func(t *testing.T) {
		st := s.open(t)
		put(t, st, "fn/obj", data)
		calls := 0
		err := st.Get(t.Context(), "fn/obj", 0, -1, func(r io.Reader) error {
			calls++
			_, err := io.Copy(io.Discard, r)
			return err
		})
		if err != nil || calls != 1 {
			t.Errorf("Get = %v with fn called %d times, want nil and once", err, calls)
		}
	})
	parallel(t, "FnErrorPropagates", func(t *testing.T) {
		st := s.open(t)
		put(t, st, "fn/obj", data)
		errFn := errors.New("fn gave up")
		err := st.Get(t.Context(), "fn/obj", 0, -1, func(r io.Reader) error {
			_, _ = io.ReadFull(r, make([]byte, 10)) // stop reading part-way
			return errFn
		})
		if !errors.Is(err, errFn) {
			t.Errorf("Get whose fn failed = %v, want the fn's error", err)
		}
	})
	parallel(t, "PartialReadsThenReuse", func(t *testing.T) {
		// fn stops reading early many times; a backend that leaks readers
		// (file handles, HTTP connections) runs out here or in the next Get.
		st := s.open(t)
		put(t, st, "fn/obj", data)
		for range 64 {
			err := st.Get(t.Context(), "fn/obj", 0, -1, func(r io.Reader) error {
				_, err := io.ReadFull(r, make([]byte, 10))
				return err
			})
			if err != nil {
				t.Fatalf("Get reading 10 bytes: %v", err)
			}
		}
		checkContent(t, st, "fn/obj", data)
	})
}

func (s *suite) testStat(t *testing.T) {
	parallel(t, "Existing", func(t *testing.T) {
		st := s.open(t)
		put(t, st, "stat/obj", []byte("12345"))
		oi, err := st.Stat(t.Context(), "stat/obj")
		if err != nil {
			t.Fatalf("Stat: %v", err)
		}
		if oi.Key != "stat/obj" || oi.Size != 5 {
			t.Errorf("Stat = {Key: %q, Size: %d}, want {Key: %q, Size: 5}", oi.Key, oi.Size, "stat/obj")
		}
		if oi.ModTime.IsZero() {
			t.Error("Stat reports a zero ModTime")
		}
	})
	parallel(t, "Missing", func(t *testing.T) {
		st := s.open(t)
		if _, err := st.Stat(t.Context(), "stat/missing"); !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("Stat of a missing key = %v, want ErrNotFound", err)
		}
	})
	parallel(t, "PrefixIsNotAnObject", func(t *testing.T) {
		// "stat/dir" is only a prefix of "stat/dir/obj", not an object.
		st := s.open(t)
		put(t, st, "stat/dir/obj", []byte("x"))
		if _, err := st.Stat(t.Context(), "stat/dir"); !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("Stat of a key that is only a prefix = %v, want ErrNotFound", err)
		}
		if _, err := get(t.Context(), st, "stat/dir", 0, -1); !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("Get of a key that is only a prefix = %v, want ErrNotFound", err)
		}
	})
}
