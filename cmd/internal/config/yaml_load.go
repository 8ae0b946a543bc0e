package config

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cassette-backup/cassette/cmd/internal/yamlnode"
)

// manifestKinds are the Kubernetes kinds whose storageProperties cassette
// reads.
var manifestKinds = map[string]bool{
	"MedusaConfiguration":   true,
	"MissionControlCluster": true,
	"K8ssandraCluster":      true,
}

// manifestStoragePaths are where manifests keep storageProperties, tried in
// order for every kind (the Mission Control page itself shows the
// MissionControlCluster path inside a MedusaConfiguration).
var manifestStoragePaths = [][]string{
	{"spec", "storageProperties"},
	{"spec", "k8ssandra", "medusa", "storageProperties"},
	{"spec", "medusa", "storageProperties"},
}

// k8ssandraIgnored are storageProperties keys of the k8ssandra CRD that
// configure Medusa itself and mean nothing to cassette: they are accepted
// and ignored so manifests load as they are.
var k8ssandraIgnored = map[string]bool{
	"apiProfile":               true,
	"transferMaxBandwidth":     true,
	"multiPartUploadThreshold": true,
	"podStorage":               true,
}

// storageAliases map spellings people carry over from medusa.ini or guess
// to the storageProperties key to suggest.
var storageAliases = map[string]string{
	"key_file":            "credentialsFile",
	"keyfile":             "credentialsFile",
	"credentials":         "credentialsFile",
	"multipart_chunksize": "multipartPartSize",
	"ca_cert":             "caBundle",
	"bucket":              "bucketName",
	"container":           "bucketName",
	"provider":            "storageProvider",
	"endpoint":            "host",
}

// cassandraAliases map medusa.ini [cassandra] spellings to cassandra: keys.
var cassandraAliases = map[string]string{
	"config_file":                 "dataDirs",
	"data_file_directories":       "dataDirs",
	"datadir":                     "dataDirs",
	"nodetool_executable":         "nodetool.executable",
	"nodetool_host":               "nodetool.host",
	"nodetool_port":               "nodetool.port",
	"nodetool_username":           "nodetool.username",
	"nodetool_password":           "nodetool.password",
	"nodetool_password_file_path": "nodetool.passwordFile",
	"cql_password":                "cqlPassword",
}

// topLevelKeys are the cassette YAML keys that are not storage keys.
var topLevelKeys = []string{"storageProperties", "storage", "cassandra", "cacheDir", "grpc"}

// grpcAliases map medusa.ini [grpc] spellings to grpc: keys.
var grpcAliases = map[string]string{
	"ca_cert":                    "caCert",
	"tls_cert":                   "tlsCert",
	"tls_key":                    "tlsKey",
	"max_send_message_length":    "maxSendMessageLength",
	"max_receive_message_length": "maxReceiveMessageLength",
}

// parseYAML reads cassette YAML or a (multi-document) manifest stream.
func parseYAML(path string, data []byte) (*Config, error) {
	d := &decoder{file: path}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var skipped []string
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			msg := strings.ReplaceAll(err.Error(), "\n", "; ")
			return nil, errorf(path, 0, "", "not valid YAML (%s); fix the syntax", msg)
		}
		root := yamlnode.Resolve(&doc)
		if isNull(root) {
			continue // an empty document in a stream
		}
		if root.Kind != yaml.MappingNode {
			return nil, errorf(path, root.Line, "", "expected a map of keys at the top of the document, found %s", yamlnode.KindName(root))
		}
		kind := yamlnode.Scalar(mappingValue(root, "kind"))
		if kind == "" && mappingValue(root, "apiVersion") == nil {
			cfg := &Config{Source: path, Format: FormatCassette}
			return cfg, d.cassetteDoc(root, cfg)
		}
		if !manifestKinds[kind] {
			skipped = append(skipped, "kind "+orNone(kind))
			continue
		}
		sp, spPath := findStorage(root)
		if sp == nil {
			skipped = append(skipped, kind+" without storageProperties")
			continue
		}
		cfg := &Config{Source: path, Format: FormatManifest, storagePath: spPath}
		err = d.decodeStruct(sp, reflect.ValueOf(&cfg.Storage).Elem(), spPath, d.storageExtra(cfg, spPath), storageAliases)
		return cfg, err
	}
	found := "the file is empty"
	if len(skipped) > 0 {
		found = "found " + strings.Join(skipped, ", ")
	}
	return nil, errorf(path, 0, "", "no storage configuration: %s; expected cassette YAML with storageProperties, or a MedusaConfiguration, MissionControlCluster or K8ssandraCluster manifest", found)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// findStorage returns a manifest's storageProperties node and its path.
func findStorage(root *yaml.Node) (*yaml.Node, string) {
	for _, p := range manifestStoragePaths {
		n := root
		for _, key := range p {
			n = yamlnode.Resolve(mappingValue(n, key))
			if n == nil {
				break
			}
		}
		if n != nil && !isNull(n) {
			return n, strings.Join(p, ".")
		}
	}
	return nil, ""
}

