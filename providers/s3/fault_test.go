package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/providers"
)

// dropProxy forwards TCP connections to target and cuts a connection once
// it has carried more than threshold bytes towards the server, as long as
// drops remain (negative: without limit). Small requests pass; uploads of
// large parts are cut mid-body.
type dropProxy struct {
	ln        net.Listener
	target    string
	threshold int64
	drops     atomic.Int64
	dropped   atomic.Int64
	wg        sync.WaitGroup
}

func startDropProxy(t *testing.T, target string, threshold, drops int64) *dropProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dropProxy{ln: ln, target: target, threshold: threshold}
	p.drops.Store(drops)
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { _ = ln.Close(); p.wg.Wait() })
	return p
}

func (p *dropProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *dropProxy) serve() {
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

func (p *dropProxy) handle(c net.Conn) {
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
			if sent += int64(n); sent > p.threshold && p.takeDrop() {
				p.dropped.Add(1)
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // reset, not a clean close
				}
				return
			}
			if _, werr := up.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *dropProxy) takeDrop() bool {
	for {
		left := p.drops.Load()
		if left == 0 {
			return false
		}
		if left < 0 || p.drops.CompareAndSwap(left, left-1) {
			return true
		}
	}
}

// proxied opens the test bucket through a drop proxy.
func proxied(t *testing.T, drops int64) (*Storage, *dropProxy) {
	srv := requireMinIO(t)
	p := startDropProxy(t, "127.0.0.1:"+strconv.Itoa(srv.port), 1<<20, 0)
	sp := srv.props(KindCompatible, "")
	sp.Port = p.port()
	s := openTest(t, sp, Options{RetryBackoff: 10 * time.Millisecond})
	p.drops.Store(drops)
	return s, p
}

func TestConnectionDropMidUploadRecovers(t *testing.T) {
	s, p := proxied(t, 2)
	data := randomData(4*testPart + 321)
	err := s.Put(t.Context(), "fault/ok", providers.Stream(bytes.NewReader(data), -1), providers.PutOptions{})
	if err != nil {
		// Allowed by the contract, but two drops are within the part retries.
		t.Fatalf("Put through 2 dropped connections = %v, want success via part retries", err)
	}
	if p.dropped.Load() == 0 {
		t.Fatal("the proxy dropped nothing; the test proves nothing")
	}
	var got []byte
	if err := s.Get(t.Context(), "fault/ok", 0, -1, func(r io.Reader) (err error) { got, err = io.ReadAll(r); return err }); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("object read back differs (%d bytes, want %d)", len(got), len(data))
	}
	if ups := pendingUploads(t, s); len(ups) != 0 {
		t.Errorf("pending uploads: %v", ups)
	}
}

func TestConnectionDropsEveryUploadFailsClean(t *testing.T) {
	s, p := proxied(t, -1)
	data := randomData(3*testPart + 5)
	err := s.Put(t.Context(), "fault/bad", providers.Stream(bytes.NewReader(data), -1), providers.PutOptions{})
	if !errors.Is(err, providers.ErrTransient) || !errors.Is(err, providers.ErrPayloadConsumed) {
		t.Fatalf("Put whose every large request is cut = %v, want ErrTransient and ErrPayloadConsumed", err)
	}
	p.drops.Store(0)
	checkNothingLeft(t, s, "fault/bad")

	// A replayable single-request Put is tried once: the retry decorator,
	// not the SDK, decides about resending it.
	p.drops.Store(-1)
	before := s.Stats().PutRequests
	err = s.Put(t.Context(), "fault/single", providers.Bytes(randomData(2<<20)), providers.PutOptions{})
	if !errors.Is(err, providers.ErrTransient) || errors.Is(err, providers.ErrPayloadConsumed) {
		t.Fatalf("replayable Put through a cut connection = %v, want ErrTransient only", err)
	}
	if n := s.Stats().PutRequests - before; n != 1 {
		t.Errorf("replayable Put sent %d requests, want 1 (no SDK retries)", n)
	}
	p.drops.Store(0)
	checkNothingLeft(t, s, "fault/single")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Put(ctx, "fault/after", providers.Bytes(data), providers.PutOptions{}); err != nil {
		t.Fatalf("Put once the connection is healthy again: %v", err)
	}
}
