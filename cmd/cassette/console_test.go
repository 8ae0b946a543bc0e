package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// inProcess runs `cassette args...` in this process until ctx is done and
// returns its first line of output, its exit code channel and its stderr
// (read it only once the code arrived).
func inProcess(t *testing.T, ctx context.Context, args ...string) (string, <-chan int, *bytes.Buffer) {
	t.Helper()
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		c := run(ctx, append([]string{"cassette"}, args...), pw, &stderr)
		pw.Close()
		code <- c
	}()
	br := bufio.NewReader(pr)
	line, err := br.ReadString('\n')
	go io.Copy(io.Discard, br)
	if err != nil {
		c := <-code
		t.Fatalf("cassette %s: exit %d before its first line: %s", strings.Join(args, " "), c, stderr.String())
	}
	return strings.TrimSpace(line), code, &stderr
}

var consoleURLRE = regexp.MustCompile(`^cassette control: web console on (http://\S+/) `)

// TestConsoleEndToEnd runs two real `cassette serve` sidecars and `cassette
// control --http` in this process, all on 127.0.0.1: a backup started from
// the Backups tab reaches SUCCESS in the activity JSON, the backups list
// and the backup's page show it with files and size per node read from the
// repository, and the Repository page reads the real repository.
func TestConsoleEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two sidecars; skipped with -short")
	}
	t.Setenv("CASSETTE_CONFIG", "")
	t.Setenv("CASSETTE_INVENTORY", "")
	dir := t.TempDir()
	buckets := filepath.Join(dir, "buckets")
	ctx, cancel := context.WithCancel(context.Background())
	var codes []<-chan int
	var stderrs []*bytes.Buffer
	defer func() {
		cancel()
		for i, c := range codes {
			if code := <-c; code != 0 {
				t.Errorf("process %d exited %d: %s", i, code, stderrs[i].String())
			}
		}
	}()
	nodes := []struct{ name, rack, addr string }{{name: "demo-dc1-r1-sts-0", rack: "r1"}, {name: "demo-dc1-r2-sts-0", rack: "r2"}}
	for i := range nodes {
		n := &nodes[i]
		home := filepath.Join(dir, n.name)
		data := filepath.Join(home, "data")
		makeTables(t, data, i)
		cfg := filepath.Join(home, "cassette.yaml")
		os.WriteFile(cfg, []byte(fmt.Sprintf("storageProperties:\n  storageProvider: local\n  basePath: %s\n  bucketName: backups\n"+
			"cassandra:\n  dataDirs: [%s]\n  datacenter: dc1\n  rack: %s\n  snapshot: none\ncacheDir: %s\n", buckets, data, n.rack, filepath.Join(home, "cache"))), 0o600)
		line, code, stderr := inProcess(t, ctx, "--config", cfg, "serve", "--listen", "127.0.0.1:0", "--node", n.name, "--state-dir", filepath.Join(home, "state"))
		codes, stderrs = append(codes, code), append(stderrs, stderr)
		m := serveLineRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("serve: first line %q", line)
		}
		n.addr = m[1]
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
storageConfigurations:
  - name: local-disk
    storageProperties: {storageProvider: local, basePath: %s, bucketName: backups}
`, nodes[0].name, nodes[0].addr, nodes[1].name, nodes[1].addr, buckets)), 0o600)

	// Exposed without TLS and a credential: refused, exit 2.
	if code, _, stderr := runCLI(t, "control", "--http", "0.0.0.0:0", "--inventory", inv); code != exitUsage ||
		!strings.Contains(stderr, "pass --http-tls-cert and --http-tls-key, and --http-auth-file or --http-client-ca") {
		t.Fatalf("exposed console: exit %d: %s", code, stderr)
	}

	line, code, stderr := inProcess(t, ctx, "control", "--http", "127.0.0.1:0", "--inventory", inv, "--state-dir", filepath.Join(dir, "console"),
		"--poll-interval", "50ms")
	codes, stderrs = append(codes, code), append(stderrs, stderr)
	m := consoleURLRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("console: first line %q", line)
	}
	base := strings.TrimSuffix(m[1], "/")
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	page := get("/")
	token := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(page)
	if token == nil || !strings.Contains(page, `id="create-backup"`) {
		t.Fatalf("backups tab:\n%s", page)
	}
	form := url.Values{"csrf": {token[1]}, "name": {"console-full-1"}, "datacenter": {"dc1"}, "type": {"full"}, "mode": {"now"}}
	resp, err := http.PostForm(base+"/clusters/demo/backups", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/activity" {
		t.Fatalf("run now: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	var mu sync.Mutex
	status := func() string {
		mu.Lock()
		defer mu.Unlock()
		var a struct {
			Backups []struct{ Name, Status, Error string }
		}
		if err := json.Unmarshal([]byte(get("/api/activity")), &a); err != nil {
			t.Fatal(err)
		}
		for _, b := range a.Backups {
			if b.Name == "console-full-1" {
				return b.Status + " " + b.Error
			}
		}
		return ""
	}
	deadline := time.Now().Add(60 * time.Second)
	for st := status(); !strings.HasPrefix(st, "SUCCESS"); st = status() {
		if strings.HasPrefix(st, "FAILED") || time.Now().After(deadline) {
			t.Fatalf("backup: %q", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Each sidecar's progress headers reached Backup Activity.
	var act struct {
		Backups []struct {
			Name  string
			Bytes int64
			Nodes []struct {
				Node     string
				Progress *struct{ FilesDone, FilesTotal, BytesDone, BytesTotal int64 }
			}
		}
	}
	if err := json.Unmarshal([]byte(get("/api/activity")), &act); err != nil || len(act.Backups) == 0 {
		t.Fatalf("activity: %v", err)
	}
	for _, n := range act.Backups[0].Nodes {
		p := n.Progress
		if p == nil || p.FilesDone != 9 || p.FilesTotal != 9 || p.BytesDone <= 0 || p.BytesDone != p.BytesTotal {
			t.Fatalf("progress of node %s: %+v", n.Node, p)
		}
	}
	if list := get("/clusters/demo/backups"); !strings.Contains(list, `<tr data-backup="console-full-1" data-status="SUCCESS">`) {
		t.Fatalf("backups list:\n%s", list)
	}
	detail := get("/clusters/demo/backups/console-full-1?dc=dc1")
	for _, n := range nodes {
		row := regexp.MustCompile(`<tr data-node="` + n.name + `">.*?<td>(\d+)</td><td>([^<]+)</td></tr>`).FindStringSubmatch(detail)
		if row == nil || row[1] != "9" || row[2] == "-" {
			t.Fatalf("node %s on the backup's page: %v\n%s", n.name, row, detail)
		}
	}
	repo := get("/repository?storage=local-disk")
	if !strings.Contains(repo, `data-backup="console-full-1"`) || strings.Count(repo, `<rect class="bar"`) != 1 || strings.Contains(repo, `data-stat="stored">unknown`) {
		t.Fatalf("repository page:\n%s", repo)
	}
}
