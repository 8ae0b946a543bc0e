package config

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cassette-backup/cassette/cmd/internal/fileerr"
	"github.com/cassette-backup/cassette/providers"
)

// EnvConfig names the environment variable that gives the configuration
// file when --config is absent.
const EnvConfig = "CASSETTE_CONFIG"

// SecretMountPath is where the Kubernetes operator mounts the
// storageSecretRef secret's credentials key in the Medusa container. A
// manifest that names a storageSecretRef and no credentialsFile uses this
// file when it exists.
const SecretMountPath = "/etc/medusa-secrets/credentials"

// Snapshot modes (Cassandra.Snapshot).
const (
	SnapshotNodetool = "nodetool" // nodetool snapshot / clearsnapshot (default)
	SnapshotHardlink = "hardlink" // cassette hard-links the SSTables itself
	SnapshotNone     = "none"     // read the data directories as they are
)

// Defaults applied by ApplyDefaults, and the ones providers apply.
const (
	DefaultNodetool                = "nodetool"
	DefaultBackupGracePeriodInDays = 10
	// DefaultConcurrentTransfers is what providers.StorageProperties.Transfers
	// returns for an unset concurrentTransfers; ApplyDefaults leaves the field
	// at 0 so that "unset" stays visible.
	DefaultConcurrentTransfers = 4
)

// Format is the shape a configuration file was written in.
type Format string

// The accepted formats.
const (
	FormatCassette  Format = "cassette"   // cassette YAML
	FormatManifest  Format = "manifest"   // Kubernetes manifest
	FormatMedusaINI Format = "medusa.ini" // Medusa's INI file
)

// Config is cassette's whole configuration.
type Config struct {
	// Storage is the storage section, named as Mission Control's
	// storageProperties.
	Storage providers.StorageProperties `yaml:"storageProperties"`
	// Cassandra describes the local node: data directories, snapshots,
	// nodetool, identity and keyspace filters.
	Cassandra Cassandra `yaml:"cassandra"`
	// CacheDir holds local caches (the index cache); default
	// os.UserCacheDir()/cassette.
	CacheDir string `yaml:"cacheDir"`
	// GRPC configures `cassette serve`, the Medusa-compatible gRPC
	// service (medusa.ini's [grpc] section).
	GRPC GRPC `yaml:"grpc"`

	// Source is the file the configuration came from, for messages; "" when
	// it came from defaults and flags only.
	Source string `yaml:"-"`
	// Format is the shape Source was written in.
	Format Format `yaml:"-"`
	// StorageSecretRef is the Kubernetes secret a manifest's
	// storageSecretRef names. It cannot be read from a file: in the pod it
	// is mounted at SecretMountPath, elsewhere credentialsFile must name a
	// copy of its credentials key. Validate says so when credentialsFile is
	// empty.
	StorageSecretRef string `yaml:"-"`
	// CredentialsType is k8ssandra's credentialsType: "role-based" means
	// no credentials file (the SDK's default chain: environment, instance
	// role), "credential-based" or "" mean the storageSecretRef file.
	CredentialsType string `yaml:"-"`
	// Notes are non-fatal remarks made while loading (ignored or unknown
	// medusa.ini keys, a missing cassandra.yaml); the command prints them
	// as warnings. Warnings adds the ones that depend on final values.
	Notes []string `yaml:"-"`

	// storagePath is the storage section's name in Source, for messages:
	// "storageProperties", "spec.k8ssandra.medusa.storageProperties"...
	storagePath string
}

