package config

import (
	"fmt"
	"strings"

	"github.com/cassette-backup/cassette/providers"
)

// iniSetter applies one medusa.ini value to a Config. Returned errors are
// short phrases ("is not a whole number"); the caller adds file, line and
// key. Setters of secrets never fail, so no message can quote a secret.
type iniSetter func(c *Config, v string) error

// iniKey maps one medusa.ini key to the cassette key it sets.
type iniKey struct {
	yaml   string // cassette YAML path, for messages and docs
	secret bool   // the value is a credential: never quoted
	set    iniSetter
}

func setString(f func(c *Config) *string) iniSetter {
	return func(c *Config, v string) error { *f(c) = v; return nil }
}

func setSecret(f func(c *Config) *providers.Secret) iniSetter {
	return func(c *Config, v string) error { *f(c) = providers.Secret(v); return nil }
}

func setInt(f func(c *Config) *int) iniSetter {
	return func(c *Config, v string) error {
		x, err := parseInt(v, false, 64)
		if err != nil {
			return err
		}
		*f(c) = int(x)
		return nil
	}
}

func setBool(f func(c *Config) **bool) iniSetter {
	return func(c *Config, v string) error {
		b, err := parseBool(v)
		if err != nil {
			return err
		}
		*f(c) = &b
		return nil
	}
}

// medusaStorageKeys maps medusa.ini [storage] keys.
var medusaStorageKeys = map[string]iniKey{
	"storage_provider":            {yaml: "storageProperties.storageProvider", set: setString(func(c *Config) *string { return &c.Storage.StorageProvider })},
	"bucket_name":                 {yaml: "storageProperties.bucketName", set: setString(func(c *Config) *string { return &c.Storage.BucketName })},
	"key_file":                    {yaml: "storageProperties.credentialsFile", set: setString(func(c *Config) *string { return &c.Storage.CredentialsFile })},
	"prefix":                      {yaml: "storageProperties.prefix", set: setString(func(c *Config) *string { return &c.Storage.Prefix })},
	"host":                        {yaml: "storageProperties.host", set: setString(func(c *Config) *string { return &c.Storage.Host })},
	"port":                        {yaml: "storageProperties.port", set: setInt(func(c *Config) *int { return &c.Storage.Port })},
	"secure":                      {yaml: "storageProperties.secure", set: setBool(func(c *Config) **bool { return &c.Storage.Secure })},
	"ssl_verify":                  {yaml: "storageProperties.sslVerify", set: setBool(func(c *Config) **bool { return &c.Storage.SSLVerify })},
	"region":                      {yaml: "storageProperties.region", set: setString(func(c *Config) *string { return &c.Storage.Region })},
	"concurrent_transfers":        {yaml: "storageProperties.concurrentTransfers", set: setInt(func(c *Config) *int { return &c.Storage.ConcurrentTransfers })},
	"max_backup_age":              {yaml: "storageProperties.maxBackupAge", set: setInt(func(c *Config) *int { return &c.Storage.MaxBackupAge })},
	"max_backup_count":            {yaml: "storageProperties.maxBackupCount", set: setInt(func(c *Config) *int { return &c.Storage.MaxBackupCount })},
	"backup_grace_period_in_days": {yaml: "storageProperties.backupGracePeriodInDays", set: setInt(func(c *Config) *int { return &c.Storage.BackupGracePeriodInDays })},
	"kms_id":                      {yaml: "storageProperties.kmsId", set: setString(func(c *Config) *string { return &c.Storage.KMSID })},
	"sse_c_key":                   {yaml: "storageProperties.sseCKey", secret: true, set: setSecret(func(c *Config) *providers.Secret { return &c.Storage.SSECKey })},
	"storage_class":               {yaml: "storageProperties.storageClass", set: setString(func(c *Config) *string { return &c.Storage.StorageClass })},
	"base_path":                   {yaml: "storageProperties.basePath", set: setString(func(c *Config) *string { return &c.Storage.BasePath })},
	"multipart_chunksize": {yaml: "storageProperties.multipartPartSize", set: func(c *Config, v string) error {
		x, err := parseInt(v, true, 64)
		c.Storage.MultipartPartSize = x
		return err
	}},
}

