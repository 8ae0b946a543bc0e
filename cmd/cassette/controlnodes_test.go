package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cassette-backup/cassette/engine/cassandra"
)

// controlNode is one `cassette serve` of the control plane test.
type controlNode struct {
	name, dc, rack   string
	data, state, cfg string
	tokensFile, grpc string
	tokens           []int64
	seed             int
	files, bytes     int64
	proc             *serveProc
}

func (n *controlNode) writeConfig(t *testing.T, buckets, extra string) {
	t.Helper()
	body := fmt.Sprintf("storageProperties:\n  storageProvider: local\n  basePath: %s\n  bucketName: backups\n  maxBackupCount: 1\n"+
		"cassandra:\n  dataDirs: [%s]\n  datacenter: %s\n  rack: %s\n  tokensFile: %s\n%scacheDir: %s\n%s",
		buckets, n.data, n.dc, n.rack, n.tokensFile, extra, filepath.Join(filepath.Dir(n.cfg), "cache"), n.grpc)
	if err := os.WriteFile(n.cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (n *controlNode) start(t *testing.T, bin string, env ...string) {
	t.Helper()
	n.proc = startServe(t, bin, []string{"--config", n.cfg, "serve", "--listen", "127.0.0.1:0", "--state-dir", n.state},
		append([]string{"POD_NAME=" + n.name}, env...)...)
	if n.proc == nil {
		t.FailNow()
	}
}

// restart stops n's sidecar, starts it again with the configuration extra
// (cassandra keys, see writeConfig) and env, and points the inventory inv
// at its new address.
func (n *controlNode) restart(t *testing.T, inv, bin, buckets, extra string, env ...string) {
	t.Helper()
	n.proc.stop(t)
	n.writeConfig(t, buckets, extra)
	n.start(t, bin, env...)
	raw, err := os.ReadFile(inv)
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.Replace(raw, []byte(`"`+addrOf(t, raw, n.name)+`"`), []byte(`"`+n.proc.addr+`"`), 1)
	if err := os.WriteFile(inv, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// controlCluster is the control plane tests' cluster "demo": three
// `cassette serve` sidecars on one local repository (datacenter dc1: two
// nodes in racks r1 and r2; dc2: one node served with mutual TLS) and the
// inventory that names them. TestControlPlane and the web console's browser
// test both run on it.
type controlCluster struct {
	dir, bin, buckets string
	fake              string // the fake nodetool
	inv               string // inventory.yaml
	pki               *testPKI
	nodes             []*controlNode
}

// startControlCluster builds cassette into a temporary folder, starts the
// three sidecars (stopped in t.Cleanup) and writes the inventory.
func startControlCluster(t *testing.T) *controlCluster {
	t.Helper()
	dir := t.TempDir()
	bin := buildCassette(t, dir)
	pki := newTestPKI(t, filepath.Join(dir, "pki"))
	fake, err := cassandra.FakeNodetoolPath()
	if err != nil {
		t.Fatal(err)
	}
	buckets := filepath.Join(dir, "buckets")
	nodes := []*controlNode{
		{name: "demo-dc1-r1-sts-0", dc: "dc1", rack: "r1", seed: 0},
		{name: "demo-dc1-r2-sts-0", dc: "dc1", rack: "r2", seed: 1},
		{name: "demo-dc2-default-sts-0", dc: "dc2", rack: "default", seed: 2,
			grpc: fmt.Sprintf("grpc:\n  caCert: %s\n  tlsCert: %s\n  tlsKey: %s\n", pki.ca, pki.serverCert, pki.serverKey)},
	}
	for i, n := range nodes {
		home := filepath.Join(dir, n.name)
		n.data, n.state, n.cfg, n.tokensFile = filepath.Join(home, "data"), filepath.Join(home, "state"), filepath.Join(home, "cassette.yaml"), filepath.Join(home, "tokens")
		n.files, n.bytes = makeTables(t, n.data, n.seed)
		n.tokens = []int64{int64(i)*1000 - 5000, int64(i)*1000 + 5000}
		os.WriteFile(n.tokensFile, []byte(fmt.Sprintf("%d,%d\n", n.tokens[0], n.tokens[1])), 0o644)
		n.writeConfig(t, buckets, "  snapshot: hardlink\n")
	}
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() { n.start(t, bin) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	inv := filepath.Join(dir, "inventory.yaml")
	os.WriteFile(inv, []byte(fmt.Sprintf(`clusters:
  - name: demo
    datacenters:
      - name: dc1
        storageConfiguration: local-disk
        nodes:
          - {name: %s, address: "%s", rack: r1}
          - {name: %s, address: "%s", rack: r2}
      - name: dc2
        storageConfiguration: local-disk
        tls: {caCert: %s, tlsCert: %s, tlsKey: %s, serverName: localhost}
        nodes:
          - {name: %s, address: "%s"}
storageConfigurations:
  - name: local-disk
    storageProperties: {storageProvider: local, basePath: %s, bucketName: backups, credentialsFile: secrets/none.ini, maxBackupCount: 1}
`, nodes[0].name, nodes[0].proc.addr, nodes[1].name, nodes[1].proc.addr, pki.ca, pki.clientCert, pki.clientKey,
		nodes[2].name, nodes[2].proc.addr, buckets)), 0o600)
	return &controlCluster{dir: dir, bin: bin, buckets: buckets, fake: fake, inv: inv, pki: pki, nodes: nodes}
}
