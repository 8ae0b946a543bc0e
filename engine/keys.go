package engine

import (
	"fmt"
	"regexp"

	"github.com/cassette-backup/cassette/providers"
)

// Object keys of node backups (docs/format.md, "Backups").
const backupsPrefix = "backups/"

// ManifestKey is the node manifest of backup name on node.
func ManifestKey(name, node string) providers.Key {
	return providers.Key(backupsPrefix + name + "/" + node + "/manifest")
}

// StartedKey marks a node backup that started; with no manifest beside it the
// backup is in progress or failed.
func StartedKey(name, node string) providers.Key {
	return providers.Key(backupsPrefix + name + "/" + node + "/started")
}

// SchemaKey holds the node's schema (cqlsh DESCRIBE SCHEMA) at backup time.
func SchemaKey(name, node string) providers.Key {
	return providers.Key(backupsPrefix + name + "/" + node + "/schema.cql")
}

// Names of backups and nodes become key segments: Kubernetes object names,
// pod names and host names all fit this.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$`)

// ValidateName checks a backup or node name.
func ValidateName(what, name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%s name %q is invalid: use letters, digits, '.', '_' and '-' (at most 253, starting with a letter or digit)", what, name)
	}
	return nil
}
