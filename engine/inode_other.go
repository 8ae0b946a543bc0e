//go:build !unix

package engine

import "io/fs"

func inodeOf(fs.FileInfo) uint64 { return 0 }
