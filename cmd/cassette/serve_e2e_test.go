package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
	"github.com/cassette-backup/cassette/providers/providertest"
)

// TestServeLikeTheOperator drives three `cassette serve` processes (the
// real binary; one repository, three data directories, node names from
// POD_NAME; the third with mutual TLS) with a client generated from
// medusa.proto, the way k8ssandra-operator does: AsyncBackup on every pod,
// BackupStatus polls, GetBackups and every field the operator copies into
// its MedusaBackup, PrepareRestore, PurgeBackups, DeleteBackup; plus
// grpc_health_probe with and without mTLS, a restart that answers from the
// repository, the metrics endpoint, and the exit on a configuration change.
func TestServeLikeTheOperator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cassette and runs three servers; skipped with -short")
	}
	t.Setenv("CASSETTE_CONFIG", "")
	probe := healthProbe(t)
	testStart := time.Now().Add(-time.Second)
	dir := t.TempDir()
	bin := buildCassette(t, dir)
	pki := newTestPKI(t, filepath.Join(dir, "pki"))
	pods := []string{"demo-dc1-default-sts-0", "demo-dc1-default-sts-1", "demo-dc1-default-sts-2"}
	type node struct {
		cfg, state, data string
		tokens           []int64
		files, bytes     int64
		proc             *serveProc
		cl               medusapb.MedusaClient
	}
	nodes := make([]*node, len(pods))
	for i, pod := range pods {
		n := &node{data: filepath.Join(dir, pod, "data"), state: filepath.Join(dir, pod, "state")}
		n.files, n.bytes = makeTables(t, n.data, i)
		n.tokens = []int64{int64(i)*3074457345618258602 - 9223372036854775807, int64(i)*3074457345618258602 - 4611686018427387904}
		tokens := filepath.Join(dir, pod, "tokens")
		os.WriteFile(tokens, []byte(fmt.Sprintf("%d,%d\n", n.tokens[0], n.tokens[1])), 0o644)
		grpcSection := ""
		if i == 2 {
			grpcSection = fmt.Sprintf("grpc:\n  caCert: %s\n  tlsCert: %s\n  tlsKey: %s\n", pki.ca, pki.serverCert, pki.serverKey)
		}
		n.cfg = filepath.Join(dir, pod, "cassette.yaml")
		body := fmt.Sprintf("storageProperties:\n  storageProvider: local\n  basePath: %s\n  bucketName: backups\n  maxBackupCount: 1\n"+
			"cassandra:\n  dataDirs: [%s]\n  snapshot: hardlink\n  datacenter: dc1\n  rack: rack%d\n  tokensFile: %s\ncacheDir: %s\n%s",
			filepath.Join(dir, "buckets"), n.data, i%2, tokens, filepath.Join(dir, pod, "cache"), grpcSection)
		if err := os.WriteFile(n.cfg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		nodes[i] = n
	}
	// The three start together on an empty bucket: one creates the
	// repository, the others open it.
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := []string{"--config", n.cfg, "serve", "--listen", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--state-dir", n.state}
			if i == 1 {
				args = append(args, "--config-check-interval", "200ms")
			}
			n.proc = startServe(t, bin, args, "POD_NAME="+pods[i])
		}()
	}
	wg.Wait()
	for i, n := range nodes {
		if n.proc == nil {
			t.FailNow()
		}
		creds := insecure.NewCredentials()
		if i == 2 {
			creds = credentials.NewTLS(pki.clientTLS(t))
		}
		n.cl = dialMedusa(t, n.proc.addr, creds)
	}

	// The operator's probes: grpc_health_probe --addr=:<port>, with the TLS
	// flags when mTLS is on.
	if out, err := exec.Command(probe, "--addr="+nodes[0].proc.addr).CombinedOutput(); err != nil || !strings.Contains(string(out), "SERVING") {
		t.Fatalf("grpc_health_probe: %v %s", err, out)
	}
	mtls := []string{"--addr=" + nodes[2].proc.addr, "-tls", "-tls-ca-cert=" + pki.ca, "-tls-server-name=localhost"}
	if out, err := exec.Command(probe, append(mtls, "-tls-client-cert="+pki.clientCert, "-tls-client-key="+pki.clientKey)...).CombinedOutput(); err != nil || !strings.Contains(string(out), "SERVING") {
		t.Fatalf("grpc_health_probe with mTLS: %v %s", err, out)
	}
	if out, err := exec.Command(probe, mtls...).CombinedOutput(); err == nil {
		t.Fatalf("mTLS server answered a client without a certificate: %s", out)
	}
	if out, err := exec.Command(probe, "-addr="+nodes[2].proc.addr).CombinedOutput(); err == nil {
		t.Fatalf("mTLS server answered plain text: %s", out)
	}

	ctx := context.Background()
	backupAll := func(name string, mode medusapb.BackupRequest_Mode) {
		t.Helper()
		for i, n := range nodes {
			r, err := n.cl.AsyncBackup(ctx, &medusapb.BackupRequest{Name: name, Mode: mode})
			if err != nil || r.GetBackupName() != name || r.GetStatus() != medusapb.StatusType_IN_PROGRESS {
				t.Fatalf("AsyncBackup %s on %s: %v %v", name, pods[i], r, err)
			}
			// The first poll comes at once: never NOT_FOUND.
			st, err := n.cl.BackupStatus(ctx, &medusapb.BackupStatusRequest{BackupName: name})
			if err != nil || (st.GetStatus() != medusapb.StatusType_IN_PROGRESS && st.GetStatus() != medusapb.StatusType_SUCCESS) || !statusTimeRE.MatchString(st.GetStartTime()) {
				t.Fatalf("first BackupStatus %s on %s: %v %v", name, pods[i], st, err)
			}
		}
		for i, n := range nodes {
			st := pollStatus(t, n.cl, name)
			if st.GetStatus() != medusapb.StatusType_SUCCESS || !statusTimeRE.MatchString(st.GetFinishTime()) {
				t.Fatalf("backup %s on %s: %v\n%s", name, pods[i], st, n.proc.stderr())
			}
		}
	}
	backupAll("medusa-backup-1", medusapb.BackupRequest_FULL)

	got, err := nodes[1].cl.GetBackups(ctx, &medusapb.GetBackupsRequest{})
	if err != nil || len(got.GetBackups()) != 1 || got.GetOverallStatus() != medusapb.StatusType_SUCCESS {
		t.Fatalf("GetBackups: %v %v", got, err)
	}
	b := got.GetBackups()[0]
	var files, size int64
	want := &medusapb.BackupSummary{BackupName: "medusa-backup-1", StartTime: b.GetStartTime(), FinishTime: b.GetFinishTime(),
		TotalNodes: 3, FinishedNodes: 3, Status: medusapb.StatusType_SUCCESS, BackupType: "full"}
	for i, n := range nodes {
		files += n.files
		size += n.bytes
		want.Nodes = append(want.Nodes, &medusapb.BackupNode{Host: pods[i], Tokens: n.tokens, Datacenter: "dc1", Rack: fmt.Sprintf("rack%d", i%2)})
	}
	want.TotalObjects, want.TotalSize = files, size
	if !proto.Equal(b, want) {
		t.Fatalf("MedusaBackup fields:\n got %v\nwant %v", b, want)
	}
	if b.GetStartTime() < testStart.Unix() || b.GetFinishTime() < b.GetStartTime() || b.GetFinishTime() > time.Now().Unix()+1 {
		t.Fatalf("times %d..%d, test started %d", b.GetStartTime(), b.GetFinishTime(), testStart.Unix())
	}
	one, err := nodes[2].cl.GetBackup(ctx, &medusapb.GetBackupRequest{BackupName: "medusa-backup-1"})
	if err != nil || !proto.Equal(one.GetBackup(), b) || one.GetStatus() != medusapb.StatusType_SUCCESS {
		t.Fatalf("GetBackup: %v %v", one, err)
	}
	_, err = nodes[0].cl.GetBackup(ctx, &medusapb.GetBackupRequest{BackupName: "nope"})
	wantCode(t, err, codes.NotFound, "nope")

	// PrepareRestore records the in-place mapping for the RESTORE init
	// container.
	if _, err := nodes[0].cl.PrepareRestore(ctx, &medusapb.PrepareRestoreRequest{BackupName: "medusa-backup-1", Datacenter: "dc1", RestoreKey: "3f1c2a9e"}); err != nil {
		t.Fatal(err)
	}
	var mapping restoreMappingFile
	raw, err := os.ReadFile(filepath.Join(nodes[0].state, ".restore_mapping", "3f1c2a9e"))
	if err != nil || json.Unmarshal(raw, &mapping) != nil || !mapping.InPlace || len(mapping.HostMap) != 3 ||
		mapping.HostMap[pods[1]].Source[0] != pods[1] || mapping.BackupName != "medusa-backup-1" || mapping.Datacenter != "dc1" {
		t.Fatalf("restore mapping: %v %s", err, raw)
	}
	_, err = nodes[0].cl.PrepareRestore(ctx, &medusapb.PrepareRestoreRequest{BackupName: "medusa-backup-1", Datacenter: "dc9", RestoreKey: "k2"})
	wantCode(t, err, codes.FailedPrecondition, `no node in datacenter "dc9"`)

	// A second, differential backup after node 0's data changed.
	os.Remove(filepath.Join(nodes[0].data, "ks1", "users-0a1b2c", "nb-1-big-Data.db"))
	backupAll("medusa-backup-2", medusapb.BackupRequest_DIFFERENTIAL)
	got, err = nodes[0].cl.GetBackups(ctx, &medusapb.GetBackupsRequest{})
	if err != nil || len(got.GetBackups()) != 2 || got.GetBackups()[0].GetBackupName() != "medusa-backup-1" ||
		got.GetBackups()[1].GetBackupName() != "medusa-backup-2" || got.GetBackups()[1].GetBackupType() != "differential" {
		t.Fatalf("GetBackups after the second backup: %v %v", got, err)
	}

	// A restarted server answers from the repository.
	nodes[0].proc.stop(t)
	nodes[0].proc = startServe(t, bin, []string{"--config", nodes[0].cfg, "serve", "--listen", "127.0.0.1:0", "--state-dir", nodes[0].state}, "POD_NAME="+pods[0])
	nodes[0].cl = dialMedusa(t, nodes[0].proc.addr, insecure.NewCredentials())
	st, err := nodes[0].cl.BackupStatus(ctx, &medusapb.BackupStatusRequest{BackupName: "medusa-backup-2"})
	if err != nil || st.GetStatus() != medusapb.StatusType_SUCCESS || !statusTimeRE.MatchString(st.GetFinishTime()) {
		t.Fatalf("BackupStatus after a restart: %v %v", st, err)
	}
	if r, err := nodes[0].cl.AsyncBackup(ctx, &medusapb.BackupRequest{Name: "medusa-backup-2"}); err != nil || r.GetStatus() != medusapb.StatusType_SUCCESS {
		t.Fatalf("AsyncBackup of a complete backup after a restart: %v %v", r, err)
	}
	_, err = nodes[0].cl.BackupStatus(ctx, &medusapb.BackupStatusRequest{BackupName: "never-taken"})
	wantCode(t, err, codes.NotFound, "never-taken")

	// maxBackupCount 1: each node's purge removes its first backup.
	for i, n := range nodes {
		r, err := n.cl.PurgeBackups(ctx, &medusapb.PurgeBackupsRequest{})
		if err != nil || r.GetNbBackupsPurged() != 1 || r.GetNbObjectsPurged() <= 0 || r.GetTotalPurgedSize() <= 0 || r.GetTotalObjectsWithinGcGrace() < 0 {
			t.Fatalf("PurgeBackups on %s: %v %v", pods[i], r, err)
		}
	}
	got, err = nodes[2].cl.GetBackups(ctx, &medusapb.GetBackupsRequest{})
	if err != nil || len(got.GetBackups()) != 1 || got.GetBackups()[0].GetBackupName() != "medusa-backup-2" || got.GetBackups()[0].GetFinishedNodes() != 3 {
		t.Fatalf("GetBackups after the purges: %v %v", got, err)
	}
	metrics := scrape(t, nodes[1].proc.metrics)
	for _, want := range []string{"cassette_backups_started_total 2", "cassette_backups_succeeded_total 2", "cassette_backups_failed_total 0",
		"cassette_purge_backups_deleted_total 1", "cassette_purges_succeeded_total 1"} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, name := range []string{"cassette_backup_read_bytes_total", "cassette_backup_uploaded_bytes_total", "cassette_last_successful_backup_timestamp_seconds",
		"cassette_purge_objects_deleted_total", "cassette_purge_bytes_freed_total", "cassette_backup_duration_seconds_count"} {
		if v := metricLine(metrics, name); v <= 0 {
			t.Errorf("metric %s = %v, want > 0", name, v)
		}
	}

	// DeleteBackup removes the backup of every node.
	if r, err := nodes[2].cl.DeleteBackup(ctx, &medusapb.DeleteBackupRequest{Name: "medusa-backup-2"}); err != nil || r.GetName() != "medusa-backup-2" {
		t.Fatalf("DeleteBackup: %v %v", r, err)
	}
	got, err = nodes[0].cl.GetBackups(ctx, &medusapb.GetBackupsRequest{})
	if err != nil || len(got.GetBackups()) != 0 || got.GetOverallStatus() != medusapb.StatusType_UNKNOWN {
		t.Fatalf("GetBackups after DeleteBackup: %v %v", got, err)
	}
	_, err = nodes[1].cl.BackupStatus(ctx, &medusapb.BackupStatusRequest{BackupName: "medusa-backup-2"})
	wantCode(t, err, codes.NotFound, "deleted")
	_, err = nodes[1].cl.DeleteBackup(ctx, &medusapb.DeleteBackupRequest{Name: "medusa-backup-2"})
	wantCode(t, err, codes.NotFound, "medusa-backup-2")

	// A changed configuration file stops an idle server with exit 0, so
	// that Kubernetes restarts it with the new settings.
	f, _ := os.OpenFile(nodes[1].cfg, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("# changed\n")
	f.Close()
	if code := nodes[1].proc.wait(t, 10*time.Second); code != 0 || !strings.Contains(nodes[1].proc.stderr(), "configuration file changed") {
		t.Fatalf("after a configuration change: exit %d\n%s", code, nodes[1].proc.stderr())
	}
	nodes[0].proc.stop(t)
	nodes[2].proc.stop(t)
	for i, n := range nodes {
		if os.Getenv("DEBUG_SERVE") != "" {
			t.Logf("%s:\n%s", pods[i], n.proc.stderr())
		}
		if strings.Contains(n.proc.stderr(), "level=ERROR") {
			t.Errorf("%s logged errors:\n%s", pods[i], n.proc.stderr())
		}
	}
}

