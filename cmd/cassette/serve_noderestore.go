package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cassette-backup/cassette/cmd/internal/restorepb"
	"github.com/cassette-backup/cassette/engine"
)

// restoreFunc restores backup of node source in place into this node's
// data directories, reporting progress to pr.
type restoreFunc func(ctx context.Context, backup, source string, pr engine.Progress) (*engine.RestoreResult, error)

// nodeRestoreServer implements NodeRestore (restorepb), cassette's
// extension beside Medusa's service: `cassette control restore --run`
// restores the node in place through it, as the RESTORE init container
// does at a pod's start. It shares the Medusa server's node name, state
// dir and backup registry.
type nodeRestoreServer struct {
	restorepb.UnimplementedNodeRestoreServer

	ms *medusaServer
	// isRunning is the in-place restore's running check (nodetool, or
	// --running-check): StartRestore asks it before accepting, so that a
	// refusal is an answer, not a background failure.
	isRunning func(ctx context.Context) (bool, error)
	restore   restoreFunc
	jobs      *restoreJobs
}

// newNodeRestoreServer serves restores of ms's node; runningCmd is
// --running-check ("" asks nodetool, as cassandra.nodetool says).
func newNodeRestoreServer(ms *medusaServer, runningCmd string) *nodeRestoreServer {
	s := ms.sess
	rs := &nodeRestoreServer{ms: ms, isRunning: runningCheck(s, runningCmd), jobs: newRestoreJobs(ms.node, ms.jobs, time.Now)}
	rs.restore = func(ctx context.Context, backup, source string, pr engine.Progress) (*engine.RestoreResult, error) {
		// What the RESTORE container runs: in place, the replaced tables
		// deleted once the restore succeeded, refused while Cassandra runs.
		o := restoreOptions{name: backup, node: source, inPlace: true, removeAside: true, isRunning: rs.isRunning}
		if err := o.check(); err != nil {
			return nil, err
		}
		res, _, err := s.restore(ctx, &o, pr)
		return res, err
	}
	return rs
}

// StartRestore accepts an in-place restore of this node and returns at
// once; RestoreStatus answers IN_PROGRESS for it from now on.
func (rs *nodeRestoreServer) StartRestore(ctx context.Context, req *restorepb.StartRestoreRequest) (*restorepb.StartRestoreResponse, error) {
	key, backup, source := req.GetRestoreKey(), req.GetBackupName(), req.GetSourceNode()
	if err := validateRestoreRequest(key, backup, source); err != nil {
		return nil, err
	}
	node, stateDir := rs.ms.node, rs.ms.stateDir
	if j, ok := rs.jobs.lookup(key); ok && j.status != restorepb.RestoreState_FAILED {
		if j.backup != backup {
			return nil, otherBackup(node, key, j.backup, backup)
		}
		return &restorepb.StartRestoreResponse{Restore: rs.jobMessage(j)}, nil
	}
	a, ok, err := readApplied(stateDir, key)
	if err != nil {
		return nil, status.Error(codes.Internal, oneLine(err))
	}
	if ok {
		if a.BackupName != "" && a.BackupName != backup {
			return nil, otherBackup(node, key, a.BackupName, backup)
		}
		return &restorepb.StartRestoreResponse{Restore: rs.appliedMessage(a)}, nil
	}
	m, err := readMappingFile(restoreMappingPath(stateDir, key))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, restorepb.Refuse(restorepb.RestoreRefusal_NOT_PREPARED, node, fmt.Sprintf(
			"node %s: restore key %s was not prepared here: call PrepareRestore (backup %s, restore key %s) on node %s first", node, key, backup, key, node))
	case err != nil:
		return nil, status.Error(codes.Internal, oneLine(err))
	case m.BackupName != backup:
		return nil, restorepb.Refuse(restorepb.RestoreRefusal_NOT_PREPARED, node, fmt.Sprintf(
			"node %s: restore key %s was prepared for backup %s, not %s: prepare the restore with a new key", node, key, m.BackupName, backup))
	}
	if source == "" {
		source = node
		if e, ok := m.HostMap[node]; ok && len(e.Source) == 1 {
			source = e.Source[0]
		}
	}
	if err := rs.checkStopped(ctx, key); err != nil {
		return nil, err
	}
	j, started, err := rs.jobs.start(key, backup, source, func(ctx context.Context, begun time.Time, pr engine.Progress) error {
		return rs.run(ctx, key, backup, source, begun, pr)
	})
	if err != nil {
		return nil, err
	}
	if j.backup != backup {
		return nil, otherBackup(node, key, j.backup, backup)
	}
	return &restorepb.StartRestoreResponse{Started: started, Restore: rs.jobMessage(j)}, nil
}

func validateRestoreRequest(key, backup, source string) error {
	if err := engine.ValidateName("restore key", key); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if err := engine.ValidateName("backup", backup); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if source != "" {
		if err := engine.ValidateName("source node", source); err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
	}
	return nil
}

