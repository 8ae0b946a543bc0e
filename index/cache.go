package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Cache is the local bbolt mirror of the repository's index segments.
//
// Layout: bucket "blobs" maps blob ID -> seq(4) pack(32) type(1) comp(1)
// uvarint offset, length, raw length; "packs" maps pack ID -> seq(4)
// uvarint size, hash(32); "segments" maps segment ID -> seq(4). seq is the
// local load number of the segment an entry last came from, so the entries
// of a vanished segment can be dropped without the segment itself.
// "pending" maps seq -> 'a' (a segment being added) or 'd' (one being
// dropped): large adds and drops run in several transactions so that memory
// stays bounded (docs/format.md, "Index cache"), and OpenCache finishes or
// undoes what a crash interrupted.
type Cache struct {
	db   *bolt.DB
	path string
}

var (
	bktBlobs    = []byte("blobs")
	bktPacks    = []byte("packs")
	bktSegments = []byte("segments")
	bktMeta     = []byte("meta")
	bktPending  = []byte("pending")
	keyNextSeq  = []byte("nextseq")
	keyVersion  = []byte("version")
)

const cacheVersion = 1

// OpenCache opens (creating when needed) the cache file at path. A cache
// that cannot be opened or is of another version is deleted and recreated:
// it holds nothing the repository does not.
func OpenCache(path string) (*Cache, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create cache folder %s: %w", filepath.Dir(path), err)
	}
	c, err := openCache(path)
	if err == nil {
		return c, nil
	}
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("index cache %s is in use by another cassette process: wait for it or give this one its own cacheDir", path)
	}
	if rmErr := os.Remove(path); rmErr != nil && !os.IsNotExist(rmErr) {
		return nil, fmt.Errorf("index cache %s is unusable (%v) and cannot be removed: %w", path, err, rmErr)
	}
	return openCache(path)
}

func openCache(path string) (*Cache, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true})
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bktBlobs, bktPacks, bktSegments, bktMeta, bktPending} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		m := tx.Bucket(bktMeta)
		if v := m.Get(keyVersion); v == nil {
			return m.Put(keyVersion, []byte{cacheVersion})
		} else if len(v) != 1 || v[0] != cacheVersion {
			return fmt.Errorf("index cache version %v, want %d", v, cacheVersion)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	c := &Cache{db: db, path: path}
	if err := c.recover(); err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

const (
	pendingAdd  = 'a'
	pendingDrop = 'd'
)

// recover finishes what a crash interrupted. An interrupted drop is
// finished: its entries go, as they would have. An interrupted add may have
// overwritten entries that other segments also hold, so the cache cannot
// tell what it still mirrors: it is reset, and the next Sync reloads every
// segment (a rare crash costs one full reload, never a wrong entry).
func (c *Cache) recover() error {
	drops := map[uint32]bool{}
	var adding bool
	err := c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktPending).ForEach(func(k, v []byte) error {
			if len(k) == 4 && len(v) == 1 && v[0] == pendingDrop {
				drops[binary.BigEndian.Uint32(k)] = true
			} else {
				adding = true
			}
			return nil
		})
	})
	if err != nil || (!adding && len(drops) == 0) {
		return err
	}
	if adding {
		return c.Reset()
	}
	return c.dropSeqs(drops)
}

// Close closes the cache file.
func (c *Cache) Close() error { return c.db.Close() }

// Path is the cache file's location.
func (c *Cache) Path() string { return c.path }

func encodeEntry(seq uint32, e *Entry) []byte {
	v := make([]byte, 0, 4+32+2+30)
	v = binary.BigEndian.AppendUint32(v, seq)
	v = append(v, e.Pack[:]...)
	v = append(v, byte(e.Type), byte(e.Compression))
	v = binary.AppendUvarint(v, e.Offset)
	v = binary.AppendUvarint(v, e.Length)
	return binary.AppendUvarint(v, e.RawLength)
}

func decodeEntry(id ID, v []byte) (Entry, error) {
	e := Entry{ID: id}
	if len(v) < 4+32+2 {
		return e, fmt.Errorf("index cache: short entry for blob %s", id.Short())
	}
	copy(e.Pack[:], v[4:36])
	e.Type, e.Compression = BlobType(v[36]), Compression(v[37])
	r := &segReader{b: v[38:]}
	e.Offset, e.Length, e.RawLength = r.uvarint("offset"), r.uvarint("length"), r.uvarint("raw length")
	if r.err != nil {
		return e, fmt.Errorf("index cache: entry for blob %s: %w", id.Short(), r.err)
	}
	return e, nil
}

