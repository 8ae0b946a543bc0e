package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cassette-backup/cassette/index"
	"github.com/cassette-backup/cassette/providers"
)

// Repository locks (docs/format.md, "Locks").
//
// Backups take shared locks; the garbage collector's sweep takes an
// exclusive one. A lock is an object locks/<kind>-<random id> holding who
// took it and when it was last refreshed. The holder rewrites it every
// StaleAfter/4; a lock not refreshed for StaleAfter is stale and may be
// removed by anyone. Taking a lock is: write one's own lock object, then
// list locks/ and read the others. Because both sides write before they
// look, a backup and a sweep that start together cannot both miss each
// other: at least one sees the other and backs off (the listing is strongly
// consistent on every supported backend). A backup never breaks a live
// lock and waits at most LockWait for an exclusive one to go.

const locksPrefix = "locks/"

// Lock kinds.
const (
	LockShared    = "shared"
	LockExclusive = "exclusive"
)

// Default lock timings.
const (
	DefaultStaleAfter = 30 * time.Minute
	DefaultLockWait   = 5 * time.Minute
)

// ErrLocked is returned when a live lock prevents taking one.
var ErrLocked = errors.New("repository is locked")

// LockInfo is the content of a lock object.
type LockInfo struct {
	Kind      string    `json:"kind"`
	Op        string    `json:"op"`             // backup, purge, gc, ...
	Node      string    `json:"node,omitempty"` // the Cassandra node, when there is one
	Host      string    `json:"host"`           // the machine
	PID       int       `json:"pid"`
	Created   time.Time `json:"created"`
	Refreshed time.Time `json:"refreshed"`
	// StaleAfterSeconds is the holder's stale timeout: it refreshes the lock
	// every quarter of it. Absent from locks of earlier versions.
	StaleAfterSeconds int64 `json:"staleAfterSeconds,omitempty"`

	// Key is where the lock lives (not stored).
	Key providers.Key `json:"-"`
}

func (l LockInfo) String() string {
	who := l.Host
	if l.Node != "" {
		who = "node " + l.Node + " on " + l.Host
	}
	return fmt.Sprintf("%s lock for %s by %s (pid %d) since %s, refreshed %s (%s)", l.Kind, l.Op, who, l.PID,
		l.Created.UTC().Format(time.RFC3339), l.Refreshed.UTC().Format(time.RFC3339), l.Key)
}

// Stale reports whether the lock was not refreshed for staleAfter, or for
// its holder's own timeout when that is longer: a process configured with a
// shorter timeout than the holder's must not take a live lock for a dead
// one (the holder refreshes at a quarter of its own timeout).
func (l LockInfo) Stale(now time.Time, staleAfter time.Duration) bool {
	return now.Sub(l.Refreshed) > max(staleAfter, time.Duration(l.StaleAfterSeconds)*time.Second)
}

// LockOptions tune locking; zero values take the defaults.
type LockOptions struct {
	StaleAfter time.Duration
	// Wait bounds how long a shared lock waits for an exclusive one to be
	// released (0: DefaultLockWait; negative: do not wait).
	Wait time.Duration
	// Node names the Cassandra node taking the lock, for messages.
	Node string
}

func (o LockOptions) staleAfter() time.Duration {
	if o.StaleAfter <= 0 {
		return DefaultStaleAfter
	}
	return o.StaleAfter
}

// Lock is a held lock. It refreshes itself until Release.
type Lock struct {
	e          *Engine
	info       LockInfo
	staleAfter time.Duration

	mu          sync.Mutex
	lastRefresh time.Time // local clock: when the object was last written
	lost        error

	stop chan struct{}
	done chan struct{}
}

