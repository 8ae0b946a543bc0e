//go:build !linux

package engine

// perFileFsync: without syncfs(2), every restored file is fsynced.
const perFileFsync = true

func syncFS(string) error { return nil }
