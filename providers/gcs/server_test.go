package gcs

import (
	"testing"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/providertest"
)

// testPartSize is the chunk size in tests: small (GCS allows 256 KiB
// multiples), so the large-object tests cross several chunks quickly.
const testPartSize = 1 << 20

// fakeGCS is the fake-gcs-server the package's tests share (no
// credentials), with small chunks and list pages.
var fakeGCS = &providertest.Backend[*Storage, Options]{Start: providertest.StartFakeGCS, Open: Open, Create: Create, Tune: tune}

// tune sets small parts and list pages, so tests cross several quickly.
func tune(sp *providers.StorageProperties) { sp.MultipartPartSize, sp.ListPageSize = testPartSize, 7 }

func TestMain(m *testing.M) { providertest.Main(m) }
