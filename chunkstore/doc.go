// Package chunkstore is cassette's content-addressed store on top of a
// providers.Storage: it splits file content into content-defined chunks,
// names each by its SHA-256, compresses what compresses, packs many blobs
// into few pack objects that stream to storage while they fill, writes the
// index segments that say where every blob lives, and reads blobs back with
// their hashes verified.
//
// The object layout it writes is specified in docs/format.md.
package chunkstore

import "errors"

// Sentinel errors.
var (
	// ErrIntegrity: stored bytes do not match their hash (a corrupt pack,
	// blob, content list or segment). Messages name the pack and blob.
	ErrIntegrity = errors.New("integrity check failed")
	// ErrNoRepository: there is no repository config at the location.
	ErrNoRepository = errors.New("no cassette repository here")
	// ErrRepositoryExists: init found a repository already there.
	ErrRepositoryExists = errors.New("a cassette repository already exists here")
	// ErrNewerFormat: the repository was written by a newer cassette.
	ErrNewerFormat = errors.New("repository format is newer than this cassette")
	// ErrBlobNotFound: no index segment knows the blob.
	ErrBlobNotFound = errors.New("blob not in the repository index")
)
