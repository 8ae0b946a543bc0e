package config

import (
	"fmt"
	"slices"
	"strings"
)

// S3 multipart limits: every part but the last is at least 5 MiB, and
// at most 5 GiB.
const (
	minPartSize = 5 << 20
	maxPartSize = 5 << 30
)

// providerAliases map names people try to the storageProvider to suggest.
var providerAliases = map[string]string{
	"gcs":        "google_storage",
	"gcp":        "google_storage",
	"google":     "google_storage",
	"azure":      "azure_blobs",
	"azure_blob": "azure_blobs",
	"minio":      "s3_compatible",
	"ceph":       "s3_rgw",
	"rgw":        "s3_rgw",
	"file":       "local",
	"filesystem": "local",
	"aws":        "s3",
	"memory":     "mem",
}

// s3Kinds are the providers served by the S3 backend.
var s3Kinds = map[string]bool{"s3": true, "s3_compatible": true, "s3_rgw": true}

// Validate checks the values (not the files they name: providers open
// those and report on them). It returns the first problem as a one-line
// *Error naming the file and the key in the file's own spelling, and what
// to do; it matches ErrInvalid. Call it after ApplyDefaults.
func (c *Config) Validate() error {
	for _, check := range []func() error{c.validateStorage, c.validateLimits, c.validateCassandra, c.validateGRPC} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// fail builds a Validate error about a storage or cassandra key.
func (c *Config) fail(key, format string, args ...any) error {
	return errorf(c.Source, 0, key, format, args...)
}

// storageKey names a storage key as Source spells it.
func (c *Config) storageKey(name string) string {
	path := "storageProperties." + name
	if c.Format == FormatMedusaINI {
		if n := iniName(path); n != "" {
			return n
		}
	}
	if c.storagePath != "" && c.storagePath != "[storage]" {
		return c.storagePath + "." + name
	}
	return path
}

// cassandraKey names a cassandra key as Source spells it.
func (c *Config) cassandraKey(name string) string {
	path := "cassandra." + name
	if c.Format == FormatMedusaINI {
		if n := iniName(path); n != "" {
			return n
		}
	}
	return path
}

// validateStorage checks the provider and what it requires.
func (c *Config) validateStorage() error {
	sp := c.Storage
	provider := normalizeProvider(sp.StorageProvider)
	known := StorageProviders()
	key := c.storageKey("storageProvider")
	switch {
	case provider == "":
		return c.fail(key, "%s is not set; set it to one of %s", key, strings.Join(known, ", "))
	case !slices.Contains(known, provider):
		return c.fail(key, "%s %q is not a storage provider cassette knows%s; use one of %s",
			key, sp.StorageProvider, didYouMean(provider, known, providerAliases), strings.Join(known, ", "))
	}
	if provider != "mem" && strings.TrimSpace(sp.BucketName) == "" {
		k := c.storageKey("bucketName")
		what := "bucket"
		switch provider {
		case "azure_blobs":
			what = "container"
		case "local":
			what = "folder under basePath"
		}
		return c.fail(k, "%s is not set; set it to the %s that holds the backups (required for storageProvider %s)", k, what, provider)
	}
	if provider == "local" && strings.TrimSpace(sp.BasePath) == "" {
		k := c.storageKey("basePath")
		return c.fail(k, "%s is not set; storageProvider local needs the folder that holds its buckets", k)
	}
	if (provider == "s3_compatible" || provider == "s3_rgw") && strings.TrimSpace(sp.Host) == "" {
		k := c.storageKey("host")
		return c.fail(k, "%s is not set; storageProvider %s needs the server's host name (and port, secure)", k, provider)
	}
	if sp.Port < 0 || sp.Port > 65535 {
		k := c.storageKey("port")
		return c.fail(k, "%s %d is out of range; use 1-65535, or leave it unset for the default", k, sp.Port)
	}
	if sp.KMSID != "" && sp.SSECKey != "" {
		return c.fail(c.storageKey("kmsId"), "both %s and %s are set; S3 takes one kind of server-side encryption, keep one",
			c.storageKey("kmsId"), c.storageKey("sseCKey"))
	}
	switch sp.RequestChecksum {
	case "", "when_supported", "when_required":
	default:
		k := c.storageKey("requestChecksum")
		return c.fail(k, "%s %q is not when_supported or when_required", k, sp.RequestChecksum)
	}
	if c.StorageSecretRef != "" && sp.CredentialsFile == "" && c.CredentialsType != "role-based" && provider != "local" && provider != "mem" {
		k := c.storageKey("credentialsFile")
		return c.fail(k, "storageSecretRef %s is mounted at %s in the pod; set credentialsFile to a file holding that secret's credentials key",
			c.StorageSecretRef, SecretMountPath)
	}
	return nil
}

// validateLimits rejects negative counts and sizes.
func (c *Config) validateLimits() error {
	sp := c.Storage
	for _, f := range []struct {
		name string
		v    int64
		what string
	}{
		{"concurrentTransfers", int64(sp.ConcurrentTransfers), "0 for the default (4)"},
		{"maxBackupAge", int64(sp.MaxBackupAge), "days; 0 turns age-based purge off"},
		{"maxBackupCount", int64(sp.MaxBackupCount), "0 keeps every backup"},
		{"backupGracePeriodInDays", int64(sp.BackupGracePeriodInDays), "days"},
		{"multipartPartSize", sp.MultipartPartSize, "0 for the backend's default"},
		{"listPageSize", int64(sp.ListPageSize), "0 for the backend's default"},
	} {
		if f.v < 0 {
			k := c.storageKey(f.name)
			return c.fail(k, "%s is %d; it cannot be negative (%s)", k, f.v, f.what)
		}
	}
	if ps := sp.MultipartPartSize; ps != 0 && s3Kinds[normalizeProvider(sp.StorageProvider)] && (ps < minPartSize || ps > maxPartSize) {
		k := c.storageKey("multipartPartSize")
		return c.fail(k, "%s %d is outside S3's part size limits; use 5MiB to 5GiB, or 0 for the default", k, ps)
	}
	return nil
}

// validateCassandra checks the cassandra section.
func (c *Config) validateCassandra() error {
	cs := c.Cassandra
	switch cs.Snapshot {
	case "", SnapshotNodetool, SnapshotHardlink, SnapshotNone:
	default:
		k := c.cassandraKey("snapshot")
		modes := []string{SnapshotNodetool, SnapshotHardlink, SnapshotNone}
		return c.fail(k, "%s %q is not a snapshot mode%s; use nodetool, hardlink or none", k, cs.Snapshot, didYouMean(cs.Snapshot, modes, nil))
	}
	if p := cs.Nodetool.Port; p < 0 || p > 65535 {
		k := c.cassandraKey("nodetool.port")
		return c.fail(k, "%s %d is out of range; use 1-65535, or leave it unset for nodetool's default (7199)", k, p)
	}
	if cs.Nodetool.Password != "" && cs.Nodetool.PasswordFile != "" {
		return c.fail(c.cassandraKey("nodetool.password"), "both %s and %s are set; keep one (the file is safer)",
			c.cassandraKey("nodetool.password"), c.cassandraKey("nodetool.passwordFile"))
	}
	if cs.CQLPassword != "" && cs.CQLPasswordFile != "" {
		return c.fail(c.cassandraKey("cqlPassword"), "both %s and %s are set; keep one (the file is safer)",
			c.cassandraKey("cqlPassword"), c.cassandraKey("cqlPasswordFile"))
	}
	for _, l := range []struct {
		name string
		v    []string
	}{{"dataDirs", cs.DataDirs}, {"keyspaces", cs.Keyspaces}, {"excludeKeyspaces", cs.ExcludeKeyspaces}} {
		for i, s := range l.v {
			if strings.TrimSpace(s) == "" {
				k := c.cassandraKey(l.name)
				return c.fail(k, "%s entry %d is empty; remove it", k, i+1)
			}
		}
	}
	for _, ks := range cs.Keyspaces {
		if slices.Contains(cs.ExcludeKeyspaces, ks) {
			k := c.cassandraKey("excludeKeyspaces")
			return c.fail(k, "keyspace %q is both in %s and in %s; remove it from one", ks, c.cassandraKey("keyspaces"), k)
		}
	}
	return nil
}

// grpcKey names a grpc key as Source spells it.
func (c *Config) grpcKey(name string) string {
	path := "grpc." + name
	if c.Format == FormatMedusaINI {
		if n := iniName(path); n != "" {
			return n
		}
	}
	return path
}

// maxMessageLength bounds the gRPC message limits: protobuf messages are
// smaller than 2 GiB.
const maxMessageLength = 1<<31 - 1

// validateGRPC checks the grpc section (`cassette serve`).
func (c *Config) validateGRPC() error {
	g := c.GRPC
	if g.Port < 0 || g.Port > 65535 {
		k := c.grpcKey("port")
		return c.fail(k, "%s %d is out of range; use 1-65535, or leave it unset for the default (%d)", k, g.Port, DefaultGRPCPort)
	}
	for _, l := range []struct {
		name string
		v    int64
		def  int
	}{{"maxSendMessageLength", g.MaxSendMessageLength, DefaultGRPCMaxSendLength}, {"maxReceiveMessageLength", g.MaxReceiveMessageLength, DefaultGRPCMaxReceiveLength}} {
		if l.v < 0 || l.v > maxMessageLength {
			k := c.grpcKey(l.name)
			return c.fail(k, "%s %d is out of range; use 1 byte to 2GiB-1, or leave it unset for the default (%d MiB)", k, l.v, l.def>>20)
		}
	}
	cert, key, ca := c.grpcKey("tlsCert"), c.grpcKey("tlsKey"), c.grpcKey("caCert")
	switch {
	case (g.TLSCert == "") != (g.TLSKey == ""):
		return c.fail(cert, "only one of %s and %s is set; TLS needs both the certificate and its key (or neither for plain text)", cert, key)
	case g.CACert != "" && g.TLSCert == "":
		return c.fail(ca, "%s is set without %s and %s; mutual TLS needs all three (or drop %s for plain text)", ca, cert, key, ca)
	}
	return nil
}

// String describes where the configuration came from, for logs.
func (c *Config) String() string {
	if c.Source == "" {
		return "configuration (no file)"
	}
	return fmt.Sprintf("%s (%s)", c.Source, c.Format)
}
