package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cassette-backup/cassette/cmd/internal/browsertest"
)

// TestConsoleBrowser drives the web console (`cassette control --http`) in
// headless Chromium over the control plane test's three real sidecars, as
// an operator would: storage configurations created with the keyboard
// alone, edited and deleted; a cron preview; a backup of dc1 followed live
// on the Activity page to SUCCESS; a schedule created and switched off with
// the keyboard; the repository's statistics; and every page at desktop and
// phone sizes without sideways scrolling, with screenshots kept in
// browsertest.ArtifactsDir. The hooks it uses (ids, data-attributes) are
// the contract in cmd/internal/console's package comment.
func TestConsoleBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cassette, runs three servers and Chromium; skipped with -short")
	}
	start := time.Now()
	t.Setenv("CASSETTE_CONFIG", "")
	t.Setenv("CASSETTE_INVENTORY", "")
	ctx := browsertest.Start(t) // first: it skips at once where there is no browser
	c := startControlCluster(t)
	base := startConsole(t, c)

	t.Run("storage", func(t *testing.T) { checkConsoleStorage(t, ctx, base, c) })
	t.Run("backup now", func(t *testing.T) { checkConsoleBackup(t, ctx, base) })
	t.Run("schedule", func(t *testing.T) { checkConsoleSchedule(t, ctx, base) })
	t.Run("repository", func(t *testing.T) {
		browsertest.Click(t, ctx, "#nav-repository")
		browsertest.WaitFor(t, ctx, "#repo-stats")
		browsertest.WaitFor(t, ctx, "svg#repo-chart")
	})
	t.Run("every page", func(t *testing.T) { checkConsolePages(t, ctx, base) })
	t.Logf("console browser test: %s; screenshots in %s", time.Since(start).Round(time.Second), browsertest.ArtifactsDir(t))
}

// consoleLineRE is the first line `cassette control --http` prints.
var consoleLineRE = regexp.MustCompile(`web console on (https?://[^\s/]+)`)

// startConsole starts `cassette control --http` on a port of its choice on
// 127.0.0.1 (no race for a free port: it prints where it listens) and
// returns its base URL; t.Cleanup kills it.
func startConsole(t *testing.T, c *controlCluster) string {
	t.Helper()
	// The console's own state goes in the test's folder, never in the
	// user's cache; a short poll keeps the backup's progress quick.
	args := []string{"control", "--http", "127.0.0.1:0", "--inventory", c.inv, "--state-dir", filepath.Join(c.dir, "console"),
		"--poll-interval", "200ms", "--unreachable-after", "10s"}
	// serveProc is the sidecars' process wrapper: stderr kept for messages.
	p := &serveProc{cmd: exec.Command(c.bin, args...), done: make(chan struct{})}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CASSETTE_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Dir = filepath.Dir(c.inv)
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
		if t.Failed() {
			t.Logf("cassette %s:\n%s", strings.Join(args, " "), p.stderr())
		}
	})
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		lines <- strings.TrimSpace(line)
		io.Copy(io.Discard, out)
	}()
	select {
	case line := <-lines:
		m := consoleLineRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("cassette %s: first line %q, want \"cassette control: web console on http://...\"\n%s", strings.Join(args, " "), line, p.stderr())
		}
		return m[1]
	case <-p.done:
		t.Fatalf("cassette %s exited: %v\n%s", strings.Join(args, " "), p.cmd.ProcessState, p.stderr())
	case <-time.After(60 * time.Second): // only against a hang; it starts in well under a second
		t.Fatalf("cassette %s printed nothing in 60s\n%s", strings.Join(args, " "), p.stderr())
	}
	return ""
}