// Cassandra is the cassandra: section: how to find and snapshot the local
// node's data and how the node is known.
type Cassandra struct {
	// DataDirs are Cassandra's data_file_directories.
	DataDirs []string `yaml:"dataDirs"`
	// Snapshot is nodetool (default), hardlink or none.
	Snapshot string `yaml:"snapshot"`
	// Nodetool says how to run nodetool.
	Nodetool Nodetool `yaml:"nodetool"`
	// Node, Datacenter and Rack identify the node (Node defaults to
	// POD_NAME, else the hostname; the command decides).
	Node       string `yaml:"node"`
	Datacenter string `yaml:"datacenter"`
	Rack       string `yaml:"rack"`
	// TokensFile holds the node's tokens when nodetool cannot give them.
	TokensFile string `yaml:"tokensFile"`
	// Keyspaces limits backups to these keyspaces (all when empty);
	// ExcludeKeyspaces removes keyspaces from the set.
	Keyspaces        []string `yaml:"keyspaces"`
	ExcludeKeyspaces []string `yaml:"excludeKeyspaces"`
	// CQLUsername, CQLPassword and CQLPasswordFile authenticate cqlsh
	// (schema capture); from medusa.ini's cql_username / cql_password.
	CQLUsername     string           `yaml:"cqlUsername"`
	CQLPasswordFile string           `yaml:"cqlPasswordFile"`
	CQLPassword     providers.Secret `yaml:"cqlPassword,omitempty"`
}

// Nodetool says how to run nodetool (Medusa's nodetool_* keys).
type Nodetool struct {
	// Executable is the nodetool command; default "nodetool" on PATH.
	Executable string `yaml:"executable"`
	// Host and Port are JMX's; empty and 0 keep nodetool's defaults.
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// Username, PasswordFile and Password authenticate JMX. Password is a
	// literal (medusa.ini's nodetool_password); prefer PasswordFile.
	Username     string           `yaml:"username"`
	PasswordFile string           `yaml:"passwordFile"`
	Password     providers.Secret `yaml:"password,omitempty"`
}

// GRPC is the grpc: section: where and how `cassette serve` listens. Zero
// values mean the defaults (ListenPort, SendLimit, ReceiveLimit apply them),
// so that `config show` tells unset from set.
type GRPC struct {
	// Port is the TCP port, on all interfaces; default 50051.
	Port int `yaml:"port"`
	// CACert, TLSCert and TLSKey are PEM files. TLSCert and TLSKey turn
	// TLS on; with CACert too, clients must present a certificate that CA
	// signed (mutual TLS), as Medusa does when all three are set.
	CACert  string `yaml:"caCert"`
	TLSCert string `yaml:"tlsCert"`
	TLSKey  string `yaml:"tlsKey"`
	// MaxSendMessageLength and MaxReceiveMessageLength bound one gRPC
	// message, in bytes; defaults 512 MiB and 128 MiB.
	MaxSendMessageLength    int64 `yaml:"maxSendMessageLength"`
	MaxReceiveMessageLength int64 `yaml:"maxReceiveMessageLength"`
	// Enabled is medusa.ini's [grpc] enabled. It only tells Medusa to run
	// as a gRPC service; `cassette serve` serves whatever it says, and
	// notes a false value.
	Enabled *bool `yaml:"-"`
}

// The grpc: defaults, Medusa's.
const (
	DefaultGRPCPort             = 50051
	DefaultGRPCMaxSendLength    = 512 << 20
	DefaultGRPCMaxReceiveLength = 128 << 20
)

// ListenPort is Port, or 50051 when unset.
func (g GRPC) ListenPort() int {
	if g.Port == 0 {
		return DefaultGRPCPort
	}
	return g.Port
}

// SendLimit is MaxSendMessageLength, or 512 MiB when unset.
func (g GRPC) SendLimit() int {
	if g.MaxSendMessageLength == 0 {
		return DefaultGRPCMaxSendLength
	}
	return int(g.MaxSendMessageLength)
}

// ReceiveLimit is MaxReceiveMessageLength, or 128 MiB when unset.
func (g GRPC) ReceiveLimit() int {
	if g.MaxReceiveMessageLength == 0 {
		return DefaultGRPCMaxReceiveLength
	}
	return int(g.MaxReceiveMessageLength)
}

// TLS reports whether the service uses TLS (tlsCert and tlsKey set).
func (g GRPC) TLS() bool { return g.TLSCert != "" && g.TLSKey != "" }

// MutualTLS reports whether clients must present a certificate signed by
// CACert (caCert, tlsCert and tlsKey all set).
func (g GRPC) MutualTLS() bool { return g.TLS() && g.CACert != "" }

// StorageProviders returns the storageProvider values cassette knows, mem
// (in-memory, for tests) included.
func StorageProviders() []string {
	return []string{"local", "s3", "s3_compatible", "s3_rgw", "google_storage", "azure_blobs", "mem"}
}

