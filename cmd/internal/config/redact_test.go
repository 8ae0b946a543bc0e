package config

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/cassette-backup/cassette/providers"
)

func TestYAMLOutput(t *testing.T) {
	cfg, err := testLoader(t, "").load("testdata/medusa.ini")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Storage.SSECKey = "sse-c-secret-key-0123456789abcdef"
	cfg.ApplyDefaults()
	out, err := cfg.YAML()
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, secret := range []string{"s3cr3t-nodetool-pw", "s3cr3t-cql-pw", "sse-c-secret-key"} {
		if strings.Contains(s, secret) {
			t.Errorf("YAML output contains secret %q:\n%s", secret, s)
		}
	}
	for _, want := range []string{
		"storageProperties:\n", "  storageProvider: s3_compatible\n", "  sseCKey: '[redacted]'\n",
		"cassandra:\n", "    password: '[redacted]'\n", "  cqlPassword: '[redacted]'\n", "cacheDir: ",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("YAML output lacks %q:\n%s", want, s)
		}
	}

	// Unset secrets are not shown as [redacted].
	empty, err := Default().YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(empty), "redacted") {
		t.Errorf("unset secrets shown as redacted:\n%s", empty)
	}

	// The output loads back; the redacted placeholders are refused by name.
	p := filepath.Join(t.TempDir(), "shown.yaml")
	if err := os.WriteFile(p, out, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := testLoader(t, "").load(p); err == nil || !strings.Contains(err.Error(), "storageProperties.sseCKey is \"[redacted]\"") {
		t.Errorf("reloading redacted output: %v", err)
	}
}

// genSecret draws a secret value distinctive enough that finding it in
// output means it leaked.
func genSecret(t *rapid.T, label string) providers.Secret {
	return providers.Secret("S3CR3T" + rapid.StringMatching(`[A-Za-z0-9+/=_-]{8,24}`).Draw(t, label))
}

// TestSecretsNeverLeak fills every secret field with a random value and
// checks every way a configuration is shown: YAML, %v/%+v/%#v, slog,
// warnings and Validate errors (made to fail on each secret-bearing key).
func TestSecretsNeverLeak(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := validBase()
		c.Storage.SSECKey = genSecret(t, "sse")
		c.Cassandra.Nodetool.Password = genSecret(t, "nodetool")
		c.Cassandra.CQLPassword = genSecret(t, "cql")
		secrets := []string{c.Storage.SSECKey.Reveal(), c.Cassandra.Nodetool.Password.Reveal(), c.Cassandra.CQLPassword.Reveal()}

		// Make Validate fail on a key next to a secret.
		switch rapid.IntRange(0, 3).Draw(t, "failure") {
		case 0:
			c.Storage.KMSID = "kms"
		case 1:
			c.Cassandra.Nodetool.PasswordFile = "/f"
		case 2:
			c.Cassandra.CQLPasswordFile = "/f"
		}
		if rapid.Bool().Draw(t, "ini") {
			c.Format = FormatMedusaINI
		}
		out, err := c.YAML()
		if err != nil {
			t.Fatal(err)
		}
		var logBuf strings.Builder
		slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("cfg", "storage", c.Storage, "cassandra", c.Cassandra, "config", c)
		shown := []string{
			string(out), fmt.Sprintf("%v %+v %#v", c, *c, *c), fmt.Sprint(c.Storage, c.Cassandra),
			logBuf.String(), strings.Join(c.Warnings(), "\n"),
		}
		if err := c.Validate(); err != nil {
			shown = append(shown, err.Error(), fmt.Sprintf("%+v %#v", err, err))
		}
		for _, s := range shown {
			for _, secret := range secrets {
				if strings.Contains(s, secret) {
					t.Fatalf("secret leaked into %q", s)
				}
			}
		}
	})
}

func TestINISecretsNeverInErrors(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		secret := string(genSecret(t, "pw"))
		key := rapid.SampledFrom([]string{"nodetool_password", "cql_password", "sse_c_key"}).Draw(t, "key")
		section := "cassandra"
		if key == "sse_c_key" {
			section = "storage"
		}
		// A broken file around the secret: each error must still not quote it.
		broken := rapid.SampledFrom([]string{"port = x\n", "secure = maybe\n", "nodetool_port = z\n", "garbage line\n", key + " = again\n"}).Draw(t, "broken")
		in := fmt.Sprintf("[storage]\nstorage_provider = s3\n[%s]\n%s = %s\n%s", section, key, secret, broken)
		if section == "storage" {
			in = fmt.Sprintf("[storage]\n%s = %s\n%s", key, secret, broken)
		}
		cfg, err := (&loader{readFile: noFiles, exists: func(string) bool { return false }}).parse("m.ini", []byte(in))
		if err == nil {
			err = cfg.Validate()
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Fatalf("error quotes the secret: %v", err)
		}
		if cfg != nil {
			for _, n := range cfg.Notes {
				if strings.Contains(n, secret) {
					t.Fatalf("note quotes the secret: %s", n)
				}
			}
		}
	})
}

