package s3

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/providertest"
)

// fakeS3 is an httptest server whose handler the test supplies; it answers
// HEAD bucket with 200 so Open succeeds, and records every request.
type fakeS3 struct {
	sp   providers.StorageProperties // addresses the server
	mu   sync.Mutex
	reqs []*http.Request
}

func newFakeS3(t *testing.T, h http.HandlerFunc) *fakeS3 {
	t.Helper()
	f := &fakeS3{}
	f.sp = providertest.ServeHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs = append(f.reqs, r)
		f.mu.Unlock()
		if r.Method == http.MethodHead && strings.Count(strings.Trim(r.URL.Path, "/"), "/") == 0 {
			return // HeadBucket
		}
		h(w, r)
	}))
	return f
}

func (f *fakeS3) props(t *testing.T) providers.StorageProperties {
	sp := f.sp
	sp.StorageProvider, sp.BucketName, sp.Prefix = KindCompatible, "bkt", "pre"
	sp.CredentialsFile, sp.ConcurrentTransfers = writeCreds(t), 2
	return sp
}

func (f *fakeS3) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.reqs...)
}

func writeCreds(t *testing.T) string {
	t.Helper()
	p := t.TempDir() + "/credentials"
	body := "# test\n[default]\naws_access_key_id = AKIDTEST\naws_secret_access_key = fake-secret\n"
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSSEHeaders(t *testing.T) {
	f := newFakeS3(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Length", "3")
			_, _ = w.Write([]byte("abc"))
		}
	})
	key := bytes.Repeat([]byte{7}, 32)
	sum := md5.Sum(key)
	for _, raw := range []bool{true, false} {
		sp := f.props(t)
		sp.StorageClass = "standard_ia"
		sp.SSECKey = providers.Secret(key)
		if !raw {
			sp.SSECKey = providers.Secret(base64.StdEncoding.EncodeToString(key))
		}
		s := openTest(t, sp, Options{})
		if err := s.Put(t.Context(), "k", providers.Bytes([]byte("abc")), providers.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := s.Get(t.Context(), "k", 0, -1, func(r io.Reader) error { _, err := io.ReadAll(r); return err }); err != nil {
			t.Fatal(err)
		}
		reqs := f.requests()
		for _, r := range reqs[len(reqs)-2:] {
			h := r.Header
			if h.Get("X-Amz-Server-Side-Encryption-Customer-Algorithm") != "AES256" ||
				h.Get("X-Amz-Server-Side-Encryption-Customer-Key") != base64.StdEncoding.EncodeToString(key) ||
				h.Get("X-Amz-Server-Side-Encryption-Customer-Key-Md5") != base64.StdEncoding.EncodeToString(sum[:]) {
				t.Errorf("%s %s lacks the SSE-C headers: %v", r.Method, r.URL.Path, h)
			}
		}
		if got := reqs[len(reqs)-2].Header.Get("X-Amz-Storage-Class"); got != "STANDARD_IA" {
			t.Errorf("storage class header = %q", got)
		}
		if got := reqs[len(reqs)-2].URL.Path; got != "/bkt/pre/k" {
			t.Errorf("path-style object path = %q, want /bkt/pre/k", got)
		}
	}
	sp := f.props(t)
	sp.KMSID = "arn:aws:kms:eu-west-1:1:key/abc"
	s := openTest(t, sp, Options{})
	if err := s.Put(t.Context(), "k", providers.Bytes([]byte("abc")), providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	h := reqs[len(reqs)-1].Header
	if h.Get("X-Amz-Server-Side-Encryption") != "aws:kms" || h.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id") != sp.KMSID {
		t.Errorf("SSE-KMS headers missing: %v", h)
	}
}

func TestShortBodyIsTransient(t *testing.T) {
	f := newFakeS3(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.Header().Set("Content-Range", "bytes 0-99/100")
		w.WriteHeader(http.StatusPartialContent)
		_, _ = w.Write(make([]byte, 40)) // the server then closes the connection
	})
	s := openTest(t, f.props(t), Options{})
	err := s.Get(t.Context(), "k", 0, 100, func(r io.Reader) error { _, err := io.ReadAll(r); return err })
	if !errors.Is(err, providers.ErrTransient) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Get of a truncated body = %v, want ErrTransient wrapping io.ErrUnexpectedEOF", err)
	}
	// Also when fn swallows the error.
	err = s.Get(t.Context(), "k", 0, 100, func(r io.Reader) error { _, _ = io.ReadAll(r); return nil })
	if !errors.Is(err, providers.ErrTransient) {
		t.Fatalf("Get of a truncated body with a lenient fn = %v, want ErrTransient", err)
	}
}

