package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
	"github.com/cassette-backup/cassette/engine"
	"github.com/cassette-backup/cassette/providers"
)

// medusaServer implements Medusa's gRPC service for this node, the way
// k8ssandra-operator drives it (docs: README "Kubernetes sidecar").
type medusaServer struct {
	medusapb.UnimplementedMedusaServer

	sess     *session
	node     string // this node's name in backups: the pod name
	stateDir string // Cassandra's data root: restore mappings go under it
	log      *slog.Logger
	metrics  *metrics
	jobs     *backupJobs
	backup   backupFunc
}

func newMedusaServer(s *session, node, stateDir string, m *metrics) *medusaServer {
	ms := &medusaServer{sess: s, node: node, stateDir: stateDir, log: s.log, metrics: m, jobs: newBackupJobs(time.Now)}
	ms.backup = func(ctx context.Context, name, typ string, pr engine.Progress) (*engine.BackupResult, error) {
		o := backupOptions{name: name, node: node, typ: typ}
		return s.backup(ctx, &o, pr)
	}
	return ms
}

// backupType maps the request's mode: FULL is "full", anything else
// "differential".
func backupType(m medusapb.BackupRequest_Mode) string {
	if m == medusapb.BackupRequest_FULL {
		return engine.TypeFull
	}
	return engine.TypeDifferential
}

// AsyncBackup accepts a node backup and returns at once; BackupStatus
// answers IN_PROGRESS for it from now on. The same name again is answered
// with its status; another name while one runs is refused.
func (ms *medusaServer) AsyncBackup(ctx context.Context, req *medusapb.BackupRequest) (*medusapb.BackupResponse, error) {
	a, err := ms.accept(ctx, req)
	if err != nil {
		return nil, err
	}
	return &medusapb.BackupResponse{BackupName: req.GetName(), Status: a.status}, nil
}

