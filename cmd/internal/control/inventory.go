package control

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"github.com/cassette-backup/cassette/cmd/internal/suggest"
	"github.com/cassette-backup/cassette/providers"
)

// DefaultPort is the Medusa sidecar's gRPC port, used when an address has
// none.
const DefaultPort = "50051"

// DefaultRack is the rack of a node the inventory gives none, as
// cass-operator names the single rack of a datacenter without racks.
const DefaultRack = "default"

// Inventory is what the control plane knows: clusters, datacenters, nodes
// and the storage configurations. It is read-only once loaded.
type Inventory struct {
	// File is where the inventory was read from, for messages.
	File     string           `json:"file" yaml:"file"`
	Clusters []*Cluster       `json:"clusters" yaml:"clusters"`
	Storage  []*StorageConfig `json:"storageConfigurations,omitempty" yaml:"storageConfigurations,omitempty"`
}

// Cluster is one Cassandra cluster.
type Cluster struct {
	Name        string        `json:"name" yaml:"name"`
	Datacenters []*Datacenter `json:"datacenters" yaml:"datacenters"`
}

// Datacenter is one datacenter of a cluster: the unit every operation runs
// on, as MedusaBackupJob's cassandraDatacenter.
type Datacenter struct {
	Cluster string `json:"cluster" yaml:"cluster"`
	Name    string `json:"name" yaml:"name"`
	// Storage names the storage configuration the datacenter's nodes use
	// ("" when the inventory does not say).
	Storage string  `json:"storageConfiguration,omitempty" yaml:"storageConfiguration,omitempty"`
	Nodes   []*Node `json:"nodes" yaml:"nodes"`
}

// Node is one Cassandra node and its sidecar.
type Node struct {
	// Name is the node's name in backups: the pod name on Kubernetes,
	// cassandra.node / POD_NAME for `cassette serve`.
	Name string `json:"name" yaml:"name"`
	// Address is the sidecar's gRPC address, host:port.
	Address    string `json:"address" yaml:"address"`
	Rack       string `json:"rack" yaml:"rack"`
	Datacenter string `json:"datacenter" yaml:"datacenter"`
	// TLS is the client TLS to reach the sidecar: the node's settings over
	// its datacenter's.
	TLS TLS `json:"tls,omitzero" yaml:"tls,omitempty"`
}

// TLS is how the control plane reaches a sidecar served with TLS: the CA
// that signed the server's certificate, the client certificate and key a
// mutual-TLS server requires, and the name to verify.
type TLS struct {
	CACert     string `json:"caCert,omitempty" yaml:"caCert,omitempty"`
	TLSCert    string `json:"tlsCert,omitempty" yaml:"tlsCert,omitempty"`
	TLSKey     string `json:"tlsKey,omitempty" yaml:"tlsKey,omitempty"`
	ServerName string `json:"serverName,omitempty" yaml:"serverName,omitempty"`
	// where names the settings in the inventory, for messages.
	where string
}

// IsZero reports whether no TLS setting is made (the sidecar is reached in
// plain text).
func (t TLS) IsZero() bool {
	return t.CACert == "" && t.TLSCert == "" && t.TLSKey == "" && t.ServerName == ""
}

