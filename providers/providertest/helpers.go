package providertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/cassette-backup/cassette/providers"
)

// randomBytes returns n random bytes. crypto/rand fills them in the kernel,
// which stays fast under the race detector (a Go PRNG does not).
func randomBytes(n int64) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return b
}

// put stores b under key as a replayable payload and fails the test on error.
func put(t *testing.T, st providers.Storage, key providers.Key, b []byte) {
	t.Helper()
	if err := st.Put(t.Context(), key, providers.Bytes(b), providers.PutOptions{}); err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", key, len(b), err)
	}
}

// get reads [offset, offset+length) of key into memory.
func get(ctx context.Context, st providers.Storage, key providers.Key, offset, length int64) ([]byte, error) {
	var out []byte
	err := st.Get(ctx, key, offset, length, func(r io.Reader) error {
		b, err := io.ReadAll(r)
		out = b // reset on every call: fn may run more than once
		return err
	})
	return out, err
}

// mustGet reads the whole object and fails the test on error.
func mustGet(t *testing.T, st providers.Storage, key providers.Key) []byte {
	t.Helper()
	b, err := get(t.Context(), st, key, 0, -1)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return b
}

// checkContent fails the test unless key holds exactly want.
func checkContent(t *testing.T, st providers.Storage, key providers.Key, want []byte) {
	t.Helper()
	got := mustGet(t, st, key)
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %s, want %s", key, describe(got), describe(want))
	}
}

// describe summarises a byte slice for failure messages.
func describe(b []byte) string {
	if len(b) <= 32 {
		return fmt.Sprintf("%d bytes %q", len(b), b)
	}
	return fmt.Sprintf("%d bytes starting %q", len(b), b[:32])
}

// checkAbsent fails the test if key is visible to Stat, Get or List.
func checkAbsent(t *testing.T, st providers.Storage, key providers.Key) {
	t.Helper()
	ctx := t.Context()
	if _, err := st.Stat(ctx, key); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("Stat(%q) = %v, want ErrNotFound", key, err)
	}
	if _, err := get(ctx, st, key, 0, -1); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("Get(%q) = %v, want ErrNotFound", key, err)
	}
	keys, err := listKeys(ctx, st, "")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(keys) != 0 {
		t.Errorf("List after a failed Put of %q reports %v, want nothing (no partial or temporary objects)", key, keys)
	}
}

// listAll returns every object under prefix, failing the test on error or on
// keys out of order.
func listAll(t *testing.T, st providers.Storage, prefix string) []providers.ObjectInfo {
	t.Helper()
	var out []providers.ObjectInfo
	err := st.List(t.Context(), prefix, func(oi providers.ObjectInfo) error {
		out = append(out, oi)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	for i := 1; i < len(out); i++ {
		if out[i-1].Key >= out[i].Key {
			t.Fatalf("List(%q) not in strictly increasing key order: %q then %q", prefix, out[i-1].Key, out[i].Key)
		}
	}
	return out
}

// listKeys returns the keys under prefix.
func listKeys(ctx context.Context, st providers.Storage, prefix string) ([]providers.Key, error) {
	var keys []providers.Key
	err := st.List(ctx, prefix, func(oi providers.ObjectInfo) error {
		keys = append(keys, oi.Key)
		return nil
	})
	return keys, err
}

// failingReader yields data and then, after n bytes, fails with err.
type failingReader struct {
	data []byte
	n    int
	err  error
	pos  int
}

func (r *failingReader) Read(p []byte) (int, error) {
	limit := min(r.n, len(r.data))
	if r.pos >= limit {
		return 0, r.err
	}
	c := copy(p, r.data[r.pos:limit])
	r.pos += c
	return c, nil
}

// hookReader calls hook once after n bytes were read, then goes on reading.
type hookReader struct {
	r    io.Reader
	n    int64
	read int64
	hook func()
	done bool
}

func (h *hookReader) Read(p []byte) (int, error) {
	c, err := h.r.Read(p)
	h.read += int64(c)
	if !h.done && h.read >= h.n {
		h.done = true
		h.hook()
	}
	return c, err
}

// errInjected is what failing payloads return.
var errInjected = errors.New("providertest: injected payload failure")
