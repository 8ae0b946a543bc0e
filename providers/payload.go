package providers

import (
	"bytes"
	"io"
	"sync"
)

// Payload is the body of a Put. It is either replayable (a byte slice or a
// reopenable source, so a failed Put can be sent again) or a one-shot stream
// (a pack being built while it uploads), which a backend reads exactly once.
//
// A backend obtains the reader with Reader; calling Reader a second time on a
// one-shot payload returns ErrPayloadConsumed.
type Payload struct {
	size   int64
	open   func() (io.Reader, error)
	stream io.Reader
	once   *sync.Once
	used   *bool
}

// Bytes is a replayable payload over b. The caller must not modify b until
// the Put returns.
func Bytes(b []byte) Payload {
	return Payload{size: int64(len(b)), open: func() (io.Reader, error) { return bytes.NewReader(b), nil }}
}

// Reopenable is a replayable payload whose reader open creates afresh for
// every attempt. size is the exact length, or -1 when unknown.
func Reopenable(size int64, open func() (io.Reader, error)) Payload {
	return Payload{size: size, open: open}
}

// Stream is a one-shot payload: r is read once, to EOF. size is the exact
// length, or -1 when unknown (packs that are still being built).
func Stream(r io.Reader, size int64) Payload {
	used := false
	return Payload{size: size, stream: r, once: new(sync.Once), used: &used}
}

// Size is the exact length in bytes, or -1 when it is not known in advance.
func (p Payload) Size() int64 { return p.size }

// Replayable reports whether Reader may be called more than once.
func (p Payload) Replayable() bool { return p.open != nil }

// Reader returns a reader over the payload from its first byte. For a
// one-shot stream only the first call succeeds.
func (p Payload) Reader() (io.Reader, error) {
	if p.open != nil {
		return p.open()
	}
	if p.stream == nil {
		return bytes.NewReader(nil), nil
	}
	first := false
	p.once.Do(func() { first = true; *p.used = true })
	if !first {
		return nil, ErrPayloadConsumed
	}
	return p.stream, nil
}
