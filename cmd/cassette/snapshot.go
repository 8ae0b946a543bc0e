package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/cassette-backup/cassette/cmd/internal/config"
	"github.com/cassette-backup/cassette/cmd/internal/suggest"
	"github.com/cassette-backup/cassette/engine"
	"github.com/cassette-backup/cassette/engine/cassandra"
)

// newNodetool builds the nodetool runner from the cassandra.nodetool
// section (Medusa's nodetool_* keys).
func newNodetool(cfg *config.Config) *cassandra.Nodetool {
	n := cfg.Cassandra.Nodetool
	return cassandra.NewNodetool(cassandra.NodetoolConfig{
		Executable: n.Executable, Host: n.Host, Port: n.Port,
		Username: n.Username, PasswordFile: n.PasswordFile, Password: n.Password.Reveal(),
	})
}

// snapshotter picks how the backup gets its point-in-time copy. It returns
// the nodetool runner too when the node is expected to be running.
func snapshotter(s *session, o backupOptions, dirs []string, filter func(ks, table string) bool) (engine.Snapshotter, *cassandra.Nodetool, error) {
	mode := firstSet(o.snapshot, s.cfg.Cassandra.Snapshot, config.SnapshotNodetool)
	if o.existingSnapshot != "" {
		if o.snapshot == config.SnapshotNone {
			return nil, nil, usagef("--use-existing-snapshot and --snapshot none contradict each other: drop one")
		}
		snap := &engine.ExistingSnapshot{DataDirs: dirs, Tag: o.existingSnapshot}
		if mode == config.SnapshotNodetool {
			return snap, newNodetool(s.cfg), nil
		}
		return snap, nil, nil
	}
	tag := engine.SnapshotTag(o.name)
	if err := cassandra.ValidateTag(tag); err != nil {
		return nil, nil, usageError{err}
	}
	switch mode {
	case config.SnapshotNodetool:
		nt := newNodetool(s.cfg)
		return &engine.NodetoolSnapshot{Nodetool: nt, Tag: tag, Keyspaces: o.keyspaces, DataDirs: dirs, Keep: o.keepSnapshot}, nt, nil
	case config.SnapshotHardlink:
		return &engine.HardlinkSnapshot{DataDirs: dirs, Tag: tag, Filter: filter, Keep: o.keepSnapshot}, nil, nil
	case config.SnapshotNone:
		if o.keepSnapshot {
			return nil, nil, usagef("--keep-snapshot needs a snapshot: use --snapshot nodetool or hardlink")
		}
		return nil, nil, nil
	}
	return nil, nil, usagef("snapshot mode %q: use nodetool, hardlink or none (--snapshot or cassandra.snapshot)", mode)
}

// nodetoolIdentity fills datacenter, rack, tokens and version that flags
// and config left empty from nodetool info -T and nodetool version. A
// failure is a warning: the snapshot step says clearly if the node is
// unreachable.
func nodetoolIdentity(ctx context.Context, s *session, nt *cassandra.Nodetool, id *engine.NodeInfo) {
	if id.Datacenter == "" || id.Rack == "" || len(id.Tokens) == 0 {
		info, err := nt.Info(ctx)
		if err != nil {
			s.log.Warn("nodetool info failed; datacenter, rack and tokens come from the config only", "err", err)
		} else {
			id.Datacenter = firstSet(id.Datacenter, info.Datacenter)
			id.Rack = firstSet(id.Rack, info.Rack)
			id.HostID = info.ID
			if len(id.Tokens) == 0 {
				id.Tokens = info.Tokens
			}
		}
	}
	if id.Version == "" {
		if v, err := nt.Version(ctx); err != nil {
			s.log.Warn("nodetool version failed; the backup records no Cassandra version", "err", err)
		} else {
			id.Version = v
		}
	}
}

// ringView is the expected cluster as this node sees it (nodetool status):
// every node by address and host ID, so that nodes that never start still
// count. Used when --expect-nodes is not given.
func ringView(ctx context.Context, s *session, nt *cassandra.Nodetool) []engine.NodeInfo {
	nodes, err := nt.Status(ctx)
	if err != nil {
		s.log.Warn("nodetool status failed; the backup records no expected topology (use --expect-nodes)", "err", err)
		return nil
	}
	out := make([]engine.NodeInfo, 0, len(nodes))
	for _, n := range nodes {
		if engine.ValidateName("node", n.Address) != nil {
			continue
		}
		out = append(out, engine.NodeInfo{Host: n.Address, Datacenter: n.Datacenter, Rack: n.Rack, HostID: n.HostID})
	}
	return out
}

// describeSchema captures the schema with cqlsh; without cqlsh the backup
// goes on (system_schema's SSTables hold the schema too).
func describeSchema(ctx context.Context, s *session) []byte {
	cc := s.cfg.Cassandra
	pw := cc.CQLPassword.Reveal()
	if pw == "" && cc.CQLPasswordFile != "" {
		b, err := os.ReadFile(cc.CQLPasswordFile)
		if err != nil {
			s.log.Warn("cannot read cassandra.cqlPasswordFile; schema.cql is not captured", "file", cc.CQLPasswordFile, "err", err)
			return nil
		}
		pw = strings.TrimSpace(string(b))
	}
	schema, err := cassandra.DescribeSchema(ctx, cassandra.CQLSHConfig{Username: cc.CQLUsername, Password: pw})
	if err != nil {
		level := s.log.Warn
		if errors.Is(err, cassandra.ErrNotAvailable) {
			level = s.log.Info
		}
		level("schema.cql not captured (system_schema SSTables are backed up)", "err", err)
		return nil
	}
	return schema
}

// checkKeyspaces fails when a keyspace asked for by name has no folder in
// any data directory, naming the closest one that exists.
func checkKeyspaces(dirs, keyspaces []string) error {
	var have []string
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			return fmt.Errorf("data directory %s: %w (check cassandra.dataDirs / --data-dir)", d, err)
		}
		for _, e := range ents {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				have = append(have, e.Name())
			}
		}
	}
	for _, ks := range keyspaces {
		ks, _, _ = strings.Cut(ks, ".")
		if slices.Contains(have, ks) {
			continue
		}
		return usagef("keyspace %q does not exist in %s%s: check --keyspace / cassandra.keyspaces", ks, strings.Join(dirs, ", "), suggest.Hint(ks, have))
	}
	return nil
}
