package mem_test

import (
	"context"
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

func TestConformanceDefaultPages(t *testing.T) {
	providertest.Run(t, func(t *testing.T) providers.Storage {
		return mem.New(mem.Options{})
	})
}
