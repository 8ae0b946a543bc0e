package providertest

import (
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy forwards TCP connections from a port of 127.0.0.1 to a server and
// cuts them on demand, to test what a backend and the code above it do when
// the network fails in the middle of a request. Point a backend at it by
// setting StorageProperties.Port to Port().
type Proxy struct {
	ln     net.Listener
	target string
	// threshold is how many bytes a connection may send towards the
	// server before it is cut, and budget how many connections may still
	// be cut (negative: without limit).
	threshold, budget atomic.Int64
	cuts, sent        atomic.Int64
	wg                sync.WaitGroup
}

// StartProxy starts a proxy to target ("host:port") that cuts nothing,
// and stops it when t ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { _ = ln.Close(); p.wg.Wait() })
	return p
}

// Port is the proxy's port on 127.0.0.1.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Addr is the proxy's "127.0.0.1:port".
func (p *Proxy) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port())) }

// CutAfter makes the proxy reset the next n connections (n < 0: every
// connection, until the next CutAfter) that send more than bytes towards
// the server, at that point: small requests pass, uploads are cut mid-body.
// CutAfter(0, -1) cuts every connection as soon as it sends anything (the
// network is down); CutAfter(0, 0) heals it.
func (p *Proxy) CutAfter(bytes, n int64) {
	p.threshold.Store(bytes)
	p.budget.Store(n)
}

// Cuts is the number of connections cut so far.
func (p *Proxy) Cuts() int64 { return p.cuts.Load() }

// Sent is the number of bytes forwarded towards the server so far.
func (p *Proxy) Sent() int64 { return p.sent.Load() }

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() { defer p.wg.Done(); p.handle(c) }()
	}
}

// handle forwards one connection, server to client in a goroutine of its
// own, client to server here, where the cut is decided.
func (p *Proxy) handle(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
	buf := make([]byte, 32<<10)
	var sent int64
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if sent += int64(n); sent > p.threshold.Load() && p.takeCut() {
				p.cuts.Add(1)
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // a reset, not a clean close
				}
				return
			}
			if _, werr := up.Write(buf[:n]); werr != nil {
				return
			}
			p.sent.Add(int64(n))
		}
		if err != nil {
			return
		}
	}
}

// takeCut reports whether one more connection may be cut, using up the
// budget.
func (p *Proxy) takeCut() bool {
	for {
		left := p.budget.Load()
		if left == 0 {
			return false
		}
		if left < 0 || p.budget.CompareAndSwap(left, left-1) {
			return true
		}
	}
}
