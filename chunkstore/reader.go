package chunkstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/cassette-backup/cassette/index"
	"github.com/cassette-backup/cassette/providers"
)

// LoadBlob reads one blob, verifies it and returns its plain content
// (reusing buf when it has room).
func (r *Repo) LoadBlob(ctx context.Context, id index.ID, buf []byte) ([]byte, error) {
	e, err := r.Lookup(id)
	if err != nil {
		return nil, err
	}
	var out []byte
	err = r.ReadBlobs(ctx, []index.Entry{e}, func(_ index.Entry, plain []byte) error {
		out = append(buf[:0], plain...)
		return nil
	})
	return out, err
}

// maxSpanGap is the largest run of unwanted bytes a range read swallows to
// avoid a second request; maxSpan bounds one range read. A span streams
// blob by blob (it is never held in memory whole), so maxSpan only bounds
// how long one read holds a transfer slot.
const (
	maxSpanGap = 1 << 20
	maxSpan    = 16 << 20
)

// blobPool holds the buffers one stored blob is read into.
var blobPool = sync.Pool{New: func() any { return new([]byte) }}

// ReadBlobs reads blobs with as few range requests as possible
// (neighbouring blobs share one read), verifies each and calls fn with its
// plain content, in pack order, once per entry. fn must not keep the slice.
// A read streams: fn runs while the rest of the span is still arriving.
func (r *Repo) ReadBlobs(ctx context.Context, entries []index.Entry, fn func(index.Entry, []byte) error) error {
	if len(entries) == 0 {
		return nil
	}
	sorted := append([]index.Entry(nil), entries...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if c := bytes.Compare(sorted[i].Pack[:], sorted[j].Pack[:]); c != 0 {
			return c < 0
		}
		return sorted[i].Offset < sorted[j].Offset
	})
	for len(sorted) > 0 {
		pack := sorted[0].Pack
		start := sorted[0].Offset
		end := start + sorted[0].Length
		n := 1
		for n < len(sorted) && sorted[n].Pack == pack && sorted[n].Offset <= end+maxSpanGap && sorted[n].Offset+sorted[n].Length-start <= maxSpan {
			end = max(end, sorted[n].Offset+sorted[n].Length)
			n++
		}
		span := sorted[:n]
		sorted = sorted[n:]
		if err := r.readSpan(ctx, pack, start, end, span, fn); err != nil {
			return err
		}
	}
	return nil
}

// readSpan reads [start, end) of pack with one range read and hands the
// span's blobs (sorted by offset) to fn as they arrive: each blob is read
// into a buffer of its own, decoded and verified before fn sees it, so a
// span is never in memory whole, and the socket's receive buffer keeps the
// download going while fn writes. (A reader goroutine filling a second
// buffer ahead of fn measured no faster.) When the storage re-runs the
// read after a transient failure, the blobs fn already had are skipped.
func (r *Repo) readSpan(ctx context.Context, pack index.ID, start, end uint64, span []index.Entry, fn func(index.Entry, []byte) error) error {
	key := PackKey(pack)
	var longest uint64
	for i, e := range span {
		if e.Offset < start || e.Offset+e.Length > end {
			return fmt.Errorf("%w: pack %s: blob %s lies outside the span read for it", ErrIntegrity, key, e.ID)
		}
		// Only an entry listed twice may overlap the one before it.
		if i > 0 && e.Offset < span[i-1].Offset+span[i-1].Length && (e.Offset != span[i-1].Offset || e.Length != span[i-1].Length) {
			return fmt.Errorf("%w: pack %s: blob %s overlaps the blob before it", ErrIntegrity, key, e.ID)
		}
		longest = max(longest, e.Length)
	}
	delivered := 0
	var stopped error // the decoder's or fn's error: not the read's
	err := r.st.Get(ctx, key, int64(start), int64(end-start), func(rd io.Reader) error {
		// The buffer is taken here, with the transfer slot, so that only
		// reads in flight hold one.
		bp := blobPool.Get().(*[]byte)
		defer blobPool.Put(bp)
		if uint64(cap(*bp)) < longest {
			*bp = make([]byte, longest)
		}
		var dec, plain []byte
		pos := start // offset in the pack of the next byte rd gives
		for i, e := range span {
			if e.Offset >= pos { // else the entry before, listed again
				if _, err := io.CopyN(io.Discard, rd, int64(e.Offset-pos)); err != nil {
					return err
				}
				stored := (*bp)[:e.Length]
				if _, err := io.ReadFull(rd, stored); err != nil {
					return err
				}
				pos = e.Offset + e.Length
				if i < delivered {
					// fn had it before the read was re-run. (An entry
					// listed again right after it needs no read, so it
					// went to fn in the same attempt.)
					continue
				}
				if plain, stopped = r.codec.decode(e, stored, dec); stopped != nil {
					return stopped
				}
				if e.Compression == index.Zstd {
					dec = plain
				}
			}
			if i < delivered {
				continue
			}
			if stopped = fn(e, plain); stopped != nil {
				return stopped
			}
			delivered = i + 1
		}
		return nil
	})
	if stopped != nil {
		return stopped // a blob that fails its check, or fn's own error, as it is
	}
	if errors.Is(err, providers.ErrNotFound) {
		return fmt.Errorf("pack %s is missing from the repository (needed for blob %s): run `cassette verify` to see which backups are damaged: %w", key, span[0].ID, err)
	}
	if errors.Is(err, providers.ErrInvalidRange) {
		return fmt.Errorf("%w: pack %s is shorter than the index says (blob %s): %v", ErrIntegrity, key, span[0].ID, err)
	}
	if err != nil {
		return fmt.Errorf("read pack %s: %w", key, err)
	}
	return nil
}

