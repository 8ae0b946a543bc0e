//go:build unix

package engine

import (
	"io/fs"
	"syscall"
)

// inodeOf returns the file's inode number (0 when unknown): a file replaced
// by another of the same size and mtime still misses the file cache.
func inodeOf(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
