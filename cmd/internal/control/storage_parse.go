package control

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cassette-backup/cassette/cmd/internal/fileerr"
	"github.com/cassette-backup/cassette/cmd/internal/yamlnode"
)

// ParseStorageConfigurations reads storage configurations written as the
// inventory's storageConfigurations: a document whose only key is
// storageConfigurations. They are checked with the inventory's own rules,
// so that a web console validates and persists configurations exactly as
// the inventory takes them. Relative credentialsFile paths are taken
// relative to dir. An empty document holds none. Every problem is an
// *Error naming the file, line and key (Key, e.g.
// storageConfigurations[0].storageProperties.bucketName).
func ParseStorageConfigurations(file, dir string, data []byte) ([]*StorageConfig, error) {
	p := &invParser{file: file, dir: dir}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, p.errf(0, "", "not valid YAML (%s); fix the syntax", strings.TrimPrefix(fileerr.OneLine(err.Error()), "yaml: "))
	}
	root := yamlnode.Resolve(&doc)
	if yamlnode.IsNull(root) {
		return nil, nil
	}
	var items *yaml.Node
	err := p.pairs(root, "", []string{"storageConfigurations"}, func(_ string, _, v *yaml.Node) error {
		items = v
		return nil
	})
	var out []*StorageConfig
	if err == nil {
		err = p.list(items, "storageConfigurations", func(n *yaml.Node, where string) error {
			s, err := p.storage(n, where, out)
			out = append(out, s)
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// InventoryItem is the configuration as an item of the inventory's
// storageConfigurations: name and the storageProperties that are set, with
// storageSecretRef as {name: ...}. ParseStorageConfigurations reads it back
// to the same configuration. A secret value is never part of it.
func (s StorageConfig) InventoryItem() map[string]any {
	v := s.view()
	if s.SecretRef != "" {
		v.Properties["storageSecretRef"] = map[string]any{"name": s.SecretRef}
	}
	return map[string]any{"name": s.Name, "storageProperties": v.Properties}
}
