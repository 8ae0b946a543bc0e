// Package engine holds cassette's Cassandra semantics: walking a node's
// data directories, node manifests, backup, restore and verify.
//
// A node backup is complete exactly when its manifest object exists: every
// pack and index segment it relies on is written and flushed before the
// manifest is put, so a crash at any point leaves either a complete backup or
// none (plus unreferenced packs that garbage collection removes).
package engine

import "errors"

// Sentinel errors.
var (
	// ErrBackupNotFound: no manifest for that backup name and node.
	ErrBackupNotFound = errors.New("backup not found")
	// ErrBadManifest: a manifest failed to decode or validate.
	ErrBadManifest = errors.New("invalid manifest")
	// ErrUnsafePath: a manifest path would escape the restore target.
	ErrUnsafePath = errors.New("unsafe path in manifest")
	// ErrBackupExists: this node already completed a backup of that name.
	ErrBackupExists = errors.New("backup already exists")
	// ErrStopped: a backup was asked to stop early (BackupOptions.Stop); what
	// it uploaded is indexed, it wrote no manifest, and a rerun finishes it.
	ErrStopped = errors.New("backup stopped before it finished: run it again to complete it")
)
