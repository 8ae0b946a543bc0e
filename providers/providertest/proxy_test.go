package providertest

import (
	"bytes"
	"io"
	"net"
	"testing"
)

// echo starts a TCP server that sends back what it receives.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); _ = c.Close() }()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends msg through the proxy and reads the echo back.
func roundTrip(p *Proxy, msg []byte) ([]byte, error) {
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	got := make([]byte, len(msg))
	_, err = io.ReadFull(c, got)
	return got, err
}

func TestProxy(t *testing.T) {
	p := StartProxy(t, echo(t))
	msg := bytes.Repeat([]byte("x"), 100)
	if got, err := roundTrip(p, msg); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("through a healthy proxy: %q, %v", got, err)
	}
	p.CutAfter(50, 1)
	if _, err := roundTrip(p, msg); err == nil {
		t.Fatal("a connection sending more than the threshold was not cut")
	}
	if got, err := roundTrip(p, msg); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("after the budget of cuts is used: %q, %v", got, err)
	}
	p.CutAfter(0, -1)
	for range 3 {
		if _, err := roundTrip(p, []byte("a")); err == nil {
			t.Fatal("a connection through a proxy that is down was not cut")
		}
	}
	if p.Cuts() != 4 || p.Sent() < 200 {
		t.Errorf("Cuts %d, Sent %d; want 4 and at least the 200 bytes of the echoed messages", p.Cuts(), p.Sent())
	}
}