// checkConsoleStorage creates a storage configuration with the keyboard
// alone, edits it, and deletes a throwaway one.
func checkConsoleStorage(t *testing.T, ctx context.Context, base string, c *controlCluster) {
	browsertest.Navigate(t, ctx, base+"/")
	if loc := tabURL(t, ctx); !strings.HasSuffix(loc, "/clusters/demo/backups") {
		t.Errorf("GET / went to %s, want /clusters/demo/backups", loc)
	}
	browsertest.TabTo(t, ctx, "#nav-storage")
	browsertest.Press(t, ctx, browsertest.Enter)
	browsertest.WaitFor(t, ctx, `#storage-configs tr[data-storage="local-disk"]`) // the inventory's own
	browsertest.TabTo(t, ctx, "#storage-new")
	browsertest.Press(t, ctx, browsertest.Enter)
	browsertest.WaitFor(t, ctx, "#storage-form")
	requireHooks(t, ctx, `#storage-form input[name="name"]`, `#storage-form select[name="storageProvider"]`, `#storage-form input[name="bucketName"]`,
		`#storage-form input[name="prefix"]`, `#storage-form input[name="region"]`, `#storage-form input[name="host"]`, `#storage-form input[name="port"]`,
		`#storage-form input[type="checkbox"][name="secure"]`, `#storage-form input[name="credentialsFile"]`, `#storage-form input[name="storageSecretRef"]`,
		"#storage-form #storage-save")
	field := func(name, text string) {
		t.Helper()
		browsertest.TabTo(t, ctx, `#storage-form [name="`+name+`"]`)
		browsertest.Type(t, ctx, text)
	}
	field("name", "minio-main")
	browsertest.TabTo(t, ctx, `#storage-form [name="storageProvider"]`)
	browsertest.Choose(t, ctx, "s3_compatible")
	field("bucketName", "cassette-backups")
	field("prefix", "prod")
	field("region", "us-east-1")
	field("host", "minio.internal")
	field("port", "9000")
	browsertest.TabTo(t, ctx, `#storage-form [name="secure"]`)
	browsertest.Check(t, ctx, false) // a plain-HTTP MinIO
	field("credentialsFile", "secrets/minio.ini")
	browsertest.Press(t, ctx, browsertest.Enter) // submits the form from its text field
	browsertest.WaitFor(t, ctx, `#storage-configs tr[data-storage="minio-main"]`)

	// Edit: the form comes back filled in; a new bucket is kept.
	browsertest.Click(t, ctx, `#storage-configs tr[data-storage="minio-main"] .storage-edit`)
	browsertest.WaitFor(t, ctx, "#storage-form")
	for name, want := range map[string]string{"name": "minio-main", "storageProvider": "s3_compatible", "bucketName": "cassette-backups",
		"prefix": "prod", "region": "us-east-1", "host": "minio.internal", "port": "9000"} {
		if got := formValue(t, ctx, "#storage-form", name); got != want {
			t.Errorf("edit form of minio-main: %s is %q, want %q", name, got, want)
		}
	}
	// A relative credentialsFile is relative to the inventory's folder
	// (docs/control.md); the console may show it resolved.
	if got := formValue(t, ctx, "#storage-form", "credentialsFile"); got != "secrets/minio.ini" && got != filepath.Join(filepath.Dir(c.inv), "secrets/minio.ini") {
		t.Errorf("edit form of minio-main: credentialsFile is %q, want secrets/minio.ini", got)
	}
	if browsertest.Eval[bool](t, ctx, `document.querySelector('#storage-form [name="secure"]').checked`) {
		t.Error("edit form of minio-main: secure is checked; it was cleared")
	}
	browsertest.Fill(t, ctx, `#storage-form [name="bucketName"]`, "cassette-backups-2")
	browsertest.Click(t, ctx, "#storage-save")
	browsertest.WaitFor(t, ctx, `#storage-configs tr[data-storage="minio-main"]`)
	browsertest.Click(t, ctx, `#storage-configs tr[data-storage="minio-main"] .storage-edit`)
	browsertest.WaitFor(t, ctx, "#storage-form")
	if got := formValue(t, ctx, "#storage-form", "bucketName"); got != "cassette-backups-2" {
		t.Errorf("after the edit, minio-main's bucketName is %q, want cassette-backups-2", got)
	}

	// Delete, after the confirmation step, a configuration made to go.
	browsertest.Click(t, ctx, "#nav-storage")
	browsertest.Click(t, ctx, "#storage-new")
	browsertest.Fill(t, ctx, `#storage-form [name="name"]`, "throwaway")
	browsertest.TabTo(t, ctx, `#storage-form [name="storageProvider"]`)
	browsertest.Choose(t, ctx, "s3_compatible")
	browsertest.Fill(t, ctx, `#storage-form [name="bucketName"]`, "scratch")
	browsertest.Click(t, ctx, "#storage-save")
	browsertest.Click(t, ctx, `#storage-configs tr[data-storage="throwaway"] .storage-delete`)
	browsertest.Loads(t, ctx, func() { browsertest.Click(t, ctx, "#storage-delete-confirm") })
	browsertest.WaitFor(t, ctx, `#storage-configs tr[data-storage="minio-main"]`)
	browsertest.WaitGone(t, ctx, `#storage-configs tr[data-storage="throwaway"]`)
}

