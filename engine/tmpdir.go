package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// cleaned records the scratch folders this process has emptied.
var cleaned sync.Map // dir -> *sync.Once

// tmpDir is the repository's scratch folder in the cache,
// <cacheDir>/<repository id>/tmp, for staged manifests and GC mark sets.
// The index cache beside it is locked by the process that opened the
// repository, so no other process uses this folder: what a killed process
// left in it is removed the first time this process asks for it.
func (e *Engine) tmpDir() (string, error) {
	dir := filepath.Join(e.CacheDir, e.Repo.Config().ID, "tmp")
	once, _ := cleaned.LoadOrStore(dir, new(sync.Once))
	once.(*sync.Once).Do(func() { os.RemoveAll(dir) })
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("scratch folder %s: %w (set cacheDir to a writable folder)", dir, err)
	}
	return dir, nil
}
