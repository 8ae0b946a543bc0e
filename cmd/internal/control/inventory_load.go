package control

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cassette-backup/cassette/cmd/internal/config"
	"github.com/cassette-backup/cassette/cmd/internal/fileerr"
	"github.com/cassette-backup/cassette/cmd/internal/suggest"
	"github.com/cassette-backup/cassette/cmd/internal/yamlnode"
)

// maxInventorySize bounds what LoadInventory reads.
const maxInventorySize = 4 << 20

var (
	topKeys     = []string{"clusters", "storageConfigurations"}
	clusterKeys = []string{"name", "datacenters"}
	dcKeys      = []string{"name", "storageConfiguration", "tls", "nodes"}
	nodeKeys    = []string{"name", "address", "rack", "tls"}
	tlsKeys     = []string{"caCert", "tlsCert", "tlsKey", "serverName"}
	storageKeys = []string{"name", "storageProperties"}
	// nameRE is what cluster, datacenter, rack, node and storage names may
	// be: a backup node name (engine.ValidateName's rule).
	nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$`)
)

// LoadInventory reads and checks the inventory file at path. Relative paths
// in it (certificates) are taken relative to its folder. Every problem is
// an *Error naming the file, line and key.
func LoadInventory(path string) (*Inventory, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &Error{File: path, Msg: "no such file; pass the inventory of clusters, datacenters and nodes with --inventory (see docs/control.md)"}
		}
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read the inventory: %v", err)}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxInventorySize+1))
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read the inventory: %v", err)}
	}
	if len(data) > maxInventorySize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("larger than %d MiB: not an inventory", maxInventorySize>>20)}
	}
	return ParseInventory(path, data)
}

// ParseInventory reads an inventory from data; file names it in messages
// and is the base of relative paths.
func ParseInventory(file string, data []byte) (*Inventory, error) {
	p := &invParser{file: file, dir: filepath.Dir(file)}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, p.errf(0, "", "the file is empty; declare clusters: with their datacenters and nodes (see docs/control.md)")
		}
		return nil, p.errf(0, "", "not valid YAML (%s); fix the syntax", strings.TrimPrefix(fileerr.OneLine(err.Error()), "yaml: "))
	}
	inv := &Inventory{File: file}
	root := yamlnode.Resolve(&doc)
	if root == nil || root.Kind != yaml.MappingNode {
		return nil, p.errf(doc.Line, "", "expected a map with clusters: and storageConfigurations: at the top, found %s", kindName(root))
	}
	var clusters, storage *yaml.Node
	err := p.pairs(root, "", topKeys, func(key string, _, v *yaml.Node) error {
		if key == "clusters" {
			clusters = v
		} else {
			storage = v
		}
		return nil
	})
	if err == nil {
		err = p.list(storage, "storageConfigurations", func(n *yaml.Node, where string) error {
			s, err := p.storage(n, where, inv.Storage)
			inv.Storage = append(inv.Storage, s)
			return err
		})
	}
	if err == nil {
		err = p.list(clusters, "clusters", func(n *yaml.Node, where string) error {
			c, err := p.cluster(n, where, inv)
			inv.Clusters = append(inv.Clusters, c)
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	if len(inv.Clusters) == 0 {
		return nil, p.errf(root.Line, "clusters", "clusters is not set or empty; list at least one cluster with its datacenters and nodes")
	}
	return inv, nil
}

type invParser struct {
	file, dir string
	addrs     map[string]string // address -> the node that has it
}

func (p *invParser) errf(line int, key, format string, args ...any) *Error {
	return &Error{File: p.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

func (p *invParser) cluster(n *yaml.Node, where string, inv *Inventory) (*Cluster, error) {
	c := &Cluster{}
	var dcs *yaml.Node
	err := p.pairs(n, where, clusterKeys, func(key string, _, v *yaml.Node) error {
		if key == "datacenters" {
			dcs = v
			return nil
		}
		return p.name(v, where+".name", &c.Name)
	})
	if err != nil {
		return c, err
	}
	if err := p.required(n, where, "name", c.Name, "the cluster's name"); err != nil {
		return c, err
	}
	for _, o := range inv.Clusters {
		if o.Name == c.Name {
			return c, p.errf(n.Line, where+".name", "%s.name: cluster %q is declared twice; merge them", where, c.Name)
		}
	}
	nodes := map[string]bool{}
	err = p.list(dcs, where+".datacenters", func(dn *yaml.Node, dwhere string) error {
		dc, err := p.datacenter(dn, dwhere, c, inv, nodes)
		c.Datacenters = append(c.Datacenters, dc)
		return err
	})
	if err == nil && len(c.Datacenters) == 0 {
		err = p.errf(n.Line, where+".datacenters", "%s.datacenters is not set or empty; list the datacenters of cluster %s", where, c.Name)
	}
	return c, err
}

func (p *invParser) datacenter(n *yaml.Node, where string, c *Cluster, inv *Inventory, names map[string]bool) (*Datacenter, error) {
	dc := &Datacenter{Cluster: c.Name}
	var nodes *yaml.Node
	var dcTLS TLS
	err := p.pairs(n, where, dcKeys, func(key string, k, v *yaml.Node) error {
		switch key {
		case "name":
			return p.name(v, where+".name", &dc.Name)
		case "storageConfiguration":
			if err := p.name(v, where+"."+key, &dc.Storage); err != nil {
				return err
			}
			if _, err := inv.FindStorage(dc.Storage); err != nil {
				return p.errf(v.Line, where+"."+key, "%s.%s %q names no entry of storageConfigurations%s", where, key, dc.Storage,
					suggest.Hint(dc.Storage, storageNames(inv)))
			}
		case "tls":
			t, err := p.tls(v, where+".tls")
			dcTLS = t
			return err
		case "nodes":
			nodes = v
		}
		return nil
	})
	if err != nil {
		return dc, err
	}
	if err := p.required(n, where, "name", dc.Name, "the datacenter's name (MedusaBackupJob's cassandraDatacenter)"); err != nil {
		return dc, err
	}
	if slices.Contains(c.DatacenterNames(), dc.Name) {
		return dc, p.errf(n.Line, where+".name", "%s.name: datacenter %q is declared twice in cluster %s; merge them", where, dc.Name, c.Name)
	}
	err = p.list(nodes, where+".nodes", func(nn *yaml.Node, nwhere string) error {
		node, err := p.node(nn, nwhere, dc, dcTLS)
		dc.Nodes = append(dc.Nodes, node)
		if err == nil && names[node.Name] {
			err = p.errf(nn.Line, nwhere+".name", "%s.name: node %q is declared twice in cluster %s; node names are the names nodes back up under and must be unique", nwhere, node.Name, c.Name)
		}
		names[node.Name] = true
		return err
	})
	if err == nil && len(dc.Nodes) == 0 {
		err = p.errf(n.Line, where+".nodes", "%s.nodes is not set or empty; list the nodes of datacenter %s with name, address and rack", where, dc.Name)
	}
	return dc, err
}

func (p *invParser) node(n *yaml.Node, where string, dc *Datacenter, dcTLS TLS) (*Node, error) {
	node := &Node{Datacenter: dc.Name, TLS: dcTLS}
	line := n.Line
	err := p.pairs(n, where, nodeKeys, func(key string, k, v *yaml.Node) error {
		switch key {
		case "name":
			return p.name(v, where+".name", &node.Name)
		case "rack":
			return p.name(v, where+".rack", &node.Rack)
		case "address":
			line = v.Line
			return p.str(v, where+".address", &node.Address)
		case "tls":
			t, err := p.tls(v, where+".tls")
			node.TLS = dcTLS.merge(t)
			return err
		}
		return nil
	})
	if err != nil {
		return node, err
	}
	if err := p.required(n, where, "name", node.Name, "the node's name in backups (its pod name, or cassandra.node)"); err != nil {
		return node, err
	}
	if err := p.required(n, where, "address", node.Address, "its sidecar's gRPC address, host:port"); err != nil {
		return node, err
	}
	if node.Rack == "" {
		node.Rack = DefaultRack
	}
	addr, msg := normalizeAddress(node.Address)
	if msg != "" {
		return node, p.errf(line, where+".address", "%s.address %q %s", where, node.Address, msg)
	}
	node.Address = addr
	if p.addrs == nil {
		p.addrs = map[string]string{}
	}
	if other, dup := p.addrs[addr]; dup {
		return node, p.errf(line, where+".address", "%s.address %s is also node %s's; every node has its own sidecar", where, addr, other)
	}
	p.addrs[addr] = node.Name
	return node, nil
}

// normalizeAddress checks a sidecar address, adding the default port when
// there is none; msg says what is wrong.
func normalizeAddress(a string) (addr, msg string) {
	a = strings.TrimSpace(a)
	if strings.Contains(a, "://") {
		return "", "must be host:port, without a scheme"
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		if strings.Count(a, ":") > 1 && !strings.HasPrefix(a, "[") {
			return "", "is not host:port; write an IPv6 address as [addr]:port"
		}
		host, port = a, DefaultPort
	}
	n, err := strconv.Atoi(port)
	if host == "" || err != nil || n < 1 || n > 65535 {
		return "", "is not host:port with a port from 1 to 65535 (the sidecar's grpc.port, 50051 by default)"
	}
	return net.JoinHostPort(host, port), ""
}

func (p *invParser) tls(n *yaml.Node, where string) (TLS, error) {
	t := TLS{where: p.file + ": " + where}
	lines := map[string]int{}
	err := p.pairs(n, where, tlsKeys, func(key string, _, v *yaml.Node) error {
		lines[key] = v.Line
		dst := map[string]*string{"caCert": &t.CACert, "tlsCert": &t.TLSCert, "tlsKey": &t.TLSKey, "serverName": &t.ServerName}[key]
		if err := p.str(v, where+"."+key, dst); err != nil {
			return err
		}
		if key != "serverName" && *dst != "" {
			*dst = p.path(*dst)
			if fi, err := os.Stat(*dst); err != nil || !fi.Mode().IsRegular() {
				return p.errf(v.Line, where+"."+key, "%s.%s %s is not a readable file (%v); point it at a PEM file", where, key, *dst, statMsg(err))
			}
		}
		return nil
	})
	if err != nil {
		return t, err
	}
	if (t.TLSCert == "") != (t.TLSKey == "") {
		missing, set := "tlsKey", "tlsCert"
		if t.TLSCert == "" {
			missing, set = "tlsCert", "tlsKey"
		}
		return t, p.errf(max(lines["tlsCert"], lines["tlsKey"], n.Line), where+"."+missing,
			"%s.%s is not set but %s is; give the client certificate and its key together", where, missing, set)
	}
	return t, nil
}

func statMsg(err error) string {
	if err == nil {
		return "not a regular file"
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// path makes a relative path relative to the inventory's folder.
func (p *invParser) path(s string) string {
	if s == "" || filepath.IsAbs(s) {
		return s
	}
	if home, err := os.UserHomeDir(); err == nil && strings.HasPrefix(s, "~/") {
		return filepath.Join(home, s[2:])
	}
	return filepath.Join(p.dir, s)
}

func (p *invParser) storage(n *yaml.Node, where string, seen []*StorageConfig) (*StorageConfig, error) {
	s := &StorageConfig{}
	var props *yaml.Node
	err := p.pairs(n, where, storageKeys, func(key string, _, v *yaml.Node) error {
		if key == "storageProperties" {
			props = v
			return nil
		}
		return p.name(v, where+".name", &s.Name)
	})
	if err != nil {
		return s, err
	}
	if err := p.required(n, where, "name", s.Name, "the configuration's name, which datacenters refer to"); err != nil {
		return s, err
	}
	for _, o := range seen {
		if o.Name == s.Name {
			return s, p.errf(n.Line, where+".name", "%s.name: storage configuration %q is declared twice; keep one", where, s.Name)
		}
	}
	props = yamlnode.Resolve(props)
	if yamlnode.IsNull(props) {
		return s, p.errf(n.Line, where+".storageProperties", "%s.storageProperties is not set; give storageProvider, bucketName and the rest as in a MedusaConfiguration", where)
	}
	if err := p.storageProperties(props, where+".storageProperties", s); err != nil {
		return s, err
	}
	sp := &s.Properties
	sp.CredentialsFile = p.path(sp.CredentialsFile)
	key := where + ".storageProperties.storageProvider"
	known := config.StorageProviders()
	switch {
	case sp.StorageProvider == "":
		return s, p.errf(props.Line, key, "%s is not set; use one of %s", key, strings.Join(known, ", "))
	case !slices.Contains(known, sp.StorageProvider):
		return s, p.errf(props.Line, key, "%s %q is not a storage provider cassette knows%s; use one of %s",
			key, sp.StorageProvider, suggest.Hint(sp.StorageProvider, known), strings.Join(known, ", "))
	case sp.StorageProvider != "mem" && strings.TrimSpace(sp.BucketName) == "":
		return s, p.errf(props.Line, where+".storageProperties.bucketName", "%s.storageProperties.bucketName is not set; name the bucket that holds the backups", where)
	}
	return s, nil
}

func storageNames(inv *Inventory) []string {
	out := make([]string, 0, len(inv.Storage))
	for _, s := range inv.Storage {
		out = append(out, s.Name)
	}
	return out
}
