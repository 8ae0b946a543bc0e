package console

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestListenRefusesExposedConsoles(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		lc   ListenConfig
		want string // "" when accepted
	}{
		{ListenConfig{Addr: "127.0.0.1:0"}, ""},
		{ListenConfig{Addr: "localhost:8080"}, ""},
		{ListenConfig{Addr: "[::1]:8080"}, ""},
		{ListenConfig{Addr: "0.0.0.0:8080"}, "pass --http-tls-cert and --http-tls-key, and --http-auth-file or --http-client-ca"},
		{ListenConfig{Addr: ":8080"}, "listens beyond this machine"},
		{ListenConfig{Addr: "console.example:443", TLSCert: "c.pem", TLSKey: "k.pem"}, "--http-auth-file or --http-client-ca"},
		{ListenConfig{Addr: "10.0.0.5:8080", AuthFile: "users"}, "--http-tls-cert"},
		{ListenConfig{Addr: "10.0.0.5:8080", TLSCert: "c.pem", TLSKey: "k.pem", AuthFile: "users"}, ""},
		{ListenConfig{Addr: "10.0.0.5:8080", TLSCert: "c.pem", TLSKey: "k.pem", ClientCA: "ca.pem"}, ""},
		{ListenConfig{Addr: "127.0.0.1:8080", TLSCert: "c.pem"}, "go together"},
		{ListenConfig{Addr: "127.0.0.1:8080", ClientCA: "ca.pem"}, "needs TLS"},
		{ListenConfig{Addr: "8080"}, "not host:port"},
	} {
		err := c.lc.Check()
		if (c.want == "") != (err == nil) || (err != nil && (!strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n"))) {
			t.Errorf("%+v: %v, want %q", c.lc, err, c.want)
		}
	}
	// Listen refuses before opening a socket.
	if lis, err := Listen(ListenConfig{Addr: "0.0.0.0:0"}); err == nil {
		lis.Close()
		t.Fatal("listened on every interface without TLS or a credential")
	}
	lis, err := Listen(ListenConfig{Addr: "127.0.0.1:0"})
	if err != nil || !strings.HasPrefix(lis.URL, "http://127.0.0.1:") {
		t.Fatalf("%v %v", lis, err)
	}
	lis.Close()
	if _, err := Listen(ListenConfig{Addr: "127.0.0.1:0", TLSCert: filepath.Join(dir, "none.pem"), TLSKey: filepath.Join(dir, "none.key")}); err == nil ||
		!strings.Contains(err.Error(), "--http-tls-cert") {
		t.Fatalf("missing certificate: %v", err)
	}
}

func writeUsers(t *testing.T) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte("s3cret pass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("other-pass"))
	path := filepath.Join(t.TempDir(), "users")
	body := "# console users\nadmin:" + string(h) + "\n\nops:sha256:" + hex.EncodeToString(sum[:]) + "\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadUsers(t *testing.T) {
	u, err := LoadUsers(writeUsers(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		user, pass string
		ok         bool
	}{
		{"admin", "s3cret pass", true}, {"admin", "s3cret pass", true}, {"admin", "wrong", false},
		{"ops", "other-pass", true}, {"ops", "s3cret pass", false}, {"nobody", "s3cret pass", false}, {"", "", false},
	} {
		if got := u.Check(c.user, c.pass); got != c.ok {
			t.Errorf("%s/%s: %v", c.user, c.pass, got)
		}
	}
	dir := t.TempDir()
	for body, want := range map[string]string{
		"admin\n":                    "users:1: not a user:hash line",
		"admin:plaintext-password\n": `users:1: the hash of user "admin" is neither bcrypt`,
		"# nobody\n":                 "lists no user",
		"a:sha256:00\n":              "neither bcrypt",
	} {
		path := filepath.Join(dir, "users")
		os.WriteFile(path, []byte(body), 0o600)
		_, err := LoadUsers(path)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "plaintext-password") {
			t.Errorf("%q: %v", body, err)
		}
	}
	if _, err := LoadUsers(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "--http-auth-file") {
		t.Errorf("missing file: %v", err)
	}
}

