package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/cmd/internal/control"
	"github.com/cassette-backup/cassette/cmd/internal/schedule"
)

func TestCronPreview(t *testing.T) {
	r := newRig(t, nil)
	var got struct {
		Valid bool
		Next  []string
		Error string
	}
	code, body := r.get("/api/cron?expr=" + url.QueryEscape("30 1 * * *"))
	if err := json.Unmarshal([]byte(body), &got); err != nil || code != http.StatusOK || !got.Valid || len(got.Next) != 5 ||
		got.Next[0] != "2026-03-01T01:30:00Z" || got.Next[4] != "2026-03-05T01:30:00Z" {
		t.Fatalf("valid: %d %+v %v\n%s", code, got, err, body)
	}
	for _, bad := range []string{"61 * * * *", "@every 1h", "", "0 0 30 2 *"} {
		got.Valid, got.Error = true, ""
		_, body := r.get("/api/cron?expr=" + url.QueryEscape(bad))
		if err := json.Unmarshal([]byte(body), &got); err != nil || got.Valid || got.Error == "" || strings.Contains(got.Error, "\n") {
			t.Errorf("%q: %+v %v", bad, got, err)
		}
	}
	// Rendered on the page too, without JavaScript.
	_, body = r.get("/clusters/demo/backups?cron=" + url.QueryEscape("0 * * * *"))
	if i := strings.Index(body, `id="cron-preview"`); i < 0 || strings.Count(body[i:], "<li>") != 5 {
		t.Fatalf("server-side preview:\n%s", body)
	}
	_, body = r.get("/clusters/demo/backups?cron=nope")
	if i := strings.Index(body, `id="cron-preview"`); i < 0 || !strings.Contains(body[i:i+400], `class="error"`) {
		t.Fatalf("server-side preview of a bad expression:\n%s", body)
	}
}

type activity struct {
	Backups []struct {
		control.BackupJob
		FinishedNodes int
		TotalNodes    int
	}
}

func (r *rig) activity() activity {
	r.t.Helper()
	_, body := r.get("/api/activity?cluster=demo")
	var a activity
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		r.t.Fatalf("/api/activity: %v\n%s", err, body)
	}
	return a
}

func (r *rig) backupStatus(name string) string {
	for _, b := range r.activity().Backups {
		if b.Name == name {
			return b.Status
		}
	}
	return ""
}

