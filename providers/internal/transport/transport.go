// Package transport holds what the remote backends (s3, gcs, azure) share
// between their SDK and the wire, and that depends on no SDK: the HTTP
// transport built from StorageProperties (TLS settings, connections for
// concurrentTransfers), endpoint overrides, request counting, the
// classification of network failures and HTTP statuses, and response bodies
// read to their exact length.
package transport

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"time"

	"github.com/cassette-backup/cassette/providers"
)

// New returns an HTTP transport for a backend named name (for messages):
// Go's default transport with TLS settings from caBundle and sslVerify, and
// enough idle connections for concurrentTransfers.
func New(sp providers.StorageProperties, name string) (*http.Transport, error) {
	cfg, err := TLSConfig(sp, name)
	if err != nil {
		return nil, err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = max(2*sp.Transfers(), 16)
	t.ResponseHeaderTimeout = 2 * time.Minute
	if cfg != nil {
		t.TLSClientConfig = cfg
	}
	return t, nil
}

// TLSConfig returns the TLS settings sp asks for: the system's CAs plus
// those of caBundle, and no verification at all when sslVerify is false
// (the operator's explicit choice, medusa's ssl_verify). It returns nil
// when sp asks for nothing beyond Go's defaults.
func TLSConfig(sp providers.StorageProperties, name string) (*tls.Config, error) {
	if sp.CABundle == "" && sp.VerifyTLS() {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if sp.CABundle != "" {
		pemData, err := os.ReadFile(sp.CABundle)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is in the message already
			}
			return nil, fmt.Errorf("%s: CA bundle %s cannot be read (%v); expected a PEM file of CA certificates", name, sp.CABundle, err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pemData) {
			return nil, fmt.Errorf("%s: CA bundle %s holds no PEM certificate", name, sp.CABundle)
		}
		cfg.RootCAs = pool
	}
	if !sp.VerifyTLS() {
		cfg.InsecureSkipVerify = true //nolint:gosec // sslVerify: false, asked for by the operator
	}
	return cfg, nil
}