// checkConsoleBackup checks the cron preview, then backs up dc1 now and
// follows it to SUCCESS on an Activity page opened before the backup
// existed, so that only a live update can show it.
func checkConsoleBackup(t *testing.T, ctx context.Context, base string) {
	browsertest.Navigate(t, ctx, base+"/")
	browsertest.WaitFor(t, ctx, "#create-backup")
	requireHooks(t, ctx, `#create-backup input[name="name"]`, `#create-backup select[name="datacenter"]`, `#create-backup select[name="type"]`,
		`#create-backup input[type="radio"][name="mode"][value="now"]`, `#create-backup input[type="radio"][name="mode"][value="schedule"]`,
		`#create-backup input#cron[name="cron"]`, "#cron-preview", "#create-backup #create-backup-submit", "table#backups")
	browsertest.TabTo(t, ctx, `#create-backup [name="mode"]`)
	browsertest.Choose(t, ctx, "schedule")
	browsertest.Fill(t, ctx, "#cron", "*/15 * * * *")
	browsertest.WaitFor(t, ctx, "#cron-preview li:nth-of-type(5)")
	if n, errs := browsertest.Count(t, ctx, "#cron-preview li"), browsertest.Count(t, ctx, "#cron-preview .error"); n != 5 || errs != 0 {
		t.Errorf("cron preview of */15 * * * *: %d run times and %d errors, want 5 and none", n, errs)
	}
	browsertest.Fill(t, ctx, "#cron", "61 * * * *")
	browsertest.WaitFor(t, ctx, "#cron-preview .error")

	activity, closeTab := chromedp.NewContext(ctx) // a second tab of the same browser
	defer closeTab()
	browsertest.SetViewport(t, activity, browsertest.Desktop)
	browsertest.Navigate(t, activity, base+"/activity")
	browsertest.WaitFor(t, activity, "#activity")
	browsertest.Eval[bool](t, activity, "window.notReloaded = true")

	browsertest.Fill(t, ctx, `#create-backup [name="name"]`, "console-full-1")
	browsertest.TabTo(t, ctx, `#create-backup [name="datacenter"]`)
	browsertest.Choose(t, ctx, "dc1")
	browsertest.TabTo(t, ctx, `#create-backup [name="type"]`)
	browsertest.Choose(t, ctx, "full")
	browsertest.TabTo(t, ctx, `#create-backup [name="mode"]`)
	browsertest.Choose(t, ctx, "now")
	browsertest.TabTo(t, ctx, "#create-backup-submit")
	browsertest.Loads(t, ctx, func() { browsertest.Press(t, ctx, browsertest.Enter) })

	browsertest.WaitFor(t, activity, `#activity [data-backup="console-full-1"][data-status="SUCCESS"]`)
	if !browsertest.Eval[bool](t, activity, "window.notReloaded === true") {
		t.Error("the Activity page reloaded to show the backup; it must update in place")
	}
	for _, node := range []string{"demo-dc1-r1-sts-0", "demo-dc1-r2-sts-0"} {
		sel := `#activity [data-backup="console-full-1"] [data-node="` + node + `"][data-status="SUCCESS"]`
		if browsertest.Count(t, activity, sel) != 1 {
			t.Errorf("activity: no %s", sel)
		}
	}
	if n := browsertest.Count(t, activity, `#activity [data-backup="console-full-1"] [data-node="demo-dc2-default-sts-0"]`); n != 0 {
		t.Errorf("activity: the dc1 backup lists dc2's node")
	}

	browsertest.Click(t, ctx, "#nav-activity")
	browsertest.WaitFor(t, ctx, `#activity [data-backup="console-full-1"][data-status="SUCCESS"]`)
	browsertest.Click(t, ctx, "#nav-backups")
	browsertest.WaitFor(t, ctx, `#backups tr[data-backup="console-full-1"][data-status="SUCCESS"]`)
}