// TestRunNowBackup: "Run now" starts the backup in the background; the
// activity shows it IN_PROGRESS, then SUCCESS, and the Backups tab and the
// backup's page list it as the sidecars report it.
func TestRunNowBackup(t *testing.T) {
	r := newRig(t, nil)
	code, body := r.get("/clusters/demo/backups")
	for _, want := range []string{`id="create-backup"`, `name="datacenter"`, `<option value="dc2"`, `name="type"`, `value="now"`, `value="schedule"`,
		`id="cron"`, `id="cron-preview"`, `id="create-backup-submit"`, `id="backups"`, `placeholder="demo-1772325900"`} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Fatalf("backups tab: %d, missing %q\n%s", code, want, body)
		}
	}
	r.repo.hold()
	code, loc, body := r.post("/clusters/demo/backups", url.Values{"name": {"nightly-1"}, "datacenter": {"dc1"}, "type": {"full"}, "mode": {"now"}})
	if code != http.StatusSeeOther || loc != "/activity?cluster=demo&done=backup-started&name=nightly-1" {
		t.Fatalf("run now: %d %q\n%s", code, loc, body)
	}
	// Tracked before the redirect: the activity shows it at once.
	if st := r.backupStatus("nightly-1"); st != control.StatusInProgress {
		t.Fatalf("status right after the redirect: %q", st)
	}
	_, page := r.get(loc)
	for _, want := range []string{`id="activity"`, `data-backup="nightly-1" data-status="IN_PROGRESS"`, `data-node="demo-dc1-r1-sts-0"`, `data-node="demo-dc1-r2-sts-0"`,
		`http-equiv="refresh"`, "Backup nightly-1 started."} {
		if !strings.Contains(page, want) {
			t.Fatalf("activity page: missing %q\n%s", want, page)
		}
	}
	// The same name again while it runs: refused on the name field.
	code, _, body = r.post("/clusters/demo/backups", url.Values{"name": {"nightly-1"}, "datacenter": {"dc1"}, "type": {"full"}, "mode": {"now"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "backup nightly-1 is running in datacenter dc1") {
		t.Fatalf("duplicate: %d\n%s", code, body)
	}
	r.repo.release()
	eventually(t, "nightly-1 SUCCESS in /api/activity", func() bool { return r.backupStatus("nightly-1") == control.StatusSuccess })
	_, live := r.get("/activity/live?cluster=demo")
	if !strings.Contains(live, `data-backup="nightly-1" data-status="SUCCESS"`) || strings.Contains(live, "<html") {
		t.Fatalf("live partial:\n%s", live)
	}
	_, body = r.get("/clusters/demo/backups")
	if !strings.Contains(body, `<tr data-backup="nightly-1" data-status="SUCCESS">`) {
		t.Fatalf("backups list:\n%s", body)
	}
	code, body = r.get("/clusters/demo/backups/nightly-1?dc=dc1")
	for _, want := range []string{`data-node="demo-dc1-r1-sts-0"`, `<td>r2</td>`, "<td>3</td>", "names only the Kubernetes secret medusa-bucket-key"} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Fatalf("backup page: %d, missing %q\n%s", code, want, body)
		}
	}
	// A name the sidecars already list is refused; a bad one too; the
	// default name is used when the field is empty.
	for _, c := range []struct{ name, want string }{
		{"nightly-1", "datacenter dc1 has a backup named nightly-1"},
		{"no spaces", "is invalid"},
	} {
		code, _, body := r.post("/clusters/demo/backups", url.Values{"name": {c.name}, "datacenter": {"dc1"}, "type": {"full"}, "mode": {"now"}})
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, c.want) {
			t.Errorf("%q: %d, want %q", c.name, code, c.want)
		}
	}
	code, loc, _ = r.post("/clusters/demo/backups", url.Values{"name": {""}, "defaultName": {"demo-1772325900"}, "datacenter": {"dc2"}, "type": {"differential"}, "mode": {"now"}})
	if code != http.StatusSeeOther || !strings.HasSuffix(loc, "name=demo-1772325900") {
		t.Fatalf("default name: %d %q", code, loc)
	}
	eventually(t, "default-named backup SUCCESS", func() bool { return r.backupStatus("demo-1772325900") == control.StatusSuccess })
	if code, _, _ := r.post("/clusters/demo/backups", url.Values{"name": {"x"}, "datacenter": {"dc9"}, "type": {"full"}, "mode": {"now"}}); code != http.StatusUnprocessableEntity {
		t.Fatalf("unknown datacenter: %d", code)
	}
}

