package config

import (
	"io/fs"
	"reflect"
	"strings"
	"testing"
)

// noFiles is a readFile for fuzzing and property tests: no file exists.
func noFiles(string) ([]byte, error) { return nil, fs.ErrNotExist }

// fuzzLoader never touches the machine, whatever paths the input names.
func fuzzLoader() *loader {
	return &loader{readFile: noFiles, exists: func(string) bool { return false }}
}

// checkLoaded holds for whatever parse returns: no panic anywhere, one-line
// errors, and a configuration that defaults, validates and renders.
func checkLoaded(t *testing.T, cfg *Config, err error) {
	if err != nil {
		if strings.ContainsAny(err.Error(), "\n\r") {
			t.Fatalf("error is not one line: %q", err)
		}
		return
	}
	for _, n := range cfg.Warnings() {
		if strings.ContainsAny(n, "\n\r") {
			t.Fatalf("note is not one line: %q", n)
		}
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil && strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("Validate error is not one line: %q", err)
	}
	out, err := cfg.YAML()
	if err != nil {
		t.Fatalf("YAML: %v", err)
	}
	// Without secrets, what `config show` prints loads back unchanged.
	if cfg.Storage.SSECKey != "" || cfg.Cassandra.Nodetool.Password != "" || cfg.Cassandra.CQLPassword != "" {
		return
	}
	again, err := fuzzLoader().parse(cfg.Source+".shown.yaml", out)
	if err != nil {
		t.Fatalf("reloading YAML(): %v\n%s", err, out)
	}
	again.ApplyDefaults()
	grpc := cfg.GRPC
	grpc.Enabled = nil // medusa.ini only: not a YAML key
	if !reflect.DeepEqual(again.Storage, cfg.Storage) || !reflect.DeepEqual(again.Cassandra, cfg.Cassandra) || again.CacheDir != cfg.CacheDir || again.GRPC != grpc {
		t.Fatalf("YAML() does not round-trip\n got %#v\nwant %#v\n%s", again, cfg, out)
	}
}

func FuzzLoadINI(f *testing.F) {
	f.Add([]byte("[storage]\nstorage_provider = s3\nbucket_name = b\n"))
	f.Add([]byte("[storage]\nstorage_provider = mem\n[grpc]\nenabled = 1\nport = 50051\nca_cert = ca.crt\ntls_cert = t.crt\ntls_key = t.key\nmax_send_message_length = 536870912\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := fuzzLoader().parse("/fuzz/medusa.ini", data)
		checkLoaded(t, cfg, err)
	})
}

func FuzzLoadYAML(f *testing.F) {
	f.Add([]byte("storageProperties:\n  storageProvider: mem\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := fuzzLoader().parse("/fuzz/config.yaml", data)
		checkLoaded(t, cfg, err)
	})
}