// healthProbe returns grpc-health-probe from .cache/servers/bin; missing,
// the test skips, or fails when CASSETTE_REQUIRE_SERVERS=1 or CI=true.
func healthProbe(t *testing.T) string {
	t.Helper()
	p, err := providertest.ServerBin("grpc-health-probe")
	if err != nil {
		if providertest.RequireServers() {
			t.Fatalf("%v (make servers installs it)", err)
		}
		t.Skipf("%v; run scripts/install-servers.sh grpc-health-probe (set CASSETTE_REQUIRE_SERVERS=1 to fail instead)", err)
	}
	return p
}

// makeTables writes a small Cassandra-like data directory and returns its
// file count and size.
func makeTables(t *testing.T, data string, seed int) (files, size int64) {
	t.Helper()
	for ti, tbl := range []string{"ks1/users-0a1b2c", "ks1/events-3d4e5f", "system_schema/tables-afddfb"} {
		d := filepath.Join(data, tbl)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []struct {
			name string
			body []byte
		}{
			{"nb-1-big-Data.db", bytes.Repeat([]byte(fmt.Sprintf("node %d table %d row ", seed, ti)), 4000+seed*100)},
			{"nb-1-big-Index.db", []byte(strings.Repeat("i", 300+ti))},
			{"nb-1-big-TOC.txt", []byte("Data.db\nIndex.db\nTOC.txt\n")},
		} {
			if err := os.WriteFile(filepath.Join(d, f.name), f.body, 0o644); err != nil {
				t.Fatal(err)
			}
			files++
			size += int64(len(f.body))
		}
	}
	return files, size
}

