package config

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cassette-backup/cassette/cmd/internal/yamlnode"
)

// maxFileSize bounds what Load reads: configuration files and cassandra.yaml
// are kilobytes; anything near this is not a configuration file.
const maxFileSize = 4 << 20

// loader holds Load's dependencies on the machine, so tests and fuzz
// targets never touch the real /etc or home directory.
type loader struct {
	// readFile reads a regular file of at most maxFileSize bytes.
	readFile func(path string) ([]byte, error)
	// exists reports whether a regular file exists.
	exists func(path string) bool
	// secretMount is SecretMountPath, or a test's stand-in.
	secretMount string
	// home expands "~/"; "" leaves such paths as written.
	home string
}

func defaultLoader() *loader {
	home, _ := os.UserHomeDir()
	return &loader{readFile: readLimited, exists: isRegularFile, secretMount: SecretMountPath, home: home}
}

// Load reads the configuration file at path, whichever of the three formats
// it is in (cassette YAML, Kubernetes manifest, medusa.ini), and returns it
// with Source and Format set. Relative paths in the file are taken relative
// to the file's folder, and "~/" to the home directory.
//
// Load reports syntax errors, unknown keys and malformed values. It does
// not apply defaults or validate: apply flag overrides, then call
// ApplyDefaults and Validate, and print Warnings.
func Load(path string) (*Config, error) {
	return defaultLoader().load(path)
}

// load reads path and parses it.
func (l *loader) load(path string) (*Config, error) {
	data, err := l.readFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return l.parse(path, data)
}

// parse detects the format of data (read from path) and decodes it.
func (l *loader) parse(path string, data []byte) (*Config, error) {
	var cfg *Config
	var err error
	if looksLikeINI(data) || strings.EqualFold(filepath.Ext(path), ".ini") {
		cfg, err = l.parseMedusaINI(path, data)
	} else {
		cfg, err = parseYAML(path, data)
	}
	if err != nil {
		return nil, err
	}
	l.finish(cfg)
	return cfg, nil
}

// finish applies what every format shares: provider spelling, the secret
// mount of manifests, path resolution.
func (l *loader) finish(cfg *Config) {
	sp := &cfg.Storage
	sp.StorageProvider = normalizeProvider(sp.StorageProvider)
	if sp.CredentialsFile == "" && cfg.CredentialsType != "role-based" &&
		(cfg.Format == FormatManifest || cfg.StorageSecretRef != "") &&
		l.secretMount != "" && l.exists(l.secretMount) {
		sp.CredentialsFile = l.secretMount
	}
	base := ""
	if cfg.Source != "" {
		if abs, err := filepath.Abs(cfg.Source); err == nil {
			base = filepath.Dir(abs)
		}
	}
	for _, p := range []*string{
		&sp.CredentialsFile, &sp.CABundle, &sp.BasePath, &cfg.CacheDir,
		&cfg.Cassandra.TokensFile, &cfg.Cassandra.Nodetool.PasswordFile, &cfg.Cassandra.CQLPasswordFile,
		&cfg.GRPC.CACert, &cfg.GRPC.TLSCert, &cfg.GRPC.TLSKey,
	} {
		*p = l.resolvePath(base, *p)
	}
	for i := range cfg.Cassandra.DataDirs {
		cfg.Cassandra.DataDirs[i] = l.resolvePath(base, cfg.Cassandra.DataDirs[i])
	}
	if exe := cfg.Cassandra.Nodetool.Executable; strings.ContainsRune(exe, filepath.Separator) || strings.HasPrefix(exe, "~/") {
		cfg.Cassandra.Nodetool.Executable = l.resolvePath(base, exe) // a bare name stays a PATH lookup
	}
}

// normalizeProvider lower-cases a storageProvider and maps the spelling
// Mission Control's page uses (azure_blob) to the real one.
func normalizeProvider(p string) string {
	p = strings.ToLower(strings.TrimSpace(p))
	if p == "azure_blob" {
		return "azure_blobs"
	}
	return p
}

// resolvePath expands "~/" and makes a relative path relative to base.
func (l *loader) resolvePath(base, p string) string {
	switch {
	case p == "":
		return ""
	case strings.HasPrefix(p, "~/") && l.home != "":
		return filepath.Join(l.home, p[2:])
	case filepath.IsAbs(p) || base == "":
		return filepath.Clean(p)
	default:
		return filepath.Join(base, p)
	}
}

// readCassandraYAML sets DataDirs from the data_file_directories of the
// cassandra.yaml that [cassandra] config_file names. A file that does not
// exist here (a pod path on a workstation) is a note, not an error.
func (l *loader) readCassandraYAML(cfg *Config, e *iniEntry) error {
	base := ""
	if abs, err := filepath.Abs(cfg.Source); err == nil {
		base = filepath.Dir(abs)
	}
	path := l.resolvePath(base, e.value)
	key := "[cassandra] config_file"
	if !l.exists(path) {
		cfg.note(fmt.Sprintf("%s:%d: %s %s does not exist here; set cassandra.dataDirs or --data-dir", cfg.Source, e.line, key, path))
		return nil
	}
	data, err := l.readFile(path)
	if err != nil {
		return errorf(cfg.Source, e.line, key, "%s: %v", key, err)
	}
	var cy struct {
		DataFileDirectories yaml.Node `yaml:"data_file_directories"`
	}
	if err := yaml.Unmarshal(data, &cy); err != nil {
		msg := strings.ReplaceAll(err.Error(), "\n", "; ")
		return errorf(cfg.Source, e.line, key, "%s %s is not valid YAML (%s); fix it or remove config_file and set cassandra.dataDirs", key, path, msg)
	}
	if isNull(yamlnode.Resolve(&cy.DataFileDirectories)) || cy.DataFileDirectories.Kind == 0 {
		cfg.note(fmt.Sprintf("%s:%d: %s %s sets no data_file_directories (Cassandra then uses $CASSANDRA_HOME/data/data); set cassandra.dataDirs or --data-dir", cfg.Source, e.line, key, path))
		return nil
	}
	d := &decoder{file: path}
	var dirs []string
	if err := d.decodeStrings(yamlnode.Resolve(&cy.DataFileDirectories), reflect.ValueOf(&dirs).Elem(), "data_file_directories"); err != nil {
		return err
	}
	cfg.Cassandra.DataDirs = dirs
	return nil
}

// readLimited reads a file of at most maxFileSize bytes.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory; name a file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s is larger than %d MiB; is it really a configuration file?", path, maxFileSize>>20)
	}
	return data, nil
}

// isRegularFile reports whether path is an existing regular file (never a
// FIFO or device that could block a read).
func isRegularFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
