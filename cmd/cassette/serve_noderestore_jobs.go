package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cassette-backup/cassette/cmd/internal/restorepb"
	"github.com/cassette-backup/cassette/engine"
)

// restoreJob is a restore this server accepted (NodeRestore). Its fields
// are guarded by restoreJobs.mu; copies are safe to read.
type restoreJob struct {
	key, backup, source string
	started, finished   time.Time
	status              restorepb.RestoreState
	err                 error
	progress            jobProgress
}

// restoreJobs is the in-memory registry of the restores this server
// accepted: one runs at a time, never beside a backup (it rewrites the
// data directories a backup reads), and a restore answers IN_PROGRESS from
// the moment it was accepted.
type restoreJobs struct {
	node    string
	backups *backupJobs

	mu      sync.Mutex
	byKey   map[string]*restoreJob
	running *restoreJob

	ctx    context.Context // restores run under it; cancelled by stop
	cancel context.CancelFunc
	wg     sync.WaitGroup
	now    func() time.Time
}

// maxFinishedRestores bounds the registry: older restores that succeeded
// are answered from their done records.
const maxFinishedRestores = 100

func newRestoreJobs(node string, backups *backupJobs, now func() time.Time) *restoreJobs {
	ctx, cancel := context.WithCancel(context.Background())
	return &restoreJobs{node: node, backups: backups, byKey: map[string]*restoreJob{}, ctx: ctx, cancel: cancel, now: now}
}

// lookup returns a copy of restore key when this server knows it.
func (r *restoreJobs) lookup(key string) (restoreJob, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	j, ok := r.byKey[key]
	if !ok {
		return restoreJob{}, false
	}
	return *j, true
}

// start runs restore key in the background with run, unless it runs or
// succeeded here already: then it returns that job and false. Another
// restore or a backup running is a BUSY refusal. run reports its progress
// through pr, which records it in the job.
func (r *restoreJobs) start(key, backup, source string, run func(ctx context.Context, started time.Time, pr engine.Progress) error) (restoreJob, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if j := r.byKey[key]; j != nil && (j == r.running || j.status == restorepb.RestoreState_SUCCESS) {
		return *j, false, nil
	}
	if o := r.running; o != nil {
		return restoreJob{}, false, restorepb.Refuse(restorepb.RestoreRefusal_BUSY, r.node, fmt.Sprintf(
			"node %s: restore %s (backup %s) is running since %s; one restore runs at a time: wait until RestoreStatus says it ended, then start %s",
			r.node, o.key, o.backup, statusTime(o.started), key))
	}
	if r.ctx.Err() != nil {
		return restoreJob{}, false, status.Error(codes.Unavailable, "the server is shutting down; start the restore again once it is back")
	}
	if err := r.backups.block(fmt.Sprintf("restore %s (backup %s)", key, backup)); err != nil {
		return restoreJob{}, false, restorepb.Refuse(restorepb.RestoreRefusal_BUSY, r.node, fmt.Sprintf("node %s: %v", r.node, err))
	}
	j := &restoreJob{key: key, backup: backup, source: source, started: r.now(), status: restorepb.RestoreState_IN_PROGRESS}
	r.prune()
	r.byKey[key] = j
	r.running = j
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		err := run(r.ctx, j.started, &progressRecorder{mu: &r.mu, p: &j.progress})
		r.mu.Lock()
		j.finished = r.now()
		j.status, j.err = restorepb.RestoreState_SUCCESS, err
		if err != nil {
			j.status = restorepb.RestoreState_FAILED
		}
		r.running = nil
		r.mu.Unlock()
		r.backups.unblock()
	}()
	return *j, true, nil
}

// prune drops the oldest finished restores beyond maxFinishedRestores
// (r.mu held).
func (r *restoreJobs) prune() {
	for len(r.byKey) >= maxFinishedRestores {
		var oldest *restoreJob
		for _, j := range r.byKey {
			if j != r.running && (oldest == nil || j.started.Before(oldest.started)) {
				oldest = j
			}
		}
		if oldest == nil {
			return
		}
		delete(r.byKey, oldest.key)
	}
}

// stop cancels the running restore (the in-place restore then puts the
// tables it moved aside back) and waits for it to end, at most wait.
func (r *restoreJobs) stop(wait time.Duration) error {
	r.cancel()
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-time.After(wait):
		return fmt.Errorf("a restore did not stop within %s after being cancelled", wait)
	}
}

// appliedRestore is the done record of a restore that succeeded, in
// <state dir>/.restore_done/<key>: it survives a restart of the sidecar,
// so that a key is never applied twice and RestoreStatus still answers.
type appliedRestore struct {
	RestoreKey string    `json:"restore_key"`
	BackupName string    `json:"backup_name,omitempty"`
	SourceNode string    `json:"source_node,omitempty"`
	Node       string    `json:"node,omitempty"`
	Started    time.Time `json:"started,omitzero"`
	Finished   time.Time `json:"finished,omitzero"`
	Files      int64     `json:"files"`
	Bytes      int64     `json:"bytes"`
}

func restoreDonePath(stateDir, key string) string {
	return filepath.Join(stateDir, ".restore_done", key)
}

// recordApplied writes the done record, then .last-restore as the RESTORE
// container does, so that a pod restarted with the same RESTORE_KEY does
// not restore again either.
func recordApplied(stateDir string, a appliedRestore) error {
	path := restoreDonePath(stateDir, a.RestoreKey)
	if err := writeFileAtomic(path, a); err != nil {
		return fmt.Errorf("restored, but cannot record restore %s in %s: %w (the same key would restore again; is the state dir writable?)", a.RestoreKey, path, err)
	}
	return recordRestore(lastRestorePath(stateDir), a.RestoreKey)
}

// readApplied returns the done record of key, or a bare one when only
// .last-restore holds it (the RESTORE container applied it); false when
// the key was never applied here.
func readApplied(stateDir, key string) (appliedRestore, bool, error) {
	path := restoreDonePath(stateDir, key)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		var a appliedRestore
		if err := json.Unmarshal(b, &a); err != nil {
			return appliedRestore{}, false, fmt.Errorf("restore record %s: %w (delete it to restore key %s again)", path, err, key)
		}
		return a, true, nil
	case !errors.Is(err, fs.ErrNotExist):
		return appliedRestore{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	last := lastRestorePath(stateDir)
	b, err = os.ReadFile(last)
	switch {
	case err == nil && strings.TrimSpace(string(b)) == key:
		return appliedRestore{RestoreKey: key}, true, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return appliedRestore{}, false, fmt.Errorf("read %s: %w", last, err)
	}
	return appliedRestore{}, false, nil
}

// readMappingFile reads what PrepareRestore recorded for a restore key;
// fs.ErrNotExist when it recorded nothing.
func readMappingFile(path string) (*restoreMappingFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m restoreMappingFile
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("restore mapping %s: %w (call PrepareRestore again)", path, err)
	}
	return &m, nil
}