// pollStatus polls BackupStatus the way the operator does (faster) until
// the backup is no longer IN_PROGRESS.
func pollStatus(t *testing.T, cl medusapb.MedusaClient, name string) *medusapb.BackupStatusResponse {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := cl.BackupStatus(context.Background(), &medusapb.BackupStatusRequest{BackupName: name})
		if err != nil {
			t.Fatalf("BackupStatus %s: %v", name, err)
		}
		if st.GetStatus() != medusapb.StatusType_IN_PROGRESS {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("backup %s still IN_PROGRESS after a minute", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func dialMedusa(t *testing.T, addr string, creds credentials.TransportCredentials) medusapb.MedusaClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return medusapb.NewMedusaClient(conn)
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metricLine returns the value of an unlabelled sample, -1 when absent.
func metricLine(metrics, name string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(metrics)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// serveProc is a running `cassette serve`.
type serveProc struct {
	cmd           *exec.Cmd
	addr, metrics string
	mu            sync.Mutex
	errBuf        bytes.Buffer
	done          chan struct{}
}

func (p *serveProc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errBuf.Write(b)
}

func (p *serveProc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.errBuf.String()
}

var serveLineRE = regexp.MustCompile(`gRPC \([^)]*\) on (\S+?)(?:, metrics on http://(\S+)/metrics)?$`)

// startServe starts the binary with args and env, and waits for the line
// that says where it listens.
func startServe(t *testing.T, bin string, args []string, env ...string) *serveProc {
	t.Helper()
	p := &serveProc{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CASSETTE_") && !strings.HasPrefix(kv, "POD_NAME=") && !strings.HasPrefix(kv, "MEDUSA_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Env = append(p.cmd.Env, append(env, "CASSETTE_LOG_LEVEL=info")...)
	p.cmd.Stderr = p
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		lines <- strings.TrimSpace(line)
		io.Copy(io.Discard, out)
	}()
	select {
	case line := <-lines:
		m := serveLineRE.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("cassette %s: unexpected first line %q\n%s", strings.Join(args, " "), line, p.stderr())
			return nil
		}
		p.addr, p.metrics = m[1], m[2]
	case <-time.After(30 * time.Second):
		t.Errorf("cassette %s did not start listening within 30s\n%s", strings.Join(args, " "), p.stderr())
		return nil
	}
	return p
}

// wait waits for the process to exit and returns its exit code.
func (p *serveProc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		t.Fatalf("cassette serve still running after %s\n%s", d, p.stderr())
		return -1
	}
}

// stop sends SIGTERM, as Kubernetes does, and expects exit 0.
func (p *serveProc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("cassette serve exited %d on SIGTERM\n%s", code, p.stderr())
	}
}

// testPKI is a throwaway CA with a server certificate (localhost,
// 127.0.0.1) and a client certificate, as PEM files.
type testPKI struct {
	ca, serverCert, serverKey, clientCert, clientKey string
}

func newTestPKI(t *testing.T, dir string) *testPKI {
	t.Helper()
	os.MkdirAll(dir, 0o700)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	now := time.Now()
	caKey := newKey()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cassette test CA"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		k := newKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
		if usage == x509.ExtKeyUsageServerAuth {
			tmpl.DNSNames, tmpl.IPAddresses = []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return write(name+".crt", "CERTIFICATE", der), write(name+".key", "PRIVATE KEY", kb)
	}
	p := &testPKI{ca: write("ca.crt", "CERTIFICATE", caDER)}
	p.serverCert, p.serverKey = leaf("server", 2, x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = leaf("client", 3, x509.ExtKeyUsageClientAuth)
	return p
}

// clientTLS is what an mTLS client (the operator) uses.
func (p *testPKI) clientTLS(t *testing.T) *tls.Config {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(p.clientCert, p.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	b, _ := os.ReadFile(p.ca)
	pool.AppendCertsFromPEM(b)
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
}
