package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cassette-backup/cassette/cmd/internal/medusapb"
	"github.com/cassette-backup/cassette/engine"
)

// backupFunc runs one node backup of this node: name, type ("full" or
// "differential"), with progress reported to pr.
type backupFunc func(ctx context.Context, name, typ string, pr engine.Progress) (*engine.BackupResult, error)

// backupJob is a backup this server accepted. Its fields other than done
// are guarded by backupJobs.mu.
type backupJob struct {
	name, typ         string
	started, finished time.Time
	status            medusapb.StatusType
	err               error
	progress          jobProgress
	done              chan struct{} // closed when the backup ended
}

// jobProgress is how far a backup got: files and bytes announced and done
// (done counts files the file cache vouched for without reading them).
type jobProgress struct {
	FilesTotal, BytesTotal, FilesDone, BytesDone int64
}

// progressRecorder records a job's progress (guarded by its registry's
// mutex) and passes every call on to next (may be nil). Backups and
// restores of the sidecar both report through it.
type progressRecorder struct {
	mu   *sync.Mutex
	p    *jobProgress
	next engine.Progress
}

func (r *progressRecorder) Total(files, bytes int64) {
	r.mu.Lock()
	r.p.FilesTotal, r.p.BytesTotal = files, bytes
	r.mu.Unlock()
	if r.next != nil {
		r.next.Total(files, bytes)
	}
}

func (r *progressRecorder) File(path string, bytes int64, fromCache bool) {
	r.mu.Lock()
	r.p.FilesDone++
	r.p.BytesDone += bytes
	r.mu.Unlock()
	if r.next != nil {
		r.next.File(path, bytes, fromCache)
	}
}

// backupJobs is the in-memory registry of accepted backups: a backup answers
// IN_PROGRESS from the moment AsyncBackup accepts it, before it has written
// anything, and one backup runs at a time on the node.
type backupJobs struct {
	mu      sync.Mutex
	byName  map[string]*backupJob
	running *backupJob
	// blockedBy names the in-place restore that runs (NodeRestore): a
	// backup would read data directories the restore is rewriting, so none
	// starts meanwhile.
	blockedBy string

	ctx    context.Context // backups run under it; cancelled by stop
	cancel context.CancelFunc
	wg     sync.WaitGroup
	now    func() time.Time
}

// maxFinishedJobs bounds the registry: older finished backups are answered
// from the repository.
const maxFinishedJobs = 1000

func newBackupJobs(now func() time.Time) *backupJobs {
	ctx, cancel := context.WithCancel(context.Background())
	return &backupJobs{byName: map[string]*backupJob{}, ctx: ctx, cancel: cancel, now: now}
}

// jobState is a copy of a job's state, safe to read without the lock.
type jobState struct {
	name, typ         string
	started, finished time.Time
	status            medusapb.StatusType
	err               error
	progress          jobProgress
}

func (j *backupJob) state() jobState {
	return jobState{name: j.name, typ: j.typ, started: j.started, finished: j.finished, status: j.status, err: j.err, progress: j.progress}
}

// lookup returns the state of backup name when this server knows it.
func (b *backupJobs) lookup(name string) (jobState, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	j, ok := b.byName[name]
	if !ok {
		return jobState{}, false
	}
	return j.state(), true
}

// forget drops a finished backup (deleted from the repository).
func (b *backupJobs) forget(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if j := b.byName[name]; j != nil && j != b.running {
		delete(b.byName, name)
	}
}

// idle reports whether no backup and no restore runs.
func (b *backupJobs) idle() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.running == nil && b.blockedBy == ""
}

// block keeps backups from starting while what (an in-place restore) runs;
// it fails while a backup runs. unblock ends it.
func (b *backupJobs) block(what string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r := b.running; r != nil {
		return fmt.Errorf("backup %q is running on this node (started %s); an in-place restore waits until BackupStatus says it finished", r.name, statusTime(r.started))
	}
	b.blockedBy = what
	return nil
}

func (b *backupJobs) unblock() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.blockedBy = ""
}

// runningName returns the backup that runs, or "".
func (b *backupJobs) runningName() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running == nil {
		return ""
	}
	return b.running.name
}

// start runs backup name in the background with run, unless it already
// runs (or succeeded) here: then it returns that job. Another backup
// running is a FailedPrecondition error naming it. onEnd is called once the
// backup ended, before waiters are released. run reports its progress
// through wrap, which records it in the job.
func (b *backupJobs) start(name, typ string, run func(ctx context.Context, wrap func(engine.Progress) engine.Progress) (*engine.BackupResult, error),
	onEnd func(*engine.BackupResult, error)) (*backupJob, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if j := b.byName[name]; j != nil && (j.status == medusapb.StatusType_SUCCESS || j == b.running) {
		return j, nil
	}
	if r := b.running; r != nil {
		return nil, status.Errorf(codes.FailedPrecondition,
			"backup %q is running on this node (started %s); one backup runs at a time: wait until BackupStatus says it finished, then start %q",
			r.name, statusTime(r.started), name)
	}
	if b.blockedBy != "" {
		return nil, status.Errorf(codes.FailedPrecondition, "%s is running on this node: backups wait until it finished; start %q then", b.blockedBy, name)
	}
	if b.ctx.Err() != nil {
		return nil, status.Error(codes.Unavailable, "the server is shutting down; start the backup again once it is back")
	}
	j := &backupJob{name: name, typ: typ, started: b.now(), status: medusapb.StatusType_IN_PROGRESS, done: make(chan struct{})}
	b.prune()
	b.byName[name] = j
	b.running = j
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		res, err := run(b.ctx, func(next engine.Progress) engine.Progress {
			return &progressRecorder{mu: &b.mu, p: &j.progress, next: next}
		})
		onEnd(res, err)
		b.mu.Lock()
		j.finished = b.now()
		if err != nil {
			j.status, j.err = medusapb.StatusType_FAILED, err
		} else {
			j.status = medusapb.StatusType_SUCCESS
			j.started, j.finished = res.Header.Started, res.Header.Finished
		}
		b.running = nil
		b.mu.Unlock()
		close(j.done)
	}()
	return j, nil
}

// prune drops the oldest finished jobs beyond maxFinishedJobs (b.mu held).
func (b *backupJobs) prune() {
	for len(b.byName) >= maxFinishedJobs {
		var oldest *backupJob
		for _, j := range b.byName {
			if j != b.running && (oldest == nil || j.started.Before(oldest.started)) {
				oldest = j
			}
		}
		if oldest == nil {
			return
		}
		delete(b.byName, oldest.name)
	}
}

// stop cancels the running backup (it records its failure and clears its
// snapshot) and waits for it to end, at most wait.
func (b *backupJobs) stop(wait time.Duration) error {
	b.cancel()
	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-time.After(wait):
		return fmt.Errorf("backup %q did not stop within %s after being cancelled", b.runningName(), wait)
	}
}

// statusTime is how BackupStatus writes times: "YYYY-MM-DD HH:MM:SS", UTC;
// "" for the zero time.
func statusTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateTime)
}