// Config builds the client TLS configuration, nil for plain text.
// Certificates are read at every call: a rotated file is picked up by the
// next connection.
func (t TLS) Config() (*tls.Config, error) {
	if t.IsZero() {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CACert != "" {
		pem, err := os.ReadFile(t.CACert)
		if err != nil {
			return nil, fmt.Errorf("%s.caCert: %w", t.where, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s.caCert %s holds no PEM certificate; point it at the CA that signed the sidecar's certificate", t.where, t.CACert)
		}
		tc.RootCAs = pool
	}
	if t.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(t.TLSCert, t.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("%s.tlsCert %s and tlsKey %s: %v; point them at the control plane's PEM client certificate and its key", t.where, t.TLSCert, t.TLSKey, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// merge returns t with the settings of over that are set.
func (t TLS) merge(over TLS) TLS {
	if over.CACert != "" {
		t.CACert = over.CACert
	}
	if over.TLSCert != "" {
		t.TLSCert, t.TLSKey = over.TLSCert, over.TLSKey
	}
	if over.ServerName != "" {
		t.ServerName = over.ServerName
	}
	if over.where != "" && !over.IsZero() {
		t.where = over.where
	}
	return t
}

// StorageConfig is one storage configuration (Mission Control's Backup
// Configuration): a name and the storageProperties the nodes use.
// Credentials are referenced by file (credentialsFile) or Kubernetes secret
// name (storageSecretRef), never held: the inventory never carries a secret.
type StorageConfig struct {
	Name       string                      `json:"name" yaml:"name"`
	Properties providers.StorageProperties `json:"storageProperties" yaml:"storageProperties"`
	// SecretRef is storageSecretRef.name, when given.
	SecretRef string `json:"storageSecretRef,omitempty" yaml:"storageSecretRef,omitempty"`
}

// storageView is how a StorageConfig prints: the properties that are set,
// by their storageProperties names, and never a secret's value.
type storageView struct {
	Name       string         `json:"name" yaml:"name"`
	Properties map[string]any `json:"storageProperties" yaml:"storageProperties"`
	SecretRef  string         `json:"storageSecretRef,omitempty" yaml:"storageSecretRef,omitempty"`
}

func (s StorageConfig) view() storageView {
	v := storageView{Name: s.Name, SecretRef: s.SecretRef, Properties: map[string]any{}}
	rv := reflect.ValueOf(s.Properties)
	fields, names := yamlFields(rv.Type())
	for _, name := range names {
		f := rv.Field(fields[name])
		if f.IsZero() || f.Type() == reflect.TypeOf(providers.Secret("")) {
			continue
		}
		if f.Kind() == reflect.Pointer {
			f = f.Elem()
		}
		v.Properties[name] = f.Interface()
	}
	return v
}

// MarshalJSON prints the configuration's set properties.
func (s StorageConfig) MarshalJSON() ([]byte, error) { return json.Marshal(s.view()) }

// MarshalYAML prints the configuration's set properties.
func (s StorageConfig) MarshalYAML() (any, error) { return s.view(), nil }

// FindCluster returns the named cluster; "" picks the only one.
func (inv *Inventory) FindCluster(name string) (*Cluster, error) {
	names := make([]string, 0, len(inv.Clusters))
	for _, c := range inv.Clusters {
		if c.Name == name || (name == "" && len(inv.Clusters) == 1) {
			return c, nil
		}
		names = append(names, c.Name)
	}
	if name == "" {
		return nil, fmt.Errorf("%w: %s holds %d clusters (%s): name one with --cluster", ErrNotFound, inv.File, len(names), strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("%w: no cluster %q in %s%s; it holds %s", ErrNotFound, name, inv.File, suggest.Hint(name, names), strings.Join(names, ", "))
}

// FindDatacenter returns the named datacenter of the cluster; "" picks the
// only one.
func (c *Cluster) FindDatacenter(name string) (*Datacenter, error) {
	names := c.DatacenterNames()
	for _, dc := range c.Datacenters {
		if dc.Name == name || (name == "" && len(c.Datacenters) == 1) {
			return dc, nil
		}
	}
	if name == "" {
		return nil, fmt.Errorf("%w: cluster %s has %d datacenters (%s): name one with --dc", ErrNotFound, c.Name, len(names), strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("%w: cluster %s has no datacenter %q%s; its datacenters are %s", ErrNotFound, c.Name, name, suggest.Hint(name, names), strings.Join(names, ", "))
}

// DatacenterNames lists the cluster's datacenters in inventory order.
func (c *Cluster) DatacenterNames() []string {
	out := make([]string, 0, len(c.Datacenters))
	for _, dc := range c.Datacenters {
		out = append(out, dc.Name)
	}
	return out
}

// FindStorage returns the named storage configuration.
func (inv *Inventory) FindStorage(name string) (*StorageConfig, error) {
	names := make([]string, 0, len(inv.Storage))
	for _, s := range inv.Storage {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return nil, fmt.Errorf("%w: no storage configuration %q in %s%s", ErrNotFound, name, inv.File, suggest.Hint(name, names))
}

// Racks returns the datacenter's racks, sorted, each with its nodes' names
// sorted: the order the operator matches racks and hosts in.
func (dc *Datacenter) Racks() []Rack {
	byRack := map[string][]string{}
	for _, n := range dc.Nodes {
		byRack[n.Rack] = append(byRack[n.Rack], n.Name)
	}
	return sortedRacks(byRack)
}

// Node returns the datacenter's node of that name, or nil.
func (dc *Datacenter) Node(name string) *Node {
	for _, n := range dc.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Rack is a rack and its hosts, in the operator's order.
type Rack struct {
	Name  string   `json:"name" yaml:"name"`
	Hosts []string `json:"hosts" yaml:"hosts"`
}

func sortedRacks(byRack map[string][]string) []Rack {
	out := make([]Rack, 0, len(byRack))
	for name, hosts := range byRack {
		hosts = append([]string(nil), hosts...)
		sort.Strings(hosts)
		out = append(out, Rack{Name: name, Hosts: hosts})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