// ListLocks returns every lock object of the repository. Unreadable ones
// (whose content is not a lock) are returned with only Key set and a zero
// Refreshed time, so they count as stale. A lock that cannot be read (the
// read failed) is an error, never a stale lock: its holder may be alive.
func (e *Engine) ListLocks(ctx context.Context) ([]LockInfo, error) {
	st := e.Repo.Storage()
	var keys []providers.Key
	if err := st.List(ctx, locksPrefix, func(oi providers.ObjectInfo) error {
		keys = append(keys, oi.Key)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("list %s: %w", locksPrefix, err)
	}
	out := make([]LockInfo, 0, len(keys))
	for _, k := range keys {
		var b []byte
		err := st.Get(ctx, k, 0, -1, func(r io.Reader) error {
			var err error
			b, err = io.ReadAll(io.LimitReader(r, 64<<10))
			return err
		})
		if errors.Is(err, providers.ErrNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("read lock %s: %w", k, err)
		}
		var li LockInfo
		if json.Unmarshal(b, &li) != nil {
			li = LockInfo{}
		}
		li.Key = k
		out = append(out, li)
	}
	return out, nil
}

// AcquireLock takes a lock of the given kind for op.
func (e *Engine) AcquireLock(ctx context.Context, kind, op string, o LockOptions) (*Lock, error) {
	if kind != LockShared && kind != LockExclusive {
		return nil, fmt.Errorf("lock kind %q", kind)
	}
	host, _ := os.Hostname()
	now := e.now()
	l := &Lock{e: e, staleAfter: o.staleAfter(), info: LockInfo{Kind: kind, Op: op, Node: o.Node, Host: host, PID: os.Getpid(), Created: now, Refreshed: now,
		StaleAfterSeconds: int64(o.staleAfter() / time.Second),
		Key:               providers.Key(locksPrefix + kind + "-" + index.RandomID().String()[:32])}}
	wait := o.Wait
	if wait == 0 {
		wait = DefaultLockWait
	}
	deadline := time.Now().Add(wait)
	delay := time.Second
	for {
		if err := l.write(ctx); err != nil {
			return nil, err
		}
		blocker, err := l.conflict(ctx)
		if err == nil && blocker == nil {
			break
		}
		l.remove()
		if err != nil {
			return nil, err
		}
		if kind == LockExclusive || wait < 0 || time.Now().Add(delay).After(deadline) {
			return nil, fmt.Errorf("%w: %s; wait for it to finish, or if that process is gone remove it with `cassette unlock --stale` once it is stale (after %s)", ErrLocked, blocker, l.staleAfter)
		}
		e.log().Info("waiting for an exclusive lock to be released", "lock", blocker.String())
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 30*time.Second)
	}
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go l.refresher()
	return l, nil
}

// conflict returns a live lock that conflicts with l. Stale locks found by
// an exclusive locker are removed: their holder is gone, and a holder that
// is merely slow finds its lock missing and fails before it commits
// anything (Lock.Check).
func (l *Lock) conflict(ctx context.Context) (*LockInfo, error) {
	locks, err := l.e.ListLocks(ctx)
	if err != nil {
		return nil, err
	}
	now := l.e.now()
	for _, o := range locks {
		if o.Key == l.info.Key {
			continue
		}
		if o.Stale(now, l.staleAfter) {
			if l.info.Kind == LockExclusive {
				l.e.log().Warn("removing a stale lock", "lock", o.String())
				if err := l.e.Repo.Storage().Delete(ctx, o.Key); err != nil {
					return nil, fmt.Errorf("remove stale lock %s: %w", o.Key, err)
				}
			}
			continue
		}
		if l.info.Kind == LockExclusive || o.Kind == LockExclusive {
			o := o
			return &o, nil
		}
	}
	return nil, nil
}

func (l *Lock) write(ctx context.Context) error {
	l.mu.Lock()
	l.info.Refreshed = l.e.now()
	b, _ := json.Marshal(l.info)
	l.mu.Unlock()
	started := time.Now()
	if err := l.e.Repo.Storage().Put(ctx, l.info.Key, providers.Bytes(b), providers.PutOptions{}); err != nil {
		return fmt.Errorf("write lock %s: %w", l.info.Key, err)
	}
	l.mu.Lock()
	l.lastRefresh = started
	l.mu.Unlock()
	return nil
}

func (l *Lock) remove() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.e.Repo.Storage().Delete(ctx, l.info.Key); err != nil {
		l.e.log().Warn("could not remove lock; it goes stale by itself", "lock", l.info.Key, "err", err)
	}
}

func (l *Lock) refresher() {
	defer close(l.done)
	t := time.NewTicker(l.staleAfter / 4)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		// A lock others may have judged stale, or removed, must not come
		// back: whoever removed it may have collected what its holder
		// relies on. It stays lost, and Check says so.
		if err := l.expired(); err != nil {
			l.lose(err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.staleAfter/4)
		_, err := l.e.Repo.Storage().Stat(ctx, l.info.Key)
		if errors.Is(err, providers.ErrNotFound) {
			cancel()
			l.lose(fmt.Errorf("%w: lock %s was removed as stale by another process, which may have collected data this run relies on; run it again", ErrLocked, l.info.Key))
			return
		}
		if err == nil {
			err = l.write(ctx)
		}
		cancel()
		if err != nil {
			l.e.log().Warn("lock refresh failed; retrying", "lock", l.info.Key, "err", err)
		}
	}
}

