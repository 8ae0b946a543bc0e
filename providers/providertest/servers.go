package providertest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cassette-backup/cassette/providers"
)

// ErrNotInstalled is the error of a Start function whose server binary is
// not in .cache/servers/bin: tests skip on it, unless RequireServers.
var ErrNotInstalled = errors.New("test server not installed")

// The credentials the test servers are started with. They are test values,
// not secrets; tests assert that errors never repeat them.
const (
	// MinIOAccessKey and MinIOSecretKey are MinIO's root user and password.
	MinIOAccessKey = "cassette-test"
	MinIOSecretKey = "cassette-test-secret-7f3a9c"
	// AzuriteAccount and AzuriteKey are Azurite's well-known development
	// account and key (published in Azure's documentation).
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// DefaultBucket is the bucket (Azure: container) Server.Props names. No
// Start function creates it: the caller does, through its provider's
// Create (providertest imports no concrete provider), or through cassette
// init in end-to-end tests.
const DefaultBucket = "cassette-test"

// startTimeout bounds how long a server may take to become ready.
const startTimeout = 60 * time.Second

// Server is an object-store server (MinIO, fake-gcs-server, Azurite)
// running on 127.0.0.1 for tests, started by StartMinIO, StartFakeGCS or
// StartAzurite.
type Server struct {
	name     string // the binary: minio, fake-gcs-server, azurite-blob
	provider string // the storageProvider it serves
	port     int
	credFile string // "" when the server needs no credentials
	proc     *Process
}

// StartFunc starts a server keeping its data, logs and credentials file in
// dir. StartMinIO, StartFakeGCS and StartAzurite are StartFuncs.
type StartFunc func(dir string) (*Server, error)

// Props returns the storage properties an operator would write for this
// server: storageProvider, DefaultBucket, the prefix, host 127.0.0.1, the
// port, secure false and the credentials file in the operator's format (AWS
// INI for MinIO, none for fake-gcs-server, the Azure JSON for Azurite).
// Tuning (part size, list page size, …) is the caller's to add.
func (s *Server) Props(prefix string) providers.StorageProperties {
	insecure := false
	return providers.StorageProperties{
		StorageProvider: s.provider,
		BucketName:      DefaultBucket,
		Prefix:          prefix,
		Host:            "127.0.0.1",
		Port:            s.port,
		Secure:          &insecure,
		CredentialsFile: s.credFile,
	}
}

// Port is the TCP port the server listens on, on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// Addr is the server's "127.0.0.1:port".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Stop ends the server (see Process.Stop). It is safe to call more than
// once.
func (s *Server) Stop() error { return s.proc.Stop() }

// Log returns the last few kilobytes of the server's output.
func (s *Server) Log() string { return s.proc.Log() }

// StartMinIO starts MinIO as an S3-compatible server (storageProvider
// s3_compatible; set StorageProvider to s3_rgw in Props to test that kind)
// with root user MinIOAccessKey, and writes the AWS INI credentials file
// into dir. It returns once MinIO answers S3 requests.
func StartMinIO(dir string) (*Server, error) {
	bin, err := serverBin("minio", dir)
	if err != nil {
		return nil, err
	}
	creds := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", MinIOAccessKey, MinIOSecretKey)
	credFile, err := writeCredentials(dir, "minio-credentials", creds)
	if err != nil {
		return nil, err
	}
	env := []string{"MINIO_ROOT_USER=" + MinIOAccessKey, "MINIO_ROOT_PASSWORD=" + MinIOSecretKey, "MINIO_BROWSER=off", "MINIO_UPDATE=off"}
	args := func(port int) ([]string, error) {
		console, err := FreePort()
		if err != nil {
			return nil, err
		}
		return []string{"server", "--quiet", "--address", "127.0.0.1:" + strconv.Itoa(port),
			"--console-address", "127.0.0.1:" + strconv.Itoa(console), filepath.Join(dir, "minio-data")}, nil
	}
	proc, port, err := launch("minio", bin, dir, args, env, waitMinIO)
	if err != nil {
		return nil, err
	}
	return &Server{name: "minio", provider: "s3_compatible", port: port, credFile: credFile, proc: proc}, nil
}

// StartFakeGCS starts fake-gcs-server (storageProvider google_storage) over
// plain HTTP with its in-memory backend. It needs no credentials: Props
// leaves credentialsFile empty, which means no authentication.
func StartFakeGCS(dir string) (*Server, error) {
	bin, err := serverBin("fake-gcs-server", dir)
	if err != nil {
		return nil, err
	}
	args := func(port int) ([]string, error) {
		addr := "127.0.0.1:" + strconv.Itoa(port)
		return []string{
			"-scheme", "http", "-host", "127.0.0.1", "-port", strconv.Itoa(port),
			"-backend", "memory", "-public-host", addr, "-external-url", "http://" + addr,
			"-log-level", "warn",
		}, nil
	}
	proc, port, err := launch("fake-gcs-server", bin, dir, args, nil, waitListening)
	if err != nil {
		return nil, err
	}
	return &Server{name: "fake-gcs-server", provider: "google_storage", port: port, proc: proc}, nil
}

// StartAzurite starts Azurite's blob service (storageProvider azure_blobs)
// keeping its data in memory, and writes the Azure credentials JSON with
// the development account (AzuriteAccount, AzuriteKey) into dir.
func StartAzurite(dir string) (*Server, error) {
	bin, err := serverBin("azurite-blob", dir)
	if err != nil {
		return nil, err
	}
	creds := `{"storage_account": "` + AzuriteAccount + `", "key": "` + AzuriteKey + `"}`
	credFile, err := writeCredentials(dir, "azurite-credentials.json", creds)
	if err != nil {
		return nil, err
	}
	args := func(port int) ([]string, error) {
		return []string{
			"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port), "--inMemoryPersistence",
			"--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry", "--disableProductStyleUrl",
		}, nil
	}
	proc, port, err := launch("azurite-blob", bin, dir, args, nil, waitListening)
	if err != nil {
		return nil, err
	}
	return &Server{name: "azurite-blob", provider: "azure_blobs", port: port, credFile: credFile, proc: proc}, nil
}

// serverBin finds the binary name and creates dir; a missing binary is
// ErrNotInstalled.
func serverBin(name, dir string) (string, error) {
	bin, err := ServerBin(name)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotInstalled, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("start %s: %w", name, err)
	}
	return bin, nil
}

