package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
	"github.com/cassette-backup/cassette/engine"
)

// PrepareRestore records the restore mapping of a restore: which node's
// backup each node restores. Like Medusa it writes
// <data root>/.restore_mapping/<restoreKey> as RESTORE_MAPPING JSON; the
// RESTORE init container reads it when the operator gives no
// RESTORE_MAPPING. cassette maps every node of the backup (of datacenter,
// when given) to its own backup: an in-place restore.
func (ms *medusaServer) PrepareRestore(ctx context.Context, req *medusapb.PrepareRestoreRequest) (*medusapb.PrepareRestoreResponse, error) {
	name, dc, key := req.GetBackupName(), req.GetDatacenter(), req.GetRestoreKey()
	if err := engine.ValidateName("backup", name); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := engine.ValidateName("restore key", key); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	cb, err := ms.sess.engine().ClusterStatus(ctx, name)
	if err != nil {
		return nil, grpcError(err)
	}
	m := restoreMappingFile{InPlace: true, HostMap: map[string]hostMapEntry{}, BackupName: name, Datacenter: dc, RestoreKey: key}
	var dcs []string
	for _, n := range cb.Nodes {
		dcs = append(dcs, n.Datacenter)
		if dc == "" || n.Datacenter == "" || n.Datacenter == dc {
			m.HostMap[n.Host] = hostMapEntry{Source: []string{n.Host}}
		}
	}
	if len(m.HostMap) == 0 {
		sort.Strings(dcs)
		return nil, status.Errorf(codes.FailedPrecondition, "backup %q has no node in datacenter %q (its nodes are in %s)", name, dc, strings.Join(dcs, ", "))
	}
	path := restoreMappingPath(ms.stateDir, key)
	if err := writeFileAtomic(path, m); err != nil {
		return nil, status.Errorf(codes.Internal, "write the restore mapping: %v (is %s writable?)", err, ms.stateDir)
	}
	ms.log.Info("restore prepared", "backup", name, "datacenter", dc, "restoreKey", key, "mapping", path, "nodes", len(m.HostMap))
	return &medusapb.PrepareRestoreResponse{}, nil
}

// restoreMappingFile is what PrepareRestore writes: RESTORE_MAPPING's JSON
// (in_place, host_map) plus what the restore is of.
type restoreMappingFile struct {
	InPlace    bool                    `json:"in_place"`
	HostMap    map[string]hostMapEntry `json:"host_map"`
	BackupName string                  `json:"backup_name"`
	Datacenter string                  `json:"datacenter,omitempty"`
	RestoreKey string                  `json:"restore_key"`
}

type hostMapEntry struct {
	Source []string `json:"source"`
	Seed   bool     `json:"seed"`
}

// restoreMappingPath is where PrepareRestore puts the mapping of restore
// key, as Medusa does: <data root>/.restore_mapping/<key>.
func restoreMappingPath(stateDir, key string) string {
	return filepath.Join(stateDir, ".restore_mapping", key)
}

// writeFileAtomic writes v as JSON to path through a temporary file and a
// rename, so a reader never sees half a file.
func writeFileAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeBytesAtomic(path, append(b, '\n'))
}

func writeBytesAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
