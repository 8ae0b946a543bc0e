package gcs

import (
	"context"
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
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/api/googleapi"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/providertest"
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
	open := func(ctx context.Context, file string) error {
		_, err := Open(ctx, providers.StorageProperties{BucketName: "b", CredentialsFile: file}, Options{})
		return err
	}
	providertest.RunCredentialsFileErrors(t, open, "service-account JSON", secretMarker, []providertest.CredentialsCase{
		{Name: "Malformed", Content: `{"type": "service_account", "private_key": "` + secretMarker + `", `, Want: "not valid JSON"},
		{Name: "NotAnObject", Content: `["` + secretMarker + `"]`, Want: "not a JSON object"},
		{Name: "WrongFieldType", Content: `{"type": 5, "private_key": "` + secretMarker + `"}`, Want: `field "type"`},
		{Name: "MissingFields", Content: `{"type": "service_account", "private_key_id": "` + secretMarker + `"}`, Want: "missing client_email, private_key"},
		{Name: "NotServiceAccount", Content: `{"type": "authorized_user", "client_email": "a@b", "private_key": "` + secretMarker + `"}`, Want: `"authorized_user"`},
		{Name: "BadPrivateKey", Content: `{"type": "service_account", "client_email": "a@b.iam.gserviceaccount.com", "private_key": "` + secretMarker + `"}`, Want: "not a PEM"},
		{Name: "Empty", Content: ``, Want: "not valid JSON"},
	})
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
	var tokenURL string
	sp := providertest.ServeHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/token" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error": "invalid_grant", "error_description": "Invalid JWT Signature."}`)
			return
		}
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"error": {"code": 403, "message": "backup@cassette-test.iam.gserviceaccount.com does not have storage.objects.list access"}}`)
	}))
	tokenURL = "http://" + net.JoinHostPort(sp.Host, strconv.Itoa(sp.Port)) + "/token"
	keyJSON, keyPEM := serviceAccountJSON(t, tokenURL)
	sp.BucketName, sp.CredentialsFile = "denied-bucket", writeFile(t, keyJSON)
	_, err := Open(t.Context(), sp, Options{})
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
	sp := providertest.ServeHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost && r.URL.Path == "/storage/v1/b" {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"error": {"code": 403, "message": "does not have storage.buckets.create access"}}`)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error": {"code": 404, "message": "The specified bucket does not exist."}}`)
	}))
	sp.BucketName = "new-bucket"
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
