package control

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodInventory = `# two datacenters, one served with mutual TLS
clusters:
  - name: demo
    datacenters:
      - name: dc1
        storageConfiguration: minio
        nodes:
          - name: demo-dc1-r1-sts-0
            address: 10.0.0.11:50051
            rack: r1
          - name: demo-dc1-r2-sts-0
            address: 10.0.0.12      # default port
            rack: r2
      - name: dc2
        tls:
          caCert: pki/ca.crt
          tlsCert: pki/client.crt
          tlsKey: pki/client.key
          serverName: localhost
        nodes:
          - name: demo-dc2-default-sts-0
            address: "[fd00::1]:7000"
          - name: demo-dc2-default-sts-1
            address: 10.0.1.12:50051
            tls:
              serverName: node1.example
storageConfigurations:
  - name: minio
    storageProperties:
      storageProvider: s3_compatible
      bucketName: medusa-backups
      storageSecretRef:
        name: medusa-bucket-key
      credentialsFile: creds/minio.ini
      host: minio.minio.svc
      port: "9000"
      secure: "False"
      maxBackupCount: 7
`

// writeInventory writes body as inventory.yaml in a folder with the PEM
// files it names (empty: Parse only checks they are files).
func writeInventory(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "pki"), 0o700)
	for _, f := range []string{"ca.crt", "client.crt", "client.key"} {
		os.WriteFile(filepath.Join(dir, "pki", f), []byte("x"), 0o600)
	}
	p := filepath.Join(dir, "inventory.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadInventory(t *testing.T) {
	path := writeInventory(t, goodInventory)
	dir := filepath.Dir(path)
	inv, err := LoadInventory(path)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := inv.FindCluster("")
	if err != nil || cl.Name != "demo" || len(cl.Datacenters) != 2 {
		t.Fatalf("cluster: %+v %v", cl, err)
	}
	dc1, _ := cl.FindDatacenter("dc1")
	if dc1.Storage != "minio" || dc1.Nodes[1].Address != "10.0.0.12:50051" || dc1.Nodes[1].Rack != "r2" || !dc1.Nodes[0].TLS.IsZero() || dc1.Nodes[0].Datacenter != "dc1" {
		t.Fatalf("dc1: %+v %+v", dc1, dc1.Nodes[1])
	}
	dc2, _ := cl.FindDatacenter("dc2")
	n0, n1 := dc2.Nodes[0], dc2.Nodes[1]
	if n0.Rack != DefaultRack || n0.Address != "[fd00::1]:7000" || n0.TLS.CACert != filepath.Join(dir, "pki", "ca.crt") ||
		n0.TLS.TLSKey != filepath.Join(dir, "pki", "client.key") || n0.TLS.ServerName != "localhost" {
		t.Fatalf("dc2 node 0: %+v", n0)
	}
	// The node's serverName over its datacenter's, the rest inherited.
	if n1.TLS.ServerName != "node1.example" || n1.TLS.TLSCert != filepath.Join(dir, "pki", "client.crt") {
		t.Fatalf("dc2 node 1: %+v", n1.TLS)
	}
	if racks := dc1.Racks(); len(racks) != 2 || racks[0].Name != "r1" || racks[1].Hosts[0] != "demo-dc1-r2-sts-0" {
		t.Fatalf("racks: %+v", racks)
	}
	sc, err := inv.FindStorage("minio")
	sp := sc.Properties
	if err != nil || sc.SecretRef != "medusa-bucket-key" || sp.StorageProvider != "s3_compatible" || sp.Port != 9000 || sp.IsSecure() ||
		sp.MaxBackupCount != 7 || sp.CredentialsFile != filepath.Join(dir, "creds", "minio.ini") {
		t.Fatalf("storage: %+v %v", sc, err)
	}
	// The inventory as the CLI prints it: the credentials' file name only.
	b, _ := json.Marshal(inv)
	if !strings.Contains(string(b), `"credentialsFile":"`+sp.CredentialsFile+`"`) {
		t.Fatalf("json: %s", b)
	}
	if _, err := cl.FindDatacenter("dc3"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `did you mean "dc1"`) {
		t.Fatalf("unknown dc: %v", err)
	}
	if _, err := inv.FindCluster("dmeo"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `did you mean "demo"`) {
		t.Fatalf("unknown cluster: %v", err)
	}
	if _, err := cl.FindDatacenter(""); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "--dc") {
		t.Fatalf("no dc named: %v", err)
	}
}

