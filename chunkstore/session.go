package chunkstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cassette-backup/cassette/index"
	"github.com/cassette-backup/cassette/providers"
)

// Session writes new blobs into a repository: it deduplicates against the
// index (the local cache, synced at the start, plus the blobs this session
// already wrote), fills packs that stream to storage, and writes an index
// segment for every few finished packs and at Flush. A Session is safe for
// concurrent use by several file writers.
type Session struct {
	repo *Repo
	ctx  context.Context

	slots chan *packWriter // one slot per concurrently open pack; nil = none yet

	mu       sync.Mutex
	pending  map[index.ID]struct{} // written this session, not yet in the cache
	finished []finishedPack        // uploaded, not yet in a segment
	err      error                 // first failure; the session is dead after it
	packsWg  sync.WaitGroup

	// livePacks, when set (full backups), lists the packs that exist in
	// storage right now; blobs in other packs are treated as absent.
	livePacks map[index.ID]bool

	stats SessionStats
}

type finishedPack struct {
	info    index.PackInfo
	entries []index.Entry
}

// SessionStats counts what a session wrote.
type SessionStats struct {
	NewBlobs      atomic.Int64 // blobs stored
	DedupBlobs    atomic.Int64 // blobs found already stored
	NewRawBytes   atomic.Int64 // plain bytes of new blobs
	StoredBytes   atomic.Int64 // bytes written to packs (after compression)
	Packs         atomic.Int64 // pack objects written
	IndexSegments atomic.Int64 // index objects written
}

// segmentEvery is how many finished packs go into one index segment; a
// crash loses at most this many packs' worth of index (their blobs are
// simply uploaded again by the next backup).
const segmentEvery = 64

// SessionOptions tune a session.
type SessionOptions struct {
	// OpenPacks is how many packs fill (and upload) at once; default the
	// storage's concurrency.
	OpenPacks int
	// VerifyPacksExist makes the session list packs/ first and treat blobs
	// whose pack is missing as absent (full backups: trust nothing local).
	VerifyPacksExist bool
}