// cassetteDoc decodes a cassette YAML document, in file order.
func (d *decoder) cassetteDoc(root *yaml.Node, cfg *Config) error {
	storage := reflect.ValueOf(&cfg.Storage).Elem()
	fields, storageNames := yamlFields(storage.Type())
	topStorage := d.storageExtra(cfg, "")
	known := append(append([]string(nil), topLevelKeys...), storageNames...)
	cfg.storagePath = "storageProperties"
	topLines := make(map[string]int)    // storage keys written at the top level
	sectionKeys := make(map[string]int) // storage keys written in the section
	sectionKey := ""
	clash := func(key string, line int) error {
		return errorf(d.file, line, key, "%s is set both at the top level and under %s; keep one", key, sectionKey)
	}

	return d.pairs(root, "", func(key string, k, val *yaml.Node) error {
		switch key {
		case "storageProperties", "storage":
			if sectionKey != "" {
				return errorf(d.file, k.Line, key, "both %s and %s are set; keep one", sectionKey, key)
			}
			sectionKey, cfg.storagePath = key, key
			m, err := d.mapping(val, key)
			if err != nil || m == nil {
				return err
			}
			for i := 0; i+1 < len(m.Content); i += 2 {
				name := m.Content[i].Value
				if line, ok := topLines[name]; ok {
					return clash(name, line)
				}
				sectionKeys[name] = m.Content[i].Line
			}
			return d.decodeStruct(m, storage, key, d.storageExtra(cfg, key), storageAliases)
		case "cassandra":
			return d.decodeStruct(val, reflect.ValueOf(&cfg.Cassandra).Elem(), "cassandra", nil, cassandraAliases)
		case "cacheDir":
			return d.decodeValue(val, reflect.ValueOf(&cfg.CacheDir).Elem(), "cacheDir", key)
		case "grpc":
			return d.decodeStruct(val, reflect.ValueOf(&cfg.GRPC).Elem(), "grpc", nil, grpcAliases)
		}
		_, isField := fields[key]
		if isField || isStorageExtra(key) {
			if _, ok := sectionKeys[key]; ok {
				return clash(key, k.Line)
			}
			topLines[key] = k.Line
		}
		if i, ok := fields[key]; ok {
			return d.decodeValue(val, storage.Field(i), key, key)
		}
		if handled, err := topStorage(key, k, val); handled || err != nil {
			return err
		}
		return errorf(d.file, k.Line, key, "unknown top-level key %q%s", key, didYouMean(key, known, storageAliases))
	})
}

// isStorageExtra reports whether key is a storage key storageExtra handles.
func isStorageExtra(key string) bool {
	return key == "storageSecretRef" || key == "credentialsType" || k8ssandraIgnored[key]
}

// storageExtra handles storage keys that are not StorageProperties fields:
// storageSecretRef, credentialsType and the k8ssandra keys cassette ignores.
func (d *decoder) storageExtra(cfg *Config, section string) extraFunc {
	return func(key string, k, val *yaml.Node) (bool, error) {
		path := join(section, key)
		switch {
		case key == "storageSecretRef":
			name, err := d.secretRef(val, path)
			cfg.StorageSecretRef = name
			return true, err
		case key == "credentialsType":
			v := yamlnode.Resolve(val)
			if isNull(v) {
				return true, nil
			}
			s := strings.TrimSpace(yamlnode.Scalar(v))
			switch s {
			case "", "role-based", "credential-based":
				cfg.CredentialsType = s
				return true, nil
			}
			return true, errorf(d.file, v.Line, path, "%s must be role-based or credential-based", path)
		case k8ssandraIgnored[key]:
			return true, nil
		}
		return false, nil
	}
}

// secretRef reads storageSecretRef: {name: x}, or the older plain string.
func (d *decoder) secretRef(val *yaml.Node, path string) (string, error) {
	v := yamlnode.Resolve(val)
	switch {
	case isNull(v):
		return "", nil
	case v.Kind == yaml.ScalarNode:
		return strings.TrimSpace(v.Value), nil
	case v.Kind != yaml.MappingNode:
		return "", errorf(d.file, v.Line, path, "%s must be {name: <secret>}, found %s", path, yamlnode.KindName(v))
	}
	var name string
	err := d.pairs(v, path, func(key string, k, val *yaml.Node) error {
		if key != "name" {
			return errorf(d.file, k.Line, join(path, key), "unknown %s key %q%s", path, key, didYouMean(key, []string{"name"}, nil))
		}
		n := yamlnode.Resolve(val)
		if n != nil && n.Kind != yaml.ScalarNode {
			return errorf(d.file, n.Line, join(path, key), "%s.name must be the secret's name", path)
		}
		name = strings.TrimSpace(yamlnode.Scalar(n))
		return nil
	})
	return name, err
}
