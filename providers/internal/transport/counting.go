package transport

import (
	"io"
	"net/http"

	"github.com/cassette-backup/cassette/providers"
)

// Counting returns a RoundTripper that counts each request in c, as the
// kind classify gives it, and the request and response body bytes, on the
// way to base.
func Counting(base http.RoundTripper, c *providers.Counters, classify func(*http.Request) providers.RequestKind) http.RoundTripper {
	return &countingTransport{base: base, c: c, classify: classify}
}

type countingTransport struct {
	base     http.RoundTripper
	c        *providers.Counters
	classify func(*http.Request) providers.RequestKind
}

// RoundTrip implements http.RoundTripper.
func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.c.Request(t.classify(req))
	if req.Body != nil && req.Body != http.NoBody {
		r2 := req.Clone(req.Context())
		r2.Body = &countingBody{ReadCloser: req.Body, add: t.c.Up}
		req = r2
	}
	resp, err := t.base.RoundTrip(req)
	if err == nil && resp.Body != nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, add: t.c.Down}
	}
	return resp, err
}

// countingBody adds the bytes read through it with add.
type countingBody struct {
	io.ReadCloser
	add func(int64)
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.add(int64(n))
	return n, err
}
