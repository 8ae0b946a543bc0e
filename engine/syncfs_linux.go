package engine

import (
	"os"

	"golang.org/x/sys/unix"
)

// perFileFsync is false on Linux: a restore flushes each target file system
// once at the end with syncfs(2) instead of an fsync per file. A crash before
// that leaves files that may not be durable, and a rerun of the restore
// re-verifies every file already in place against its hash, so nothing
// unverified is ever trusted. (Per-file fsyncs made concurrent restores
// spend most of their CPU in the kernel on directory locks.)
const perFileFsync = false

// syncFS flushes the file system that holds dir.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
