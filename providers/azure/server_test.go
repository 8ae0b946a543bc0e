package azure

import (
	"testing"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/providertest"
)

// testPartSize is the block size in tests: small (blocks may have any
// size), so the large-object tests stage several blocks quickly.
const testPartSize = 1 << 20

// azurite is the Azurite blob server the package's tests share (the
// development account), with small blocks and list pages.
var azurite = &providertest.Backend[*Storage, Options]{Start: providertest.StartAzurite, Open: Open, Create: Create, Tune: tune}

// tune sets small parts and list pages, so tests cross several quickly.
func tune(sp *providers.StorageProperties) { sp.MultipartPartSize, sp.ListPageSize = testPartSize, 7 }

func TestMain(m *testing.M) { providertest.Main(m) }
