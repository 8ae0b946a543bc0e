package providertest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

// TestStartServers starts each emulator for one test and checks what
// Props tells an operator's configuration.
func TestStartServers(t *testing.T) {
	cases := []struct {
		start    StartFunc
		provider string
		creds    func(t *testing.T, body string)
	}{
		{StartMinIO, "s3_compatible", func(t *testing.T, body string) {
			for _, s := range []string{"[default]", "aws_access_key_id = " + MinIOAccessKey, "aws_secret_access_key = " + MinIOSecretKey} {
				if !strings.Contains(body, s) {
					t.Errorf("MinIO credentials file lacks %q:\n%s", s, body)
				}
			}
		}},
		{StartFakeGCS, "google_storage", nil},
		{StartAzurite, "azure_blobs", func(t *testing.T, body string) {
			var c struct {
				Account string `json:"storage_account"`
				Key     string `json:"key"`
			}
			if err := json.Unmarshal([]byte(body), &c); err != nil || c.Account != AzuriteAccount || c.Key != AzuriteKey {
				t.Errorf("Azurite credentials file = %s (%v), want the development account and key", body, err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.provider, func(t *testing.T) {
			t.Parallel()
			srv := Start(t, c.start)
			sp := srv.Props("pre")
			if sp.StorageProvider != c.provider || sp.BucketName != DefaultBucket || sp.Prefix != "pre" ||
				sp.Host != "127.0.0.1" || sp.Port != srv.Port() || sp.IsSecure() {
				t.Errorf("Props = %+v", sp)
			}
			if err := WaitTCP(srv.Addr(), time.Second); err != nil {
				t.Fatal(err)
			}
			if c.creds == nil {
				if sp.CredentialsFile != "" {
					t.Errorf("credentialsFile %q, want none", sp.CredentialsFile)
				}
			} else {
				body, err := os.ReadFile(sp.CredentialsFile)
				if err != nil {
					t.Fatal(err)
				}
				c.creds(t, string(body))
			}
			if err := srv.Stop(); err != nil {
				t.Fatalf("Stop: %v\n%s", err, srv.Log())
			}
			if err := WaitTCP(srv.Addr(), 100*time.Millisecond); err == nil {
				t.Error("still listening after Stop")
			}
		})
	}
}

// sleeper is a Server around a shell that sleeps, for Shared's tests.
func sleeper(dir string) (*Server, error) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		return nil, fmt.Errorf("%w: no sh", ErrNotInstalled)
	}
	p, err := StartProcess("sleeper", sh, []string{"-c", "sleep 60"}, nil, dir)
	if err != nil {
		return nil, err
	}
	return &Server{name: "sleeper", provider: "mem", port: 1, proc: p}, nil
}

func TestSharedStartsOnce(t *testing.T) {
	starts, setups := 0, 0
	sh := &Shared{
		Start: func(dir string) (*Server, error) { starts++; return sleeper(dir) },
		Setup: func(*Server) error { setups++; return nil },
	}
	var first *Server
	for i := range 3 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			srv := sh.Require(t)
			if first == nil {
				first = srv
			}
			if srv != first {
				t.Error("Require returned another server")
			}
		})
	}
	if starts != 1 || setups != 1 {
		t.Errorf("Start ran %d times and Setup %d times, want once each", starts, setups)
	}
	if first.proc.Exited() {
		t.Error("the shared server stopped before Main ended")
	}
}

func TestSharedSkipsWhenNotInstalled(t *testing.T) {
	t.Setenv("CI", "")
	t.Setenv("CASSETTE_REQUIRE_SERVERS", "")
	sh := &Shared{Start: func(string) (*Server, error) {
		return nil, fmt.Errorf("%w: no such binary", ErrNotInstalled)
	}}
	var skipped bool
	t.Run("require", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		sh.Require(t)
	})
	if !skipped {
		t.Error("Require of a server that is not installed did not skip")
	}
}

func TestSharedSetupFailure(t *testing.T) {
	sh := &Shared{Start: sleeper, Setup: func(*Server) error { return errors.New("no bucket") }}
	sh.once.Do(func() { sh.srv, sh.err = sh.start() })
	if sh.err == nil || !strings.Contains(sh.err.Error(), "no bucket") {
		t.Fatalf("Shared with a failing Setup = %v, want its error", sh.err)
	}
}

func TestUniquePrefix(t *testing.T) {
	a, b := UniquePrefix(t), UniquePrefix(t)
	if a == b || !strings.Contains(a, "TestUniquePrefix") {
		t.Errorf("UniquePrefix = %q then %q, want distinct prefixes naming the test", a, b)
	}
}