// Get returns the location of blob id, if the cache knows it.
func (c *Cache) Get(id ID) (Entry, bool, error) {
	var (
		e     Entry
		found bool
		err   error
	)
	vErr := c.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bktBlobs).Get(id[:])
		if v == nil {
			return nil
		}
		found = true
		e, err = decodeEntry(id, v)
		return err
	})
	return e, found, vErr
}

// Has reports whether blob id is known.
func (c *Cache) Has(id ID) (bool, error) {
	var found bool
	err := c.db.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(bktBlobs).Get(id[:]) != nil
		return nil
	})
	return found, err
}

// Pack returns what the cache knows of one pack.
func (c *Cache) Pack(id ID) (PackInfo, bool, error) {
	p := PackInfo{ID: id}
	var found bool
	err := c.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bktPacks).Get(id[:])
		if v == nil {
			return nil
		}
		found = true
		return decodePack(&p, v)
	})
	return p, found, err
}

func decodePack(p *PackInfo, v []byte) error {
	if len(v) < 4 {
		return fmt.Errorf("index cache: short pack entry %s", p.ID.Short())
	}
	r := &segReader{b: v[4:]}
	p.Size = r.uvarint("size")
	p.Hash = r.id("hash")
	if r.err != nil {
		return fmt.Errorf("index cache: pack %s: %w", p.ID.Short(), r.err)
	}
	return nil
}

// ForEachPack calls fn for every pack the cache knows.
func (c *Cache) ForEachPack(fn func(PackInfo) error) error {
	return c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktPacks).ForEach(func(k, v []byte) error {
			var p PackInfo
			copy(p.ID[:], k)
			if err := decodePack(&p, v); err != nil {
				return err
			}
			return fn(p)
		})
	})
}

// ForEachBlob calls fn for every blob the cache knows, in blob ID order.
func (c *Cache) ForEachBlob(fn func(Entry) error) error {
	return c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktBlobs).ForEach(func(k, v []byte) error {
			var id ID
			copy(id[:], k)
			e, err := decodeEntry(id, v)
			if err != nil {
				return err
			}
			return fn(e)
		})
	})
}

// Segments returns the IDs of the segments loaded into the cache.
func (c *Cache) Segments() (map[ID]bool, error) {
	out := map[ID]bool{}
	err := c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktSegments).ForEach(func(k, _ []byte) error {
			var id ID
			copy(id[:], k)
			out[id] = true
			return nil
		})
	})
	return out, err
}

// AddSegment records every pack and blob of segment segID. A segment of more
// than addBatch entries is written in several transactions, sorted, so that
// the pages bbolt holds dirty in memory stay bounded whatever the sizes of
// the segment and of the cache (a consolidated segment after a garbage
// collection rewrites entries all over the tree); the segment itself is
// recorded last, so it counts as loaded only once complete.
func (c *Cache) AddSegment(segID ID, s *Segment) error {
	var seq uint32
	large := len(s.Blobs)+len(s.Packs) > addBatch
	err := c.db.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bktMeta)
		seq = 1
		if v := m.Get(keyNextSeq); len(v) == 4 {
			seq = binary.BigEndian.Uint32(v)
		}
		if err := m.Put(keyNextSeq, binary.BigEndian.AppendUint32(nil, seq+1)); err != nil {
			return err
		}
		if large {
			return tx.Bucket(bktPending).Put(seqKey(seq), []byte{pendingAdd})
		}
		if err := putPacks(tx, seq, s.Packs); err != nil {
			return err
		}
		if err := putBlobs(tx, seq, s.Blobs, nil); err != nil {
			return err
		}
		return tx.Bucket(bktSegments).Put(segID[:], seqKey(seq))
	})
	if err != nil || !large {
		return err
	}
	for i := 0; i < len(s.Packs); i += addBatch {
		part := s.Packs[i:min(i+addBatch, len(s.Packs))]
		if err := c.db.Update(func(tx *bolt.Tx) error { return putPacks(tx, seq, part) }); err != nil {
			return err
		}
	}
	order := make([]int32, len(s.Blobs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return bytes.Compare(s.Blobs[a].ID[:], s.Blobs[b].ID[:]) })
	for i := 0; i < len(order); i += addBatch {
		part := order[i:min(i+addBatch, len(order))]
		if err := c.db.Update(func(tx *bolt.Tx) error { return putBlobs(tx, seq, s.Blobs, part) }); err != nil {
			return err
		}
	}
	return c.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bktSegments).Put(segID[:], seqKey(seq)); err != nil {
			return err
		}
		return tx.Bucket(bktPending).Delete(seqKey(seq))
	})
}

