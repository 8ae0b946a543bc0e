package credfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cassette-backup/cassette/providers"
)

const format = `a JSON file {"key": "..."}`

func TestRead(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.json")
	if err := os.WriteFile(ok, []byte(`{"key": "v"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := Read("x", ok, format); err != nil || string(data) != `{"key": "v"}` {
		t.Fatalf("Read = %q, %v", data, err)
	}
	missing := filepath.Join(dir, "missing.json")
	_, err := Read("azure", missing, format)
	want := "azure credentials file " + missing + ": does not exist; expected " + format
	if err == nil || err.Error() != want {
		t.Fatalf("Read of a missing file = %v, want %q", err, want)
	}
	if !errors.Is(err, providers.ErrPermission) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v wraps neither ErrPermission nor fs.ErrNotExist", err)
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.File != missing {
		t.Errorf("error %v is not an *Error naming the file", err)
	}
	if _, err := Read("azure", dir, format); err == nil || !strings.Contains(err.Error(), "cannot be read (") {
		t.Errorf("Read of a folder = %v, want 'cannot be read (reason)'", err)
	}
}

func TestDecodeJSON(t *testing.T) {
	const secret = "SECRET-41c7"
	cases := map[string]string{
		`{"key": "` + secret + `", `: "is not valid JSON (error at byte",
		`["` + secret + `"]`:         "is not a JSON object",
		`{"key": 5}`:                 `field "key" has the wrong type`,
		``:                           "is not valid JSON",
	}
	for content, want := range cases {
		var v struct {
			Key string `json:"key"`
		}
		err := DecodeJSON("gcs", "/run/secret.json", format, []byte(content), &v)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "/run/secret.json") {
			t.Errorf("DecodeJSON(%q) = %v, want an error naming the file and %q", content, err, want)
			continue
		}
		if strings.Contains(err.Error(), secret) || !errors.Is(err, providers.ErrPermission) {
			t.Errorf("DecodeJSON(%q) = %v: leaks the secret or does not wrap ErrPermission", content, err)
		}
	}
	var v struct {
		Key string `json:"key"`
	}
	if err := DecodeJSON("gcs", "f", format, []byte(`{"key": "v"}`), &v); err != nil || v.Key != "v" {
		t.Errorf("DecodeJSON of a good file = %v, %+v", err, v)
	}
}
