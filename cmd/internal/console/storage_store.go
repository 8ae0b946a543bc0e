package console

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/cassette-backup/cassette/cmd/internal/control"
	"github.com/cassette-backup/cassette/cmd/internal/fileerr"
)

// Files of the state folder that hold the storage configurations.
const (
	storageFile = "storage.yaml"
	deletedFile = "storage-deleted.yaml"
)

// Where a storage configuration comes from.
const (
	fromInventory = "inventory"
	fromConsole   = "console"
	fromOverride  = "console (overrides the inventory)"
)

// storageStore is the storage configurations the console shows: the
// inventory's, overlaid by those created or modified in the console
// (storage.yaml, same name wins) minus those deleted in it
// (storage-deleted.yaml). The inventory file itself is never written.
type storageStore struct {
	dir    string // the state folder
	invDir string // relative credentialsFile paths of the form start here
	inv    *control.Inventory

	mu      sync.Mutex
	own     []*control.StorageConfig // created or modified in the console
	deleted []string                 // inventory configurations deleted in the console
}

type storageEntry struct {
	*control.StorageConfig
	Source string
	// UsedBy lists the datacenters whose nodes use it, "cluster/dc".
	UsedBy []string
}

// Endpoint is host:port, "-" when the provider's default is used.
func (e storageEntry) Endpoint() string {
	sp := e.Properties
	switch {
	case sp.Host == "":
		return "-"
	case sp.Port != 0:
		return net.JoinHostPort(sp.Host, strconv.Itoa(sp.Port))
	}
	return sp.Host
}

