package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cassette-backup/cassette/providers"
)

// testLoader is a loader that never looks at the machine's /etc: the secret
// mount is secretMount ("" for none) and the home directory is a temp dir.
func testLoader(t *testing.T, secretMount string) *loader {
	t.Helper()
	l := defaultLoader()
	l.secretMount = secretMount
	l.home = t.TempDir()
	return l
}

// writeFile writes content to name in a fresh temp dir and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func ptr[T any](v T) *T { return &v }

func TestLoadCassetteYAML(t *testing.T) {
	cfg, err := Load("testdata/cassette.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := providers.StorageProperties{
		StorageProvider:         "s3_compatible",
		BucketName:              "medusa-backups",
		Prefix:                  "demo",
		Host:                    "minio-service.minio.svc.cluster.local",
		Port:                    9000,
		Secure:                  ptr(false),
		CredentialsFile:         abs(t, "testdata/credentials"),
		ConcurrentTransfers:     8,
		MultipartPartSize:       64 << 20,
		MaxBackupAge:            30,
		MaxBackupCount:          14,
		BackupGracePeriodInDays: 7,
	}
	if !reflect.DeepEqual(cfg.Storage, want) {
		t.Errorf("storage:\n got %+v\nwant %+v", cfg.Storage, want)
	}
	wantC := Cassandra{
		DataDirs: []string{"/var/lib/cassandra/data", "/mnt/disk2/cassandra/data"},
		Snapshot: "nodetool",
		Nodetool: Nodetool{Executable: "/opt/cassandra/bin/nodetool", Host: "127.0.0.1", Port: 7199,
			Username: "cassandra", PasswordFile: "/etc/cassandra/jmx.password"},
		Node: "demo-dc1-default-sts-0", Datacenter: "dc1", Rack: "default",
		Keyspaces: []string{"shop", "users"}, ExcludeKeyspaces: []string{"users_archive"},
	}
	if !reflect.DeepEqual(cfg.Cassandra, wantC) {
		t.Errorf("cassandra:\n got %+v\nwant %+v", cfg.Cassandra, wantC)
	}
	if cfg.CacheDir != "/var/cache/cassette" || cfg.Format != FormatCassette || cfg.Source != "testdata/cassette.yaml" {
		t.Errorf("cacheDir %q format %q source %q", cfg.CacheDir, cfg.Format, cfg.Source)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestLoadCassetteTopLevelStorageKeys(t *testing.T) {
	p := writeFile(t, "config.yaml", "storageProvider: local\nbucketName: b\nbasePath: ./buckets\ncacheDir: ~/cache\n")
	l := testLoader(t, "")
	cfg, err := l.load(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Storage.StorageProvider != "local" || cfg.Storage.BucketName != "b" {
		t.Errorf("storage %+v", cfg.Storage)
	}
	if want := filepath.Join(filepath.Dir(p), "buckets"); cfg.Storage.BasePath != want {
		t.Errorf("basePath %q, want %q (relative to the config file)", cfg.Storage.BasePath, want)
	}
	if want := filepath.Join(l.home, "cache"); cfg.CacheDir != want {
		t.Errorf("cacheDir %q, want %q", cfg.CacheDir, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
}

func TestLoadStorageAlias(t *testing.T) {
	p := writeFile(t, "config.yaml", "storage:\n  storageProvider: mem\n")
	cfg, err := testLoader(t, "").load(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Storage.StorageProvider != "mem" {
		t.Errorf("provider %q", cfg.Storage.StorageProvider)
	}
}

// pageMedusaConfiguration is the CLI sample of the Mission Control page, which
// puts spec.k8ssandra.medusa.storageProperties inside a MedusaConfiguration.
const pageMedusaConfiguration = `apiVersion: medusa.k8ssandra.io/v1alpha1
kind: MedusaConfiguration
metadata:
  name: demo
spec:
  k8ssandra:
    medusa:
      storageProperties:
        storageProvider: azure_blobs
        bucketName: medusa-backups
        storageSecretRef:
          name: medusa-bucket-key
        region: default
        secure: "False"
        concurrentTransfers: 1
        host: "minio-service.minio.svc.cluster.local"
        port: 9000
        maxBackupAge: 0
        maxBackupCount: 0
    cassandra:
      serverVersion: 4.0.11
`

func TestLoadManifests(t *testing.T) {
	mount := writeFile(t, "credentials", "[default]\naws_access_key_id = a\naws_secret_access_key = b\n")
	cases := []struct {
		name, file  string
		mount       string
		wantStorage providers.StorageProperties
		wantRef     string
		wantPath    string
		wantErr     string // Validate error substring, "" for none
	}{
		{
			name: "MissionControlCluster after a Secret, pod mount present", file: "testdata/missioncontrolcluster.yaml", mount: mount,
			wantStorage: providers.StorageProperties{StorageProvider: "s3_compatible", BucketName: "medusa-backups",
				Host: "minio-service.minio.svc.cluster.local", Port: 9000, Secure: ptr(false), CredentialsFile: mount},
			wantRef: "medusa-bucket-key", wantPath: "spec.k8ssandra.medusa.storageProperties",
		},
		{
			name: "MissionControlCluster off the pod", file: "testdata/missioncontrolcluster.yaml",
			wantStorage: providers.StorageProperties{StorageProvider: "s3_compatible", BucketName: "medusa-backups",
				Host: "minio-service.minio.svc.cluster.local", Port: 9000, Secure: ptr(false)},
			wantRef: "medusa-bucket-key", wantPath: "spec.k8ssandra.medusa.storageProperties",
			wantErr: `missioncontrolcluster.yaml: storageSecretRef medusa-bucket-key is mounted at /etc/medusa-secrets/credentials in the pod; set credentialsFile`,
		},
		{
			name: "MedusaConfiguration with the page's spellings", file: "testdata/medusaconfiguration.yaml", mount: mount,
			wantStorage: providers.StorageProperties{StorageProvider: "azure_blobs", BucketName: "medusa-backups",
				Region: "default", Secure: ptr(false), ConcurrentTransfers: 1,
				Host: "minio-service.minio.svc.cluster.local", Port: 9000, CredentialsFile: mount},
			wantRef: "medusa-bucket-key", wantPath: "spec.storageProperties",
		},
		{
			name: "K8ssandraCluster with a plain-string secret ref", file: "testdata/k8ssandracluster.yaml", mount: mount,
			wantStorage: providers.StorageProperties{StorageProvider: "google_storage", BucketName: "k8ssandra-medusa",
				Prefix: "test", MaxBackupAge: 7, CredentialsFile: mount},
			wantRef: "medusa-bucket-key", wantPath: "spec.medusa.storageProperties",
		},
		{
			name: "MedusaConfiguration as the page prints it", file: writeFile(t, "mc.yaml", pageMedusaConfiguration),
			wantStorage: providers.StorageProperties{StorageProvider: "azure_blobs", BucketName: "medusa-backups",
				Region: "default", Secure: ptr(false), ConcurrentTransfers: 1,
				Host: "minio-service.minio.svc.cluster.local", Port: 9000},
			wantRef: "medusa-bucket-key", wantPath: "spec.k8ssandra.medusa.storageProperties",
			wantErr: "mc.yaml: storageSecretRef medusa-bucket-key is mounted at",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := testLoader(t, tc.mount).load(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Storage, tc.wantStorage) {
				t.Errorf("storage:\n got %+v\nwant %+v", cfg.Storage, tc.wantStorage)
			}
			if cfg.Format != FormatManifest || cfg.StorageSecretRef != tc.wantRef || cfg.storagePath != tc.wantPath {
				t.Errorf("format %q ref %q path %q", cfg.Format, cfg.StorageSecretRef, cfg.storagePath)
			}
			cfg.ApplyDefaults()
			err = cfg.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Validate = %v, want it to contain %q", err, tc.wantErr)
			case err != nil && !errors.Is(err, ErrInvalid):
				t.Errorf("Validate error %v does not match ErrInvalid", err)
			}
		})
	}
}

func TestManifestRoleBased(t *testing.T) {
	p := writeFile(t, "k.yaml", `kind: K8ssandraCluster
apiVersion: k8ssandra.io/v1alpha1
spec:
  medusa:
    storageProperties:
      storageProvider: s3
      credentialsType: role-based
      bucketName: b
      region: us-west-2
`)
	cfg, err := testLoader(t, "").load(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CredentialsType != "role-based" {
		t.Errorf("credentialsType %q", cfg.CredentialsType)
	}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
}

func TestLoadMedusaINI(t *testing.T) {
	cfg, err := testLoader(t, "").load("testdata/medusa.ini")
	if err != nil {
		t.Fatal(err)
	}
	want := providers.StorageProperties{
		StorageProvider:         "s3_compatible",
		BucketName:              "medusa-backups",
		CredentialsFile:         "/etc/medusa-secrets/credentials",
		Prefix:                  "demo",
		MaxBackupCount:          14,
		Region:                  "default",
		Secure:                  ptr(false),
		SSLVerify:               ptr(false),
		Host:                    "minio-service.minio.svc.cluster.local",
		Port:                    9000,
		ConcurrentTransfers:     4,
		BackupGracePeriodInDays: 10,
	}
	if !reflect.DeepEqual(cfg.Storage, want) {
		t.Errorf("storage:\n got %+v\nwant %+v", cfg.Storage, want)
	}
	wantC := Cassandra{
		DataDirs:    []string{"/var/lib/cassandra/data", "/mnt/disk2/cassandra/data"},
		Nodetool:    Nodetool{Host: "127.0.0.1", Port: 7199, Username: "medusa", Password: "s3cr3t-nodetool-pw"},
		CQLUsername: "medusa", CQLPassword: "s3cr3t-cql-pw",
	}
	if !reflect.DeepEqual(cfg.Cassandra, wantC) {
		t.Errorf("cassandra:\n got %+v\nwant %+v", cfg.Cassandra, wantC)
	}
	if cfg.Format != FormatMedusaINI || len(cfg.Notes) != 0 {
		t.Errorf("format %q notes %q", cfg.Format, cfg.Notes)
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
}

// medusaINIWithConfigFile names cassandra.yaml by absolute path, as real
// medusa.ini files do.
const medusaINIWithConfigFile = `[storage]
storage_provider = google_storage
bucket_name = backups
key_file = /etc/medusa-secrets/credentials
multipart_chunksize = 16MiB

[cassandra]
config_file = %s
nodetool_password_file_path = /etc/cassandra/jmxremote.password
`

func TestMedusaINIConfigFile(t *testing.T) {
	dir := t.TempDir()
	cy := filepath.Join(dir, "cassandra.yaml")
	for _, tc := range []struct {
		name      string
		cassandra string // "" = no file
		wantDirs  []string
		wantErr   string
		wantNote  string
	}{
		{name: "list", cassandra: "data_file_directories:\n  - /data1\n  - /data2\n", wantDirs: []string{"/data1", "/data2"}},
		{name: "missing file", wantNote: "config_file " + cy + " does not exist here; set cassandra.dataDirs"},
		{name: "no data_file_directories", cassandra: "cluster_name: x\n", wantNote: "sets no data_file_directories"},
		{name: "malformed", cassandra: "data_file_directories: [a\n", wantErr: "[cassandra] config_file " + cy + " is not valid YAML"},
		{name: "not a list", cassandra: "data_file_directories: {a: b}\n", wantErr: "data_file_directories must be a list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_ = os.Remove(cy)
			if tc.cassandra != "" {
				if err := os.WriteFile(cy, []byte(tc.cassandra), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			p := writeFile(t, "medusa.ini", strings.ReplaceAll(medusaINIWithConfigFile, "%s", cy))
			cfg, err := testLoader(t, "").load(p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Cassandra.DataDirs, tc.wantDirs) {
				t.Errorf("dataDirs %q, want %q", cfg.Cassandra.DataDirs, tc.wantDirs)
			}
			if got := strings.Join(cfg.Notes, "\n"); !strings.Contains(got, tc.wantNote) {
				t.Errorf("notes %q, want %q", got, tc.wantNote)
			}
			if cfg.Storage.MultipartPartSize != 16<<20 || cfg.Cassandra.Nodetool.PasswordFile != "/etc/cassandra/jmxremote.password" {
				t.Errorf("storage %+v nodetool %+v", cfg.Storage, cfg.Cassandra.Nodetool)
			}
		})
	}
}

func TestMedusaININotes(t *testing.T) {
	p := writeFile(t, "medusa.ini", "[storage]\nstorage_provider = s3\nbucket_nam = x\nfqdn = host1\n[cassandra]\nnodetool_ssl = true\n")
	cfg, err := testLoader(t, "").load(p)
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(cfg.Notes, "\n")
	for _, want := range []string{
		`medusa.ini:3: [storage] bucket_nam is not a key cassette knows; ignored (did you mean "bucket_name"?)`,
		`medusa.ini:6: [cassandra] nodetool_ssl is ignored`,
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
	if strings.Contains(notes, "fqdn") {
		t.Errorf("fqdn should be ignored silently: %q", notes)
	}
	err = cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "medusa.ini: [storage] bucket_name is not set") {
		t.Errorf("Validate = %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name, file, content, want string
	}{
		{"unknown storage key", "config.yaml", "storageProperties:\n  storageProvider: s3\n  bucket_name: b\n",
			`config.yaml:3: unknown storageProperties key "bucket_name" (did you mean "bucketName"?)`},
		{"medusa spelling in YAML", "config.yaml", "storageProperties:\n  key_file: /x\n",
			`unknown storageProperties key "key_file" (did you mean "credentialsFile"?)`},
		{"unknown top-level key", "config.yaml", "casandra:\n  snapshot: none\n",
			`config.yaml:1: unknown top-level key "casandra" (did you mean "cassandra"?)`},
		{"top-level storage typo", "config.yaml", "bucketname: b\n",
			`unknown top-level key "bucketname" (did you mean "bucketName"?)`},
		{"unknown nodetool key", "config.yaml", "cassandra:\n  nodetool:\n    passwordfile: /p\n",
			`config.yaml:3: unknown cassandra.nodetool key "passwordfile" (did you mean "passwordFile"?)`},
		{"no suggestion when far", "config.yaml", "storageProperties:\n  zzzzzzzz: 1\n",
			`unknown storageProperties key "zzzzzzzz"`},
		{"manifest unknown key", "mcc.yaml", "kind: MedusaConfiguration\napiVersion: v1\nspec:\n  storageProperties:\n    bucket: b\n",
			`mcc.yaml:5: unknown spec.storageProperties key "bucket" (did you mean "bucketName"?)`},
		{"bad port", "config.yaml", "storageProperties:\n  port: nine\n", `config.yaml:2: storageProperties.port: "nine" is not a whole number`},
		{"bad bool", "config.yaml", "storageProperties:\n  secure: maybe\n", `storageProperties.secure: "maybe" is not a boolean`},
		{"bad size", "config.yaml", "storageProperties:\n  multipartPartSize: lots\n", `"lots" is not a size`},
		{"map for scalar", "config.yaml", "cacheDir:\n  a: b\n", `config.yaml:2: cacheDir must be a single value, found a map`},
		{"scalar for map", "config.yaml", "cassandra: yes\n", `cassandra must be a map of keys`},
		{"duplicate key", "config.yaml", "storageProperties:\n  host: a\n  host: b\n", `config.yaml:3: storageProperties.host is set twice (first on line 2)`},
		{"both sections", "config.yaml", "storage: {}\nstorageProperties: {}\n", `both storage and storageProperties are set`},
		{"top and section", "config.yaml", "host: a\nstorageProperties:\n  host: b\n", `host is set both at the top level and under storageProperties`},
		{"redacted placeholder", "config.yaml", "storageProperties:\n  sseCKey: '[redacted]'\n", `the placeholder`},
		{"not yaml", "config.yaml", "a: [b\n", `config.yaml: not valid YAML`},
		{"list at top", "config.yaml", "- a\n- b\n", `expected a map of keys at the top`},
		{"empty", "config.yaml", "", `no storage configuration: the file is empty`},
		{"only a secret", "s.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n", `no storage configuration: found kind Secret`},
		{"cluster without medusa", "k.yaml", "apiVersion: v1\nkind: K8ssandraCluster\nspec: {}\n", `found K8ssandraCluster without storageProperties`},
		{"ini without storage", "medusa.ini", "[cassandra]\nconfig_file = /x\n", `medusa.ini: no [storage] section`},
		{"ini bad int", "medusa.ini", "[storage]\nport = 90a\n", `medusa.ini:2: [storage] port = "90a" is not a whole number`},
		{"ini bad bool", "medusa.ini", "[storage]\nsecure = sure\n", `[storage] secure = "sure" is not a boolean`},
		{"secret ref extra key", "m.yaml", "kind: MedusaConfiguration\napiVersion: v1\nspec:\n  storageProperties:\n    storageSecretRef: {nmae: x}\n",
			`unknown spec.storageProperties.storageSecretRef key "nmae" (did you mean "name"?)`},
		{"bad credentialsType", "m.yaml", "kind: MedusaConfiguration\napiVersion: v1\nspec:\n  storageProperties:\n    credentialsType: magic\n",
			`credentialsType must be role-based or credential-based`},
		{"merge key", "config.yaml", "storageProperties:\n  <<: {host: x}\n", `config.yaml:2: storageProperties uses a YAML merge key (<<)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.file, tc.content)
			_, err := testLoader(t, "").load(p)
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.file) {
				t.Errorf("err = %q\nwant it to contain %q and the file name", err, tc.want)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("error is not one line: %q", err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not match ErrInvalid")
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("err = %v", err)
	}
	_, err = Load(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("err = %v", err)
	}
}

func TestYAMLAliasesAndBinary(t *testing.T) {
	p := writeFile(t, "config.yaml", "x: &dirs [/a, /b]\n")
	if _, err := testLoader(t, "").load(p); err == nil {
		t.Fatal("unknown key x accepted")
	}
	p = writeFile(t, "config.yaml", "storageProperties: &sp\n  storageProvider: mem\n  prefix: !!binary cHJlZml4\ncassandra:\n  dataDirs: [&d /a, *d]\n")
	cfg, err := testLoader(t, "").load(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Storage.Prefix != "prefix" || !reflect.DeepEqual(cfg.Cassandra.DataDirs, []string{"/a", "/a"}) {
		t.Errorf("prefix %q dataDirs %q", cfg.Storage.Prefix, cfg.Cassandra.DataDirs)
	}
}

func TestMedusaINIDefaultSection(t *testing.T) {
	p := writeFile(t, "medusa.ini", "[DEFAULT]\nregion = eu-west-1\n[storage]\nstorage_provider = s3\nbucket_name = b\n[cassandra]\nnodetool_port = 7199\n")
	cfg, err := testLoader(t, "").load(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Storage.Region != "eu-west-1" || len(cfg.Notes) != 0 {
		t.Errorf("region %q notes %q", cfg.Storage.Region, cfg.Notes)
	}
}

func TestMedusaINIManyUnknownKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString("[storage]\nstorage_provider = mem\n")
	for i := range 30 {
		fmt.Fprintf(&b, "unknown_%d = x\n", i)
	}
	cfg, err := testLoader(t, "").load(writeFile(t, "medusa.ini", b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Notes) != maxUnknownNotes+1 || !strings.Contains(cfg.Notes[maxUnknownNotes], "has 10 more keys cassette does not know") {
		t.Errorf("%d notes, last %q", len(cfg.Notes), cfg.Notes[len(cfg.Notes)-1])
	}
}

func TestLoadGRPC(t *testing.T) {
	l := testLoader(t, "")
	ini := writeFile(t, "medusa.ini", `[storage]
storage_provider = local
bucket_name = b
base_path = /backups

[grpc]
enabled = True
port = 50052
ca_cert = /etc/certificates/grpc-server-certs/ca.crt
tls_cert = certs/tls.crt
tls_key = /etc/certificates/grpc-server-certs/tls.key
max_send_message_length = 536870912
max_receive_message_length = 64MiB
`)
	cfg, err := l.load(ini)
	if err != nil {
		t.Fatal(err)
	}
	want := GRPC{Enabled: ptr(true), Port: 50052, CACert: "/etc/certificates/grpc-server-certs/ca.crt",
		TLSCert: filepath.Join(filepath.Dir(ini), "certs", "tls.crt"), TLSKey: "/etc/certificates/grpc-server-certs/tls.key",
		MaxSendMessageLength: 512 << 20, MaxReceiveMessageLength: 64 << 20}
	if !reflect.DeepEqual(cfg.GRPC, want) {
		t.Errorf("[grpc]:\n got %+v\nwant %+v", cfg.GRPC, want)
	}
	if len(cfg.Notes) != 0 || !cfg.GRPC.MutualTLS() {
		t.Errorf("notes %q, mutual TLS %v", cfg.Notes, cfg.GRPC.MutualTLS())
	}

	// [DEFAULT] keys do not make a [grpc] section appear; a bad value and
	// an unknown key are reported by their medusa.ini names.
	cfg, err = l.parse("/x/medusa.ini", []byte("[DEFAULT]\nport = 9000\n[storage]\nstorage_provider = mem\n"))
	if err != nil || cfg.GRPC.Port != 0 {
		t.Errorf("[DEFAULT] port reached grpc: %+v %v", cfg.GRPC, err)
	}
	_, err = l.parse("/x/medusa.ini", []byte("[storage]\nstorage_provider = mem\n[grpc]\nport = fifty\n"))
	if err == nil || !strings.Contains(err.Error(), `/x/medusa.ini:4: [grpc] port = "fifty" is not a whole number`) {
		t.Errorf("bad port: %v", err)
	}
	cfg, err = l.parse("/x/medusa.ini", []byte("[storage]\nstorage_provider = mem\n[grpc]\ntls_crt = /c\n"))
	if err != nil || len(cfg.Notes) != 1 || !strings.Contains(cfg.Notes[0], `[grpc] tls_crt is not a key cassette knows; ignored (did you mean "tls_cert"?)`) {
		t.Errorf("unknown [grpc] key: %q %v", cfg.Notes, err)
	}

	yml := writeFile(t, "cassette.yaml", `storageProperties:
  storageProvider: mem
grpc:
  port: 50053
  caCert: ca.crt
  tlsCert: /tls.crt
  tlsKey: /tls.key
  maxSendMessageLength: 256MiB
  maxReceiveMessageLength: 1048576
`)
	cfg, err = l.load(yml)
	if err != nil {
		t.Fatal(err)
	}
	want = GRPC{Port: 50053, CACert: filepath.Join(filepath.Dir(yml), "ca.crt"), TLSCert: "/tls.crt", TLSKey: "/tls.key",
		MaxSendMessageLength: 256 << 20, MaxReceiveMessageLength: 1 << 20}
	if !reflect.DeepEqual(cfg.GRPC, want) {
		t.Errorf("grpc:\n got %+v\nwant %+v", cfg.GRPC, want)
	}
	_, err = l.parse("/x/c.yaml", []byte("storageProperties:\n  storageProvider: mem\ngrpc:\n  tls_cert: /c\n"))
	if err == nil || !strings.Contains(err.Error(), `/x/c.yaml:4: unknown grpc key "tls_cert" (did you mean "tlsCert"?)`) {
		t.Errorf("medusa.ini spelling in YAML: %v", err)
	}
}