// NewSession starts writing. The index is synced first if it was not yet.
func (r *Repo) NewSession(ctx context.Context, o SessionOptions) (*Session, error) {
	if !r.synced {
		if _, err := r.SyncIndex(ctx); err != nil {
			return nil, err
		}
	}
	n := o.OpenPacks
	if n <= 0 {
		n = max(2, r.st.Properties().Concurrency)
	}
	s := &Session{repo: r, ctx: ctx, slots: make(chan *packWriter, n), pending: map[index.ID]struct{}{}}
	for i := 0; i < n; i++ {
		s.slots <- nil
	}
	if o.VerifyPacksExist {
		s.livePacks = map[index.ID]bool{}
		err := r.st.List(ctx, PackPrefix, func(oi providers.ObjectInfo) error {
			k := string(oi.Key)
			if id, err := index.ParseID(k[len(k)-min(len(k), 64):]); err == nil {
				s.livePacks[id] = true
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list packs: %w", err)
		}
	}
	return s, nil
}

// Stats returns the session's counters.
func (s *Session) Stats() *SessionStats { return &s.stats }

func (s *Session) fail(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
	return s.err
}

func (s *Session) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// known reports whether blob id is stored (or being stored) already.
func (s *Session) known(id index.ID) (bool, error) {
	e, ok, err := s.repo.cache.Get(id)
	if err != nil {
		return false, err
	}
	if ok && (s.livePacks == nil || s.livePacks[e.Pack]) {
		return true, nil
	}
	return false, nil
}

// claim returns true when the caller must store blob id: nobody stored it
// and no other writer of this session is storing it.
func (s *Session) claim(id index.ID) (bool, error) {
	ok, err := s.known(id)
	if err != nil || ok {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, busy := s.pending[id]; busy {
		return false, nil
	}
	s.pending[id] = struct{}{}
	return true, nil
}

// putBlob stores plain content as a blob of type typ unless it is stored
// already. It returns the blob's ID and whether it was new.
func (s *Session) putBlob(ctx context.Context, typ index.BlobType, plain []byte, encBuf []byte) (index.ID, bool, error) {
	id := index.Hash(plain)
	mine, err := s.claim(id)
	if err != nil || !mine {
		if err == nil {
			s.stats.DedupBlobs.Add(1)
		}
		return id, false, err
	}
	stored, comp := s.repo.codec.encode(plain, encBuf)
	if err := s.addToPack(ctx, typ, comp, id, stored, len(plain)); err != nil {
		return id, false, err
	}
	s.stats.NewBlobs.Add(1)
	s.stats.NewRawBytes.Add(int64(len(plain)))
	s.stats.StoredBytes.Add(int64(len(stored)))
	return id, true, nil
}

func (s *Session) addToPack(ctx context.Context, typ index.BlobType, comp index.Compression, id index.ID, stored []byte, rawLen int) error {
	if err := s.failed(); err != nil {
		return err
	}
	var p *packWriter
	select {
	case p = <-s.slots:
	case <-ctx.Done():
		return ctx.Err()
	}
	if p == nil {
		var err error
		if p, err = newPackWriter(s.ctx, s.repo.st); err != nil {
			s.slots <- nil
			return s.fail(err)
		}
	}
	if err := p.add(typ, comp, id, stored, rawLen); err != nil {
		p.abort(err)
		s.slots <- nil
		return s.fail(err)
	}
	if int64(p.size) < s.repo.cfg.PackSize {
		s.slots <- p
		return nil
	}
	s.slots <- nil
	s.packsWg.Add(1)
	go func() {
		defer s.packsWg.Done()
		s.finishPack(p)
	}()
	return nil
}

// finishPack completes one pack's upload and, every segmentEvery packs,
// writes an index segment.
func (s *Session) finishPack(p *packWriter) {
	info, entries, err := p.finish()
	if err != nil {
		s.fail(err)
		return
	}
	s.stats.Packs.Add(1)
	s.mu.Lock()
	s.finished = append(s.finished, finishedPack{info, entries})
	var batch []finishedPack
	if len(s.finished) >= segmentEvery {
		batch, s.finished = s.finished, nil
	}
	s.mu.Unlock()
	if batch != nil {
		if err := s.writeSegment(batch); err != nil {
			s.fail(err)
		}
	}
}

// writeSegment stores the index of finished packs and moves their blobs
// from pending into the cache. Segments are split to stay under the
// decoder's bounds.
func (s *Session) writeSegment(packs []finishedPack) error {
	for len(packs) > 0 {
		seg := &index.Segment{}
		for len(packs) > 0 && len(seg.Packs) < index.MaxSegmentPacks && len(seg.Blobs)+len(packs[0].entries) <= index.MaxSegmentBlobs {
			seg.Packs = append(seg.Packs, packs[0].info)
			seg.Blobs = append(seg.Blobs, packs[0].entries...)
			packs = packs[1:]
		}
		if len(seg.Packs) == 0 {
			return errors.New("index segment: one pack holds more blobs than a segment may")
		}
		b, id, err := index.EncodeSegment(seg)
		if err != nil {
			return err
		}
		if err := s.repo.st.Put(s.ctx, IndexKey(id), providers.Bytes(b), providers.PutOptions{}); err != nil {
			return fmt.Errorf("write index segment %s: %w", IndexKey(id), err)
		}
		s.stats.IndexSegments.Add(1)
		if err := s.repo.cache.AddSegment(id, seg); err != nil {
			return fmt.Errorf("index cache: %w", err)
		}
		s.mu.Lock()
		for _, e := range seg.Blobs {
			delete(s.pending, e.ID)
			if s.livePacks != nil {
				s.livePacks[e.Pack] = true
			}
		}
		s.mu.Unlock()
	}
	return nil
}

// Flush finishes every open pack and writes the index for all of them. After
// Flush returns nil, every blob the session reported is durable and indexed.
// The session may be used again afterwards.
func (s *Session) Flush(ctx context.Context) error {
	n := cap(s.slots)
	var open []*packWriter
	for i := 0; i < n; i++ {
		select {
		case p := <-s.slots:
			if p != nil {
				open = append(open, p)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, p := range open {
		s.packsWg.Add(1)
		go func() {
			defer s.packsWg.Done()
			s.finishPack(p)
		}()
	}
	s.packsWg.Wait()
	for i := 0; i < n; i++ {
		s.slots <- nil
	}
	if err := s.failed(); err != nil {
		return err
	}
	s.mu.Lock()
	batch := s.finished
	s.finished = nil
	s.mu.Unlock()
	if len(batch) > 0 {
		if err := s.writeSegment(batch); err != nil {
			return s.fail(err)
		}
	}
	return s.failed()
}

// Abort stops every upload in flight; nothing half-written stays visible.
func (s *Session) Abort(cause error) {
	s.fail(cause)
	n := cap(s.slots)
	for i := 0; i < n; i++ {
		if p := <-s.slots; p != nil {
			p.abort(cause)
		}
	}
	s.packsWg.Wait()
	for i := 0; i < n; i++ {
		s.slots <- nil
	}
}
