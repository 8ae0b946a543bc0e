package chunkstore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/cassette-backup/cassette/index"
	"github.com/cassette-backup/cassette/providers"
)

// packWriter streams one pack to storage while it is being filled: blobs
// are written into a pipe whose reading end is the payload of a Put running
// in its own goroutine. Nothing is buffered here beyond what the provider
// needs for one upload part. No whole-pack hash is computed: every blob is
// named by its SHA-256 and the trailer by a CRC, and the blobs must tile the
// data area, so a second SHA-256 pass over every byte (about a seventh of a
// backup's CPU) would catch nothing more.
type packWriter struct {
	id      index.ID
	pw      *io.PipeWriter
	size    uint64
	entries []packEntry
	done    chan error
}

func newPackWriter(ctx context.Context, st providers.Storage) (*packWriter, error) {
	pr, pw := io.Pipe()
	p := &packWriter{id: index.RandomID(), pw: pw, done: make(chan error, 1)}
	key := PackKey(p.id)
	go func() {
		err := st.Put(ctx, key, providers.Stream(pr, -1), providers.PutOptions{})
		if err == nil {
			err = errors.New("storage finished before the pack was complete")
			// A Put that returns nil has read to EOF, so this only fires
			// for a backend breaking the contract.
			pr.CloseWithError(err)
			p.done <- nil
			return
		}
		pr.CloseWithError(err)
		p.done <- fmt.Errorf("upload pack %s: %w", key, err)
	}()
	if err := p.write([]byte(packHeader)); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *packWriter) write(b []byte) error {
	if _, err := p.pw.Write(b); err != nil {
		return p.uploadErr(err)
	}
	p.size += uint64(len(b))
	return nil
}

// uploadErr prefers the Put's own error (it says which key and why) over
// the pipe's echo of it.
func (p *packWriter) uploadErr(err error) error {
	select {
	case upErr := <-p.done:
		p.done <- upErr
		if upErr != nil {
			return upErr
		}
	default:
	}
	return fmt.Errorf("write pack %s: %w", PackKey(p.id), err)
}

// add appends one stored blob.
func (p *packWriter) add(typ index.BlobType, comp index.Compression, id index.ID, stored []byte, rawLen int) error {
	if err := p.write(stored); err != nil {
		return err
	}
	p.entries = append(p.entries, packEntry{Type: typ, Compression: comp, ID: id, Length: uint64(len(stored)), RawLength: uint64(rawLen)})
	return nil
}

// finish writes the trailer, waits for the upload and returns the pack's
// info and index entries.
func (p *packWriter) finish() (index.PackInfo, []index.Entry, error) {
	if err := p.write(encodeTrailer(p.entries)); err != nil {
		p.pw.CloseWithError(err)
		<-p.done
		return index.PackInfo{}, nil, err
	}
	p.pw.Close()
	if err := <-p.done; err != nil {
		return index.PackInfo{}, nil, err
	}
	var info index.PackInfo
	info.ID, info.Size = p.id, p.size
	entries := make([]index.Entry, len(p.entries))
	off := uint64(len(packHeader))
	for i, e := range p.entries {
		entries[i] = index.Entry{ID: e.ID, Type: e.Type, Compression: e.Compression, Pack: p.id, Offset: off, Length: e.Length, RawLength: e.RawLength}
		off += e.Length
	}
	return info, entries, nil
}

// abort cancels the upload; the storage contract guarantees no partial
// object stays visible.
func (p *packWriter) abort(err error) {
	p.pw.CloseWithError(err)
	<-p.done
}