// TestInventoryErrors: every problem is one line naming the file, the line
// and the key, and says what to do.
func TestInventoryErrors(t *testing.T) {
	node := "clusters:\n  - name: demo\n    datacenters:\n      - name: dc1\n        nodes:\n          - name: n1\n            address: 127.0.0.1:1\n"
	cases := []struct{ body, want string }{
		{"", ": the file is empty"},
		{"clusters: [", "not valid YAML"},
		{"clustres: []\n", `:1: unknown key clustres (did you mean "clusters"?)`},
		{"clusters: []\n", ":1: clusters is not set or empty"},
		{"clusters:\n  - name: demo\n", ":2: clusters[0].datacenters is not set or empty"},
		{"clusters:\n  - datacenters: []\n", ":2: clusters[0].name is not set"},
		{node + "            rack: r 1\n", `:8: clusters[0].datacenters[0].nodes[0].rack "r 1" is not a valid name`},
		{strings.Replace(node, "127.0.0.1:1", "127.0.0.1:99999", 1), ":7: clusters[0].datacenters[0].nodes[0].address \"127.0.0.1:99999\" is not host:port"},
		{strings.Replace(node, "127.0.0.1:1", "http://x:1", 1), "without a scheme"},
		{strings.Replace(node, "            address: 127.0.0.1:1\n", "", 1), ":6: clusters[0].datacenters[0].nodes[0].address is not set"},
		{node + "          - name: n1\n            address: 127.0.0.1:2\n", ":8: clusters[0].datacenters[0].nodes[1].name: node \"n1\" is declared twice"},
		{node + "          - name: n2\n            address: 127.0.0.1:1\n", ":9: clusters[0].datacenters[0].nodes[1].address 127.0.0.1:1 is also node n1's"},
		{node + "            adress: x\n", `:8: unknown key clusters[0].datacenters[0].nodes[0].adress (did you mean "address"?)`},
		{node + "            tls:\n              tlsCert: pki/client.crt\n", ":9: clusters[0].datacenters[0].nodes[0].tls.tlsKey is not set but tlsCert is"},
		{node + "            tls:\n              caCert: pki/missing.crt\n", ":9: clusters[0].datacenters[0].nodes[0].tls.caCert"},
		{node + "        storageConfiguration: mino\n", `:8: clusters[0].datacenters[0].storageConfiguration "mino" names no entry`},
		{node + "storageConfigurations:\n  - name: s\n    storageProperties:\n      storageProvider: s4\n      bucketName: b\n",
			`:11: storageConfigurations[0].storageProperties.storageProvider "s4" is not a storage provider cassette knows (did you mean "s3"?)`},
		{node + "storageConfigurations:\n  - name: s\n    storageProperties:\n      storageProvider: s3\n",
			"storageConfigurations[0].storageProperties.bucketName is not set"},
		{node + "storageConfigurations:\n  - name: s\n    storageProperties:\n      storageProvider: s3\n      bucketName: b\n      sseCKey: c2VjcmV0\n",
			":13: storageConfigurations[0].storageProperties.sseCKey holds a secret: the inventory never does"},
		{node + "storageConfigurations:\n  - name: s\n    storageProperties:\n      storageProvider: s3\n      bucketName: b\n      port: many\n",
			"storageProperties.port \"many\" must be a whole number"},
		{node + "storageConfigurations:\n  - name: s\n    storageProperties:\n      storageProvider: s3\n      bucket_name: b\n",
			`unknown key storageConfigurations[0].storageProperties.bucket_name (did you mean "bucketName"?)`},
	}
	for _, tc := range cases {
		path := writeInventory(t, tc.body)
		_, err := LoadInventory(path)
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), path) ||
			!strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q:\n got %v\nwant %q", tc.body, err, tc.want)
		}
		if strings.Contains(fmtErr(err), "c2VjcmV0") {
			t.Errorf("the secret's value is in the message: %v", err)
		}
	}
	if _, err := LoadInventory(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "--inventory") {
		t.Errorf("missing file: %v", err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestNormalizeAddress(t *testing.T) {
	for in, want := range map[string]string{"h": "h:50051", "h:1": "h:1", "[::1]:9": "[::1]:9", " 10.0.0.1:50051 ": "10.0.0.1:50051"} {
		if got, msg := normalizeAddress(in); got != want || msg != "" {
			t.Errorf("%q: %q %q", in, got, msg)
		}
	}
	for _, in := range []string{"", ":1", "h:0", "h:x", "::1", "grpc://h:1"} {
		if got, msg := normalizeAddress(in); msg == "" {
			t.Errorf("%q accepted as %q", in, got)
		}
	}
}