// checkConsoleSchedule creates a nightly schedule of dc1 and switches it
// off with the keyboard.
func checkConsoleSchedule(t *testing.T, ctx context.Context, base string) {
	browsertest.Navigate(t, ctx, base+"/clusters/demo/backups")
	browsertest.Fill(t, ctx, `#create-backup [name="name"]`, "nightly")
	browsertest.TabTo(t, ctx, `#create-backup [name="datacenter"]`)
	browsertest.Choose(t, ctx, "dc1")
	browsertest.TabTo(t, ctx, `#create-backup [name="mode"]`)
	browsertest.Choose(t, ctx, "schedule")
	browsertest.Fill(t, ctx, "#cron", "0 3 * * *")
	browsertest.WaitFor(t, ctx, "#cron-preview li:nth-of-type(5)")
	browsertest.Loads(t, ctx, func() { browsertest.Click(t, ctx, "#create-backup-submit") })

	browsertest.Click(t, ctx, "#nav-schedules")
	row := `#schedules tr[data-schedule="nightly"]`
	browsertest.WaitFor(t, ctx, row+`[data-enabled="true"]`)
	browsertest.TabTo(t, ctx, row+" .schedule-toggle")
	browsertest.Press(t, ctx, browsertest.Enter)
	browsertest.WaitFor(t, ctx, row+`[data-enabled="false"]`)
}

// checkConsolePages shows every page at both sizes: nav links, no sideways
// scrolling, a full-page screenshot each (storage-desktop.png, ...).
func checkConsolePages(t *testing.T, ctx context.Context, base string) {
	pages := []struct{ name, path, ready string }{
		{"storage", "/storage", "#storage-configs"},
		{"storage-form", "/storage/new", "#storage-form"},
		{"backups", "/clusters/demo/backups", "#backups"},
		{"activity", "/activity", `#activity [data-backup="console-full-1"]`},
		{"schedules", "/schedules", "#schedules"},
		{"repository", "/repository", "svg#repo-chart"},
	}
	for _, v := range []browsertest.Viewport{browsertest.Desktop, browsertest.Phone} {
		browsertest.SetViewport(t, ctx, v)
		for _, p := range pages {
			browsertest.Navigate(t, ctx, base+p.path)
			browsertest.WaitFor(t, ctx, p.ready)
			for _, nav := range []string{"nav-storage", "nav-backups", "nav-activity", "nav-schedules", "nav-repository"} {
				if browsertest.Count(t, ctx, "a#"+nav) != 1 {
					t.Errorf("%s: no link a#%s", p.path, nav)
				}
			}
			browsertest.NoHorizontalOverflow(t, ctx, p.path+" at "+v.Name)
			browsertest.Screenshot(t, ctx, p.name+"-"+v.Name)
		}
	}
	browsertest.SetViewport(t, ctx, browsertest.Desktop)
}

// requireHooks fails the test, naming every missing one, unless each
// selector of the console's contract matches exactly one element.
func requireHooks(t *testing.T, ctx context.Context, sels ...string) {
	t.Helper()
	var bad []string
	for _, sel := range sels {
		if n := browsertest.Count(t, ctx, sel); n != 1 {
			bad = append(bad, fmt.Sprintf("%s (%d found)", sel, n))
		}
	}
	if len(bad) > 0 {
		t.Fatalf("%s lacks the contract's hooks: %s", tabURL(t, ctx), strings.Join(bad, ", "))
	}
}

// formValue is the value of the field name of the form sel.
func formValue(t *testing.T, ctx context.Context, form, name string) string {
	t.Helper()
	return browsertest.Eval[string](t, ctx, `(() => { const e = document.querySelector('`+form+` [name="`+name+`"]'); return e ? e.value : "(no field)"; })()`)
}

// tabURL is the tab's URL.
func tabURL(t *testing.T, ctx context.Context) string {
	t.Helper()
	return browsertest.Eval[string](t, ctx, "location.href")
}
