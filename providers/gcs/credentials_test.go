package gcs

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/api/googleapi"

	"github.com/cassette-backup/cassette/providers"
)

// secretMarker is planted in credentials files; no error may contain it.
const secretMarker = "SECRET-7f3a9c"

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gcs-key.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCredentialsFileErrors(t *testing.T) {
	cases := []struct {
		name, content, want string
	}{
		{"Malformed", `{"type": "service_account", "private_key": "` + secretMarker + `", `, "not valid JSON"},
		{"NotAnObject", `["` + secretMarker + `"]`, "not a JSON object"},
		{"WrongFieldType", `{"type": 5, "private_key": "` + secretMarker + `"}`, `field "type"`},
		{"MissingFields", `{"type": "service_account", "private_key_id": "` + secretMarker + `"}`, "missing client_email, private_key"},
		{"NotServiceAccount", `{"type": "authorized_user", "client_email": "a@b", "private_key": "` + secretMarker + `"}`, `"authorized_user"`},
		{"BadPrivateKey", `{"type": "service_account", "client_email": "a@b.iam.gserviceaccount.com", "private_key": "` + secretMarker + `"}`, "not a PEM"},
		{"Empty", ``, "not valid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, c.content)
			sp := providers.StorageProperties{BucketName: "b", CredentialsFile: path}
			_, err := Open(t.Context(), sp, Options{})
			checkCredError(t, err, path, c.want)
		})
	}
	t.Run("Missing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope.json")
		_, err := Open(t.Context(), providers.StorageProperties{BucketName: "b", CredentialsFile: path}, Options{})
		checkCredError(t, err, path, "does not exist")
	})
	t.Run("Unreadable", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "dir.json")
		if err := os.Mkdir(path, 0o700); err != nil { // a folder cannot be read as a file
			t.Fatal(err)
		}
		_, err := Open(t.Context(), providers.StorageProperties{BucketName: "b", CredentialsFile: path}, Options{})
		checkCredError(t, err, path, "cannot be read")
	})
}

// checkCredError checks a credentials error is one line naming the file and
// the expected format, and holds no secret.
func checkCredError(t *testing.T, err error, path, want string) {
	t.Helper()
	if err == nil {
		t.Fatal("Open succeeded, want a credentials error")
	}
	msg := err.Error()
	for _, s := range []string{path, "service-account JSON", want} {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not mention %q", msg, s)
		}
	}
	if strings.Contains(msg, secretMarker) {
		t.Errorf("error %q reveals a secret from the file", msg)
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error %q spans several lines", msg)
	}
}

// serviceAccountJSON returns a well-formed service-account key with a fresh
// RSA key, whose tokens are requested from tokenURI, and the key's PEM.
func serviceAccountJSON(t *testing.T, tokenURI string) (string, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	b, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "cassette-test", "private_key_id": "0123abcd",
		"private_key": keyPEM, "client_email": "backup@cassette-test.iam.gserviceaccount.com",
		"client_id": "1", "token_uri": tokenURI,
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b), keyPEM
}

// TestWrongCredentials: a well-formed key the server refuses is
// ErrPermission, with a message naming the bucket and what to check, and
// without the key.
func TestWrongCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/token" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error": "invalid_grant", "error_description": "Invalid JWT Signature."}`)
			return
		}
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"error": {"code": 403, "message": "backup@cassette-test.iam.gserviceaccount.com does not have storage.objects.list access"}}`)
	}))
	defer srv.Close()
	keyJSON, keyPEM := serviceAccountJSON(t, srv.URL+"/token")
	host, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	insecure := false
	sp := providers.StorageProperties{
		BucketName: "denied-bucket", Host: host, Port: p, Secure: &insecure,
		CredentialsFile: writeFile(t, keyJSON),
	}
	_, err = Open(t.Context(), sp, Options{})
	if !errors.Is(err, providers.ErrPermission) {
		t.Fatalf("Open with refused credentials = %v, want ErrPermission", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error %q spans several lines", msg)
	}
	for _, s := range []string{"denied-bucket", "service-account JSON"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not mention %q", msg, s)
		}
	}
	body := strings.Split(keyPEM, "\n")[1] // a line of the key itself
	if strings.Contains(msg, body) || strings.Contains(msg, "PRIVATE KEY") {
		t.Errorf("error %q reveals the private key", msg)
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		err  error
		want error
	}{
		{&googleapi.Error{Code: 404}, providers.ErrNotFound},
		{&googleapi.Error{Code: 412}, providers.ErrAlreadyExists},
		{&googleapi.Error{Code: 416}, providers.ErrInvalidRange},
		{&googleapi.Error{Code: 401}, providers.ErrPermission},
		{&googleapi.Error{Code: 403}, providers.ErrPermission},
		{&googleapi.Error{Code: 429}, providers.ErrTransient},
		{&googleapi.Error{Code: 503}, providers.ErrTransient},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), providers.ErrTransient},
		{io.ErrUnexpectedEOF, providers.ErrTransient},
		{&googleapi.Error{Code: 400}, nil},
		{errors.New("something else"), nil},
	}
	for _, c := range cases {
		if got := classify(c.err); got != c.want {
			t.Errorf("classify(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// TestCreateDenied: when the bucket is missing and the credentials may not
// create it, Create says so and what to do.
func TestCreateDenied(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost && r.URL.Path == "/storage/v1/b" {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"error": {"code": 403, "message": "does not have storage.buckets.create access"}}`)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error": {"code": 404, "message": "The specified bucket does not exist."}}`)
	}))
	defer srv.Close()
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	insecure := false
	sp := providers.StorageProperties{BucketName: "new-bucket", Host: host, Port: p, Secure: &insecure}
	_, err := Create(t.Context(), sp, Options{})
	if !errors.Is(err, providers.ErrPermission) {
		t.Fatalf("Create without the right to create buckets = %v, want ErrPermission", err)
	}
	for _, s := range []string{"new-bucket", "may not create", "storage.buckets.create"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}
