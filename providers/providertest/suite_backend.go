package providertest

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cassette-backup/cassette/providers"
)

// OpenFunc is a remote backend's Open or Create, with the options the test
// wants. The Storage it returns is used only when the error is nil.
type OpenFunc func(ctx context.Context, sp providers.StorageProperties) (providers.Storage, error)

// RunBucketCreation checks how a backend's Open and Create treat sp's
// bucket (Azure: container), which must not exist yet: Open fails with
// ErrNotFound naming the bucket, and does not create it; Create creates it
// and returns a writable Storage; Create of the existing bucket succeeds
// too (whether a repository is there is init's business); a later Open
// sees what was written.
func RunBucketCreation(t *testing.T, sp providers.StorageProperties, open, create OpenFunc) {
	t.Helper()
	ctx := t.Context()
	for range 2 {
		_, err := open(ctx, sp)
		if !errors.Is(err, providers.ErrNotFound) || !strings.Contains(err.Error(), sp.BucketName) {
			t.Fatalf("Open of the missing bucket %s = %v, want ErrNotFound naming it", sp.BucketName, err)
		}
	}
	first := mustOpen(t, create, sp, "Create of a missing bucket")
	put(t, first, "config", []byte("v1"))
	mustOpen(t, create, sp, "Create of an existing bucket")
	again := mustOpen(t, open, sp, "Open after Create")
	checkContent(t, again, "config", []byte("v1"))
}

// mustOpen opens sp with open, fails t on error and closes the storage
// when t ends.
func mustOpen(t *testing.T, open OpenFunc, sp providers.StorageProperties, what string) providers.Storage {
	t.Helper()
	st, err := open(t.Context(), sp)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	return st
}

// CredentialsCase is the content of a credentials file a backend must
// refuse, and a piece of the error it must give.
type CredentialsCase struct {
	Name, Content, Want string
}

// RunCredentialsFileErrors checks that open refuses a credentials file
// holding each case's Content, a missing file and a folder, with an error
// that is one line, names the file, contains format (a piece of the
// description of the format expected) and the case's Want, wraps
// providers.ErrPermission (and fs.ErrNotExist for the missing file), and
// never contains secret, which the cases plant in their contents.
func RunCredentialsFileErrors(t *testing.T, open func(ctx context.Context, credentialsFile string) error,
	format, secret string, cases []CredentialsCase) {
	check := func(t *testing.T, file, want string) error {
		t.Helper()
		err := open(t.Context(), file)
		if err == nil {
			t.Fatal("opening with a bad credentials file succeeded")
		}
		msg := err.Error()
		for _, s := range []string{file, format, want} {
			if !strings.Contains(msg, s) {
				t.Errorf("error %q does not mention %q", msg, s)
			}
		}
		if secret != "" && strings.Contains(msg, secret) {
			t.Errorf("error %q reveals a secret from the file", msg)
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("error %q spans several lines", msg)
		}
		if !errors.Is(err, providers.ErrPermission) {
			t.Errorf("error %q does not wrap ErrPermission", msg)
		}
		return err
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "credentials")
			if err := os.WriteFile(file, []byte(c.Content), 0o600); err != nil {
				t.Fatal(err)
			}
			check(t, file, c.Want)
		})
	}
	t.Run("Missing", func(t *testing.T) {
		err := check(t, filepath.Join(t.TempDir(), "nope.json"), "does not exist")
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error %q does not wrap fs.ErrNotExist", err)
		}
	})
	t.Run("Unreadable", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "folder.json") // a folder cannot be read as a file
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		check(t, dir, "cannot be read")
	})
}

// ServeHTTP serves h on 127.0.0.1 until t ends and returns storage
// properties addressing it over plain HTTP (host, port, secure false), for
// tests that fake a backend's service with an httptest server. Request
// bodies are read and discarded before h runs.
func ServeHTTP(t testing.TB, h http.Handler) providers.StorageProperties {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	insecure := false
	return providers.StorageProperties{Host: host, Port: p, Secure: &insecure}
}
