package config

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestParseINI(t *testing.T) {
	cases := []struct {
		name, in string
		want     map[string]string // "section.key" -> value
		wantErr  string
	}{
		{name: "basics", in: "# comment\n; comment\n[storage]\nbucket_name = b\nHost: h\n  ; indented comment\nprefix=p ; not a comment\n",
			want: map[string]string{"storage.bucket_name": "b", "storage.host": "h", "storage.prefix": "p ; not a comment"}},
		{name: "value with delimiters", in: "[cassandra]\nnodetool_flags = -Dcom.sun.jndi.rmiURLParsing=legacy\nurl = http://x:8080/a\n",
			want: map[string]string{"cassandra.nodetool_flags": "-Dcom.sun.jndi.rmiURLParsing=legacy", "cassandra.url": "http://x:8080/a"}},
		{name: "continuation", in: "[s]\nk = a\n  b\n\n    c\nnext = n\n",
			want: map[string]string{"s.k": "a\nb\nc", "s.next": "n"}},
		{name: "crlf and bom", in: "\ufeff[Storage]\r\nbucket_name = b\r\n",
			want: map[string]string{"storage.bucket_name": "b"}},
		{name: "empty value", in: "[s]\nk =\n", want: map[string]string{"s.k": ""}},
		{name: "header trailing text", in: "[storage] ; main\nk = v\n", want: map[string]string{"storage.k": "v"}},
		{name: "default section", in: "[DEFAULT]\nregion = r\n[storage]\nk = v\n",
			want: map[string]string{"storage.k": "v", "storage.region": "r"}},
		{name: "key before section", in: "k = v\n[s]\n", wantErr: "x.ini:1: setting before any [section] header"},
		{name: "no delimiter", in: "[s]\nsecret-looking-line\n", wantErr: "x.ini:2: expected \"key = value\" in [s]"},
		{name: "empty key", in: "[s]\n= v\n", wantErr: "x.ini:2: expected"},
		{name: "duplicate key", in: "[s]\nK = 1\nk = 2\n", wantErr: "x.ini:3: [s] k is set twice (first on line 2)"},
		{name: "duplicate section", in: "[s]\n[t]\n[s]\n", wantErr: "x.ini:3: section [s] appears twice (first on line 1)"},
		{name: "bad header", in: "[ ]\n", wantErr: "x.ini:1: malformed section header"},
		{name: "unclosed header", in: "[storage\n", wantErr: "x.ini:1: malformed section header"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseINI("x.ini", []byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "secret-looking-line") {
					t.Errorf("error quotes the line: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, s := range f.sections {
				if s.name == iniDefault {
					continue
				}
				for _, e := range f.keys(s.name) {
					got[s.name+"."+e.key] = e.value
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestLooksLikeINI(t *testing.T) {
	for in, want := range map[string]bool{
		"[storage]\nk = v\n":               true,
		"; medusa\n\n[cassandra]\nx = y\n": true,
		"# c\nkey: value\n[storage]\n":     true,
		"storageProperties:\n  host: x\n":  false,
		"- [a, b]\n":                       false,
		"[a, b]\n":                         false,
		"kind: MedusaConfiguration\n":      false,
		"a: |\n  [storage]\n":              false,
		"":                                 false,
	} {
		if got := looksLikeINI([]byte(in)); got != want {
			t.Errorf("looksLikeINI(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestINIRoundTrip checks that any section/key/value set written as INI
// parses back to the same set.
func TestINIRoundTrip(t *testing.T) {
	name := rapid.StringMatching(`[a-z][a-z0-9_]{0,12}`)
	value := rapid.StringMatching(`[A-Za-z0-9_./:=;# -]{0,20}`).Filter(func(s string) bool {
		return s == strings.TrimSpace(s)
	})
	rapid.Check(t, func(t *rapid.T) {
		data := rapid.MapOfN(name, rapid.MapOfN(name, value, 0, 6), 1, 4).Draw(t, "data")
		var b strings.Builder
		sections := make([]string, 0, len(data))
		for s := range data {
			sections = append(sections, s)
		}
		sort.Strings(sections)
		for _, s := range sections {
			fmt.Fprintf(&b, "[%s]\n", s)
			for k, v := range data[s] {
				fmt.Fprintf(&b, "%s = %s\n", k, v)
			}
			b.WriteString("\n")
		}
		f, err := parseINI("r.ini", []byte(b.String()))
		if err != nil {
			t.Fatalf("parse %q: %v", b.String(), err)
		}
		for s, kv := range data {
			if got := len(f.keys(s)); got != len(kv) {
				t.Fatalf("[%s] has %d keys, want %d", s, got, len(kv))
			}
			for k, v := range kv {
				e, ok := f.lookup(s, k)
				if !ok || e.value != v {
					t.Fatalf("[%s] %s = %v, want %q", s, k, e, v)
				}
			}
		}
	})
}
