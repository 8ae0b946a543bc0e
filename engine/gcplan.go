package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sync/errgroup"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/index"
	"github.com/cassette-backup/cassette/providers"
)

// gcPlan holds the garbage collection's per-pack state in a temporary bbolt
// file, so that a repository of a million packs costs the GC disk, not
// memory: the packs listed in the bucket (size, time), the packs holding an
// indexed blob that no backup references, and the decision taken for each.
// Writes are buffered and flushed in sorted batches.
type gcPlan struct {
	db   *bolt.DB
	path string
	pend map[string]map[string][]byte // bucket -> key -> value
	n    int
}

var (
	bktListed  = []byte("listed")  // pack -> size(8) modtime unix ns(8)
	bktDead    = []byte("dead")    // pack -> nothing: it has an unreferenced blob
	bktDecided = []byte("decided") // pack -> one of the decisions below
	bktUsed    = []byte("used")    // verify: pack -> nothing: a selected backup uses it
	bktLists   = []byte("lists")   // verify: content list -> nothing: already read
)

// Decisions about a pack.
const (
	planKeep   = 'k' // live enough: stays
	planGrace  = 'g' // would go, but younger than the grace period
	planDelete = 'd' // nothing live in it, or not indexed
	planRepack = 'r' // mostly dead: live blobs move to new packs, then it goes
	planNew    = 'n' // written by this GC's repack: every blob in it is live
)

// planPage is how many packs one decision step reads (then writes).
var planPage = 4096 // a var for tests

func newGCPlan(dir string) (*gcPlan, error) {
	db, path, err := openScratchDB(dir, "gc-plan-*.db", "gc plan file", bktListed, bktDead, bktDecided, bktUsed, bktLists)
	if err != nil {
		return nil, err
	}
	return &gcPlan{db: db, path: path, pend: map[string]map[string][]byte{}}, nil
}

func (p *gcPlan) close() {
	p.db.Close()
	os.Remove(p.path)
}

func (p *gcPlan) put(bkt []byte, pack index.ID, v []byte) error {
	m := p.pend[string(bkt)]
	if m == nil {
		m = map[string][]byte{}
		p.pend[string(bkt)] = m
	}
	if _, dup := m[string(pack[:])]; !dup {
		p.n++
	}
	m[string(pack[:])] = v
	if p.n >= 1<<12 {
		return p.flush()
	}
	return nil
}

func (p *gcPlan) flush() error {
	if p.n == 0 {
		return nil
	}
	err := p.db.Update(func(tx *bolt.Tx) error {
		for name, m := range p.pend {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			b := tx.Bucket([]byte(name))
			for _, k := range keys {
				if err := b.Put([]byte(k), m[k]); err != nil {
					return err
				}
			}
		}
		return nil
	})
	clear(p.pend)
	p.n = 0
	return err
}

func listedValue(oi providers.ObjectInfo) []byte {
	v := binary.BigEndian.AppendUint64(nil, uint64(max(oi.Size, 0)))
	return binary.BigEndian.AppendUint64(v, uint64(oi.ModTime.UnixNano()))
}

// has reports whether id was put in bkt, flushed or not (no read
// transaction of the plan may be open).
func (p *gcPlan) has(bkt []byte, id index.ID) (bool, error) {
	if _, ok := p.pend[string(bkt)][string(id[:])]; ok {
		return true, nil
	}
	var found bool
	err := p.db.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(bkt).Get(id[:]) != nil
		return nil
	})
	return found, err
}

// count returns how many keys bkt holds (the plan must be flushed).
func (p *gcPlan) count(bkt []byte) (int, error) {
	n := 0
	err := p.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bkt).Stats().KeyN
		return nil
	})
	return n, err
}

// forEach calls fn for every key of bkt, in order.
func (v planView) forEach(bkt []byte, fn func(index.ID) error) error {
	return v.tx.Bucket(bkt).ForEach(func(k, _ []byte) error {
		if len(k) != 32 {
			return errors.New("gc plan file: damaged entry")
		}
		var id index.ID
		copy(id[:], k)
		return fn(id)
	})
}

// planView gives lookups in the plan under one read transaction (the plan
// must be flushed; nothing may write it meanwhile).
type planView struct{ tx *bolt.Tx }

func (p *gcPlan) view(fn func(v planView) error) error {
	return p.db.View(func(tx *bolt.Tx) error { return fn(planView{tx}) })
}

func (v planView) listed(pack index.ID) bool {
	return v.tx.Bucket(bktListed).Get(pack[:]) != nil
}

func (v planView) decision(pack index.ID) byte {
	if d := v.tx.Bucket(bktDecided).Get(pack[:]); len(d) == 1 {
		return d[0]
	}
	return 0
}

// kept reports whether the pack stays after this GC.
func (v planView) kept(pack index.ID) bool {
	switch v.decision(pack) {
	case planKeep, planGrace, planNew:
		return true
	}
	return false
}

