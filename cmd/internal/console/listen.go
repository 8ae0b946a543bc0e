package console

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"
)

// DefaultAddr is where the console listens unless told otherwise: this
// machine only.
const DefaultAddr = "127.0.0.1:8080"

// ListenConfig is how the console is reached: the address, TLS, and the
// credential every request must carry.
type ListenConfig struct {
	// Addr is host:port (--http).
	Addr string
	// TLSCert and TLSKey serve HTTPS (--http-tls-cert, --http-tls-key).
	TLSCert, TLSKey string
	// AuthFile holds user:hash lines for basic auth (--http-auth-file).
	AuthFile string
	// ClientCA makes TLS require a client certificate signed by it
	// (--http-client-ca).
	ClientCA string
}

// TLS reports whether the console serves HTTPS.
func (lc ListenConfig) TLS() bool { return lc.TLSCert != "" }

// Check refuses configurations that would expose the console: beyond the
// loopback interface it must be served with TLS and a credential (basic
// auth or client certificates), so that no one on the network can start or
// watch backups, or read the configuration.
func (lc ListenConfig) Check() error {
	host, port, err := net.SplitHostPort(lc.Addr)
	if err != nil || port == "" {
		return fmt.Errorf("--http %q is not host:port; use e.g. %s", lc.Addr, DefaultAddr)
	}
	if (lc.TLSCert == "") != (lc.TLSKey == "") {
		return errors.New("--http-tls-cert and --http-tls-key go together: pass the PEM certificate and its key")
	}
	if lc.ClientCA != "" && !lc.TLS() {
		return errors.New("--http-client-ca needs TLS: pass --http-tls-cert and --http-tls-key too")
	}
	if loopback(host) {
		return nil
	}
	if !lc.TLS() || (lc.AuthFile == "" && lc.ClientCA == "") {
		return fmt.Errorf("--http %s listens beyond this machine: pass --http-tls-cert and --http-tls-key, and --http-auth-file or --http-client-ca (or listen on 127.0.0.1)", lc.Addr)
	}
	return nil
}

// loopback reports whether host names this machine only. An empty host
// (":8080") is every interface.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// tlsConfig loads the server certificate and, with ClientCA, requires
// client certificates signed by it.
func (lc ListenConfig) tlsConfig() (*tls.Config, error) {
	if !lc.TLS() {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(lc.TLSCert, lc.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("--http-tls-cert %s and --http-tls-key %s: %v; point them at a PEM certificate and its key", lc.TLSCert, lc.TLSKey, err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if lc.ClientCA != "" {
		pem, err := os.ReadFile(lc.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("--http-client-ca %s: %v", lc.ClientCA, unwrapPath(err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--http-client-ca %s holds no PEM certificate; point it at the CA that signs the users' certificates", lc.ClientCA)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// Listener is the console's socket, open and ready to Serve.
type Listener struct {
	net.Listener
	// URL is where the console is, e.g. http://127.0.0.1:8080/.
	URL string
}

// Listen checks lc and opens its socket (TLS included).
func Listen(lc ListenConfig) (*Listener, error) {
	if err := lc.Check(); err != nil {
		return nil, err
	}
	tc, err := lc.tlsConfig()
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", lc.Addr)
	if err != nil {
		return nil, fmt.Errorf("--http %s: %v", lc.Addr, err)
	}
	scheme := "http"
	if tc != nil {
		lis, scheme = tls.NewListener(lis, tc), "https"
	}
	return &Listener{Listener: lis, URL: scheme + "://" + lis.Addr().String() + "/"}, nil
}

// Serve answers h on lis until ctx is done, then stops taking requests and
// lets the ones in progress end (a few seconds at most).
func Serve(ctx context.Context, lis *Listener, h http.Handler, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	select {
	case err := <-served:
		return fmt.Errorf("web console: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	<-served
	return nil
}
