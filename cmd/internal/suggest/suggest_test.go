package suggest

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

func TestClosest(t *testing.T) {
	names := []string{"nightly-2026-11-23", "nightly-2026-11-24", "weekly-2026-11-22"}
	for word, want := range map[string]string{
		"nightly-2026-11-25": "nightly-2026-11-23",
		"weekly-2026-11-2":   "weekly-2026-11-22",
		"something":          "",
	} {
		if got := Closest(word, names); got != want {
			t.Errorf("Closest(%q) = %q, want %q", word, got, want)
		}
	}
}
