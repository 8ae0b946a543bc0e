package engine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/index"
)

// FileCache remembers, per node and absolute path, the size, mtime and
// inode a file had when it was last backed up and where its content went.
// SSTables are immutable, so a file whose metadata is unchanged need not be
// read again. Entries are recorded only after the node's manifest is
// written, and a hit is used only when the index still holds its content.
type FileCache struct{ db *bolt.DB }

var bktFiles = []byte("files")

type fileCacheEntry struct {
	Size  int64              `json:"s"`
	MTime int64              `json:"m"`
	Inode uint64             `json:"i"`
	Hash  index.ID           `json:"h"`
	C     chunkstore.Content `json:"c"`
}

// OpenFileCache opens (creating) the cache at path; an unusable file is
// replaced, since it only saves work.
func OpenFileCache(path string) (*FileCache, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	open := func() (*bolt.DB, error) {
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true})
		if err != nil {
			return nil, err
		}
		if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(bktFiles); return err }); err != nil {
			db.Close()
			return nil, err
		}
		return db, nil
	}
	db, err := open()
	if err == bolt.ErrTimeout {
		return nil, fmt.Errorf("file cache %s is in use by another cassette process: wait for it or set its own cacheDir", path)
	}
	if err != nil {
		os.Remove(path)
		if db, err = open(); err != nil {
			return nil, fmt.Errorf("file cache %s: %w", path, err)
		}
	}
	return &FileCache{db: db}, nil
}

// Close closes the cache.
func (c *FileCache) Close() error { return c.db.Close() }

// Files are keyed by their live path: a snapshot's hard link has a new path
// every backup but the live file's inode, size and mtime.
func fileCacheKey(node, live string) []byte { return []byte(node + "\x00" + live) }

// Lookup returns the cached content of a file if its metadata is unchanged.
func (c *FileCache) Lookup(node string, sf SourceFile) (*fileCacheEntry, bool) {
	var e fileCacheEntry
	found := false
	_ = c.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bktFiles).Get(fileCacheKey(node, sf.Live))
		if v == nil || json.Unmarshal(v, &e) != nil {
			return nil
		}
		found = e.Size == sf.Info.Size() && e.MTime == sf.Info.ModTime().UnixNano() && e.Inode == inodeOf(sf.Info)
		return nil
	})
	return &e, found
}

// Record stores entries for a node after its manifest was written. It
// replaces the node's whole set so files that vanished are forgotten.
func (c *FileCache) Record(node string, files []cachedFile) error {
	return c.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktFiles)
		prefix := []byte(node + "\x00")
		cur := b.Cursor()
		for k, _ := cur.Seek(prefix); k != nil && len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix); {
			next := append([]byte(nil), k...)
			if err := cur.Delete(); err != nil {
				return err
			}
			k, _ = cur.Seek(next)
		}
		for _, f := range files {
			v, err := json.Marshal(f.entry)
			if err != nil {
				return err
			}
			if err := b.Put(fileCacheKey(node, f.abs), v); err != nil {
				return err
			}
		}
		return nil
	})
}

type cachedFile struct {
	abs   string
	entry fileCacheEntry
}