// TestBasicAuthGuardsEveryRoute: with an auth file, every route, pages,
// assets, JSON and POSTs, answers 401 without the credential, also on
// loopback.
func TestBasicAuthGuardsEveryRoute(t *testing.T) {
	users, err := LoadUsers(writeUsers(t))
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, func(o *Options) { o.Users = users })
	routes := []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/storage"}, {"GET", "/storage/new"}, {"GET", "/storage/minio/edit"}, {"GET", "/storage/minio/delete"},
		{"GET", "/clusters/demo/backups"}, {"GET", "/clusters/demo/backups/x"}, {"GET", "/activity"}, {"GET", "/activity/live"},
		{"GET", "/api/activity"}, {"GET", "/api/cron?expr=*+*+*+*+*"}, {"GET", "/schedules"}, {"GET", "/repository"},
		{"GET", "/static/console.css"}, {"GET", "/static/console.js"}, {"GET", "/pick?cluster=demo"}, {"GET", "/nothing-here"},
		{"POST", "/storage"}, {"POST", "/storage/minio"}, {"POST", "/storage/spare/delete"}, {"POST", "/clusters/demo/backups"},
		{"POST", "/schedules/demo/x/toggle"}, {"POST", "/schedules/demo/x/delete"},
	}
	do := func(method, path string, auth func(*http.Request)) *http.Response {
		t.Helper()
		form := url.Values{csrfField: {r.srv.csrf}, "name": {"via-auth"}, "datacenter": {"dc1"}, "type": {"full"}, "mode": {"now"}}
		req, _ := http.NewRequest(method, r.ts.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if auth != nil {
			auth(req)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, rt := range routes {
		for what, auth := range map[string]func(*http.Request){
			"no credential":  nil,
			"wrong password": func(q *http.Request) { q.SetBasicAuth("admin", "guess") },
			"unknown user":   func(q *http.Request) { q.SetBasicAuth("root", "s3cret pass") },
		} {
			if resp := do(rt.method, rt.path, auth); resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("%s %s with %s: %d", rt.method, rt.path, what, resp.StatusCode)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(r.opts.StateDir, storageFile)); err == nil {
		t.Fatal("a POST without credentials changed the storage configurations")
	}
	if len(r.ctl.Activity()) != 0 {
		t.Fatal("a POST without credentials started a backup")
	}
	ok := func(q *http.Request) { q.SetBasicAuth("admin", "s3cret pass") }
	for _, path := range []string{"/storage", "/static/console.css", "/api/activity"} {
		if resp := do("GET", path, ok); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with the credential: %d", path, resp.StatusCode)
		}
	}
	if resp := do("POST", "/storage/minio", func(q *http.Request) { q.SetBasicAuth("ops", "other-pass") }); resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		t.Errorf("POST with the credential: %d", resp.StatusCode)
	}
}

// TestCSRF: a POST must carry the console's token and come from its own
// origin, so that another site cannot start a backup.
func TestCSRF(t *testing.T) {
	r := newRig(t, nil)
	form := url.Values{"name": {"forged"}, "datacenter": {"dc1"}, "type": {"full"}, "mode": {"now"}}
	post := func(token string, headers map[string]string) int {
		t.Helper()
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		if token != "" {
			f.Set(csrfField, token)
		}
		req, _ := http.NewRequest("POST", r.ts.URL+"/clusters/demo/backups", strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for what, c := range map[string]struct {
		token   string
		headers map[string]string
	}{
		"no token":          {"", nil},
		"wrong token":       {strings.Repeat("0", 64), nil},
		"cross-site fetch":  {r.srv.csrf, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		"another origin":    {r.srv.csrf, map[string]string{"Origin": "https://evil.example"}},
		"same-site sibling": {r.srv.csrf, map[string]string{"Sec-Fetch-Site": "same-site"}},
	} {
		if code := post(c.token, c.headers); code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", what, code)
		}
	}
	if len(r.ctl.Activity()) != 0 {
		t.Fatal("a forged POST started a backup")
	}
	if code := post(r.srv.csrf, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": r.ts.URL}); code != http.StatusSeeOther {
		t.Fatalf("same-origin POST with the token: %d", code)
	}
	// The token travels in every form of the pages.
	_, body := r.get("/clusters/demo/backups")
	if !strings.Contains(body, `name="csrf" value="`+r.srv.csrf+`"`) {
		t.Fatal("the Create Backup form carries no token")
	}
	resp, err := http.Get(r.ts.URL + "/storage")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("security headers: %v", resp.Header)
	}
}