func TestDeleteManyReadsPerKeyErrors(t *testing.T) {
	f := newFakeS3(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><DeleteResult>`+
			`<Error><Key>pre/b</Key><Code>AccessDenied</Code><Message>no</Message></Error>`+
			`<Error><Key>pre/c</Key><Code>NoSuchKey</Code><Message>gone</Message></Error></DeleteResult>`)
	})
	s := openTest(t, f.props(t), Options{DeleteBatch: 2})
	err := s.DeleteMany(t.Context(), []providers.Key{"a", "b", "c", "d", "e"})
	if !errors.Is(err, providers.ErrPermission) || !strings.Contains(err.Error(), "delete b") {
		t.Fatalf("DeleteMany = %v, want ErrPermission naming key b", err)
	}
	posts := 0
	for _, r := range f.requests() {
		if r.Method == http.MethodPost {
			posts++
		}
	}
	if posts != 3 {
		t.Errorf("5 keys in batches of 2 sent %d DeleteObjects requests, want 3", posts)
	}
}

func TestProbeDetectsIgnoredIfNoneMatch(t *testing.T) {
	f := newFakeS3(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			w.WriteHeader(http.StatusNoContent)
		}
	})
	s, err := Create(t.Context(), f.props(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Properties().ConditionalCreate {
		t.Fatal("a server that ignores If-None-Match was recorded as supporting it")
	}
	err = s.Put(t.Context(), "lock", providers.Bytes([]byte("x")), providers.PutOptions{IfNotExists: true})
	if !errors.Is(err, providers.ErrNotSupported) {
		t.Fatalf("IfNotExists without server support = %v, want ErrNotSupported", err)
	}
}

func TestPartRetriesOnlyTransient(t *testing.T) {
	var mu sync.Mutex
	fails := map[string]int{}
	f := newFakeS3(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case r.Method == http.MethodPost && q.Has("uploads"):
			_, _ = io.WriteString(w, `<InitiateMultipartUploadResult><UploadId>u1</UploadId></InitiateMultipartUploadResult>`)
		case r.Method == http.MethodPut && q.Get("partNumber") != "":
			mu.Lock()
			fails[q.Get("partNumber")]++
			n := fails[q.Get("partNumber")]
			mu.Unlock()
			if q.Get("partNumber") == "2" && n <= 2 {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = io.WriteString(w, `<Error><Code>SlowDown</Code><Message>later</Message></Error>`)
				return
			}
			w.Header().Set("ETag", `"e"`)
		case r.Method == http.MethodPost && q.Has("uploadId"):
			_, _ = io.WriteString(w, `<CompleteMultipartUploadResult><ETag>"x"</ETag></CompleteMultipartUploadResult>`)
		case r.Method == http.MethodPut:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	s := openTest(t, f.props(t), Options{PartSize: MinPartSize, RetryBackoff: 1})
	data := make([]byte, 2*MinPartSize+1)
	if err := s.Put(t.Context(), "big", providers.Stream(bytes.NewReader(data), -1), providers.PutOptions{}); err != nil {
		t.Fatalf("Put with a part failing twice with 503: %v", err)
	}
	mu.Lock()
	if fails["2"] != 3 || fails["1"] != 1 || fails["3"] != 1 {
		t.Errorf("part attempts = %v, want part 2 thrice and the others once", fails)
	}
	mu.Unlock()
	before := len(f.requests())
	err := s.Put(t.Context(), "small", providers.Bytes([]byte("x")), providers.PutOptions{})
	if !errors.Is(err, providers.ErrTransient) {
		t.Fatalf("Put answered 503 = %v, want ErrTransient", err)
	}
	if n := len(f.requests()) - before; n != 1 {
		t.Errorf("a replayable Put answered 503 was sent %d times, want once (the SDK must not retry)", n)
	}
}

// TestBodySigning: with request checksums the body travels with a CRC32 and
// is signed as UNSIGNED-PAYLOAD (no SHA-256 pass); without them SigV4 signs
// the body's SHA-256.
func TestBodySigning(t *testing.T) {
	f := newFakeS3(t, func(http.ResponseWriter, *http.Request) {})
	for _, c := range []struct {
		mode      string
		unsigned  bool
		crcHeader bool
	}{{"when_supported", true, true}, {"when_required", false, false}} {
		sp := f.props(t)
		sp.RequestChecksum = c.mode
		s := openTest(t, sp, Options{})
		if err := s.Put(t.Context(), "k", providers.Bytes([]byte("abc")), providers.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		reqs := f.requests()
		h := reqs[len(reqs)-1].Header
		if got := h.Get("X-Amz-Content-Sha256") == "UNSIGNED-PAYLOAD"; got != c.unsigned {
			t.Errorf("%s: X-Amz-Content-Sha256 = %q", c.mode, h.Get("X-Amz-Content-Sha256"))
		}
		if got := h.Get("X-Amz-Checksum-Crc32") != ""; got != c.crcHeader {
			t.Errorf("%s: X-Amz-Checksum-Crc32 = %q", c.mode, h.Get("X-Amz-Checksum-Crc32"))
		}
	}
}

// TestTLSSettings: a private CA is trusted through caBundle, refused
// without it, and accepted unverified with sslVerify: false.
func TestTLSSettings(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	ca := t.TempDir() + "/ca.pem"
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemCert, 0o600); err != nil {
		t.Fatal(err)
	}
	base := providers.StorageProperties{
		StorageProvider: KindCompatible, BucketName: "bkt", Host: "127.0.0.1", Port: port, CredentialsFile: writeCreds(t),
	}
	if _, err := Open(t.Context(), base, Options{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Open of a server with an unknown CA = %v, want a certificate error", err)
	}
	withCA := base
	withCA.CABundle = ca
	if s, err := Open(t.Context(), withCA, Options{}); err != nil {
		t.Errorf("Open with caBundle: %v", err)
	} else {
		_ = s.Close(t.Context())
	}
	var log bytes.Buffer
	insecure := base
	insecure.SSLVerify = ptr(false)
	if s, err := Open(t.Context(), insecure, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))}); err != nil {
		t.Errorf("Open with sslVerify false: %v", err)
	} else {
		_ = s.Close(t.Context())
	}
	if !strings.Contains(log.String(), "not verified") {
		t.Errorf("sslVerify false logged no warning: %q", log.String())
	}
	bad := base
	bad.CABundle = writeCreds(t) // not PEM
	if _, err := Open(t.Context(), bad, Options{}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("Open with a CA bundle holding no certificate = %v", err)
	}
}