// addBatch bounds the entries one AddSegment transaction writes.
var addBatch = 2048 // a var for tests

func seqKey(seq uint32) []byte { return binary.BigEndian.AppendUint32(nil, seq) }

func putPacks(tx *bolt.Tx, seq uint32, packs []PackInfo) error {
	pb := tx.Bucket(bktPacks)
	for _, p := range packs {
		v := binary.BigEndian.AppendUint32(nil, seq)
		v = binary.AppendUvarint(v, p.Size)
		v = append(v, p.Hash[:]...)
		if err := pb.Put(p.ID[:], v); err != nil {
			return err
		}
	}
	return nil
}

// putBlobs writes blobs[i] for each i of order, or every blob when order
// is nil.
func putBlobs(tx *bolt.Tx, seq uint32, blobs []Entry, order []int32) error {
	bb := tx.Bucket(bktBlobs)
	put := func(e *Entry) error { return bb.Put(e.ID[:], encodeEntry(seq, e)) }
	if order == nil {
		for i := range blobs {
			if err := put(&blobs[i]); err != nil {
				return err
			}
		}
		return nil
	}
	for _, i := range order {
		if err := put(&blobs[i]); err != nil {
			return err
		}
	}
	return nil
}

// DropSegments forgets segments that vanished from the repository, with
// every blob and pack entry that last came from them. An entry that a later
// segment also holds is kept; one that only an earlier segment still holds is
// dropped too (conservative: a later lookup misses and reloads, never the
// other way round). The segments' seqs are marked pending in the first
// transaction, so a crash before every entry is gone is finished by the next
// OpenCache.
func (c *Cache) DropSegments(ids []ID) error {
	if len(ids) == 0 {
		return nil
	}
	seqs := map[uint32]bool{}
	err := c.db.Update(func(tx *bolt.Tx) error {
		sb, pb := tx.Bucket(bktSegments), tx.Bucket(bktPending)
		for _, id := range ids {
			if v := sb.Get(id[:]); len(v) == 4 {
				seq := binary.BigEndian.Uint32(v)
				seqs[seq] = true
				if err := pb.Put(seqKey(seq), []byte{pendingDrop}); err != nil {
					return err
				}
			}
			if err := sb.Delete(id[:]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.dropSeqs(seqs)
}

// dropSeqs deletes the entries whose seq is in seqs, then their pending
// marks. Entries go in transactions of at most dropBatch deletions: after a
// garbage collection most of the cache may go, and one transaction would
// hold every deleted page in memory.
func (c *Cache) dropSeqs(seqs map[uint32]bool) error {
	for _, name := range [][]byte{bktBlobs, bktPacks} {
		var from []byte // the next key to examine; nil: from the start
		for finished := false; !finished; {
			err := c.db.Update(func(tx *bolt.Tx) error {
				b := tx.Bucket(name)
				cur := b.Cursor()
				k, v := cur.First()
				if from != nil {
					k, v = cur.Seek(from)
				}
				var del [][]byte
				for ; k != nil && len(del) < dropBatch; k, v = cur.Next() {
					if len(v) >= 4 && seqs[binary.BigEndian.Uint32(v)] {
						del = append(del, append([]byte(nil), k...))
					}
				}
				if k == nil {
					finished = true
				} else {
					from = append([]byte(nil), k...)
				}
				for _, d := range del {
					if err := b.Delete(d); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	return c.db.Update(func(tx *bolt.Tx) error {
		pb := tx.Bucket(bktPending)
		for seq := range seqs {
			if err := pb.Delete(seqKey(seq)); err != nil {
				return err
			}
		}
		return nil
	})
}

// dropBatch bounds the deletions of one DropSegments transaction.
var dropBatch = 50_000 // a var for tests

// Reset forgets everything (the next Sync reloads all segments).
func (c *Cache) Reset() error {
	return c.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bktBlobs, bktPacks, bktSegments, bktPending} {
			if err := tx.DeleteBucket(b); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		return nil
	})
}
