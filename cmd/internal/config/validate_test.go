package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cassette-backup/cassette/providers"
)

// validBase is a configuration that passes Validate; cases change one thing.
func validBase() *Config {
	c := &Config{Source: "config.yaml", Format: FormatCassette, storagePath: "storageProperties",
		Storage: providers.StorageProperties{StorageProvider: "s3", BucketName: "b", Region: "us-east-1"}}
	c.ApplyDefaults()
	return c
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(c *Config)
		want   string // "" = valid
	}{
		{"valid", func(c *Config) {}, ""},
		{"mem needs no bucket", func(c *Config) { c.Storage = providers.StorageProperties{StorageProvider: "mem"} }, ""},
		{"provider case and alias", func(c *Config) { c.Storage.StorageProvider = "Azure_Blob" }, ""},
		{"no provider", func(c *Config) { c.Storage.StorageProvider = "" },
			"config.yaml: storageProperties.storageProvider is not set; set it to one of local, s3"},
		{"unknown provider", func(c *Config) { c.Storage.StorageProvider = "s3-compatible" },
			`storageProperties.storageProvider "s3-compatible" is not a storage provider cassette knows (did you mean "s3_compatible"?)`},
		{"provider alias suggestion", func(c *Config) { c.Storage.StorageProvider = "gcs" }, `(did you mean "google_storage"?)`},
		{"no bucket", func(c *Config) { c.Storage.BucketName = "" },
			"config.yaml: storageProperties.bucketName is not set; set it to the bucket"},
		{"azure container", func(c *Config) { c.Storage = providers.StorageProperties{StorageProvider: "azure_blobs"} },
			"set it to the container"},
		{"local needs basePath", func(c *Config) { c.Storage.StorageProvider = "local" }, "storageProperties.basePath is not set"},
		{"s3_compatible needs host", func(c *Config) { c.Storage.StorageProvider = "s3_compatible" }, "storageProperties.host is not set"},
		{"port range", func(c *Config) { c.Storage.Port = 70000 }, "storageProperties.port 70000 is out of range"},
		{"negative port", func(c *Config) { c.Storage.Port = -1 }, "storageProperties.port -1 is out of range"},
		{"negative age", func(c *Config) { c.Storage.MaxBackupAge = -1 }, "storageProperties.maxBackupAge is -1; it cannot be negative"},
		{"negative count", func(c *Config) { c.Storage.MaxBackupCount = -3 }, "storageProperties.maxBackupCount is -3"},
		{"negative transfers", func(c *Config) { c.Storage.ConcurrentTransfers = -1 }, "storageProperties.concurrentTransfers is -1"},
		{"negative grace", func(c *Config) { c.Storage.BackupGracePeriodInDays = -1 }, "storageProperties.backupGracePeriodInDays is -1"},
		{"tiny part", func(c *Config) { c.Storage.MultipartPartSize = 1 << 20 }, "storageProperties.multipartPartSize 1048576 is outside S3's part size limits"},
		{"tiny part fine for gcs", func(c *Config) {
			c.Storage.StorageProvider, c.Storage.MultipartPartSize = "google_storage", 1<<20
		}, ""},
		{"kms and sse-c", func(c *Config) { c.Storage.KMSID, c.Storage.SSECKey = "k", "key" },
			"both storageProperties.kmsId and storageProperties.sseCKey are set"},
		{"checksum", func(c *Config) { c.Storage.RequestChecksum = "always" }, `storageProperties.requestChecksum "always"`},
		{"secret ref without file", func(c *Config) { c.StorageSecretRef = "medusa-bucket-key" },
			"config.yaml: storageSecretRef medusa-bucket-key is mounted at /etc/medusa-secrets/credentials in the pod; set credentialsFile"},
		{"secret ref with file", func(c *Config) { c.StorageSecretRef, c.Storage.CredentialsFile = "k", "/creds" }, ""},
		{"snapshot mode", func(c *Config) { c.Cassandra.Snapshot = "hardlinks" },
			`cassandra.snapshot "hardlinks" is not a snapshot mode (did you mean "hardlink"?)`},
		{"nodetool port", func(c *Config) { c.Cassandra.Nodetool.Port = 1 << 16 }, "cassandra.nodetool.port 65536 is out of range"},
		{"nodetool password twice", func(c *Config) { c.Cassandra.Nodetool.Password, c.Cassandra.Nodetool.PasswordFile = "pw", "/f" },
			"both cassandra.nodetool.password and cassandra.nodetool.passwordFile are set"},
		{"cql password twice", func(c *Config) { c.Cassandra.CQLPassword, c.Cassandra.CQLPasswordFile = "pw", "/f" },
			"both cassandra.cqlPassword and cassandra.cqlPasswordFile"},
		{"empty data dir", func(c *Config) { c.Cassandra.DataDirs = []string{"/a", " "} }, "cassandra.dataDirs entry 2 is empty"},
		{"keyspace in both", func(c *Config) { c.Cassandra.Keyspaces, c.Cassandra.ExcludeKeyspaces = []string{"a"}, []string{"a"} },
			`keyspace "a" is both in cassandra.keyspaces and in cassandra.excludeKeyspaces`},
		{"no source", func(c *Config) { c.Source, c.Storage.BucketName = "", "" }, "configuration: storageProperties.bucketName"},
		{"manifest key names", func(c *Config) {
			c.Format, c.storagePath, c.Storage.BucketName = FormatManifest, "spec.k8ssandra.medusa.storageProperties", ""
		}, "config.yaml: spec.k8ssandra.medusa.storageProperties.bucketName is not set"},
		{"ini key names", func(c *Config) { c.Format, c.storagePath, c.Storage.BucketName = FormatMedusaINI, "[storage]", "" },
			"config.yaml: [storage] bucket_name is not set"},
		{"grpc defaults", func(c *Config) { c.GRPC = GRPC{} }, ""},
		{"grpc mtls", func(c *Config) { c.GRPC = GRPC{Port: 50052, CACert: "/ca", TLSCert: "/c", TLSKey: "/k"} }, ""},
		{"grpc tls without client certificates", func(c *Config) { c.GRPC = GRPC{TLSCert: "/c", TLSKey: "/k"} }, ""},
		{"grpc port", func(c *Config) { c.GRPC.Port = 70000 }, "config.yaml: grpc.port 70000 is out of range; use 1-65535, or leave it unset for the default (50051)"},
		{"grpc negative port", func(c *Config) { c.GRPC.Port = -1 }, "grpc.port -1 is out of range"},
		{"grpc send limit", func(c *Config) { c.GRPC.MaxSendMessageLength = -1 }, "grpc.maxSendMessageLength -1 is out of range"},
		{"grpc receive limit", func(c *Config) { c.GRPC.MaxReceiveMessageLength = 4 << 30 }, "grpc.maxReceiveMessageLength 4294967296 is out of range"},
		{"grpc cert without key", func(c *Config) { c.GRPC.TLSCert = "/c" },
			"only one of grpc.tlsCert and grpc.tlsKey is set; TLS needs both"},
		{"grpc key without cert", func(c *Config) { c.GRPC.TLSKey = "/k" }, "only one of grpc.tlsCert and grpc.tlsKey is set"},
		{"grpc ca alone", func(c *Config) { c.GRPC.CACert = "/ca" },
			"grpc.caCert is set without grpc.tlsCert and grpc.tlsKey; mutual TLS needs all three"},
		{"ini key names grpc", func(c *Config) { c.Format, c.GRPC.TLSCert = FormatMedusaINI, "/c" },
			"only one of [grpc] tls_cert and [grpc] tls_key is set"},
		{"ini key names cassandra", func(c *Config) {
			c.Format, c.Cassandra.Nodetool.Password, c.Cassandra.Nodetool.PasswordFile = FormatMedusaINI, "pw", "/f"
		}, "both [cassandra] nodetool_password and [cassandra] nodetool_password_file_path are set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := validBase()
			tc.change(c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v\nwant it to contain %q", err, tc.want)
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Key == "" || !errors.Is(err, ErrInvalid) {
				t.Errorf("error %#v is not a keyed *Error matching ErrInvalid", err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestGRPCDefaults(t *testing.T) {
	var g GRPC
	if g.ListenPort() != 50051 || g.SendLimit() != 512<<20 || g.ReceiveLimit() != 128<<20 || g.TLS() || g.MutualTLS() {
		t.Errorf("defaults: port %d send %d receive %d tls %v mtls %v", g.ListenPort(), g.SendLimit(), g.ReceiveLimit(), g.TLS(), g.MutualTLS())
	}
	g = GRPC{Port: 9090, MaxSendMessageLength: 1 << 20, MaxReceiveMessageLength: 2 << 20, TLSCert: "/c", TLSKey: "/k"}
	if g.ListenPort() != 9090 || g.SendLimit() != 1<<20 || g.ReceiveLimit() != 2<<20 || !g.TLS() || g.MutualTLS() {
		t.Errorf("set values: %+v", g)
	}
	g.CACert = "/ca"
	if !g.MutualTLS() {
		t.Error("caCert + tlsCert + tlsKey is not mutual TLS")
	}
}

func TestDefaults(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	d := Default()
	if want := filepath.Join(mustUserCache(t), "cassette"); d.CacheDir != want {
		t.Errorf("cacheDir %q, want %q", d.CacheDir, want)
	}
	if d.Cassandra.Snapshot != SnapshotNodetool || d.Cassandra.Nodetool.Executable != "nodetool" ||
		d.Storage.BackupGracePeriodInDays != 10 || d.Storage.ConcurrentTransfers != 0 || d.Storage.Transfers() != DefaultConcurrentTransfers {
		t.Errorf("defaults %+v", d)
	}
	c := &Config{CacheDir: "/c", Cassandra: Cassandra{Snapshot: "none", Nodetool: Nodetool{Executable: "/nt"}},
		Storage: providers.StorageProperties{BackupGracePeriodInDays: 3, ConcurrentTransfers: 2}}
	c.ApplyDefaults()
	if c.CacheDir != "/c" || c.Cassandra.Snapshot != "none" || c.Cassandra.Nodetool.Executable != "/nt" ||
		c.Storage.BackupGracePeriodInDays != 3 || c.Storage.ConcurrentTransfers != 2 {
		t.Errorf("ApplyDefaults overrode set values: %+v", c)
	}
	if err := Default().Validate(); err == nil || !strings.Contains(err.Error(), "storageProvider is not set") {
		t.Errorf("Default().Validate() = %v", err)
	}
}

func mustUserCache(t *testing.T) string {
	t.Helper()
	d, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestWarnings(t *testing.T) {
	c := validBase()
	c.Storage.StorageProvider, c.Storage.Host, c.Storage.Secure = "s3_compatible", "minio.example.com", ptr(false)
	c.Notes = []string{"a note"}
	w := strings.Join(c.Warnings(), "\n")
	if !strings.Contains(w, "a note") || !strings.Contains(w, "config.yaml: storageProperties.secure is false: traffic to minio.example.com") {
		t.Errorf("warnings %q", w)
	}
	for _, h := range []string{"127.0.0.1", "localhost", "[::1]", "::1"} {
		c.Storage.Host = h
		if w := c.Warnings(); len(w) != 1 {
			t.Errorf("host %s: warnings %q", h, w)
		}
	}
	c.Storage.Secure, c.Storage.SSLVerify, c.Format = nil, ptr(false), FormatMedusaINI
	if w := strings.Join(c.Warnings(), "\n"); !strings.Contains(w, "[storage] ssl_verify is false") {
		t.Errorf("warnings %q", w)
	}
}

func TestResolve(t *testing.T) {
	file := writeFile(t, "c.yaml", "storageProvider: mem\n")
	other := writeFile(t, "d.yaml", "storageProvider: mem\n")
	missing := filepath.Join(t.TempDir(), "missing.yaml")

	t.Setenv(EnvConfig, "")
	if p, err := Resolve(""); p != "" || err != nil {
		t.Errorf("Resolve(\"\") = %q, %v", p, err)
	}
	if p, err := Resolve(file); p != file || err != nil {
		t.Errorf("flag: %q, %v", p, err)
	}
	t.Setenv(EnvConfig, other)
	if p, err := Resolve(""); p != other || err != nil {
		t.Errorf("env: %q, %v", p, err)
	}
	if p, err := Resolve(file); p != file || err != nil {
		t.Errorf("flag over env: %q, %v", p, err)
	}
	t.Setenv(EnvConfig, missing)
	if _, err := Resolve(""); err == nil || !strings.Contains(err.Error(), "CASSETTE_CONFIG names "+missing) {
		t.Errorf("missing env file: %v", err)
	}
	if _, err := Resolve(missing); err == nil || !strings.Contains(err.Error(), "--config names") {
		t.Errorf("missing flag file: %v", err)
	}
	if _, err := Resolve(t.TempDir()); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
}