// TestScheduleCreateDisableFire: a schedule created on the Backups tab is
// persisted and run by the console's scheduler on the injected clock; the
// toggle disables it, which a new console remembers.
func TestScheduleCreateDisableFire(t *testing.T) {
	r := newRig(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.srv.Run(ctx) }()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()
	code, _, body := r.post("/clusters/demo/backups", url.Values{"name": {"nightly"}, "datacenter": {"dc1"}, "type": {"full"}, "mode": {"schedule"}, "cron": {"61 1 * * *"}})
	if i := strings.Index(body, `id="cron-error"`); code != http.StatusUnprocessableEntity || i < 0 || !strings.Contains(body[i:i+300], "not a valid cron expression") {
		t.Fatalf("bad cron: %d\n%s", code, body)
	}
	code, _, body = r.post("/clusters/demo/backups", url.Values{"name": {"bad name"}, "datacenter": {"dc1"}, "type": {"full"}, "mode": {"schedule"}, "cron": {"0 1 * * *"}})
	if i := strings.Index(body, `id="backup-name-error"`); code != http.StatusUnprocessableEntity || i < 0 || !strings.Contains(body[i:i+300], "is not a valid name") {
		t.Fatalf("bad schedule name: %d\n%s", code, body)
	}
	code, loc, body := r.post("/clusters/demo/backups", url.Values{"name": {"nightly"}, "datacenter": {"dc1"}, "type": {"full"}, "mode": {"schedule"}, "cron": {"0 1 * * *"}})
	if code != http.StatusSeeOther || loc != "/schedules?cluster=demo&done=schedule-created&name=nightly" {
		t.Fatalf("create schedule: %d %q\n%s", code, loc, body)
	}
	_, body = r.get("/schedules?cluster=demo")
	for _, want := range []string{`id="schedules"`, `<tr data-schedule="nightly" data-enabled="true">`, `class="schedule-toggle"`, "0 1 * * *", "2026-03-01 01:00:00 UTC", "dc1"} {
		if !strings.Contains(body, want) {
			t.Fatalf("schedules page: missing %q\n%s", want, body)
		}
	}
	if code, _, _ := r.post("/clusters/demo/backups", url.Values{"name": {"nightly"}, "datacenter": {"dc2"}, "type": {"full"}, "mode": {"schedule"}, "cron": {"0 2 * * *"}}); code != http.StatusUnprocessableEntity {
		t.Fatalf("duplicate schedule name: %d", code)
	}
	data, err := os.ReadFile(filepath.Join(r.opts.StateDir, "schedules-demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if ss, _, err := schedule.Parse("schedules-demo.yaml", data); err != nil || len(ss) != 1 || ss[0].Name != "nightly" || ss[0].BackupType != "full" || ss[0].Cron != "0 1 * * *" {
		t.Fatalf("persisted schedule: %+v %v\n%s", ss, err, data)
	}

	// 01:00 comes: the console backs up dc1 as nightly-<unix seconds>.
	at := time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC)
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	want := fmt.Sprintf("nightly-%d", at.Unix())
	cs := r.srv.scheds["demo"]
	lr, err := r.clock.RunAt(wctx, cs.s.Scheduler, "nightly", at)
	if err != nil {
		t.Fatal(err)
	}
	if lr.Status != schedule.StatusSuccess || lr.Backup != want {
		t.Fatalf("scheduled run: %+v", lr)
	}
	if st := r.backupStatus(want); st != control.StatusSuccess {
		t.Fatalf("the scheduled backup in the activity: %q", st)
	}

	// Disabled with the toggle.
	code, loc, _ = r.post("/schedules/demo/nightly/toggle", url.Values{"enabled": {"false"}})
	if code != http.StatusSeeOther || !strings.Contains(loc, "schedule-disable") {
		t.Fatalf("toggle: %d %q", code, loc)
	}
	_, body = r.get("/schedules?cluster=demo")
	if !strings.Contains(body, `<tr data-schedule="nightly" data-enabled="false">`) || !strings.Contains(body, "Enable") {
		t.Fatalf("after disable:\n%s", body)
	}
	if ss := cs.s.Status().Schedules["nightly"]; !ss.Disabled || !ss.NextSchedule.IsZero() {
		t.Fatalf("state after disable: %+v", ss)
	}
	cancel()
	<-done
	stopped = true
	r.restart()
	ctx2, cancel2 := context.WithCancel(context.Background())
	done2 := make(chan error, 1)
	go func() { done2 <- r.srv.Run(ctx2) }()
	defer func() {
		cancel2()
		<-done2
	}()
	_, body = r.get("/schedules?cluster=demo")
	if !strings.Contains(body, `<tr data-schedule="nightly" data-enabled="false">`) || !strings.Contains(body, "2026-03-01 01:00:00 UTC") {
		t.Fatalf("after a restart:\n%s", body)
	}
	// Enabled again, then deleted after its confirmation page.
	if code, _, _ := r.post("/schedules/demo/nightly/toggle", url.Values{"enabled": {"true"}}); code != http.StatusSeeOther {
		t.Fatalf("enable: %d", code)
	}
	if ss := r.srv.scheds["demo"].s.Status().Schedules["nightly"]; ss.Disabled || !ss.NextSchedule.Equal(at.Add(24*time.Hour)) {
		t.Fatalf("state after enable: %+v", ss)
	}
	if code, body := r.get("/schedules/demo/nightly/delete"); code != http.StatusOK || !strings.Contains(body, `id="schedule-delete-confirm"`) {
		t.Fatalf("delete confirmation: %d", code)
	}
	if code, _, _ := r.post("/schedules/demo/nightly/delete", nil); code != http.StatusSeeOther {
		t.Fatalf("delete: %d", code)
	}
	if _, err := os.Stat(filepath.Join(r.opts.StateDir, "schedules-demo.yaml")); !os.IsNotExist(err) {
		t.Fatalf("schedules file after the last delete: %v", err)
	}
	if code, _, _ := r.post("/schedules/demo/nightly/toggle", nil); code != http.StatusNotFound {
		t.Fatalf("toggle of a deleted schedule: %d", code)
	}
}

// TestSecondConsoleRefused: the schedules' state is locked, so a second
// console on the same state folder does not run every schedule twice.
func TestSecondConsoleRefused(t *testing.T) {
	r := newRig(t, nil)
	if _, err := New(r.opts); err == nil || !strings.Contains(err.Error(), "cluster demo") {
		t.Fatalf("second console: %v", err)
	}
}
