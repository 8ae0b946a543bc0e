package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/providertest"
)

// proxied opens the test bucket through a proxy that cuts the next drops
// connections (negative: every one) once they sent 1 MiB.
func proxied(t *testing.T, drops int64) (*Storage, *providertest.Proxy) {
	p := providertest.StartProxy(t, minio.Server(t).Addr())
	sp := minioProps(t, KindCompatible, "")
	sp.Port = p.Port()
	s := openTest(t, sp, Options{RetryBackoff: 10 * time.Millisecond})
	p.CutAfter(1<<20, drops)
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
	if p.Cuts() == 0 {
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
	p.CutAfter(0, 0)
	checkNothingLeft(t, s, "fault/bad")

	// A replayable single-request Put is tried once: the retry decorator,
	// not the SDK, decides about resending it.
	p.CutAfter(1<<20, -1)
	before := s.Stats().Puts
	err = s.Put(t.Context(), "fault/single", providers.Bytes(randomData(2<<20)), providers.PutOptions{})
	if !errors.Is(err, providers.ErrTransient) || errors.Is(err, providers.ErrPayloadConsumed) {
		t.Fatalf("replayable Put through a cut connection = %v, want ErrTransient only", err)
	}
	if n := s.Stats().Puts - before; n != 1 {
		t.Errorf("replayable Put sent %d requests, want 1 (no SDK retries)", n)
	}
	p.CutAfter(0, 0)
	checkNothingLeft(t, s, "fault/single")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Put(ctx, "fault/after", providers.Bytes(data), providers.PutOptions{}); err != nil {
		t.Fatalf("Put once the connection is healthy again: %v", err)
	}
}