// medusaCassandraKeys maps medusa.ini [cassandra] keys. config_file is
// handled apart: it names cassandra.yaml, read for data_file_directories.
var medusaCassandraKeys = map[string]iniKey{
	"nodetool_executable":         {yaml: "cassandra.nodetool.executable", set: setString(func(c *Config) *string { return &c.Cassandra.Nodetool.Executable })},
	"nodetool_host":               {yaml: "cassandra.nodetool.host", set: setString(func(c *Config) *string { return &c.Cassandra.Nodetool.Host })},
	"nodetool_port":               {yaml: "cassandra.nodetool.port", set: setInt(func(c *Config) *int { return &c.Cassandra.Nodetool.Port })},
	"nodetool_username":           {yaml: "cassandra.nodetool.username", set: setString(func(c *Config) *string { return &c.Cassandra.Nodetool.Username })},
	"nodetool_password_file_path": {yaml: "cassandra.nodetool.passwordFile", set: setString(func(c *Config) *string { return &c.Cassandra.Nodetool.PasswordFile })},
	"nodetool_password":           {yaml: "cassandra.nodetool.password", secret: true, set: setSecret(func(c *Config) *providers.Secret { return &c.Cassandra.Nodetool.Password })},
	"cql_username":                {yaml: "cassandra.cqlUsername", set: setString(func(c *Config) *string { return &c.Cassandra.CQLUsername })},
	"cql_password":                {yaml: "cassandra.cqlPassword", secret: true, set: setSecret(func(c *Config) *providers.Secret { return &c.Cassandra.CQLPassword })},
}

func setInt64(f func(c *Config) *int64) iniSetter {
	return func(c *Config, v string) error {
		x, err := parseInt(v, true, 64)
		if err != nil {
			return err
		}
		*f(c) = x
		return nil
	}
}

// medusaGRPCKeys maps medusa.ini [grpc] keys (`cassette serve`).
var medusaGRPCKeys = map[string]iniKey{
	"enabled":                    {yaml: "grpc.enabled", set: setBool(func(c *Config) **bool { return &c.GRPC.Enabled })},
	"port":                       {yaml: "grpc.port", set: setInt(func(c *Config) *int { return &c.GRPC.Port })},
	"ca_cert":                    {yaml: "grpc.caCert", set: setString(func(c *Config) *string { return &c.GRPC.CACert })},
	"tls_cert":                   {yaml: "grpc.tlsCert", set: setString(func(c *Config) *string { return &c.GRPC.TLSCert })},
	"tls_key":                    {yaml: "grpc.tlsKey", set: setString(func(c *Config) *string { return &c.GRPC.TLSKey })},
	"max_send_message_length":    {yaml: "grpc.maxSendMessageLength", set: setInt64(func(c *Config) *int64 { return &c.GRPC.MaxSendMessageLength })},
	"max_receive_message_length": {yaml: "grpc.maxReceiveMessageLength", set: setInt64(func(c *Config) *int64 { return &c.GRPC.MaxReceiveMessageLength })},
}

// medusaIgnored are Medusa keys that configure Medusa's own machinery and
// have no cassette meaning. They are skipped silently, except where the
// value changes behaviour an operator relies on: then a note says so.
var medusaIgnored = map[string]map[string]string{
	"storage": {
		"fqdn":                        "",
		"host_file_separator":         "",
		"api_profile":                 "",
		"transfer_max_bandwidth":      "",
		"multi_part_upload_threshold": "",
		"aws_cli_path":                "",
		"use_sudo_for_restore":        "",
		"k8s_mode":                    "",
		"read_timeout":                "",
		"s3_addressing_style":         "",
	},
	"cassandra": {
		"start_cmd":                 "",
		"stop_cmd":                  "",
		"check_running":             "",
		"is_ccm":                    "",
		"sstableloader_bin":         "",
		"certfile":                  "",
		"usercert":                  "",
		"userkey":                   "",
		"sstableloader_ts":          "",
		"sstableloader_tspw":        "",
		"sstableloader_ks":          "",
		"sstableloader_kspw":        "",
		"resolve_ip_addresses":      "",
		"use_sudo":                  "",
		"nodetool_flags":            "",
		"nodetool_ssl":              "cassette does not pass --ssl to nodetool; if JMX needs TLS, set cassandra.nodetool.executable to a wrapper script that does",
		"cql_k8s_secrets_path":      "cassette does not read it; set cassandra.cqlUsername and cassandra.cqlPasswordFile",
		"nodetool_k8s_secrets_path": "cassette does not read it; set cassandra.nodetool.username and cassandra.nodetool.passwordFile",
	},
}

