package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/cassette-backup/cassette/index"
)

// markSet is a set of index entries kept in a temporary bbolt file, keyed
// by pack then offset, so it can be walked pack by pack. Adds are buffered
// and written in sorted batches.
type markSet struct {
	db   *bolt.DB
	path string
	buf  map[string][]byte
	n    int64
}

var bktMarks = []byte("marks")

func newMarkSet(dir string) (*markSet, error) {
	db, path, err := openScratchDB(dir, "gc-marks-*.db", "gc mark file", bktMarks)
	if err != nil {
		return nil, err
	}
	return &markSet{db: db, path: path, buf: map[string][]byte{}}, nil
}

// openScratchDB creates a temporary bbolt file in dir (named after pattern)
// with the given buckets. It is never synced: a crash loses it, and nothing
// needs it after the operation that made it.
func openScratchDB(dir, pattern, what string, buckets ...[]byte) (*bolt.DB, string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, "", fmt.Errorf("%s in %s: %w (set cacheDir to a writable folder)", what, dir, err)
	}
	path := f.Name()
	f.Close()
	db, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true, NoFreelistSync: true})
	if err != nil {
		os.Remove(path)
		return nil, "", err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range buckets {
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		os.Remove(path)
		return nil, "", err
	}
	return db, path, nil
}

func (m *markSet) close() {
	m.db.Close()
	os.Remove(m.path)
}

func markKey(ent index.Entry) string {
	k := make([]byte, 0, 40)
	k = append(k, ent.Pack[:]...)
	k = binary.BigEndian.AppendUint64(k, ent.Offset)
	return string(k)
}

func markValue(ent index.Entry) []byte {
	v := make([]byte, 0, 34+30)
	v = append(v, ent.ID[:]...)
	v = append(v, byte(ent.Type), byte(ent.Compression))
	v = binary.AppendUvarint(v, ent.Length)
	return binary.AppendUvarint(v, ent.RawLength)
}

func (m *markSet) add(ent index.Entry) error {
	k := markKey(ent)
	if _, dup := m.buf[k]; dup {
		return nil
	}
	m.buf[k] = markValue(ent)
	if len(m.buf) >= 1<<12 {
		return m.flush()
	}
	return nil
}

func (m *markSet) flush() error {
	if len(m.buf) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m.buf))
	for k := range m.buf {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	err := m.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktMarks)
		for _, k := range keys {
			if b.Get([]byte(k)) == nil {
				m.n++
			}
			if err := b.Put([]byte(k), m.buf[k]); err != nil {
				return err
			}
		}
		return nil
	})
	clear(m.buf)
	return err
}

func decodeMark(k, v []byte) (index.Entry, error) {
	var ent index.Entry
	if len(k) != 40 || len(v) < 34 {
		return ent, errors.New("gc mark file: damaged entry")
	}
	copy(ent.Pack[:], k[:32])
	ent.Offset = binary.BigEndian.Uint64(k[32:])
	copy(ent.ID[:], v[:32])
	ent.Type, ent.Compression = index.BlobType(v[32]), index.Compression(v[33])
	var n int
	ent.Length, n = binary.Uvarint(v[34:])
	if n <= 0 {
		return ent, errors.New("gc mark file: damaged entry")
	}
	ent.RawLength, _ = binary.Uvarint(v[34+n:])
	return ent, nil
}

// forEach walks the set in pack, offset order.
func (m *markSet) forEach(fn func(index.Entry) error) error {
	return m.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktMarks).ForEach(func(k, v []byte) error {
			ent, err := decodeMark(k, v)
			if err != nil {
				return err
			}
			return fn(ent)
		})
	})
}

// has reports whether ent (by pack and offset) is marked. The set must be
// flushed.
func (m *markSet) has(ent index.Entry) (bool, error) {
	var found bool
	err := m.db.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(bktMarks).Get([]byte(markKey(ent))) != nil
		return nil
	})
	return found, err
}

// marked reports whether ent was added, flushed or not.
func (m *markSet) marked(ent index.Entry) (bool, error) {
	if _, ok := m.buf[markKey(ent)]; ok {
		return true, nil
	}
	return m.has(ent)
}

// forEachLive walks the marked entries of one pack.
func (m *markSet) forEachLive(pack index.ID, fn func(index.Entry)) error {
	return m.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktMarks).Cursor()
		for k, v := c.Seek(pack[:]); k != nil && string(k[:32]) == string(pack[:]); k, v = c.Next() {
			ent, err := decodeMark(k, v)
			if err != nil {
				return err
			}
			fn(ent)
		}
		return nil
	})
}

// markView gives lookups in the mark set under one read transaction (the
// set must be flushed).
type markView struct{ tx *bolt.Tx }

func (m *markSet) view(fn func(markView) error) error {
	return m.db.View(func(tx *bolt.Tx) error { return fn(markView{tx}) })
}

// has reports whether ent (by pack and offset) is marked.
func (v markView) has(ent index.Entry) bool {
	return v.tx.Bucket(bktMarks).Get([]byte(markKey(ent))) != nil
}

// liveBytes sums the stored bytes of the marked blobs of one pack.
func (v markView) liveBytes(pack index.ID) uint64 {
	var n uint64
	c := v.tx.Bucket(bktMarks).Cursor()
	for k, val := c.Seek(pack[:]); k != nil && string(k[:32]) == string(pack[:]); k, val = c.Next() {
		if ent, err := decodeMark(k, val); err == nil {
			n += ent.Length
		}
	}
	return n
}

// forEachPack calls fn once for every pack that holds a marked blob, in
// pack order.
func (m *markSet) forEachPack(fn func(index.ID) error) error {
	return m.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bktMarks).Cursor()
		for k, _ := c.First(); k != nil; {
			if len(k) != 40 {
				return errors.New("gc mark file: damaged entry")
			}
			var id index.ID
			copy(id[:], k[:32])
			if err := fn(id); err != nil {
				return err
			}
			// The next pack: the first key after every offset of this one.
			k, _ = c.Seek(append(id[:], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
		}
		return nil
	})
}
