package harness

import (
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Counts are the S3 requests and bytes that went through a Proxy, by kind.
// Every tool is counted the same way, on the wire.
type Counts struct {
	PutObject   int64 // PUT of a whole object
	UploadPart  int64 // PUT of a multipart part
	CreateMPU   int64 // POST ?uploads
	CompleteMPU int64 // POST ?uploadId=
	Get         int64 // GET of an object
	Head        int64 // HEAD
	List        int64 // GET on the bucket (list objects, list uploads, location) or ?uploadId (list parts)
	Delete      int64 // DELETE and POST ?delete
	Other       int64 // anything else (bucket creation, ...)
	Failed      int64 // responses with status >= 400 (404 on HEAD included) and proxy errors
	BytesUp     int64 // request bodies
	BytesDown   int64 // response bodies
}

// Requests is the total number of requests.
func (c Counts) Requests() int64 {
	return c.PutObject + c.UploadPart + c.CreateMPU + c.CompleteMPU + c.Get + c.Head + c.List + c.Delete + c.Other
}

// Objects is the number of objects written: single PUTs plus completed
// multipart uploads.
func (c Counts) Objects() int64 { return c.PutObject + c.CompleteMPU }

// Puts is the number of requests that carried object data (PUT objects and
// parts).
func (c Counts) Puts() int64 { return c.PutObject + c.UploadPart }

// Sub returns c minus o, field by field.
func (c Counts) Sub(o Counts) Counts {
	return Counts{
		PutObject: c.PutObject - o.PutObject, UploadPart: c.UploadPart - o.UploadPart,
		CreateMPU: c.CreateMPU - o.CreateMPU, CompleteMPU: c.CompleteMPU - o.CompleteMPU,
		Get: c.Get - o.Get, Head: c.Head - o.Head, List: c.List - o.List, Delete: c.Delete - o.Delete,
		Other: c.Other - o.Other, Failed: c.Failed - o.Failed,
		BytesUp: c.BytesUp - o.BytesUp, BytesDown: c.BytesDown - o.BytesDown,
	}
}

// Kind names the request kinds Classify returns.
type Kind int

// Request kinds.
const (
	KindOther Kind = iota
	KindPutObject
	KindUploadPart
	KindCreateMPU
	KindCompleteMPU
	KindGet
	KindHead
	KindList
	KindDelete
)

// Classify tells what an S3 request with path-style addressing
// (/bucket/key?query) is.
func Classify(method string, u *url.URL) Kind {
	q := u.Query()
	path := strings.TrimPrefix(u.Path, "/")
	hasKey := strings.Contains(strings.TrimSuffix(path, "/"), "/")
	switch method {
	case http.MethodPut:
		switch {
		case q.Has("partNumber") && q.Has("uploadId"):
			return KindUploadPart
		case hasKey:
			return KindPutObject
		}
	case http.MethodPost:
		switch {
		case q.Has("uploads"):
			return KindCreateMPU
		case q.Has("uploadId"):
			return KindCompleteMPU
		case q.Has("delete"):
			return KindDelete
		}
	case http.MethodGet:
		if !hasKey || q.Has("uploadId") {
			return KindList
		}
		return KindGet
	case http.MethodHead:
		return KindHead
	case http.MethodDelete:
		return KindDelete
	}
	return KindOther
}

// Proxy is a reverse proxy on 127.0.0.1 that forwards to an S3 server and
// counts what goes through. It keeps the client's Host header, so SigV4
// signatures made for the proxy's address stay valid.
type Proxy struct {
	rp *httputil.ReverseProxy
	tr *http.Transport

	kinds            [KindDelete + 1]atomic.Int64
	mu               sync.Mutex
	written          []string // paths of the objects written, in request order
	failed, up, down atomic.Int64
	srv              *http.Server
	ln               net.Listener
	addr             string
	closeOnce        sync.Once
}

// NewProxy returns a proxy to target (e.g. http://127.0.0.1:9000). Serve it
// with Start, or use it as an http.Handler.
func NewProxy(target *url.URL) *Proxy {
	p := &Proxy{tr: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		WriteBufferSize:     128 << 10,
		ReadBufferSize:      128 << 10,
	}}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme = target.Scheme
			r.Out.URL.Host = target.Host
			r.Out.Host = r.In.Host // signed by the client
		},
		Transport:  p.tr,
		BufferPool: bufferPool{},
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode >= 400 {
				p.failed.Add(1)
			}
			resp.Body = &countingBody{ReadCloser: resp.Body, n: &p.down}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) {
			p.failed.Add(1)
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	return p
}

// ServeHTTP counts the request and forwards it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k := Classify(r.Method, r.URL)
	p.kinds[k].Add(1)
	if k == KindPutObject || k == KindCompleteMPU {
		p.mu.Lock()
		if len(p.written) < maxWritten {
			p.written = append(p.written, r.URL.Path)
		}
		p.mu.Unlock()
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &countingBody{ReadCloser: r.Body, n: &p.up}
	}
	p.rp.ServeHTTP(w, r)
}

// Counts returns the counters so far.
func (p *Proxy) Counts() Counts {
	return Counts{
		PutObject: p.kinds[KindPutObject].Load(), UploadPart: p.kinds[KindUploadPart].Load(),
		CreateMPU: p.kinds[KindCreateMPU].Load(), CompleteMPU: p.kinds[KindCompleteMPU].Load(),
		Get: p.kinds[KindGet].Load(), Head: p.kinds[KindHead].Load(), List: p.kinds[KindList].Load(),
		Delete: p.kinds[KindDelete].Load(), Other: p.kinds[KindOther].Load(),
		Failed: p.failed.Load(), BytesUp: p.up.Load(), BytesDown: p.down.Load(),
	}
}

// maxWritten bounds the object paths a Proxy remembers.
const maxWritten = 1 << 20

// Written returns the paths (/bucket/key) of the objects written since the
// mark, in request order, and the new mark. Start with mark 0.
func (p *Proxy) Written(mark int) ([]string, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	mark = min(mark, len(p.written))
	return append([]string(nil), p.written[mark:]...), len(p.written)
}

// Start serves the proxy on a free port of 127.0.0.1.
func (p *Proxy) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	p.ln, p.addr = ln, ln.Addr().String()
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return nil
}

// Addr is the proxy's host:port once started.
func (p *Proxy) Addr() string { return p.addr }

// Close stops serving and drops idle upstream connections.
func (p *Proxy) Close() error {
	var err error
	p.closeOnce.Do(func() {
		if p.srv != nil {
			err = p.srv.Close()
		}
		p.tr.CloseIdleConnections()
	})
	return err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c *countingBody) Read(b []byte) (int, error) {
	n, err := c.ReadCloser.Read(b)
	c.n.Add(int64(n))
	return n, err
}

// bufferPool gives the reverse proxy 256 KiB copy buffers.
type bufferPool struct{}

var proxyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

func (bufferPool) Get() []byte  { return *(proxyBufs.Get().(*[]byte)) }
func (bufferPool) Put(b []byte) { proxyBufs.Put(&b) }
