package chunkstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

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

	// Open packs are bounded by tokens: every open pack, idle or being
	// written, holds one. Idle open packs wait in idle; a writer reuses one
	// before it opens another, so packs fill up one after the other and a
	// backup ends with few partly filled packs.
	tokens chan struct{}
	idle   chan *packWriter

	mu       sync.Mutex
	pending  map[index.ID]struct{} // written this session, not yet in the cache
	finished []finishedPack        // uploaded, not yet in a segment
	err      error                 // first failure; the session is dead after it
	packsWg  sync.WaitGroup

	// livePacks, when set (full backups), lists the packs that exist in
	// storage right now; blobs in other packs are treated as absent.
	livePacks map[index.ID]bool
	rewrite   bool

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
	// storage's concurrency. It must not exceed it: a streamed upload holds
	// one of the backend's concurrency-bounded part buffers while its pack
	// waits for data, so more open packs than buffers can starve a pack
	// that a writer is blocked on.
	OpenPacks int
	// VerifyPacksExist makes the session list packs/ first and treat blobs
	// whose pack is missing as absent (full backups: trust nothing local).
	VerifyPacksExist bool
	// Rewrite stores every blob given, even when the index already has it
	// (garbage collection moving live blobs out of mostly dead packs).
	Rewrite bool
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
		n = max(1, r.st.Properties().Concurrency)
	}
	s := &Session{repo: r, ctx: ctx, tokens: make(chan struct{}, n), idle: make(chan *packWriter, n), pending: map[index.ID]struct{}{}, rewrite: o.Rewrite}
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
	if !s.rewrite {
		ok, err := s.known(id)
		if err != nil || ok {
			return false, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, busy := s.pending[id]; busy {
		return false, nil
	}
	s.pending[id] = struct{}{}
	return true, nil
}

// stageLimit is how many stored bytes a file writer collects before it
// takes a pack slot and writes them out in one go. Blobs of one file thus
// sit next to each other in a pack in runs of at least this size, so a
// restore reads a file with few large range requests instead of one request
// per chunk; and a writer holds a slot only while copying, never while it
// chunks and compresses.
const stageLimit = 4 << 20

// stage collects a file writer's new blobs until they are written to a pack.
// Its blobs are claimed (pending) already: the stage must be written, even
// when the file fails, or a blob other files refer to would never be stored;
// WriteFile flushes it on every return.
type stage struct {
	buf   []byte
	blobs []stagedBlob
}

type stagedBlob struct {
	typ       index.BlobType
	comp      index.Compression
	id        index.ID
	off, n    int
	rawLength int
}

// putBlob stores plain content as a blob of type typ unless it is stored
// already. It returns the blob's ID and whether it was new. New blobs are
// compressed into st and written when st is full (or flushed).
func (s *Session) putBlob(ctx context.Context, st *stage, typ index.BlobType, plain []byte, encBuf []byte) (index.ID, bool, error) {
	id := index.Hash(plain)
	mine, err := s.claim(id)
	if err != nil || !mine {
		if err == nil {
			s.stats.DedupBlobs.Add(1)
		}
		return id, false, err
	}
	stored, comp := s.repo.codec.encode(plain, encBuf)
	st.blobs = append(st.blobs, stagedBlob{typ: typ, comp: comp, id: id, off: len(st.buf), n: len(stored), rawLength: len(plain)})
	st.buf = append(st.buf, stored...)
	s.stats.NewBlobs.Add(1)
	s.stats.NewRawBytes.Add(int64(len(plain)))
	s.stats.StoredBytes.Add(int64(len(stored)))
	if len(st.buf) >= stageLimit {
		if err := s.flushStage(st); err != nil {
			return id, false, err
		}
	}
	return id, true, nil
}

// flushStage writes the staged blobs, in order, into one pack slot (moving
// on to a fresh pack when one fills up). It runs under the session's
// context, not the file's: a claimed blob must be written or the session
// must fail.
func (s *Session) flushStage(st *stage) error {
	defer func() { st.buf, st.blobs = st.buf[:0], st.blobs[:0] }()
	if len(st.blobs) == 0 {
		return s.failed()
	}
	if err := s.failed(); err != nil {
		return err
	}
	p, err := s.takePack()
	if err != nil {
		return s.fail(err)
	}
	for _, b := range st.blobs {
		if p == nil {
			if p, err = newPackWriter(s.ctx, s.repo.st); err != nil {
				<-s.tokens
				return s.fail(err)
			}
		}
		if err := p.add(b.typ, b.comp, b.id, st.buf[b.off:b.off+b.n], b.rawLength); err != nil {
			p.abort(err)
			<-s.tokens
			return s.fail(err)
		}
		if int64(p.size) >= s.repo.cfg.PackSize {
			s.finishAsync(p)
			p = nil
		}
	}
	if p == nil {
		<-s.tokens
	} else {
		s.idle <- p
	}
	return nil
}

// shareWait bounds how long a writer waits for the session's first pack.
const shareWait = 50 * time.Millisecond

// takePack returns an idle open pack, or nil with a token to open a new
// one, waiting while the limit of open packs is reached.
func (s *Session) takePack() (*packWriter, error) {
	select {
	case p := <-s.idle:
		return p, nil
	default:
	}
	if len(s.tokens) > 0 && s.stats.StoredBytes.Load() < s.repo.cfg.PackSize {
		// Less than a pack written so far and a pack is open: another
		// writer is copying into it and hands it back within a moment. A
		// small backup (a differential of a few new SSTables) then ends
		// with one pack, not one per writer. The wait is bounded, because
		// that pack may fill up and be finished instead of coming back.
		t := time.NewTimer(shareWait)
		defer t.Stop()
		select {
		case p := <-s.idle:
			return p, nil
		case <-t.C:
		case <-s.ctx.Done():
			return nil, s.ctx.Err()
		}
	}
	select {
	case p := <-s.idle:
		return p, nil
	case s.tokens <- struct{}{}:
		return nil, nil
	case <-s.ctx.Done():
		return nil, s.ctx.Err()
	}
}

// finishAsync completes a full pack's upload in the background. The pack
// no longer waits for data, so it stops counting as open: its last parts
// finish with buffers they already hold.
func (s *Session) finishAsync(p *packWriter) {
	s.packsWg.Add(1)
	go func() {
		defer s.packsWg.Done()
		s.finishPack(p)
	}()
}

// quiesce waits until no writer holds a pack and returns the open ones,
// holding every token; release gives the tokens back.
func (s *Session) quiesce(ctx context.Context) ([]*packWriter, error) {
	var open []*packWriter
	for held := 0; held < cap(s.tokens); held++ {
		select {
		case p := <-s.idle:
			open = append(open, p) // its token is ours now
		case s.tokens <- struct{}{}:
		case <-ctx.Done():
			s.release(held)
			return nil, ctx.Err()
		}
	}
	return open, nil
}

func (s *Session) release(n int) {
	for i := 0; i < n; i++ {
		<-s.tokens
	}
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
	open, err := s.quiesce(ctx)
	if err != nil {
		return err
	}
	for _, p := range open {
		s.finishAsync(p)
	}
	s.packsWg.Wait()
	s.release(cap(s.tokens))
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
	open, _ := s.quiesce(context.Background())
	for _, p := range open {
		p.abort(cause)
	}
	s.packsWg.Wait()
	s.release(cap(s.tokens))
}