// genConfig draws a configuration whose every value survives YAML and Load
// unchanged: absolute clean paths, a lower-case provider, no secrets (they
// print redacted).
func genConfig(t *rapid.T) *Config {
	word := rapid.StringMatching(`[a-zA-Z0-9._-]{1,12}`)
	text := rapid.String()
	path := rapid.Custom(func(t *rapid.T) string {
		return "/" + strings.Join(rapid.SliceOfN(word.Filter(func(s string) bool { return s != "." && s != ".." }), 1, 3).Draw(t, "p"), "/")
	})
	optPath := rapid.OneOf(rapid.Just(""), path)
	optBool := rapid.OneOf(rapid.Just[*bool](nil), rapid.Map(rapid.Bool(), func(b bool) *bool { return &b }))
	nat := rapid.IntRange(0, 1<<20)
	strs := rapid.SliceOfN(word, 0, 3)
	dirs := rapid.SliceOfN(path, 0, 3)
	nilIfEmpty := func(s []string) []string {
		if len(s) == 0 {
			return nil
		}
		return s
	}
	return &Config{
		Storage: providers.StorageProperties{
			StorageProvider: rapid.SampledFrom(StorageProviders()).Draw(t, "provider"),
			BucketName:      text.Draw(t, "bucket"), Prefix: text.Draw(t, "prefix"), Host: text.Draw(t, "host"),
			Port: nat.Draw(t, "port"), Secure: optBool.Draw(t, "secure"), SSLVerify: optBool.Draw(t, "sslVerify"),
			CABundle: optPath.Draw(t, "ca"), Region: text.Draw(t, "region"), CredentialsFile: optPath.Draw(t, "creds"),
			ConcurrentTransfers: nat.Draw(t, "ct"), MultipartPartSize: int64(nat.Draw(t, "mps")), ListPageSize: nat.Draw(t, "lps"),
			StorageClass: text.Draw(t, "class"), KMSID: text.Draw(t, "kms"), RequestChecksum: text.Draw(t, "rc"),
			BasePath: optPath.Draw(t, "base"), MaxBackupAge: nat.Draw(t, "age"), MaxBackupCount: nat.Draw(t, "count"),
			BackupGracePeriodInDays: nat.Draw(t, "grace"),
		},
		Cassandra: Cassandra{
			DataDirs: nilIfEmpty(dirs.Draw(t, "dirs")), Snapshot: text.Draw(t, "snapshot"),
			Nodetool: Nodetool{Executable: optPath.Draw(t, "exe"), Host: text.Draw(t, "nthost"), Port: nat.Draw(t, "ntport"),
				Username: text.Draw(t, "ntuser"), PasswordFile: optPath.Draw(t, "ntpwf")},
			Node: text.Draw(t, "node"), Datacenter: text.Draw(t, "dc"), Rack: text.Draw(t, "rack"), TokensFile: optPath.Draw(t, "tokens"),
			Keyspaces: nilIfEmpty(strs.Draw(t, "ks")), ExcludeKeyspaces: nilIfEmpty(strs.Draw(t, "xks")),
			CQLUsername: text.Draw(t, "cqluser"), CQLPasswordFile: optPath.Draw(t, "cqlpwf"),
		},
		CacheDir: optPath.Draw(t, "cache"),
		GRPC: GRPC{Port: nat.Draw(t, "grpcport"), CACert: optPath.Draw(t, "grpcca"), TLSCert: optPath.Draw(t, "grpccert"), TLSKey: optPath.Draw(t, "grpckey"),
			MaxSendMessageLength: int64(nat.Draw(t, "grpcsend")), MaxReceiveMessageLength: int64(nat.Draw(t, "grpcrecv"))},
	}
}

// TestYAMLRoundTrip: what `config show` prints loads back to the same
// configuration.
func TestYAMLRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := genConfig(t)
		out, err := c.YAML()
		if err != nil {
			t.Fatal(err)
		}
		l := &loader{readFile: noFiles, exists: func(string) bool { return false }}
		got, err := l.parse("/shown.yaml", out)
		if err != nil {
			t.Fatalf("reload: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(got.Storage, c.Storage) || !reflect.DeepEqual(got.Cassandra, c.Cassandra) || got.CacheDir != c.CacheDir || got.GRPC != c.GRPC {
			t.Fatalf("round trip changed the configuration\n got %#v\nwant %#v\n%s", got, c, out)
		}
	})
}