// Check fails when the lock may no longer protect its holder: its object
// was removed (someone judged it stale) or it was not refreshed for long
// enough that others may judge it stale. Backups call it before writing
// their manifest, so a backup whose chunks a sweep may have collected never
// becomes visible.
func (l *Lock) Check(ctx context.Context) error {
	l.mu.Lock()
	lost := l.lost
	l.mu.Unlock()
	if lost != nil {
		return lost
	}
	if err := l.expired(); err != nil {
		return err
	}
	if _, err := l.e.Repo.Storage().Stat(ctx, l.info.Key); err != nil {
		if errors.Is(err, providers.ErrNotFound) {
			err = fmt.Errorf("%w: lock %s was removed as stale by another process, which may have collected data this run relies on; run it again", ErrLocked, l.info.Key)
		}
		l.mu.Lock()
		l.lost = err
		l.mu.Unlock()
		return err
	}
	return nil
}

// lose records why the lock no longer protects its holder (the first
// reason wins).
func (l *Lock) lose(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost == nil {
		l.lost = err
	}
}

// expired fails when the lock was not refreshed for long enough that
// others may judge it stale, with a margin of a quarter: clocks differ
// between machines.
func (l *Lock) expired() error {
	l.mu.Lock()
	last := l.lastRefresh
	l.mu.Unlock()
	if time.Since(last) > l.staleAfter*3/4 {
		return fmt.Errorf("%w: lock %s was last refreshed %s ago (stale after %s): another process may have collected data this run relies on; run it again",
			ErrLocked, l.info.Key, time.Since(last).Round(time.Second), l.staleAfter)
	}
	return nil
}

// Release stops refreshing and removes the lock.
func (l *Lock) Release() {
	if l == nil || l.stop == nil {
		return
	}
	close(l.stop)
	<-l.done
	l.stop = nil
	l.remove()
}

// RemoveStaleLocks deletes the locks that are stale (not refreshed for
// staleAfter, or for their holder's own longer timeout) and returns them.
// With override, staleAfter alone decides: an operator who knows the
// holders are gone (`unlock --stale --stale-after D`) need not wait for
// their timeout.
func (e *Engine) RemoveStaleLocks(ctx context.Context, staleAfter time.Duration, override bool) ([]LockInfo, error) {
	if staleAfter <= 0 {
		staleAfter = DefaultStaleAfter
	}
	locks, err := e.ListLocks(ctx)
	if err != nil {
		return nil, err
	}
	var removed []LockInfo
	now := e.now()
	for _, l := range locks {
		if override {
			l.StaleAfterSeconds = 0
		}
		if !l.Stale(now, staleAfter) {
			continue
		}
		if err := e.Repo.Storage().Delete(ctx, l.Key); err != nil {
			return removed, fmt.Errorf("remove lock %s: %w", l.Key, err)
		}
		removed = append(removed, l)
	}
	return removed, nil
}

// describeLocks is a one-line list of locks for messages.
func describeLocks(ls []LockInfo) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.String()
	}
	return strings.Join(parts, "; ")
}

// readLock takes a shared lock for an operation that only reads (restore,
// verify), so that a GC cannot move or delete packs under it: a restore
// that waits for a running GC beats one that fails halfway with "pack
// missing", and a verify must not report as damage what a GC is removing.
// The lock is advisory for readers, because reading must never be blocked:
// credentials that may only read (as Medusa's restores need) get a warning
// and no lock, and an exclusive lock still held after readLockWait (a GC
// that runs long, or one that crashed and left its lock until it goes
// stale) gets a warning naming it and the read goes on.
func (e *Engine) readLock(ctx context.Context, op string) (release func(), err error) {
	o := e.Locks
	if o.Wait >= 0 && (o.Wait == 0 || o.Wait > readLockWait) {
		o.Wait = readLockWait
	}
	l, err := e.AcquireLock(ctx, LockShared, op, o)
	switch {
	case err == nil:
		return l.Release, nil
	case errors.Is(err, providers.ErrPermission):
		e.log().Warn("going on without a lock: these credentials cannot write under locks/; a purge running meanwhile may make this fail (it never damages a backup)", "op", op)
		return func() {}, nil
	case errors.Is(err, ErrLocked):
		e.log().Warn("going on without a lock: a garbage collection holds the repository; if it is running it may make this fail (it never damages a backup)", "op", op, "error", err.Error())
		return func() {}, nil
	}
	return nil, err
}

// readLockWait bounds how long a restore or verify waits for a GC.
const readLockWait = time.Minute