// ChunkIDs calls fn with the chunk IDs of content in file order, loading
// content-list blobs as needed (each is verified).
func (r *Repo) ChunkIDs(ctx context.Context, c Content, fn func(index.ID) error) error {
	if c.Chunk != nil {
		return fn(*c.Chunk)
	}
	var buf []byte
	for _, lid := range c.Lists {
		b, err := r.LoadBlob(ctx, lid, buf)
		if err != nil {
			return fmt.Errorf("content list %s: %w", lid, err)
		}
		if len(b)%32 != 0 {
			return fmt.Errorf("%w: content list %s has %d bytes, not a multiple of 32", ErrIntegrity, lid, len(b))
		}
		for i := 0; i < len(b); i += 32 {
			var id index.ID
			copy(id[:], b[i:i+32])
			if err := fn(id); err != nil {
				return err
			}
		}
		buf = b
	}
	return nil
}

// PackCheck is the result of verifying one whole pack.
type PackCheck struct {
	Pack  index.ID
	Blobs int
	Bytes uint64
}

// VerifyPack downloads pack info.ID whole, checks its size (and its
// SHA-256 when the index records one), decodes its trailer, and re-hashes
// every blob.
func (r *Repo) VerifyPack(ctx context.Context, info index.PackInfo) (PackCheck, error) {
	key := PackKey(info.ID)
	res := PackCheck{Pack: info.ID, Bytes: info.Size}
	var b []byte
	err := r.st.Get(ctx, key, 0, -1, func(rd io.Reader) error {
		var err error
		b, err = io.ReadAll(io.LimitReader(rd, int64(info.Size)+1))
		return err
	})
	if err != nil {
		return res, fmt.Errorf("read pack %s: %w", key, err)
	}
	if uint64(len(b)) != info.Size {
		return res, fmt.Errorf("%w: pack %s is %d bytes, index says %d", ErrIntegrity, key, len(b), info.Size)
	}
	if !info.Hash.IsZero() && sha256.Sum256(b) != info.Hash {
		return res, fmt.Errorf("%w: pack %s: content does not match its recorded SHA-256", ErrIntegrity, key)
	}
	entries, err := ParsePack(info.ID, b)
	if err != nil {
		return res, err
	}
	var dec []byte
	for _, e := range entries {
		plain, err := r.codec.decode(e, b[e.Offset:e.Offset+e.Length], dec)
		if err != nil {
			return res, err
		}
		if e.Compression == index.Zstd {
			dec = plain
		}
		res.Blobs++
	}
	return res, nil
}

// ParsePack decodes the header, footer and trailer of a whole pack held in
// memory. It never panics.
func ParsePack(id index.ID, b []byte) ([]index.Entry, error) {
	if len(b) < len(packHeader)+packFooterSize || string(b[:len(packHeader)]) != packHeader {
		return nil, fmt.Errorf("%w: pack %s: bad header", ErrIntegrity, id)
	}
	tl, crc, err := DecodePackFooter(b[len(b)-packFooterSize:])
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", id, err)
	}
	if tl > len(b)-packFooterSize-len(packHeader) {
		return nil, fmt.Errorf("%w: pack %s: trailer longer than the pack", ErrIntegrity, id)
	}
	trailer := b[len(b)-packFooterSize-tl : len(b)-packFooterSize]
	return DecodePackTrailer(id, trailer, crc, uint64(len(b)))
}