// forDecided calls fn for every pack decided one of ds, in pack order.
func (v planView) forDecided(fn func(index.ID) error, ds ...byte) error {
	return v.tx.Bucket(bktDecided).ForEach(func(k, d []byte) error {
		if len(k) != 32 || len(d) != 1 {
			return errors.New("gc plan file: damaged entry")
		}
		for _, want := range ds {
			if d[0] == want {
				var id index.ID
				copy(id[:], k)
				return fn(id)
			}
		}
		return nil
	})
}

// decide takes the decision for every listed pack, planPage packs at a
// time: read under a read transaction of the plan (and of the mark set),
// written under a write transaction once it is closed.
func (e *Engine) decide(plan *gcPlan, marks *markSet, o GCOptions, res *GCResult) error {
	now := e.now()
	var from []byte
	for {
		type decided struct {
			id index.ID
			d  byte
		}
		var page []decided
		var next []byte
		err := plan.view(func(v planView) error {
			return marks.view(func(mv markView) error {
				c := v.tx.Bucket(bktListed).Cursor()
				k, val := c.First()
				if from != nil {
					k, val = c.Seek(from)
				}
				for ; k != nil && len(page) < planPage; k, val = c.Next() {
					if len(k) != 32 || len(val) != 16 {
						return errors.New("gc plan file: damaged entry")
					}
					var id index.ID
					copy(id[:], k)
					size := int64(binary.BigEndian.Uint64(val))
					mod := time.Unix(0, int64(binary.BigEndian.Uint64(val[8:])))
					info, indexed, err := e.Repo.Cache().Pack(id)
					if err != nil {
						return err
					}
					lb := mv.liveBytes(id)
					dead := v.tx.Bucket(bktDead).Get(k) != nil
					young := now.Sub(mod) < o.Grace
					var d byte
					// A pack whose indexed blobs are all live has nothing to
					// free: repacking it would rewrite the same blobs (its
					// header and trailer count against it, so a pack of
					// small blobs would be rewritten by every run).
					switch {
					case lb > 0 && (o.RepackBelow < 0 || !dead || float64(lb) >= o.RepackBelow*float64(info.Size)):
						d = planKeep
					case young:
						d = planGrace
						res.PacksKeptGrace++
					case lb == 0 || !indexed:
						d = planDelete
						res.PacksDeleted++
						res.BytesFreed += size
					default:
						d = planRepack
						res.PacksRepacked++
						res.BytesFreed += size - int64(lb)
					}
					page = append(page, decided{id, d})
				}
				if k != nil {
					next = append([]byte(nil), k...)
				}
				return nil
			})
		})
		if err != nil {
			return err
		}
		for _, p := range page {
			if err := plan.put(bktDecided, p.id, []byte{p.d}); err != nil {
				return err
			}
		}
		if err := plan.flush(); err != nil {
			return err
		}
		if next == nil {
			return nil
		}
		from = next
	}
}

// repackBatch bounds the live blobs one Repack call moves (and holds as
// index entries in memory).
var repackBatch = 1 << 16 // a var for tests

// repack moves the live blobs of the packs decided planRepack to new packs,
// repackBatch blobs at a time.
func (e *Engine) repack(ctx context.Context, plan *gcPlan, marks *markSet, res *GCResult) error {
	var entries []index.Entry
	run := func() error {
		if len(entries) == 0 {
			return nil
		}
		res.BlobsRepacked += int64(len(entries))
		_, err := e.Repo.Repack(ctx, entries)
		entries = entries[:0]
		return err
	}
	err := plan.view(func(v planView) error {
		return v.forDecided(func(p index.ID) error {
			if err := marks.forEachLive(p, func(e index.Entry) { entries = append(entries, e) }); err != nil {
				return err
			}
			if len(entries) >= repackBatch {
				return run()
			}
			return nil
		}, planRepack)
	})
	if err != nil {
		return err
	}
	return run()
}

// deletePlanned deletes the packs decided planDelete or planRepack, in
// batches of 1,000 keys streamed from the plan (no list of every key in
// memory), several batches at once up to the storage's concurrency.
func deletePlanned(ctx context.Context, st providers.Storage, plan *gcPlan) (int, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, st.Properties().Concurrency))
	n := 0
	var batch []providers.Key
	send := func() {
		b := batch
		batch = nil
		g.Go(func() error { return st.DeleteMany(gctx, b) })
	}
	err := plan.view(func(v planView) error {
		return v.forDecided(func(id index.ID) error {
			if gctx.Err() != nil {
				return gctx.Err()
			}
			batch = append(batch, chunkstore.PackKey(id))
			n++
			if len(batch) == 1000 {
				send()
			}
			return nil
		}, planDelete, planRepack)
	})
	if err == nil && len(batch) > 0 {
		send()
	}
	if werr := g.Wait(); werr != nil {
		return n, werr
	}
	return n, err
}
