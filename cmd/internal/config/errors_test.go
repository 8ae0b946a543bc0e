package config

import (
	"testing"

	"pgregory.net/rapid"
)

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"bucketname", "bucketName", 1}, {"ä", "a", 1},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

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

func TestEditDistanceProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := rapid.StringN(0, 20, -1).Draw(t, "a")
		b := rapid.StringN(0, 20, -1).Draw(t, "b")
		c := rapid.StringN(0, 20, -1).Draw(t, "c")
		ab, ba := editDistance(a, b), editDistance(b, a)
		if ab != ba {
			t.Fatalf("not symmetric: %d != %d", ab, ba)
		}
		if (ab == 0) != (a == b) {
			t.Fatalf("distance %d for %q, %q", ab, a, b)
		}
		if ab > editDistance(a, c)+editDistance(c, b) {
			t.Fatalf("triangle inequality broken")
		}
	})
}
