package s3

import (
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/internal/transport"
)

// endpoint is where requests go: nil baseURL means AWS's regional endpoint.
type endpoint struct {
	baseURL   *string
	pathStyle bool
}

// resolveEndpoint builds the endpoint from storageProvider, host, port and
// secure, warning when plain HTTP leaves the machine.
func resolveEndpoint(sp providers.StorageProperties, log *slog.Logger) (endpoint, error) {
	switch sp.StorageProvider {
	case KindAWS:
		if sp.Host == "" {
			return endpoint{}, nil
		}
	case KindCompatible, KindRGW:
		if sp.Host == "" {
			return endpoint{}, fmt.Errorf("s3: storageProvider %s needs host (and port) of the server", sp.StorageProvider)
		}
	default:
		return endpoint{}, fmt.Errorf("s3: unknown storageProvider %q (want %s, %s or %s)", sp.StorageProvider, KindAWS, KindCompatible, KindRGW)
	}
	scheme, host := "https", sp.Host
	if !sp.IsSecure() {
		scheme = "http"
	}
	if strings.Contains(host, "://") {
		u, err := url.Parse(host)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return endpoint{}, fmt.Errorf("s3: host %q is neither a host name nor an http(s) URL", sp.Host)
		}
		scheme, host = u.Scheme, u.Host
	}
	name := host
	if h, p, err := net.SplitHostPort(host); err == nil {
		name = h
		if sp.Port == 0 {
			sp.Port, _ = strconv.Atoi(p)
		}
	}
	name = strings.Trim(name, "[]")
	if sp.Port < 0 || sp.Port > 65535 {
		return endpoint{}, fmt.Errorf("s3: port %d is out of range", sp.Port)
	}
	addr := name
	if strings.Contains(name, ":") {
		addr = "[" + name + "]"
	}
	if sp.Port > 0 {
		addr = net.JoinHostPort(name, strconv.Itoa(sp.Port))
	}
	if scheme == "http" && !transport.IsLoopback(name) {
		log.Warn("storage endpoint uses plain HTTP: data and request signatures cross the network unencrypted; set secure: true",
			"endpoint", scheme+"://"+addr)
	}
	base := scheme + "://" + addr
	return endpoint{baseURL: &base, pathStyle: true}, nil
}

// newHTTPClient builds the transport: TLS settings from caBundle and
// sslVerify, and enough idle connections for every transfer in flight.
func newHTTPClient(sp providers.StorageProperties, transfers int) (*http.Client, error) {
	tlsCfg, err := transport.TLSConfig(sp, "s3")
	if err != nil {
		return nil, err
	}
	if tlsCfg == nil {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	idle := max(16, 2*transfers+2)
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          max(100, idle),
		MaxIdleConnsPerHost:   idle,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Completing a large multipart upload can take a while before the
		// server answers; a dead server is still noticed.
		ResponseHeaderTimeout: 5 * time.Minute,
		WriteBufferSize:       128 << 10,
		ReadBufferSize:        128 << 10,
		TLSClientConfig:       tlsCfg,
	}
	return &http.Client{Transport: tr}, nil
}

// checksumModes maps requestChecksum to the SDK's settings.
func checksumModes(v string) (aws.RequestChecksumCalculation, aws.ResponseChecksumValidation, error) {
	switch strings.ToLower(v) {
	case "", "when_supported":
		return aws.RequestChecksumCalculationWhenSupported, aws.ResponseChecksumValidationWhenSupported, nil
	case "when_required":
		return aws.RequestChecksumCalculationWhenRequired, aws.ResponseChecksumValidationWhenRequired, nil
	}
	return 0, 0, fmt.Errorf("s3: requestChecksum %q is neither when_supported nor when_required", v)
}

// sseSettings are the server-side encryption and storage class headers.
type sseSettings struct {
	kmsID        string
	storageClass types.StorageClass
	cAlgo        *string // SSE-C: nil when off
	cKey         *string // base64 of the 32-byte key
	cKeyMD5      *string
}

func newSSE(sp providers.StorageProperties) (sseSettings, error) {
	s := sseSettings{kmsID: sp.KMSID, storageClass: types.StorageClass(strings.ToUpper(sp.StorageClass))}
	key := sp.SSECKey.Reveal()
	if key == "" {
		return s, nil
	}
	if sp.KMSID != "" {
		return s, fmt.Errorf("s3: kmsId and sseCKey are mutually exclusive; set one")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(key))
	if err != nil || len(raw) != 32 {
		raw = []byte(key)
	}
	if len(raw) != 32 {
		return s, fmt.Errorf("s3: sseCKey must be a 32-byte AES-256 key, raw or base64-encoded")
	}
	sum := md5.Sum(raw)
	s.cAlgo = aws.String("AES256")
	s.cKey = aws.String(base64.StdEncoding.EncodeToString(raw))
	s.cKeyMD5 = aws.String(base64.StdEncoding.EncodeToString(sum[:]))
	return s, nil
}

// kms returns the ServerSideEncryption and key id for a new object.
func (s sseSettings) kms() (types.ServerSideEncryption, *string) {
	if s.kmsID == "" {
		return "", nil
	}
	return types.ServerSideEncryptionAwsKms, aws.String(s.kmsID)
}

// loadCredentials returns the credentials provider, the region the default
// chain knows (empty with a credentials file) and a description of the
// source for error messages.
func loadCredentials(ctx context.Context, sp providers.StorageProperties) (aws.CredentialsProvider, string, string, error) {
	if sp.CredentialsFile != "" {
		c, err := readCredentialsFile(sp.CredentialsFile)
		if err != nil {
			return nil, "", "", err
		}
		return c, "", "the credentials file " + sp.CredentialsFile, nil
	}
	return defaultChain(ctx)
}
