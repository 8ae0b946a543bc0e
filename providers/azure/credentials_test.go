package azure

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/providertest"
)

// secretMarker is planted in credentials files; no error may contain it.
const secretMarker = "SECRET7f3a9c"

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "azure.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCredentialsFileErrors(t *testing.T) {
	open := func(ctx context.Context, file string) error {
		_, err := Open(ctx, providers.StorageProperties{BucketName: "c", CredentialsFile: file}, Options{})
		return err
	}
	providertest.RunCredentialsFileErrors(t, open, `{"storage_account"`, secretMarker, []providertest.CredentialsCase{
		{Name: "Malformed", Content: `{"storage_account": "acct", "key": "` + secretMarker + `", `, Want: "not valid JSON"},
		{Name: "NotAnObject", Content: `["` + secretMarker + `"]`, Want: "not a JSON object"},
		{Name: "WrongFieldType", Content: `{"storage_account": 5, "key": "` + secretMarker + `"}`, Want: `field "storage_account"`},
		{Name: "MissingKey", Content: `{"storage_account": "acct"}`, Want: "missing key"},
		{Name: "MissingAccount", Content: `{"key": "` + secretMarker + `"}`, Want: "missing storage_account"},
		{Name: "KeyNotBase64", Content: `{"storage_account": "acct", "key": "` + secretMarker + `!!"}`, Want: "not a base64 account key"},
		{Name: "AccountIsURL", Content: `{"storage_account": "https://acct.blob.core.windows.net", "key": "a2V5"}`, Want: "account name alone"},
		{Name: "Empty", Content: ``, Want: "not valid JSON"},
	})
	t.Run("NotSet", func(t *testing.T) {
		_, err := Open(t.Context(), providers.StorageProperties{BucketName: "c"}, Options{})
		if err == nil || !strings.Contains(err.Error(), "credentialsFile is not set") {
			t.Errorf("Open without credentialsFile = %v, want a message saying it is not set", err)
		}
	})
}

// TestWrongKey: a well-formed key Azurite refuses is ErrPermission, with a
// one-line message naming the account and what to check, without the key.
func TestWrongKey(t *testing.T) {
	sp := azurite.Props(t, "wrong-key")
	wrong := base64.StdEncoding.EncodeToString([]byte(secretMarker + "-not-the-account-key-at-all-0123456789"))
	sp.CredentialsFile = writeFile(t, `{"storage_account": "`+providertest.AzuriteAccount+`", "key": "`+wrong+`"}`)
	_, err := Open(t.Context(), sp, Options{})
	if !errors.Is(err, providers.ErrPermission) {
		t.Fatalf("Open with a wrong key = %v, want ErrPermission", err)
	}
	msg := err.Error()
	for _, s := range []string{providertest.AzuriteAccount, "credentialsFile"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not mention %q", msg, s)
		}
	}
	if strings.Contains(msg, wrong) || strings.Contains(msg, "\n") {
		t.Errorf("error %q reveals the key or spans several lines", msg)
	}
}

// TestSecretNeverPrinted: the key prints as [redacted] whatever the format.
func TestSecretNeverPrinted(t *testing.T) {
	path := writeFile(t, `{"storage_account": "acct", "key": "`+base64.StdEncoding.EncodeToString([]byte(secretMarker))+`"}`)
	ac, err := readCredentials(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{fmt.Sprint(ac), fmt.Sprintf("%+v", ac), fmt.Sprintf("%#v", ac)} {
		if strings.Contains(out, base64.StdEncoding.EncodeToString([]byte(secretMarker))) {
			t.Errorf("credentials print as %q, revealing the key", out)
		}
	}
}

func TestClassify(t *testing.T) {
	resp := func(status int, code string) error {
		r := &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: &http.Request{}}
		if code != "" {
			r.Header.Set("x-ms-error-code", code)
		}
		return &azcore.ResponseError{StatusCode: status, ErrorCode: code, RawResponse: r}
	}
	cases := []struct {
		err  error
		want error
	}{
		{resp(404, "BlobNotFound"), providers.ErrNotFound},
		{resp(404, "ContainerNotFound"), providers.ErrNotFound},
		{resp(409, "BlobAlreadyExists"), providers.ErrAlreadyExists},
		{resp(416, "InvalidRange"), providers.ErrInvalidRange},
		{resp(403, "AuthenticationFailed"), providers.ErrPermission},
		{resp(403, ""), providers.ErrPermission},
		{resp(503, "ServerBusy"), providers.ErrTransient},
		{resp(500, ""), providers.ErrTransient},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), providers.ErrTransient},
		{resp(400, "InvalidHeaderValue"), nil},
		{errors.New("something else"), nil},
	}
	for _, c := range cases {
		if got := classify(c.err); got != c.want {
			t.Errorf("classify(%v) = %v, want %v", summarize(c.err), got, c.want)
		}
	}
}

// TestCreateDenied: when the container is missing and the key may not
// create it, Create says so.
func TestCreateDenied(t *testing.T) {
	sp := providertest.ServeHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		code, status := "ContainerNotFound", http.StatusNotFound
		if r.Method == http.MethodPut {
			code, status = "AuthorizationPermissionMismatch", http.StatusForbidden
		}
		w.Header().Set("x-ms-error-code", code)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>`+code+`</Code><Message>no</Message></Error>`)
	}))
	sp.BucketName = "new-container"
	sp.CredentialsFile = writeFile(t, `{"storage_account": "acct", "key": "a2V5a2V5a2V5"}`)
	_, err := Create(t.Context(), sp, Options{})
	if !errors.Is(err, providers.ErrPermission) {
		t.Fatalf("Create without the right to create containers = %v, want ErrPermission", err)
	}
	for _, s := range []string{"new-container", "may not create", "acct"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q spans several lines", err)
	}
}
