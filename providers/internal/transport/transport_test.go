package transport

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"

	"github.com/cassette-backup/cassette/providers"
)

func TestTLSConfig(t *testing.T) {
	no := false
	if cfg, err := TLSConfig(providers.StorageProperties{}, "x"); cfg != nil || err != nil {
		t.Errorf("TLSConfig of defaults = %v, %v; want nil, nil", cfg, err)
	}
	cfg, err := TLSConfig(providers.StorageProperties{SSLVerify: &no}, "x")
	if err != nil || !cfg.InsecureSkipVerify {
		t.Errorf("TLSConfig with sslVerify false = %+v, %v; want verification off", cfg, err)
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	tr, err := New(providers.StorageProperties{CABundle: ca}, "x")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		t.Fatalf("GET through a transport trusting the bundle: %v", err)
	}
	_ = resp.Body.Close()
	if resp, err := http.Get(srv.URL); err == nil {
		_ = resp.Body.Close()
		t.Fatal("the test server is trusted without the bundle; the test proves nothing")
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{notPEM: "holds no PEM certificate", filepath.Join(dir, "missing.pem"): "cannot be read"} {
		_, err := New(providers.StorageProperties{CABundle: file}, "gcs")
		if err == nil || !strings.HasPrefix(err.Error(), "gcs: CA bundle "+file) || !strings.Contains(err.Error(), want) {
			t.Errorf("New with CA bundle %s = %v, want an error naming it and %q", file, err, want)
		}
	}
}

func TestBaseURL(t *testing.T) {
	no := false
	cases := []struct {
		sp   providers.StorageProperties
		want string
		err  string
	}{
		{providers.StorageProperties{}, "", ""},
		{providers.StorageProperties{Host: "127.0.0.1", Port: 4443, Secure: &no}, "http://127.0.0.1:4443", ""},
		{providers.StorageProperties{Host: "storage.example"}, "https://storage.example", ""},
		{providers.StorageProperties{Host: "::1", Port: 9000}, "https://[::1]:9000", ""},
		{providers.StorageProperties{Port: 1}, "", "port is set but host is not"},
		{providers.StorageProperties{Host: "http://x"}, "", "not a URL"},
	}
	for _, c := range cases {
		got, err := BaseURL(c.sp, "gcs")
		if got != c.want || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("BaseURL(host %q, port %d) = %q, %v; want %q, %q", c.sp.Host, c.sp.Port, got, err, c.want, c.err)
		}
	}
}

func TestIsLoopbackAndRootPrefix(t *testing.T) {
	for host, want := range map[string]bool{"localhost": true, "LocalHost": true, "127.0.0.1": true, "::1": true, "10.0.0.1": false, "example.com": false} {
		if IsLoopback(host) != want {
			t.Errorf("IsLoopback(%q) = %v", host, !want)
		}
	}
	for p, want := range map[string]string{"": "", "/": "", "a": "a/", "/a/b/": "a/b/"} {
		if got := RootPrefix(p); got != want {
			t.Errorf("RootPrefix(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestCounting(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte("0123456789"))
	}))
	defer srv.Close()
	var c providers.Counters
	kind := func(r *http.Request) providers.RequestKind {
		if r.Method == http.MethodPut {
			return providers.RequestPut
		}
		return providers.RequestGet
	}
	client := &http.Client{Transport: Counting(http.DefaultTransport, &c, kind)}
	for _, m := range []string{http.MethodPut, http.MethodGet, http.MethodGet} {
		req, _ := http.NewRequest(m, srv.URL, strings.NewReader("abc"))
		if m == http.MethodGet {
			req.Body = http.NoBody
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	want := providers.Stats{Puts: 1, Gets: 2, BytesUp: 3, BytesDown: 30}
	if got := c.Snapshot(); got != want {
		t.Errorf("counted %+v, want %+v", got, want)
	}
}

func TestExactReader(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("read k: %w", err) }
	got, err := io.ReadAll(ExactReader(iotest.HalfReader(strings.NewReader("0123456789extra")), 10, "object", wrap))
	if err != nil || string(got) != "0123456789" {
		t.Errorf("ExactReader of a longer body = %q, %v; want its first 10 bytes", got, err)
	}
	_, err = io.ReadAll(ExactReader(strings.NewReader("0123"), 10, "blob", wrap))
	if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "read k: blob body ended 6 bytes early") {
		t.Errorf("ExactReader of a short body = %v, want io.ErrUnexpectedEOF through fail", err)
	}
	_, err = io.ReadAll(ExactReader(iotest.ErrReader(syscall.ECONNRESET), 10, "blob", wrap))
	if !errors.Is(err, syscall.ECONNRESET) || !strings.HasPrefix(err.Error(), "read k:") {
		t.Errorf("ExactReader of a failing body = %v, want the failure through fail", err)
	}
	if got, err := io.ReadAll(ExactReader(bytes.NewReader(nil), 0, "blob", wrap)); err != nil || len(got) != 0 {
		t.Errorf("ExactReader of 0 bytes = %q, %v", got, err)
	}
	for _, c := range []struct {
		off, n int64
		want   string
	}{{5, -1, "bytes 5 to the end"}, {5, 0, "0 bytes at 5"}, {5, 10, "bytes 5-14"}} {
		if got := DescribeRange(c.off, c.n); got != c.want {
			t.Errorf("DescribeRange(%d, %d) = %q, want %q", c.off, c.n, got, c.want)
		}
	}
}

func TestClassification(t *testing.T) {
	for code, want := range map[int]error{
		404: providers.ErrNotFound, 412: providers.ErrAlreadyExists, 416: providers.ErrInvalidRange,
		401: providers.ErrPermission, 403: providers.ErrPermission, 408: providers.ErrTransient,
		429: providers.ErrTransient, 500: providers.ErrTransient, 503: providers.ErrTransient, 400: nil, 409: nil,
	} {
		if got := StatusSentinel(code); got != want {
			t.Errorf("StatusSentinel(%d) = %v, want %v", code, got, want)
		}
	}
	if !Classified(fmt.Errorf("x: %w", providers.ErrTransient)) || Classified(errors.New("x")) {
		t.Error("Classified does not tell wrapped sentinels from other errors")
	}
	for _, err := range []error{syscall.ECONNRESET, syscall.ECONNREFUSED, io.ErrUnexpectedEOF, fmt.Errorf("w: %w", syscall.EPIPE)} {
		if !IsTransientNetError(err) {
			t.Errorf("IsTransientNetError(%v) = false", err)
		}
	}
	if IsTransientNetError(errors.New("bad request")) {
		t.Error("IsTransientNetError of a plain error = true")
	}
}
