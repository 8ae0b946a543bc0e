package providertest

import (
	"bytes"
	"context"
	"io"
	"testing"
	"testing/iotest"

	"github.com/cassette-backup/cassette/providers"
)

func (s *suite) testPutGet(t *testing.T) {
	small := []byte("hello, cassette")
	cases := []struct {
		name    string
		data    []byte
		payload func(b []byte) providers.Payload
	}{
		{"Empty", nil, providers.Bytes},
		{"EmptyStream", nil, func(b []byte) providers.Payload {
			return providers.Stream(bytes.NewReader(b), -1)
		}},
		{"Small", small, providers.Bytes},
		{"StreamKnownSize", small, func(b []byte) providers.Payload {
			return providers.Stream(bytes.NewReader(b), int64(len(b)))
		}},
		{"StreamUnknownSize", randomBytes(100_000), func(b []byte) providers.Payload {
			return providers.Stream(iotest.HalfReader(bytes.NewReader(b)), -1)
		}},
		{"Reopenable", randomBytes(10_000), func(b []byte) providers.Payload {
			return providers.Reopenable(int64(len(b)), func() (io.Reader, error) { return bytes.NewReader(b), nil })
		}},
		{"LargeBytes", randomBytes(s.o.LargeObjectSize), providers.Bytes},
		{"LargeStreamUnknownSize", randomBytes(s.o.LargeObjectSize), func(b []byte) providers.Payload {
			return providers.Stream(bytes.NewReader(b), -1)
		}},
	}
	for _, c := range cases {
		parallel(t, c.name, func(t *testing.T) {
			st := s.open(t)
			key := providers.Key("obj/" + c.name)
			if err := st.Put(t.Context(), key, c.payload(c.data), providers.PutOptions{}); err != nil {
				t.Fatalf("Put(%q, %d bytes): %v", key, len(c.data), err)
			}
			checkContent(t, st, key, c.data)
			oi, err := st.Stat(t.Context(), key)
			if err != nil {
				t.Fatalf("Stat(%q): %v", key, err)
			}
			if oi.Size != int64(len(c.data)) || oi.Key != key {
				t.Errorf("Stat(%q) = {Key: %q, Size: %d}, want {Key: %q, Size: %d}", key, oi.Key, oi.Size, key, len(c.data))
			}
		})
	}
	parallel(t, "Overwrite", func(t *testing.T) {
		st := s.open(t)
		key := providers.Key("obj/overwritten")
		put(t, st, key, []byte("first version, the longer one"))
		put(t, st, key, []byte("second"))
		checkContent(t, st, key, []byte("second"))
		if oi, err := st.Stat(t.Context(), key); err != nil || oi.Size != 6 {
			t.Errorf("Stat after overwrite = %+v, %v; want size 6", oi, err)
		}
		if n := len(listAll(t, st, "")); n != 1 {
			t.Errorf("List after overwrite reports %d objects, want 1", n)
		}
	})
}

func (s *suite) testPutFailure(t *testing.T) {
	large := s.o.LargeObjectSize
	cases := []struct {
		name string
		size int64
		// known reports whether the payload declares its size.
		known bool
		// failAfter is where the payload's reader fails.
		failAfter int64
	}{
		{"StreamFailsHalfWay", 64 << 10, true, 32 << 10},
		{"StreamUnknownSizeFailsHalfWay", 64 << 10, false, 32 << 10},
		// Past the first parts of a multipart upload, which must be aborted.
		{"LargeStreamFailsAfterParts", large, false, large * 3 / 4},
		{"LargeStreamKnownSizeFailsAfterParts", large, true, large * 3 / 4},
	}
	for _, c := range cases {
		parallel(t, c.name, func(t *testing.T) {
			st := s.open(t)
			key := providers.Key("failed/" + c.name)
			data := randomBytes(c.size)
			n := int(c.failAfter)
			size := int64(-1)
			if c.known {
				size = c.size
			}
			r := &failingReader{data: data, n: n, err: errInjected}
			if err := st.Put(t.Context(), key, providers.Stream(r, size), providers.PutOptions{}); err == nil {
				t.Fatalf("Put(%q) of a payload failing after %d bytes succeeded, want an error", key, n)
			}
			checkAbsent(t, st, key)
		})
	}
	parallel(t, "FailedOverwriteKeepsOld", func(t *testing.T) {
		st := s.open(t)
		key := providers.Key("failed/overwrite")
		old := []byte("the old content")
		put(t, st, key, old)
		r := &failingReader{data: randomBytes(64 << 10), n: 32 << 10, err: errInjected}
		if err := st.Put(t.Context(), key, providers.Stream(r, -1), providers.PutOptions{}); err == nil {
			t.Fatal("Put of a failing payload over an existing key succeeded, want an error")
		}
		checkContent(t, st, key, old)
		if n := len(listAll(t, st, "")); n != 1 {
			t.Errorf("List after a failed overwrite reports %d objects, want 1", n)
		}
	})
	parallel(t, "CancelledContext", func(t *testing.T) {
		st := s.open(t)
		key := providers.Key("failed/cancelled")
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := st.Put(ctx, key, providers.Bytes([]byte("never stored")), providers.PutOptions{}); err == nil {
			t.Fatal("Put with a cancelled context succeeded, want an error")
		}
		checkAbsent(t, st, key)
	})
	parallel(t, "CancelledMidStream", func(t *testing.T) {
		st := s.open(t)
		key := providers.Key("failed/cancelled-mid-stream")
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		data := randomBytes(256 << 10)
		r := &hookReader{r: iotest.HalfReader(bytes.NewReader(data)), n: 64 << 10, hook: cancel}
		if err := st.Put(ctx, key, providers.Stream(r, -1), providers.PutOptions{}); err == nil {
			t.Fatal("Put whose context was cancelled while reading the payload succeeded, want an error")
		}
		checkAbsent(t, st, key)
	})
}
