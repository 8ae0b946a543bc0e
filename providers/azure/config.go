package azure

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
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
const credentialsFormat = `a JSON file {"storage_account": "<account name>", "key": "<account key>"}`

// accountCredentials is the Azure credentials file.
type accountCredentials struct {
	StorageAccount string           `json:"storage_account"`
	Key            providers.Secret `json:"key"`
}

// readCredentials reads and checks the credentials JSON at path. Errors
// name the file and the expected format, never a value from the file.
func readCredentials(path string) (accountCredentials, error) {
	var ac accountCredentials
	bad := func(why string) error {
		return fmt.Errorf("azure credentials file %s: %s; expected %s", path, why, credentialsFormat)
	}
	if path == "" {
		return ac, errors.New("azure: credentialsFile is not set; it must name " + credentialsFormat)
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
		return ac, bad(why)
	}
	if err := json.Unmarshal(data, &ac); err != nil {
		// Only the position: a syntax error's text can quote file content.
		var serr *json.SyntaxError
		var terr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &serr):
			return ac, bad(fmt.Sprintf("is not valid JSON (error at byte %d)", serr.Offset))
		case errors.As(err, &terr) && terr.Field != "":
			return ac, bad(fmt.Sprintf("field %q has the wrong type", terr.Field))
		default:
			return ac, bad("is not a JSON object")
		}
	}
	var missing []string
	if strings.TrimSpace(ac.StorageAccount) == "" {
		missing = append(missing, "storage_account")
	}
	if strings.TrimSpace(ac.Key.Reveal()) == "" {
		missing = append(missing, "key")
	}
	if len(missing) > 0 {
		return ac, bad("missing " + strings.Join(missing, ", "))
	}
	if _, err := base64.StdEncoding.DecodeString(ac.Key.Reveal()); err != nil {
		return ac, bad("key is not a base64 account key")
	}
	if strings.ContainsAny(ac.StorageAccount, "/.:@ ") {
		return ac, bad("storage_account must be the account name alone, not a URL or host name")
	}
	return ac, nil
}

// serviceURL is the blob service URL of account, ending in '/':
// https://<account>.blob.core.windows.net/ by default. host, port and secure
// override it: a host starting with "<account>." is used as it is (a
// private or sovereign-cloud endpoint), any other host path-style with the
// account as first path segment, as Azurite expects.
func serviceURL(sp providers.StorageProperties, account string) (string, error) {
	if sp.Host == "" {
		if sp.Port != 0 {
			return "", errors.New("azure: port is set but host is not; set both to override the endpoint")
		}
		return "https://" + account + ".blob.core.windows.net/", nil
	}
	if strings.Contains(sp.Host, "/") {
		return "", fmt.Errorf("azure: host %q must be a host name or address, not a URL (use secure: false for http)", sp.Host)
	}
	scheme := "https"
	if !sp.IsSecure() {
		scheme = "http"
	}
	hostPort := sp.Host
	if sp.Port != 0 {
		hostPort = net.JoinHostPort(sp.Host, strconv.Itoa(sp.Port))
	}
	if strings.HasPrefix(strings.ToLower(sp.Host), strings.ToLower(account)+".") {
		return scheme + "://" + hostPort + "/", nil
	}
	return scheme + "://" + hostPort + "/" + account + "/", nil
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// baseTransport is the HTTP transport under counting: TLS settings from
// caBundle and sslVerify, and enough idle connections for
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
			return nil, fmt.Errorf("azure: CA bundle %s cannot be read; expected a PEM file of CA certificates", sp.CABundle)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pemData) {
			return nil, fmt.Errorf("azure: CA bundle %s holds no PEM certificate", sp.CABundle)
		}
		cfg.RootCAs = pool
	}
	if !sp.VerifyTLS() {
		cfg.InsecureSkipVerify = true // sslVerify: false, asked for by the operator
	}
	t.TLSClientConfig = cfg
	return t, nil
}
