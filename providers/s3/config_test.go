package s3

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/cassette-backup/cassette/providers"
)

func TestResolveEndpoint(t *testing.T) {
	no, yes := false, true
	cases := []struct {
		sp        providers.StorageProperties
		want      string // "" = AWS regional endpoint
		pathStyle bool
		warn      bool
	}{
		{providers.StorageProperties{StorageProvider: KindAWS}, "", false, false},
		{providers.StorageProperties{StorageProvider: KindAWS, Host: "s3.internal", Port: 8443}, "https://s3.internal:8443", true, false},
		{providers.StorageProperties{StorageProvider: KindCompatible, Host: "127.0.0.1", Port: 9000, Secure: &no}, "http://127.0.0.1:9000", true, false},
		{providers.StorageProperties{StorageProvider: KindRGW, Host: "rgw.example", Port: 80, Secure: &no}, "http://rgw.example:80", true, true},
		{providers.StorageProperties{StorageProvider: KindRGW, Host: "rgw.example", Secure: &yes}, "https://rgw.example", true, false},
		{providers.StorageProperties{StorageProvider: KindCompatible, Host: "::1", Port: 9000, Secure: &no}, "http://[::1]:9000", true, false},
		{providers.StorageProperties{StorageProvider: KindCompatible, Host: "http://localhost:9000"}, "http://localhost:9000", true, false},
	}
	for _, c := range cases {
		var log bytes.Buffer
		ep, err := resolveEndpoint(c.sp, slog.New(slog.NewTextHandler(&log, nil)))
		if err != nil {
			t.Fatalf("%+v: %v", c.sp, err)
		}
		got := ""
		if ep.baseURL != nil {
			got = *ep.baseURL
		}
		if got != c.want || ep.pathStyle != c.pathStyle {
			t.Errorf("%s %s:%d = %q path-style %v, want %q %v", c.sp.StorageProvider, c.sp.Host, c.sp.Port, got, ep.pathStyle, c.want, c.pathStyle)
		}
		if warned := strings.Contains(log.String(), "plain HTTP"); warned != c.warn {
			t.Errorf("%s: warning logged = %v, want %v (%s)", c.sp.Host, warned, c.warn, log.String())
		}
	}
	for _, sp := range []providers.StorageProperties{
		{StorageProvider: KindCompatible},
		{StorageProvider: "google_storage", Host: "x"},
		{StorageProvider: KindCompatible, Host: "ftp://x"},
	} {
		if _, err := resolveEndpoint(sp, slog.New(slog.DiscardHandler)); err == nil {
			t.Errorf("%+v: no error", sp)
		}
	}
}

func TestParseINIProfile(t *testing.T) {
	in := "\uFEFF; comment\n[other]\naws_access_key_id = OTHER\n\n[profile default]\n  AWS_ACCESS_KEY_ID=id \n# c\naws_secret_access_key = a=b=c\n"
	got, err := parseINIProfile([]byte(in), "default")
	if err != nil {
		t.Fatal(err)
	}
	if got["aws_access_key_id"] != "id" || got["aws_secret_access_key"] != "a=b=c" || len(got) != 2 {
		t.Errorf("parsed %v", got)
	}
	if got, err := parseINIProfile([]byte("[x]\na=b\n"), "default"); err != nil || got != nil {
		t.Errorf("absent section = %v, %v; want nil, nil", got, err)
	}
	if _, err := parseINIProfile([]byte("[default\n"), "default"); err == nil {
		t.Error("unterminated section accepted")
	}
}

func TestChecksumModesAndSSE(t *testing.T) {
	for _, v := range []string{"", "when_supported", "WHEN_REQUIRED"} {
		if _, _, err := checksumModes(v); err != nil {
			t.Errorf("%q: %v", v, err)
		}
	}
	if _, _, err := checksumModes("always"); err == nil {
		t.Error("unknown checksum mode accepted")
	}
	const bad = "short-secret-value"
	_, err := newSSE(providers.StorageProperties{SSECKey: bad})
	if err == nil || strings.Contains(err.Error(), bad) {
		t.Errorf("short SSE-C key: %v", err)
	}
	_, err = newSSE(providers.StorageProperties{SSECKey: providers.Secret(strings.Repeat("k", 32)), KMSID: "x"})
	if err == nil {
		t.Error("SSE-C together with KMS accepted")
	}
}

func TestClassifyAPI(t *testing.T) {
	cases := []struct {
		code   string
		status int
		want   error
	}{
		{"NoSuchKey", 404, providers.ErrNotFound},
		{"NotFound", 404, providers.ErrNotFound},
		{"", 404, providers.ErrNotFound},
		{"PreconditionFailed", 412, providers.ErrAlreadyExists},
		{"ConditionalRequestConflict", 409, providers.ErrTransient},
		{"InvalidRange", 416, providers.ErrInvalidRange},
		{"AccessDenied", 403, providers.ErrPermission},
		{"InvalidAccessKeyId", 403, providers.ErrPermission},
		{"SignatureDoesNotMatch", 403, providers.ErrPermission},
		{"ExpiredToken", 400, providers.ErrPermission},
		{"SlowDown", 503, providers.ErrTransient},
		{"InternalError", 500, providers.ErrTransient},
		{"", 502, providers.ErrTransient},
		{"RequestTimeout", 400, providers.ErrTransient},
		{"NotImplemented", 501, providers.ErrNotSupported},
		{"BucketNotEmpty", 409, nil},
		{"InvalidArgument", 400, nil},
	}
	for _, c := range cases {
		if got := classifyAPI(c.code, c.status); !errors.Is(got, c.want) || (c.want == nil && got != nil) {
			t.Errorf("classifyAPI(%q, %d) = %v, want %v", c.code, c.status, got, c.want)
		}
	}
	if parseContentRangeTotal("bytes 5-9/10") != 10 || parseContentRangeTotal("bytes */10") != 10 || parseContentRangeTotal("bytes 0-1/*") != -1 {
		t.Error("parseContentRangeTotal")
	}
}
