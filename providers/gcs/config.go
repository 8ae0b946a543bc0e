package gcs

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cassette-backup/cassette/providers"
)

// credentialsFormat is how error messages describe what credentialsFile
// must hold.
const credentialsFormat = `a Google service-account JSON key file ({"type": "service_account", "client_email": ..., "private_key": ...})`

// serviceAccount is the part of a service-account key file cassette checks
// before handing the whole file to the Google auth library.
type serviceAccount struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	ClientEmail  string `json:"client_email"`
	PrivateKey   string `json:"private_key"`
	PrivateKeyID string `json:"private_key_id"`
}

// readCredentials reads and checks the service-account JSON at path. It
// returns the raw file for the auth library and the parsed fields. Errors
// name the file and the expected format, never a value from the file.
func readCredentials(path string) ([]byte, serviceAccount, error) {
	var sa serviceAccount
	bad := func(why string) error {
		return fmt.Errorf("gcs credentials file %s: %s; expected %s", path, why, credentialsFormat)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		why := "cannot be read"
		switch {
		case errors.Is(err, os.ErrNotExist):
			why = "does not exist"
		case errors.Is(err, os.ErrPermission):
			why = "is not readable (permission denied)"
		}
		return nil, sa, bad(why)
	}
	if err := json.Unmarshal(data, &sa); err != nil {
		// Only the position: a syntax error's text can quote file content.
		var serr *json.SyntaxError
		var terr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &serr):
			return nil, sa, bad(fmt.Sprintf("is not valid JSON (error at byte %d)", serr.Offset))
		case errors.As(err, &terr) && terr.Field != "":
			return nil, sa, bad(fmt.Sprintf("field %q has the wrong type", terr.Field))
		default:
			return nil, sa, bad("is not a JSON object")
		}
	}
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"type", sa.Type}, {"client_email", sa.ClientEmail}, {"private_key", sa.PrivateKey},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	switch {
	case len(missing) > 0:
		return nil, sa, bad("missing " + strings.Join(missing, ", "))
	case sa.Type != "service_account":
		return nil, sa, bad(fmt.Sprintf("type is %q, not \"service_account\"", sa.Type))
	}
	if blk, _ := pem.Decode([]byte(sa.PrivateKey)); blk == nil {
		return nil, sa, bad("private_key is not a PEM-encoded key")
	}
	return data, sa, nil
}

// endpoint returns the JSON API endpoint override from host/port/secure,
// or "" for Google's default endpoint.
func endpoint(sp providers.StorageProperties) (string, error) {
	if sp.Host == "" {
		if sp.Port != 0 {
			return "", errors.New("gcs: port is set but host is not; set both to override the endpoint")
		}
		return "", nil
	}
	if strings.Contains(sp.Host, "/") {
		return "", fmt.Errorf("gcs: host %q must be a host name or address, not a URL (use secure: false for http)", sp.Host)
	}
	scheme := "https"
	if !sp.IsSecure() {
		scheme = "http"
	}
	hostPort := sp.Host
	if sp.Port != 0 {
		hostPort = net.JoinHostPort(sp.Host, strconv.Itoa(sp.Port))
	}
	return scheme + "://" + hostPort + "/storage/v1/", nil
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// baseTransport is the HTTP transport under authentication and counting:
// TLS settings from caBundle and sslVerify, and enough idle connections for
// concurrentTransfers.
func baseTransport(sp providers.StorageProperties) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = max(2*sp.Transfers(), 16)
	t.ResponseHeaderTimeout = 2 * time.Minute
	if sp.CABundle == "" && sp.VerifyTLS() {
		return t, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if sp.CABundle != "" {
		pemData, err := os.ReadFile(sp.CABundle)
		if err != nil {
			return nil, fmt.Errorf("gcs: CA bundle %s cannot be read; expected a PEM file of CA certificates", sp.CABundle)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pemData) {
			return nil, fmt.Errorf("gcs: CA bundle %s holds no PEM certificate", sp.CABundle)
		}
		cfg.RootCAs = pool
	}
	if !sp.VerifyTLS() {
		cfg.InsecureSkipVerify = true // sslVerify: false, asked for by the operator
	}
	t.TLSClientConfig = cfg
	return t, nil
}
