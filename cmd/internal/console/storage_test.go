package console

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cassette-backup/cassette/cmd/internal/control"
)

func storageValues(name string, kv ...string) url.Values {
	f := url.Values{"name": {name}, "storageProvider": {"s3_compatible"}, "bucketName": {"backups-2"}, "host": {"minio2.example"},
		"port": {"9000"}, "storageSecretRef": {"minio2-key"}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

// TestStorageCRUDPersists: configurations created, modified and deleted in
// the console survive a new console on the same state folder; the
// inventory file is left alone.
func TestStorageCRUDPersists(t *testing.T) {
	r := newRig(t, nil)
	invBefore, _ := os.ReadFile(r.inv)
	code, body := r.get("/storage")
	for _, want := range []string{`id="storage-configs"`, `<tr data-storage="minio">`, `<tr data-storage="local-disk">`, `<tr data-storage="spare">`,
		`id="storage-new"`, `class="storage-edit`, `class="storage-delete`, "secret medusa-bucket-key", "minio.example:9000",
		"file " + r.credFile, "demo/dc1"} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Fatalf("storage list: %d, missing %q\n%s", code, want, body)
		}
	}
	if code, body := r.get("/storage/new"); code != http.StatusOK || !strings.Contains(body, `id="storage-form"`) || !strings.Contains(body, `id="storage-save"`) {
		t.Fatalf("new form: %d\n%s", code, body)
	}

	// Created: it shows, with its one-line errors when a field is wrong.
	code, loc, body := r.post("/storage", storageValues("minio2", "secure", "true"))
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/storage?done=storage-created&name=minio2") {
		t.Fatalf("create: %d %q\n%s", code, loc, body)
	}
	for _, c := range []struct {
		form        url.Values
		field, want string
	}{
		{storageValues("bad-port", "port", "ninety"), "port", "port &#34;ninety&#34; must be a whole number"},
		{storageValues("no-bucket", "bucketName", ""), "bucket", "bucketName is not set"},
		{storageValues("bad-provider", "storageProvider", "s4"), "provider", "is not a storage provider cassette knows"},
		{storageValues("bad name!"), "name", "is not a valid name"},
		{storageValues("minio2"), "name", "a storage configuration named minio2 exists"},
		{storageValues(""), "name", "name is not set"},
	} {
		code, _, body := r.post("/storage", c.form)
		errID := `id="sf-` + c.field + `-error">`
		i := strings.Index(body, errID)
		if code != http.StatusUnprocessableEntity || i < 0 || !strings.Contains(body[i:i+300], c.want) {
			t.Errorf("%v: %d, want %q in %s", c.form, code, c.want, errID)
		}
	}

	// Modified: an inventory configuration keeps the properties the form
	// does not show (maxBackupCount).
	if code, body := r.get("/storage/spare/edit"); code != http.StatusOK || !strings.Contains(body, "maxBackupCount") || !strings.Contains(body, `value="spare-bucket"`) {
		t.Fatalf("edit form: %d\n%s", code, body)
	}
	code, loc, body = r.post("/storage/spare", url.Values{"storageProvider": {"s3"}, "bucketName": {"spare-bucket"}, "prefix": {"demo"},
		"region": {"eu-west-1"}, "credentialsFile": {r.credFile}, "secure": {"true"}})
	if code != http.StatusSeeOther || !strings.Contains(loc, "storage-modified") {
		t.Fatalf("modify: %d %q\n%s", code, loc, body)
	}

	// Deleted: refused while a datacenter uses it, naming the datacenter.
	if code, body := r.get("/storage/minio/delete"); code != http.StatusOK || !strings.Contains(body, `id="storage-delete-confirm"`) {
		t.Fatalf("delete confirmation: %d\n%s", code, body)
	}
	code, _, body = r.post("/storage/minio/delete", nil)
	if code != http.StatusConflict || !strings.Contains(body, "storage configuration minio is used by datacenter demo/dc1") {
		t.Fatalf("delete of a used configuration: %d\n%s", code, body)
	}
	r.post("/storage", storageValues("throwaway"))
	for _, name := range []string{"throwaway", "local-disk"} {
		code, _, _ := r.post("/storage/"+name+"/delete", nil)
		if name == "local-disk" && code != http.StatusConflict {
			t.Fatalf("local-disk is dc2's: %d", code)
		}
		if name == "throwaway" && code != http.StatusSeeOther {
			t.Fatalf("delete %s: %d", name, code)
		}
	}
	r.post("/storage", storageValues("to-hide"))

	// A new console on the same state folder.
	r.restart()
	if code, _, _ := r.post("/storage/to-hide/delete", nil); code != http.StatusSeeOther {
		t.Fatalf("delete after restart: %d", code)
	}
	r.restart()
	entries := map[string]storageEntry{}
	for _, e := range r.srv.storage.list() {
		entries[e.Name] = e
	}
	if _, ok := entries["minio2"]; !ok || entries["minio2"].Source != fromConsole || entries["minio2"].SecretRef != "minio2-key" {
		t.Fatalf("minio2 after restart: %+v", entries)
	}
	if sp := entries["spare"]; sp.Source != fromOverride || sp.Properties.Prefix != "demo" || sp.Properties.Region != "eu-west-1" || sp.Properties.MaxBackupCount != 3 {
		t.Fatalf("spare after restart: %+v", sp)
	}
	for _, gone := range []string{"throwaway", "to-hide"} {
		if _, ok := entries[gone]; ok {
			t.Fatalf("%s came back", gone)
		}
	}
	// The state file is the inventory's shape: the inventory parser reads it.
	data, err := os.ReadFile(filepath.Join(r.opts.StateDir, storageFile))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := control.ParseStorageConfigurations("storage.yaml", "", data); err != nil || len(got) != 2 {
		t.Fatalf("storage.yaml: %v %v\n%s", got, err, data)
	}
	if after, _ := os.ReadFile(r.inv); string(after) != string(invBefore) {
		t.Fatal("the inventory file changed")
	}

	// An inventory configuration deleted in the console stays deleted.
	if code, _, _ := r.post("/storage/spare/delete", nil); code != http.StatusSeeOther {
		t.Fatalf("delete spare: %d", code)
	}
	r.restart()
	if _, ok := r.srv.storage.get("spare"); ok {
		t.Fatal("spare came back after a restart")
	}
}

// TestPagesShowNoSecret: the credentials file's content appears on no
// page; its path does.
func TestPagesShowNoSecret(t *testing.T) {
	r := newRig(t, nil)
	for _, path := range []string{"/storage", "/storage/spare/edit", "/storage/spare/delete", "/repository?storage=spare",
		"/repository?storage=minio", "/clusters/demo/backups", "/activity", "/schedules", "/api/activity"} {
		code, body := r.get(path)
		if code != http.StatusOK {
			t.Fatalf("%s: %d\n%s", path, code, body)
		}
		if strings.Contains(body, "TOP-SECRET") || strings.Contains(body, "AKIA-TEST") {
			t.Fatalf("%s shows the credentials file's content", path)
		}
	}
}