func otherBackup(node, key, had, asked string) error {
	return restorepb.Refuse(restorepb.RestoreRefusal_NOT_PREPARED, node, fmt.Sprintf(
		"node %s: restore key %s restores backup %s here, not %s: use a new restore key", node, key, had, asked))
}

// checkStopped refuses while Cassandra runs on this node, with the
// in-place restore's own check.
func (rs *nodeRestoreServer) checkStopped(ctx context.Context, key string) error {
	node := rs.ms.node
	up, err := rs.isRunning(ctx)
	if err != nil {
		return restorepb.Refuse(restorepb.RestoreRefusal_RUNNING_UNKNOWN, node, fmt.Sprintf(
			"node %s: cannot tell whether Cassandra is running (%s); stop Cassandra and make sure nodetool (cassandra.nodetool) or serve's --running-check can tell, then start restore %s again",
			node, oneLine(err), key))
	}
	if up {
		return restorepb.Refuse(restorepb.RestoreRefusal_CASSANDRA_RUNNING, node, fmt.Sprintf(
			"node %s: Cassandra is running; stop Cassandra on node %s before restoring it in place, then start restore %s again", node, node, key))
	}
	return nil
}

// run is one accepted restore, in the background: the in-place restore,
// then its done record.
func (rs *nodeRestoreServer) run(ctx context.Context, key, backup, source string, begun time.Time, pr engine.Progress) error {
	log := rs.ms.log.With("restoreKey", key, "backup", backup, "node", rs.ms.node, "source", source)
	log.Info("restore started")
	lp := newProgress("restore", io.Discard, rs.ms.log)
	res, err := rs.restore(ctx, backup, source, teeProgress{pr, lp})
	lp.done(err == nil)
	if err == nil {
		err = recordApplied(rs.ms.stateDir, appliedRestore{RestoreKey: key, BackupName: backup, SourceNode: source, Node: rs.ms.node,
			Started: begun.UTC(), Finished: time.Now().UTC(), Files: res.Files, Bytes: res.Bytes})
	}
	if err != nil {
		log.Error("restore failed", "err", oneLine(err))
		return err
	}
	log.Info("restore complete", "files", res.Files, "bytes", res.Bytes, "duration", res.Duration.Round(time.Millisecond))
	return nil
}

// teeProgress passes progress to both.
type teeProgress [2]engine.Progress

func (t teeProgress) Total(files, bytes int64) {
	t[0].Total(files, bytes)
	t[1].Total(files, bytes)
}

func (t teeProgress) File(path string, bytes int64, fromCache bool) {
	t[0].File(path, bytes, fromCache)
	t[1].File(path, bytes, fromCache)
}

// RestoreStatus answers for a restore of this node: from memory for the
// restores this server accepted, else from the done records. An unknown
// key is NOT_FOUND.
func (rs *nodeRestoreServer) RestoreStatus(_ context.Context, req *restorepb.RestoreStatusRequest) (*restorepb.RestoreStatusResponse, error) {
	key := req.GetRestoreKey()
	if err := engine.ValidateName("restore key", key); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if j, ok := rs.jobs.lookup(key); ok {
		return &restorepb.RestoreStatusResponse{Restore: rs.jobMessage(j)}, nil
	}
	a, ok, err := readApplied(rs.ms.stateDir, key)
	if err != nil {
		return nil, status.Error(codes.Internal, oneLine(err))
	}
	if !ok {
		return nil, status.Errorf(codes.NotFound, "node %s has no restore %s: it was never started here, or the sidecar restarted before it ended (an interrupted in-place restore is rolled back): start it again",
			rs.ms.node, key)
	}
	return &restorepb.RestoreStatusResponse{Restore: rs.appliedMessage(a)}, nil
}

func (rs *nodeRestoreServer) jobMessage(j restoreJob) *restorepb.RestoreJob {
	m := &restorepb.RestoreJob{RestoreKey: j.key, BackupName: j.backup, SourceNode: j.source, Node: rs.ms.node, Status: j.status,
		StartTime: statusTime(j.started), FilesDone: j.progress.FilesDone, FilesTotal: j.progress.FilesTotal,
		BytesDone: j.progress.BytesDone, BytesTotal: j.progress.BytesTotal}
	if j.status != restorepb.RestoreState_IN_PROGRESS {
		m.FinishTime = statusTime(j.finished)
	}
	if j.err != nil {
		m.Error = oneLine(j.err)
	}
	return m
}

func (rs *nodeRestoreServer) appliedMessage(a appliedRestore) *restorepb.RestoreJob {
	return &restorepb.RestoreJob{RestoreKey: a.RestoreKey, BackupName: a.BackupName, SourceNode: a.SourceNode, Node: rs.ms.node,
		Status: restorepb.RestoreState_SUCCESS, StartTime: statusTime(a.Started), FinishTime: statusTime(a.Finished),
		FilesDone: a.Files, FilesTotal: a.Files, BytesDone: a.Bytes, BytesTotal: a.Bytes}
}
