package console

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/engine"
	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/all"
	"github.com/cassette-backup/cassette/providers/local"
)

// backUpLocal backs up a small node twice into the local-disk
// configuration's repository, as two backups that share most chunks.
func backUpLocal(t *testing.T, r *rig) {
	t.Helper()
	ctx := context.Background()
	root := filepath.Join(r.dir, "buckets", "backups")
	st, err := local.Create(ctx, root, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	cache := t.TempDir()
	repo, err := chunkstore.Init(ctx, st, chunkstore.InitOptions{MinChunkSize: 1 << 10, MaxChunkSize: 16 << 10, AverageChunkBits: 12, PackSize: 128 << 10},
		chunkstore.Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	data := filepath.Join(r.dir, "data")
	tbl := filepath.Join(data, "ks1", "users-0a1b2c")
	os.MkdirAll(tbl, 0o755)
	e := &engine.Engine{Repo: repo, CacheDir: cache}
	for i, name := range []string{"first", "second"} {
		body := []byte(strings.Repeat(fmt.Sprintf("row %d of a table that dedups well; ", i/2), 20000))
		if err := os.WriteFile(filepath.Join(tbl, fmt.Sprintf("nb-%d-big-Data.db", i+1)), body, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Backup(ctx, engine.BackupOptions{Name: name, Node: "demo-dc2-default-sts-0", DataDirs: []string{data}}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRepositoryPage: a configuration the console can open shows stored
// and referenced sizes, the object count and a bar per backup; one that
// names only a Kubernetes secret says so and shows the sidecars' totals.
func TestRepositoryPage(t *testing.T) {
	r := newRig(t, func(o *Options) {
		o.OpenStorage = func(ctx context.Context, sp providers.StorageProperties) (providers.Storage, error) {
			return all.Open(ctx, sp, all.Options{})
		}
	})
	backUpLocal(t, r)
	before := snapshotDir(t, filepath.Join(r.dir, "buckets"))
	code, body := r.get("/repository?storage=local-disk")
	if code != http.StatusOK {
		t.Fatalf("%d\n%s", code, body)
	}
	for _, want := range []string{`id="repo-stats"`, `<svg id="repo-chart"`, `data-backup="first"`, `data-backup="second"`, `×</dd>`} {
		if !strings.Contains(body, want) {
			t.Fatalf("missing %q\n%s", want, body)
		}
	}
	if n := strings.Count(body, `<rect class="bar"`); n != 2 {
		t.Fatalf("%d bars\n%s", n, body)
	}
	st := r.srv.repos.get(context.Background(), "local-disk", false)
	if !st.Opened || st.Objects == 0 || st.Stored == 0 || st.Referenced <= st.Stored || len(st.Backups) != 2 || st.Backups[0].Name != "first" {
		t.Fatalf("stats: %+v", st)
	}
	if st.Backups[1].Stored >= st.Backups[0].Stored {
		t.Fatalf("the second backup stored %d bytes, the first %d: no deduplication seen", st.Backups[1].Stored, st.Backups[0].Stored)
	}
	if ratio := regexp.MustCompile(`data-stat="ratio">([0-9.]+)×`).FindStringSubmatch(body); ratio == nil || ratio[1] == "0.00" {
		t.Fatalf("ratio: %v", ratio)
	}
	if after := snapshotDir(t, filepath.Join(r.dir, "buckets")); after != before {
		t.Fatalf("the repository changed while the page read it:\n%s\n%s", before, after)
	}

	// Only a secret name: say why, show what the sidecars know.
	r.repo.backups = nil
	code, body = r.get("/repository?storage=minio")
	if code != http.StatusOK || !strings.Contains(body, "names only the Kubernetes secret medusa-bucket-key") ||
		!strings.Contains(body, `data-stat="stored">unknown`) || !strings.Contains(body, `<svg id="repo-chart"`) {
		t.Fatalf("minio:\n%s", body)
	}
	// The default is the cluster's first datacenter's configuration.
	if _, body := r.get("/repository"); !strings.Contains(body, `<option value="minio" selected>`) {
		t.Fatalf("default configuration:\n%s", body)
	}
	if code, _ := r.get("/repository?storage=nope"); code != http.StatusNotFound {
		t.Fatalf("unknown configuration: %d", code)
	}
}

// snapshotDir lists the files of dir with their sizes.
func snapshotDir(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			fmt.Fprintf(&b, "%s %d %d\n", p, fi.Size(), fi.ModTime().UnixNano())
		}
		return nil
	})
	return b.String()
}

// TestEveryPageRenders: the templates parse, and every page renders with
// the navigation, the cluster picker and its hooks.
func TestEveryPageRenders(t *testing.T) {
	if _, err := parsePages(); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, nil)
	code, _ := r.get("/")
	if resp, err := noRedirect.Get(r.ts.URL + "/"); err != nil || resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/clusters/demo/backups" {
		t.Fatalf("GET /: %d %v", code, err)
	}
	for _, path := range []string{"/storage", "/storage/new", "/storage/minio/edit", "/storage/minio/delete", "/clusters/demo/backups",
		"/activity", "/schedules", "/repository", "/repository?storage=spare"} {
		code, body := r.get(path)
		if code != http.StatusOK {
			t.Fatalf("%s: %d\n%s", path, code, body)
		}
		for _, want := range []string{`id="nav-storage"`, `id="nav-backups"`, `id="nav-activity"`, `id="nav-schedules"`, `id="nav-repository"`,
			`id="cluster-picker"`, `<script src="/static/console.js" defer>`, `name="viewport"`, `aria-current="page"`} {
			if !strings.Contains(body, want) {
				t.Fatalf("%s: missing %q", path, want)
			}
		}
	}
	for path, code := range map[string]int{"/clusters/nope/backups": 404, "/storage/nope/edit": 404, "/schedules/nope/x/delete": 404,
		"/static/": 404, "/static/console.css": 200, "/pick?cluster=demo&page=schedules": 303} {
		if got, _ := r.get(path); got != code {
			t.Errorf("%s: %d, want %d", path, got, code)
		}
	}
}

// TestRepositoryErrorShowsNoSecret: a repository that cannot be reached is
// one line on the page, without the credentials the console read for it.
func TestRepositoryErrorShowsNoSecret(t *testing.T) {
	r := newRig(t, func(o *Options) {
		o.OpenStorage = func(ctx context.Context, sp providers.StorageProperties) (providers.Storage, error) {
			return all.Open(ctx, sp, all.Options{})
		}
	})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := lis.Addr().(*net.TCPAddr).Port
	lis.Close()
	form := url.Values{"name": {"unreachable"}, "storageProvider": {"s3_compatible"}, "bucketName": {"b"}, "host": {"127.0.0.1"},
		"port": {fmt.Sprint(dead)}, "credentialsFile": {r.credFile}}
	if code, _, body := r.post("/storage", form); code != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", code, body)
	}
	code, body := r.get("/repository?storage=unreachable")
	if code != http.StatusOK || !strings.Contains(body, "the repository could not be read") || !strings.Contains(body, `data-stat="stored">unknown`) {
		t.Fatalf("%d\n%s", code, body)
	}
	if strings.Contains(body, "TOP-SECRET") || strings.Contains(body, "AKIA-TEST") {
		t.Fatal("the page shows the credentials")
	}
}
