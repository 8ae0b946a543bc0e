package chunkstore

import (
	"github.com/cassette-backup/cassette/index"
	"github.com/cassette-backup/cassette/providers"
)

// Object keys, relative to the repository root (bucket + prefix). See
// docs/format.md.
const (
	ConfigKey   providers.Key = "config"
	PackPrefix                = "packs/"
	IndexPrefix               = "index/"
)

// PackKey is where pack id lives: packs/<first 2 hex>/<64 hex>. The two-hex
// fan-out keeps local directories and S3 key-space partitions small.
func PackKey(id index.ID) providers.Key {
	s := id.String()
	return providers.Key(PackPrefix + s[:2] + "/" + s)
}

// IndexKey is where index segment id lives.
func IndexKey(id index.ID) providers.Key { return providers.Key(IndexPrefix + id.String()) }