// Default returns a configuration with every default applied and no storage
// configured.
func Default() *Config {
	c := &Config{}
	c.ApplyDefaults()
	return c
}

// ApplyDefaults fills unset fields with their defaults:
//
//   - cacheDir: os.UserCacheDir()/cassette (os.TempDir()/cassette-cache
//     when the user has no cache directory);
//   - cassandra.snapshot: nodetool; cassandra.nodetool.executable: nodetool;
//   - storageProperties.backupGracePeriodInDays: 10 (0 counts as unset);
//   - storageProperties.storageProvider is lower-cased, and azure_blob
//     becomes azure_blobs, so that values from flags match too.
//
// concurrentTransfers stays 0 when unset: providers.StorageProperties
// .Transfers applies its default (4) where it is used, so `config show` can
// tell "unset" from an explicit 4.
func (c *Config) ApplyDefaults() {
	if c.CacheDir == "" {
		if dir, err := os.UserCacheDir(); err == nil && dir != "" {
			c.CacheDir = filepath.Join(dir, "cassette")
		} else {
			c.CacheDir = filepath.Join(os.TempDir(), "cassette-cache")
		}
	}
	if c.Cassandra.Snapshot == "" {
		c.Cassandra.Snapshot = SnapshotNodetool
	}
	if c.Cassandra.Nodetool.Executable == "" {
		c.Cassandra.Nodetool.Executable = DefaultNodetool
	}
	if c.Storage.BackupGracePeriodInDays == 0 {
		c.Storage.BackupGracePeriodInDays = DefaultBackupGracePeriodInDays
	}
	c.Storage.StorageProvider = normalizeProvider(c.Storage.StorageProvider)
}

// YAML renders the configuration as cassette YAML, for `cassette config
// show`. Secrets print as [redacted] when set and as "" when not; no secret
// value can appear. The output loads back with Load, except that redacted
// secrets must be filled in again.
func (c *Config) YAML() ([]byte, error) {
	doc, err := toNode(reflect.ValueOf(*c))
	if err != nil {
		return nil, fmt.Errorf("render configuration: %w", err)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("render configuration: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render configuration: %w", err)
	}
	return buf.Bytes(), nil
}

// note records a loading note, kept to one line.
func (c *Config) note(s string) { c.Notes = append(c.Notes, fileerr.OneLine(s)) }

// Warnings returns the loading notes plus remarks on final values that are
// allowed but probably unintended (plain HTTP to a remote host, TLS
// verification off). Call it after flags and defaults are applied.
func (c *Config) Warnings() []string {
	w := append([]string(nil), c.Notes...)
	sp := c.Storage
	if !sp.IsSecure() && sp.Host != "" && !isLoopback(sp.Host) {
		w = append(w, fileerr.OneLine(fmt.Sprintf("%s: %s is false: traffic to %s, credentials included, is not encrypted; set it to true unless this network is trusted",
			sourceName(c.Source), c.storageKey("secure"), sp.Host)))
	}
	if !sp.VerifyTLS() && sp.IsSecure() {
		w = append(w, fileerr.OneLine(fmt.Sprintf("%s: %s is false: TLS certificates are not verified; prefer caBundle with the server's CA",
			sourceName(c.Source), c.storageKey("sslVerify"))))
	}
	return w
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	h := strings.Trim(strings.TrimSpace(host), "[]")
	if strings.EqualFold(h, "localhost") || strings.HasSuffix(strings.ToLower(h), ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Resolve returns the configuration file to load: flagPath when set, else
// $CASSETTE_CONFIG, else "" (no file). A named file that does not exist is
// an error saying where the name came from.
func Resolve(flagPath string) (string, error) {
	path, from := flagPath, "--config"
	if path == "" {
		path, from = os.Getenv(EnvConfig), EnvConfig
	}
	if path == "" {
		return "", nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s names %s: %w; point it at a cassette YAML file, a manifest or a medusa.ini", from, path, err)
	}
	if st.IsDir() {
		return "", fmt.Errorf("%s names %s, which is a directory; point it at a configuration file", from, path)
	}
	return path, nil
}