// parseMedusaINI maps a medusa.ini file onto a Config. Sections other than
// [storage], [cassandra] and [grpc] are Medusa's own and are skipped; unknown
// keys in those three become notes (a newer Medusa may add keys, and a file
// that Medusa accepts must load).
func (l *loader) parseMedusaINI(path string, data []byte) (*Config, error) {
	f, err := parseINI(path, data)
	if err != nil {
		return nil, err
	}
	if f.section("storage") == nil {
		return nil, errorf(path, 0, "[storage]", "no [storage] section; add one with storage_provider and bucket_name")
	}
	cfg := &Config{Source: path, Format: FormatMedusaINI, storagePath: "[storage]"}
	if err := applyINI(cfg, f, "storage", medusaStorageKeys, nil); err != nil {
		return nil, err
	}
	var configFile *iniEntry
	err = applyINI(cfg, f, "cassandra", medusaCassandraKeys, func(e *iniEntry) bool {
		if e.key == "config_file" {
			configFile = e
			return true
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	if configFile != nil && configFile.value != "" {
		if err := l.readCassandraYAML(cfg, configFile); err != nil {
			return nil, err
		}
	}
	// Like configparser, a section that is not there has no keys, not even
	// [DEFAULT]'s.
	if f.section("grpc") != nil {
		if err := applyINI(cfg, f, "grpc", medusaGRPCKeys, nil); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// maxUnknownNotes bounds the notes about unknown keys per section.
const maxUnknownNotes = 20

// applyINI applies a section's keys through table; special (may be nil)
// takes keys first.
func applyINI(cfg *Config, f *iniFile, section string, table map[string]iniKey, special func(*iniEntry) bool) error {
	ignored := medusaIgnored[section]
	own := f.section(section)
	unknown := 0
	defer func() {
		if unknown > maxUnknownNotes {
			cfg.note(fmt.Sprintf("%s: [%s] has %d more keys cassette does not know; ignored", cfg.Source, section, unknown-maxUnknownNotes))
		}
	}()
	for _, e := range f.keys(section) {
		// Keys inherited from [DEFAULT] reach every section, as in
		// configparser; only a section's own keys earn notes.
		inherited := own == nil || own.byKey[e.key] != e
		if special != nil && special(e) {
			continue
		}
		k, ok := table[e.key]
		switch {
		case ok:
			if e.value == "" {
				continue // "key =" means unset, as Medusa's defaults do
			}
			if err := k.set(cfg, e.value); err != nil {
				quoted := fmt.Sprintf(" %q", e.value)
				if k.secret {
					quoted = ""
				}
				return errorf(cfg.Source, e.line, "["+section+"] "+e.key, "[%s] %s =%s %v", section, e.key, quoted, err)
			}
		default:
			note, known := ignored[e.key]
			if inherited {
				continue
			}
			if known && note != "" && !isFalse(e.value) {
				cfg.note(fmt.Sprintf("%s:%d: [%s] %s is ignored: %s", cfg.Source, e.line, section, e.key, note))
			}
			if !known {
				unknown++
				if unknown > maxUnknownNotes {
					continue
				}
				names := make([]string, 0, len(table)+len(ignored))
				for n := range table {
					names = append(names, n)
				}
				for n := range ignored {
					names = append(names, n)
				}
				cfg.note(fmt.Sprintf("%s:%d: [%s] %s is not a key cassette knows; ignored%s",
					cfg.Source, e.line, section, e.key, didYouMean(e.key, names, nil)))
			}
		}
	}
	return nil
}

// isFalse reports whether v is empty or a false boolean.
func isFalse(v string) bool {
	if strings.TrimSpace(v) == "" {
		return true
	}
	b, err := parseBool(v)
	return err == nil && !b
}

// iniName returns the medusa.ini spelling ("[storage] bucket_name") of a
// cassette key path, or "" when medusa.ini has no such key.
func iniName(yamlPath string) string {
	for _, t := range []struct {
		section string
		keys    map[string]iniKey
	}{{"storage", medusaStorageKeys}, {"cassandra", medusaCassandraKeys}, {"grpc", medusaGRPCKeys}} {
		for name, k := range t.keys {
			if k.yaml == yamlPath {
				return "[" + t.section + "] " + name
			}
		}
	}
	if yamlPath == "cassandra.dataDirs" {
		return "[cassandra] config_file"
	}
	return ""
}