// Credentials names where the credentials are: a file's path or a
// Kubernetes secret's name. The file is never read for a page.
func (e storageEntry) Credentials() string {
	var parts []string
	if f := e.Properties.CredentialsFile; f != "" {
		parts = append(parts, "file "+f)
	}
	if e.SecretRef != "" {
		parts = append(parts, "secret "+e.SecretRef)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func openStorageStore(dir string, inv *control.Inventory) (*storageStore, error) {
	s := &storageStore{dir: dir, invDir: filepath.Dir(inv.File), inv: inv}
	path := filepath.Join(dir, storageFile)
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read the console's storage configurations %s: %w", path, err)
	}
	if s.own, err = control.ParseStorageConfigurations(path, dir, data); err != nil {
		return nil, fmt.Errorf("%w (the console writes this file; fix it or move it aside)", err)
	}
	path = filepath.Join(dir, deletedFile)
	data, err = os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var doc struct {
		Deleted []string `yaml:"deleted"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: not valid YAML (%s); fix it or move it aside", path, fileerr.OneLine(err.Error()))
	}
	s.deleted = doc.Deleted
	return s, nil
}

// list returns the configurations in inventory order, then the console's.
func (s *storageStore) list() []storageEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listLocked()
}

func (s *storageStore) listLocked() []storageEntry {
	var out []storageEntry
	seen := map[string]bool{}
	for _, sc := range s.inv.Storage {
		if slices.Contains(s.deleted, sc.Name) {
			continue
		}
		e := storageEntry{StorageConfig: sc, Source: fromInventory}
		if o := s.findOwn(sc.Name); o != nil {
			e = storageEntry{StorageConfig: o, Source: fromOverride}
		}
		seen[sc.Name] = true
		out = append(out, e)
	}
	for _, o := range s.own {
		if !seen[o.Name] {
			out = append(out, storageEntry{StorageConfig: o, Source: fromConsole})
		}
	}
	for i := range out {
		out[i].UsedBy = s.usedBy(out[i].Name)
	}
	return out
}

func (s *storageStore) get(name string) (storageEntry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.getLocked(name)
}

func (s *storageStore) getLocked(name string) (storageEntry, bool) {
	for _, e := range s.listLocked() {
		if e.Name == name {
			return e, true
		}
	}
	return storageEntry{}, false
}

func (s *storageStore) findOwn(name string) *control.StorageConfig {
	for _, o := range s.own {
		if o.Name == name {
			return o
		}
	}
	return nil
}

func (s *storageStore) usedBy(name string) []string {
	var out []string
	for _, cl := range s.inv.Clusters {
		for _, dc := range cl.Datacenters {
			if dc.Storage == name {
				out = append(out, cl.Name+"/"+dc.Name)
			}
		}
	}
	return out
}

// fieldError is a problem with one field of a form: Field is the input's
// name ("" for the form as a whole).
type fieldError struct {
	Field, Msg string
}

func (e *fieldError) Error() string { return e.Msg }

// check validates a configuration written as an inventory item with the
// inventory's rules (control.ParseStorageConfigurations) and maps the
// offending key to its form field.
func (s *storageStore) check(item map[string]any) (*control.StorageConfig, error) {
	data, err := yaml.Marshal(map[string]any{"storageConfigurations": []any{item}})
	if err != nil {
		return nil, err
	}
	got, err := control.ParseStorageConfigurations("form", s.invDir, data)
	var ce *control.Error
	if errors.As(err, &ce) {
		return nil, formError(ce)
	}
	if err != nil {
		return nil, err
	}
	return got[0], nil
}

// formError turns an inventory error into a field error: the key
// storageConfigurations[0].storageProperties.port is field "port", and the
// message loses the key's prefix.
func formError(e *control.Error) *fieldError {
	const item, props = "storageConfigurations[0].", "storageProperties."
	key := strings.TrimPrefix(e.Key, item)
	key = strings.TrimPrefix(key, props)
	key = strings.TrimSuffix(key, ".name") // storageSecretRef.name
	msg := strings.NewReplacer(item+props, "", item, "").Replace(e.Msg)
	switch key {
	case "name", "storageProvider", "bucketName", "prefix", "region", "host", "port", "secure", "credentialsFile", "storageSecretRef":
		return &fieldError{Field: key, Msg: msg}
	}
	return &fieldError{Msg: msg}
}

// put saves sc as created (create) or modified in the console. A new name
// must be free.
func (s *storageStore) put(sc *control.StorageConfig, create bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.getLocked(sc.Name); create && exists {
		return &fieldError{Field: "name", Msg: fmt.Sprintf("a storage configuration named %s exists; choose another name, or modify it", sc.Name)}
	}
	own := slices.Clone(s.own)
	if i := slices.IndexFunc(own, func(o *control.StorageConfig) bool { return o.Name == sc.Name }); i >= 0 {
		own[i] = sc
	} else {
		own = append(own, sc)
	}
	deleted := slices.DeleteFunc(slices.Clone(s.deleted), func(n string) bool { return n == sc.Name })
	if err := s.save(own, deleted); err != nil {
		return err
	}
	s.own, s.deleted = own, deleted
	return nil
}

// remove deletes the named configuration, refused while a datacenter of
// the inventory uses it.
func (s *storageStore) remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.getLocked(name)
	if !ok {
		return fmt.Errorf("no storage configuration %q", name)
	}
	if len(e.UsedBy) > 0 {
		return fmt.Errorf("storage configuration %s is used by datacenter %s; point the datacenter at another configuration in the inventory first",
			name, strings.Join(e.UsedBy, ", "))
	}
	own := slices.DeleteFunc(slices.Clone(s.own), func(o *control.StorageConfig) bool { return o.Name == name })
	deleted := slices.Clone(s.deleted)
	if e.Source != fromConsole && !slices.Contains(deleted, name) {
		deleted = append(deleted, name)
	}
	if err := s.save(own, deleted); err != nil {
		return err
	}
	s.own, s.deleted = own, deleted
	return nil
}

const storageHeader = "# Storage configurations created or modified in `cassette control --http`. They overlay the\n" +
	"# inventory's storageConfigurations (the same name wins); copy them into the inventory at will.\n"

const deletedHeader = "# Storage configurations of the inventory deleted in `cassette control --http`.\n"

func (s *storageStore) save(own []*control.StorageConfig, deleted []string) error {
	items := make([]any, 0, len(own))
	for _, o := range own {
		items = append(items, o.InventoryItem())
	}
	data, err := yaml.Marshal(map[string]any{"storageConfigurations": items})
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(s.dir, storageFile), append([]byte(storageHeader), data...)); err != nil {
		return err
	}
	data, err = yaml.Marshal(map[string]any{"deleted": deleted})
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(s.dir, deletedFile), append([]byte(deletedHeader), data...))
}

// writeFileAtomic writes path through a temporary file renamed over it: a
// reader, or the console after a crash, sees the old file or the new one.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
