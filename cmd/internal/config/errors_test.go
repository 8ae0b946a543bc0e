package config

import (
	"testing"
)

func TestSuggest(t *testing.T) {
	known := []string{"bucketName", "storageProvider", "host", "port", "prefix", "region"}
	for key, want := range map[string]string{
		"bucket_name":     "bucketName",
		"BUCKETNAME":      "bucketName",
		"storage-provder": "storageProvider",
		"hots":            "host",
		"prot":            "port",
		"zzzzzz":          "",
		"":                "",
		"endpoint":        "host", // alias
	} {
		if got := suggest(key, known, map[string]string{"endpoint": "host"}); got != want {
			t.Errorf("suggest(%q) = %q, want %q", key, got, want)
		}
	}
}
