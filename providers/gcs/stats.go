package gcs

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
)

// Stats counts the HTTP requests a Storage sent, by kind, and the body bytes
// it sent and received. It is a snapshot; the bench harness reads it before
// and after a run.
type Stats struct {
	// Puts counts uploads: object inserts, resumable-upload chunks, bucket
	// creation.
	Puts int64
	// Gets counts object reads and metadata lookups.
	Gets int64
	// Lists counts list pages.
	Lists int64
	// Deletes counts delete requests.
	Deletes int64
	// BytesUp and BytesDown are the request and response body bytes.
	BytesUp   int64
	BytesDown int64
}

// counters is the live form of Stats.
type counters struct {
	puts, gets, lists, deletes atomic.Int64
	up, down                   atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Puts: c.puts.Load(), Gets: c.gets.Load(), Lists: c.lists.Load(), Deletes: c.deletes.Load(),
		BytesUp: c.up.Load(), BytesDown: c.down.Load(),
	}
}

// countingTransport counts requests and body bytes on their way to base.
type countingTransport struct {
	base http.RoundTripper
	c    *counters
}

// RoundTrip implements http.RoundTripper.
func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	switch {
	case req.Method == http.MethodDelete:
		t.c.deletes.Add(1)
	case req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch:
		t.c.puts.Add(1)
	case strings.HasSuffix(req.URL.Path, "/o"): // JSON API: GET /storage/v1/b/<bucket>/o
		t.c.lists.Add(1)
	default:
		t.c.gets.Add(1)
	}
	if req.Body != nil && req.Body != http.NoBody {
		r2 := req.Clone(req.Context())
		r2.Body = &countingBody{ReadCloser: req.Body, n: &t.c.up}
		req = r2
	}
	resp, err := t.base.RoundTrip(req)
	if err == nil && resp.Body != nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &t.c.down}
	}
	return resp, err
}

// countingBody adds the bytes read through it to n.
type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}