// writeCredentials writes a credentials file readable by its owner only.
func writeCredentials(dir, name, body string) (string, error) {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		return "", fmt.Errorf("write test credentials: %w", err)
	}
	return p, nil
}

// launch starts bin on a free port of 127.0.0.1 and waits until ready says
// it serves. It tries three ports: another process can take a port between
// FreePort and the server binding it.
func launch(name, bin, dir string, args func(port int) ([]string, error), env []string,
	ready func(p *Process, addr string) error) (*Process, int, error) {
	var lastErr error
	for range 3 {
		port, err := FreePort()
		if err != nil {
			return nil, 0, err
		}
		a, err := args(port)
		if err != nil {
			return nil, 0, err
		}
		proc, err := StartProcess(name, bin, a, env, dir)
		if err != nil {
			return nil, 0, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if err := ready(proc, addr); err != nil {
			lastErr = fmt.Errorf("%s not ready on %s: %w\n%s", name, addr, err, proc.Log())
			_ = proc.Stop()
			continue
		}
		return proc, port, nil
	}
	return nil, 0, lastErr
}

// waitListening waits until addr accepts connections, giving up early when
// the server exits (a bad flag, a taken port).
func waitListening(proc *Process, addr string) error {
	deadline := time.Now().Add(startTimeout)
	for {
		err := WaitTCP(addr, 200*time.Millisecond)
		switch {
		case err == nil:
			return nil
		case proc.Exited():
			return errors.New("the server exited")
		case time.Now().After(deadline):
			return err
		}
	}
}

// waitMinIO waits until MinIO's readiness check passes and it answers S3
// requests: an anonymous request is refused (403) rather than answered
// with 503, which MinIO sends for a moment after the check passes.
func waitMinIO(proc *Process, addr string) error {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(startTimeout)
	ready := false
	for {
		if proc.Exited() {
			return errors.New("the server exited")
		}
		url := "http://" + addr + "/"
		if !ready {
			url = "http://" + addr + "/minio/health/ready"
		}
		if resp, err := client.Get(url); err == nil {
			_ = resp.Body.Close()
			switch {
			case !ready && resp.StatusCode == http.StatusOK:
				ready = true
				continue
			case ready && resp.StatusCode != http.StatusServiceUnavailable:
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s", startTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
