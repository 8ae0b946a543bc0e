package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/cassette-backup/cassette/engine/cassandra"
)

// A backup reads a point-in-time copy of the node, never the live data
// directories where compaction deletes files under the reader's feet.

// Snapshotter makes that copy. Backup calls Create after the node's started
// marker is written (so the node shows IN_PROGRESS while the snapshot is
// taken) and Release once when it ends, whatever the outcome.
type Snapshotter interface {
	// Create makes the snapshot and returns its tag: the backup then reads
	// <keyspace>/<table>-<id>/snapshots/<tag>/ in every data directory.
	Create(ctx context.Context) (tag string, err error)
	// Release clears the snapshot, unless it is to be kept.
	Release(ctx context.Context) error
}

// SnapshotTag is the tag cassette gives the snapshot of backup name (Medusa
// uses medusa-<name>).
func SnapshotTag(backup string) string { return "cassette-" + backup }

// NodetoolSnapshot snapshots a running node with nodetool snapshot and
// clears it with nodetool clearsnapshot.
type NodetoolSnapshot struct {
	Nodetool  *cassandra.Nodetool
	Tag       string
	Keyspaces []string // all keyspaces when empty
	DataDirs  []string
	Keep      bool // --keep-snapshot
}

// Create runs nodetool snapshot -t Tag and checks that it produced the
// folders the backup will read (a nodetool talking to another node's JMX
// port, or dataDirs that are not this node's, would otherwise back up
// nothing).
func (s *NodetoolSnapshot) Create(ctx context.Context) (string, error) {
	if err := s.Nodetool.Snapshot(ctx, s.Tag, s.Keyspaces); err != nil {
		if errors.Is(err, cassandra.ErrSnapshotExists) {
			return "", fmt.Errorf("%w (an earlier run left it: back it up with --use-existing-snapshot %s, or remove it with nodetool clearsnapshot -t %s)", err, s.Tag, s.Tag)
		}
		return "", err
	}
	ok, err := cassandra.SnapshotExists(s.DataDirs, s.Tag)
	if err == nil && !ok {
		err = fmt.Errorf("nodetool snapshot -t %s succeeded but no table folder under %v has snapshots/%s: cassandra.dataDirs must be this node's data_file_directories and nodetool must reach this node", s.Tag, s.DataDirs, s.Tag)
	}
	if err != nil {
		s.Release(ctx)
		return "", err
	}
	return s.Tag, nil
}

// Release runs nodetool clearsnapshot -t Tag unless the snapshot is kept.
func (s *NodetoolSnapshot) Release(ctx context.Context) error {
	if s.Keep {
		return nil
	}
	return s.Nodetool.ClearSnapshot(ctx, s.Tag)
}

// HardlinkSnapshot makes the snapshot itself by hard-linking the SSTables,
// as nodetool would: for a stopped node, and for tests.
type HardlinkSnapshot struct {
	DataDirs []string
	Tag      string
	Filter   func(keyspace, table string) bool
	Keep     bool
}

// Create links every table's files into snapshots/Tag.
func (s *HardlinkSnapshot) Create(ctx context.Context) (string, error) {
	if err := cassandra.HardlinkSnapshot(s.DataDirs, s.Tag, s.Filter); err != nil {
		return "", err
	}
	return s.Tag, nil
}

// Release removes the links unless the snapshot is kept.
func (s *HardlinkSnapshot) Release(context.Context) error {
	if s.Keep {
		return nil
	}
	return cassandra.ClearSnapshot(s.DataDirs, s.Tag)
}

// ExistingSnapshot backs up a snapshot the operator already took
// (--use-existing-snapshot). cassette did not make it, so it never clears it.
type ExistingSnapshot struct {
	DataDirs []string
	Tag      string
}

// Create checks that the snapshot exists.
func (s *ExistingSnapshot) Create(context.Context) (string, error) {
	if err := cassandra.ValidateTag(s.Tag); err != nil {
		return "", err
	}
	ok, err := cassandra.SnapshotExists(s.DataDirs, s.Tag)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("--use-existing-snapshot %s: no table folder under %v has snapshots/%s: list them with nodetool listsnapshots", s.Tag, s.DataDirs, s.Tag)
	}
	return s.Tag, nil
}

// Release keeps the snapshot: it is the operator's.
func (s *ExistingSnapshot) Release(context.Context) error { return nil }
