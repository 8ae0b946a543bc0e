package mem_test

import (
	"context"
	"io"
	"testing"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/mem"
	"github.com/cassette-backup/cassette/providers/providertest"
)

func TestConformance(t *testing.T) {
	providertest.Run(t, func(t *testing.T) providers.Storage {
		s := mem.New(mem.Options{ListPageSize: 7})
		t.Cleanup(func() { _ = s.Close(context.Background()) })
		return s
	})
}

// TestConformanceDefaultPages runs the suite with the default page size
// (one page for most listings), with a smaller large object to stay fast.
func TestConformanceDefaultPages(t *testing.T) {
	providertest.RunWithOptions(t, func(t *testing.T) providers.Storage {
		return mem.New(mem.Options{})
	}, providertest.Options{LargeObjectSize: 1 << 20})
}

func TestCopiesData(t *testing.T) {
	s := mem.New(mem.Options{})
	b := []byte("original")
	if err := s.Put(t.Context(), "k", providers.Bytes(b), providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	copy(b, "mutated!")
	var got []byte
	if err := s.Get(t.Context(), "k", 0, -1, func(r io.Reader) error {
		var err error
		got, err = io.ReadAll(r)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if string(got) != "original" {
		t.Errorf("stored object changed with the caller's slice: %q", got)
	}
}

func TestClosed(t *testing.T) {
	s := mem.New(mem.Options{})
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), "k", providers.Bytes(nil), providers.PutOptions{}); err == nil {
		t.Error("Put after Close succeeded")
	}
	if err := s.Close(t.Context()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