// Backup runs a node backup and answers when it ended. If the client goes
// away the backup goes on, as an AsyncBackup would.
func (ms *medusaServer) Backup(ctx context.Context, req *medusapb.BackupRequest) (*medusapb.BackupResponse, error) {
	a, err := ms.accept(ctx, req)
	if err != nil {
		return nil, err
	}
	if a.done != nil {
		select {
		case <-a.done:
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		st, _ := ms.jobs.lookup(req.GetName())
		a.status, a.err = st.status, st.err
	}
	if a.err != nil {
		return nil, grpcError(a.err)
	}
	return &medusapb.BackupResponse{BackupName: req.GetName(), Status: a.status}, nil
}

// accepted is how accept answers: the status now and, for a backup that
// runs here, when it ends.
type accepted struct {
	status medusapb.StatusType
	err    error
	done   <-chan struct{}
}

// accept starts backup req.Name unless this node already has it: running
// or complete here (in memory), or complete in the repository.
func (ms *medusaServer) accept(ctx context.Context, req *medusapb.BackupRequest) (accepted, error) {
	name, typ := req.GetName(), backupType(req.GetMode())
	if err := engine.ValidateName("backup", name); err != nil {
		return accepted{}, status.Error(codes.InvalidArgument, err.Error())
	}
	if _, known := ms.jobs.lookup(name); !known {
		// Not known here (a restart, or another process ran it): a complete
		// node backup is not run again.
		_, err := ms.sess.st.Stat(ctx, engine.ManifestKey(name, ms.node))
		if err == nil {
			return accepted{status: medusapb.StatusType_SUCCESS}, nil
		}
		if !errors.Is(err, providers.ErrNotFound) {
			return accepted{}, grpcError(err)
		}
	}
	j, err := ms.jobs.start(name, typ, func(ctx context.Context, wrap func(engine.Progress) engine.Progress) (*engine.BackupResult, error) {
		ms.metrics.backupStarted()
		ms.log.Info("backup started", "backup", name, "node", ms.node, "type", typ)
		pr := newProgress("backup", io.Discard, ms.log)
		res, err := ms.backup(ctx, name, typ, wrap(ms.metrics.progress(pr)))
		pr.done(err == nil)
		return res, err
	}, func(res *engine.BackupResult, err error) {
		ms.metrics.backupEnded(res, err)
		if err != nil {
			ms.log.Error("backup failed", "backup", name, "node", ms.node, "err", oneLine(err))
			return
		}
		ms.log.Info("backup complete", "backup", name, "node", ms.node, "files", res.Header.Summary.Files,
			"bytes", res.Header.Summary.Bytes, "duration", res.Duration.Round(time.Millisecond))
	})
	if err != nil {
		return accepted{}, err
	}
	ms.jobs.mu.Lock()
	defer ms.jobs.mu.Unlock()
	return accepted{status: j.status, err: j.err, done: j.done}, nil
}

// BackupStatus answers for this node's part of a backup: from memory for
// the backups this server accepted (IN_PROGRESS from the first poll on),
// else from the repository. An unknown name is NOT_FOUND.
func (ms *medusaServer) BackupStatus(ctx context.Context, req *medusapb.BackupStatusRequest) (*medusapb.BackupStatusResponse, error) {
	name := req.GetBackupName()
	if err := engine.ValidateName("backup", name); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	st, ok := ms.jobs.lookup(name)
	switch {
	case !ok:
		return ms.repoStatus(ctx, name)
	case st.status == medusapb.StatusType_SUCCESS:
		// Still there? DeleteBackup on any node may have removed it.
		if _, err := ms.sess.st.Stat(ctx, engine.ManifestKey(name, ms.node)); errors.Is(err, providers.ErrNotFound) {
			return nil, status.Errorf(codes.NotFound, "backup %q does not exist for node %s (it was deleted)", name, ms.node)
		} else if err != nil {
			return nil, grpcError(err)
		}
	}
	setProgressHeader(ctx, st)
	return statusResponse(st.status, st.started, st.finished), nil
}

// Response headers of BackupStatus, beyond Medusa's message: how far this
// node's backup got and, when it failed, why. Headers keep the message
// itself wire-identical to Medusa's; the operator ignores them, and
// `cassette control` shows them on Backup Activity (docs/control.md).
const (
	// headerProgress: "files=DONE/TOTAL bytes=DONE/TOTAL".
	headerProgress = "cassette-progress"
	// headerError: the one-line error of a FAILED backup (binary header,
	// so any UTF-8 travels).
	headerError = "cassette-error-bin"
)

func setProgressHeader(ctx context.Context, st jobState) {
	p := st.progress
	md := metadata.Pairs(headerProgress, fmt.Sprintf("files=%d/%d bytes=%d/%d", p.FilesDone, p.FilesTotal, p.BytesDone, p.BytesTotal))
	if st.err != nil {
		md.Append(headerError, oneLine(st.err))
	}
	// An error here means the stream is gone or headers were sent; the
	// answer itself still goes out.
	_ = grpc.SetHeader(ctx, md)
}

func statusResponse(s medusapb.StatusType, started, finished time.Time) *medusapb.BackupStatusResponse {
	r := &medusapb.BackupStatusResponse{StartTime: statusTime(started), Status: s}
	if s != medusapb.StatusType_IN_PROGRESS {
		r.FinishTime = statusTime(finished)
	}
	return r
}

// repoStatus derives this node's status of backup name from its objects:
// the manifest means SUCCESS, the failed marker FAILED, the started marker
// alone IN_PROGRESS while a live lock shows a process running it (and
// FAILED when none does: that process died).
func (ms *medusaServer) repoStatus(ctx context.Context, name string) (*medusapb.BackupStatusResponse, error) {
	st := ms.sess.st
	prefix := string(engine.StartedKey(name, ms.node))
	prefix = prefix[:strings.LastIndex(prefix, "/")+1]
	objs := map[string]bool{}
	err := st.List(ctx, prefix, func(oi providers.ObjectInfo) error {
		objs[strings.TrimPrefix(string(oi.Key), prefix)] = true
		return nil
	})
	if err != nil {
		return nil, grpcError(err)
	}
	eng := ms.sess.engine()
	switch {
	case objs["manifest"]:
		h, err := eng.ReadManifest(ctx, name, ms.node, nil)
		if err != nil {
			return nil, grpcError(err)
		}
		return statusResponse(medusapb.StatusType_SUCCESS, h.Started, h.Finished), nil
	case objs["failed"]:
		var f struct {
			Failed time.Time `json:"failed"`
		}
		_ = getJSON(ctx, st, engine.FailedKey(name, ms.node), &f)
		return statusResponse(medusapb.StatusType_FAILED, ms.startedAt(ctx, name), f.Failed), nil
	case objs["started"]:
		started := ms.startedAt(ctx, name)
		locks, err := eng.ListLocks(ctx)
		if err != nil {
			return nil, grpcError(err)
		}
		for _, l := range locks {
			if l.Node == ms.node && l.Op == "backup "+name && !l.Stale(time.Now(), engine.DefaultStaleAfter) {
				return statusResponse(medusapb.StatusType_IN_PROGRESS, started, time.Time{}), nil
			}
		}
		return statusResponse(medusapb.StatusType_FAILED, started, time.Time{}), nil
	}
	return nil, status.Errorf(codes.NotFound, "backup %q does not exist for node %s", name, ms.node)
}

// startedAt reads the start time from the node's started marker (zero when
// unreadable).
func (ms *medusaServer) startedAt(ctx context.Context, name string) time.Time {
	var m engine.Marker
	_ = getJSON(ctx, ms.sess.st, engine.StartedKey(name, ms.node), &m)
	return m.Started
}

// getJSON decodes a small JSON object.
func getJSON(ctx context.Context, st providers.Storage, key providers.Key, v any) error {
	return st.Get(ctx, key, 0, -1, func(r io.Reader) error {
		return json.NewDecoder(io.LimitReader(r, 1<<20)).Decode(v)
	})
}

// GetBackup returns the cluster summary of one backup.
func (ms *medusaServer) GetBackup(ctx context.Context, req *medusapb.GetBackupRequest) (*medusapb.GetBackupResponse, error) {
	name := req.GetBackupName()
	if err := engine.ValidateName("backup", name); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	cb, err := ms.sess.engine().ClusterStatus(ctx, name)
	if err != nil {
		return nil, grpcError(err)
	}
	sum := backupSummary(cb)
	return &medusapb.GetBackupResponse{Backup: sum, Status: sum.GetStatus()}, nil
}

// GetBackups lists every backup, oldest first, from the summaries: a
// request per backup, never a manifest.
func (ms *medusaServer) GetBackups(ctx context.Context, _ *medusapb.GetBackupsRequest) (*medusapb.GetBackupsResponse, error) {
	list, err := ms.sess.engine().ListClusterBackups(ctx)
	if err != nil {
		return nil, grpcError(err)
	}
	resp := &medusapb.GetBackupsResponse{Backups: make([]*medusapb.BackupSummary, 0, len(list))}
	for i := range list {
		resp.Backups = append(resp.Backups, backupSummary(&list[i]))
	}
	resp.OverallStatus = overallStatus(resp.Backups)
	return resp, nil
}

// overallStatus is Medusa's: UNKNOWN for no backups or when any is
// unknown, else FAILED when any failed, else IN_PROGRESS when any runs,
// else SUCCESS.
func overallStatus(list []*medusapb.BackupSummary) medusapb.StatusType {
	if len(list) == 0 {
		return medusapb.StatusType_UNKNOWN
	}
	has := map[medusapb.StatusType]bool{}
	for _, b := range list {
		has[b.GetStatus()] = true
	}
	for _, s := range []medusapb.StatusType{medusapb.StatusType_UNKNOWN, medusapb.StatusType_FAILED, medusapb.StatusType_IN_PROGRESS} {
		if has[s] {
			return s
		}
	}
	return medusapb.StatusType_SUCCESS
}

// backupSummary is the MedusaBackup shape of a cluster backup.
func backupSummary(cb *engine.ClusterBackup) *medusapb.BackupSummary {
	s := &medusapb.BackupSummary{
		BackupName:    cb.Name,
		StartTime:     unixSeconds(cb.StartTime),
		TotalNodes:    clampInt32(int64(cb.TotalNodes)),
		FinishedNodes: clampInt32(int64(cb.FinishedNodes)),
		Status:        statusType(cb.Status),
		BackupType:    engine.TypeDifferential,
		TotalSize:     cb.TotalSize,
		TotalObjects:  cb.TotalFiles,
	}
	if cb.FinishTime != nil {
		s.FinishTime = unixSeconds(*cb.FinishTime)
	}
	if cb.BackupType == engine.TypeFull {
		s.BackupType = engine.TypeFull
	}
	s.Nodes = make([]*medusapb.BackupNode, 0, len(cb.Nodes))
	for _, n := range cb.Nodes {
		s.Nodes = append(s.Nodes, &medusapb.BackupNode{Host: n.Host, Tokens: n.Tokens, Datacenter: n.Datacenter, Rack: n.Rack})
	}
	return s
}

func statusType(s string) medusapb.StatusType {
	switch s {
	case engine.StatusInProgress:
		return medusapb.StatusType_IN_PROGRESS
	case engine.StatusSuccess:
		return medusapb.StatusType_SUCCESS
	case engine.StatusFailed:
		return medusapb.StatusType_FAILED
	}
	return medusapb.StatusType_UNKNOWN
}

func unixSeconds(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func clampInt32(v int64) int32 {
	return int32(min(max(v, 0), math.MaxInt32))
}

// DeleteBackup deletes backup name for every node. A backup that runs on
// this node is refused.
func (ms *medusaServer) DeleteBackup(ctx context.Context, req *medusapb.DeleteBackupRequest) (*medusapb.DeleteBackupResponse, error) {
	name := req.GetName()
	if err := engine.ValidateName("backup", name); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if ms.jobs.runningName() == name {
		return nil, status.Errorf(codes.FailedPrecondition, "backup %q is running on this node; delete it once it finished", name)
	}
	gone, err := ms.sess.engine().Delete(ctx, name, "")
	if err != nil {
		return nil, grpcError(err)
	}
	ms.jobs.forget(name)
	for _, d := range gone {
		ms.log.Info("backup deleted", "backup", d.Name, "node", d.Node)
	}
	return &medusapb.DeleteBackupResponse{Name: name, Status: medusapb.StatusType_SUCCESS}, nil
}

// PurgeBackups applies maxBackupAge and maxBackupCount to this node's
// backups and collects the garbage, as `cassette purge` does.
func (ms *medusaServer) PurgeBackups(ctx context.Context, _ *medusapb.PurgeBackupsRequest) (*medusapb.PurgeBackupsResponse, error) {
	sp := ms.sess.cfg.Storage
	o := engine.PurgeOptions{
		MaxAge: time.Duration(sp.MaxBackupAge) * day, MaxCount: sp.MaxBackupCount,
		Grace: time.Duration(sp.BackupGracePeriodInDays) * day, Node: ms.node, GC: true,
	}
	ms.log.Info("purge started", "node", ms.node, "maxBackupAge", sp.MaxBackupAge, "maxBackupCount", sp.MaxBackupCount)
	res, err := ms.sess.engine().Purge(ctx, o)
	ms.metrics.purgeEnded(res, err)
	if err != nil {
		ms.log.Error("purge failed", "node", ms.node, "err", oneLine(err))
		return nil, grpcError(err)
	}
	for _, d := range res.Deleted {
		ms.log.Info("backup purged", "backup", d.Name, "node", d.Node, "why", d.Why)
	}
	return &medusapb.PurgeBackupsResponse{
		NbBackupsPurged:           clampInt32(int64(res.BackupsPurged)),
		NbObjectsPurged:           clampInt32(res.ObjectsPurged),
		TotalPurgedSize:           res.BytesFreed,
		TotalObjectsWithinGcGrace: clampInt32(res.ObjectsInGrace),
	}, nil
}

// grpcError turns an error into a gRPC status with a one-line message.
func grpcError(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	var ue usageError
	code := codes.Internal
	switch {
	case errors.As(err, &ue):
		code = codes.InvalidArgument
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, engine.ErrBackupNotFound), errors.Is(err, chunkstore.ErrNoRepository), errors.Is(err, providers.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, engine.ErrBackupExists):
		code = codes.AlreadyExists
	case errors.Is(err, engine.ErrLocked):
		code = codes.FailedPrecondition
	case errors.Is(err, chunkstore.ErrIntegrity), errors.Is(err, chunkstore.ErrBlobNotFound):
		code = codes.DataLoss
	}
	return status.Error(code, oneLine(err))
}
