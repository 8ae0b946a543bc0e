// Package cassandra is everything cassette needs to talk to a local
// Cassandra node: running nodetool (snapshot, clearsnapshot, info, status,
// ring, version, listsnapshots) and parsing what it prints, taking
// hard-link snapshots of a stopped node's data directories, and capturing
// the schema with cqlsh.
//
// nodetool's output is meant for people, not programs, and varies between
// Cassandra 3.11, 4.x and 5.0, between locales and between JVMs (which print
// warnings first). The parsers are therefore tolerant of layout details
// (indentation, CRLF, padding, extra lines) but strict about the values they
// return: a row they recognise but cannot read is an error wrapping
// ErrBadOutput, never a silently dropped node or token.
//
// The package does not import engine: engine imports it.
package cassandra

import "errors"

// Sentinel errors; test with errors.Is.
var (
	// ErrUnreachable: nodetool ran but could not reach the node over JMX
	// (Cassandra stopped, wrong host/port, firewall).
	ErrUnreachable = errors.New("cassandra node unreachable")
	// ErrAuth: the node answered but rejected the JMX credentials; it is
	// therefore running.
	ErrAuth = errors.New("JMX authentication failed")
	// ErrSnapshotExists: a snapshot with that tag already exists on the node.
	ErrSnapshotExists = errors.New("snapshot already exists")
	// ErrNotAvailable: cqlsh is not installed or cannot connect. Schema
	// capture is best effort: callers warn and continue.
	ErrNotAvailable = errors.New("not available")
	// ErrBadOutput: nodetool printed something the parsers cannot read.
	ErrBadOutput = errors.New("unexpected nodetool output")
)
