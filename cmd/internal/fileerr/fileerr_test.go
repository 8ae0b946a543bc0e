package fileerr

import "testing"

func TestMessage(t *testing.T) {
	for _, tc := range []struct {
		file string
		line int
		msg  string
		want string
	}{
		{"a.yaml", 3, "bad key", "a.yaml:3: bad key"},
		{"a.yaml", 0, "bad key", "a.yaml: bad key"},
		{"a.yaml", -1, "bad key", "a.yaml: bad key"},
		{"a\nb.yaml", 2, "key \"x\r\ny\"\rz", "a b.yaml:2: key \"x y\" z"},
	} {
		if got := Message(tc.file, tc.line, tc.msg); got != tc.want {
			t.Errorf("Message(%q, %d, %q) = %q, want %q", tc.file, tc.line, tc.msg, got, tc.want)
		}
	}
}

func TestOneLine(t *testing.T) {
	if got, want := OneLine("a\r\nb\nc\rd"), "a b c d"; got != want {
		t.Errorf("OneLine = %q, want %q", got, want)
	}
}
