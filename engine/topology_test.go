package engine

import (
	"strings"
	"testing"
)

func TestReadTokens(t *testing.T) {
	got, err := ReadTokens(strings.NewReader("# node1\n-9223372036854775808, 0\n4611686018427387904\n"), "t")
	if err != nil || len(got) != 3 || got[0] != -9223372036854775808 || got[2] != 4611686018427387904 {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := ReadTokens(strings.NewReader("12\nabc\n"), "tokens.txt"); err == nil || !strings.Contains(err.Error(), "tokens.txt:2") {
		t.Fatalf("bad token: %v", err)
	}
}

func TestParseExpected(t *testing.T) {
	got, err := ParseExpected("dc1-r1-0:dc1:r1, dc2-r1-0:dc2\nplain")
	if err != nil || len(got) != 3 || got[0].Rack != "r1" || got[1].Datacenter != "dc2" || got[2].Host != "plain" {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range []string{"a:b:c:d", "x,x", "../etc"} {
		if _, err := ParseExpected(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
