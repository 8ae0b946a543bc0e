// Package faulty is a providers.Storage decorator that injects faults, for
// tests: failed calls, lost responses, delays, truncated or corrupted reads
// and payloads that fail part-way. It also records every call, so tests can
// assert what was (or was not) written.
//
// Faults are described by Rules. A rule matches calls by operation and key
// prefix, counts the calls it matches and fires on the Nth of them, or on
// every one (or every Every-th one) after the first After, at most Times
// times:
//
//	st := faulty.New(mem.New(mem.Options{}),
//		faulty.Rule{Op: faulty.OpPut, KeyPrefix: "packs/", Nth: 2}, // 2nd pack upload fails (transient)
//		faulty.Rule{Op: faulty.OpGet, Action: faulty.Truncate, Bytes: 100, Times: 1},
//	)
//	…
//	if n := st.Count(faulty.OpPut, "packs/"); n != 0 { … }
//
// A storage without rules passes every call through unchanged.
package faulty

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/cassette-backup/cassette/providers"
)

// Op names a Storage method.
type Op string

// The operations rules match and calls are counted by.
const (
	OpPut        Op = "put"
	OpGet        Op = "get"
	OpStat       Op = "stat"
	OpList       Op = "list"
	OpDelete     Op = "delete"
	OpDeleteMany Op = "deletemany"
)

// Action is what a rule does when it fires.
type Action int

// Actions. Fail and Delay apply to every operation; the others to the
// operations named.
const (
	// Fail returns Rule.Err without calling the wrapped storage.
	Fail Action = iota
	// FailAfter calls the wrapped storage and then returns Rule.Err
	// whatever happened: a lost response (the Put did store the object).
	FailAfter
	// Delay waits Rule.Delay (or until ctx ends) and calls through.
	Delay
	// FailPayload (Put) hands the wrapped storage a payload whose reader
	// fails with Rule.Err after Rule.Bytes bytes.
	FailPayload
	// Truncate (Get) gives fn a reader that fails with Rule.Err after
	// Rule.Bytes bytes; set Err to io.EOF for a silent short read. (List)
	// fails with Rule.Err instead of delivering object number Rule.Bytes+1
	// (a listing with fewer objects is not affected).
	Truncate
	// Corrupt (Get) flips every bit of the byte at offset Rule.Bytes of
	// the data fn reads (counted from the start of the requested range).
	Corrupt
)

// ErrInjected is wrapped by the default error of every rule, together with
// providers.ErrTransient, so tests can tell injected faults from real ones.
var ErrInjected = errors.New("faulty: injected failure")

// Rule describes one fault. The zero Rule fails every call of every
// operation with a transient error.
type Rule struct {
	// Op is the operation the rule applies to; "" means all of them.
	Op Op
	// KeyPrefix limits the rule to keys starting with it. A List matches
	// when its prefix and KeyPrefix overlap (one starts with the other); a
	// DeleteMany when one of its keys matches.
	KeyPrefix string
	// Nth fires the rule on the Nth matching call only (1-based). When Nth
	// is 0 the rule fires on the matching calls after the first After:
	// all of them, or every Every-th one when Every > 0.
	Nth   int
	After int
	Every int
	// Times caps how often the rule fires; 0 means no cap.
	Times int
	// Action is what happens when the rule fires (default Fail).
	Action Action
	// Err is the injected error; nil means one wrapping ErrInjected and
	// providers.ErrTransient (and, for a truncated Get,
	// io.ErrUnexpectedEOF).
	Err error
	// Delay is waited before the call when the rule fires, whatever the
	// Action (Delay waits only).
	Delay time.Duration
	// Bytes is the position used by FailPayload, Truncate and Corrupt.
	Bytes int64
}

// Call is one recorded call of the decorator.
type Call struct {
	Op Op
	// Key is the key, or List's prefix.
	Key string
	// Keys are DeleteMany's keys.
	Keys []providers.Key
}

// rule is a Rule with its counters.
type rule struct {
	Rule
	matched int
	fired   int
}

// Storage injects faults into the calls of the Storage it wraps. It is safe
// for concurrent use, and rules may be changed while calls run.
type Storage struct {
	s providers.Storage

	mu       sync.Mutex
	rules    []*rule
	calls    []Call
	injected int
}

var (
	_ providers.Storage = (*Storage)(nil)
	_ providers.Wrapper = (*Storage)(nil)
)

// New wraps s with the given rules.
func New(s providers.Storage, rules ...Rule) *Storage {
	f := &Storage{s: s}
	for _, r := range rules {
		f.AddRule(r)
	}
	return f
}

// Unwrap returns the wrapped Storage.
func (f *Storage) Unwrap() providers.Storage { return f.s }

// AddRule adds a rule after the existing ones.
func (f *Storage) AddRule(r Rule) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, &rule{Rule: r})
}

// ClearRules removes every rule; calls pass through again.
func (f *Storage) ClearRules() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
}

// Calls returns a copy of the calls recorded so far, in order.
func (f *Storage) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Call, len(f.calls))
	copy(out, f.calls)
	return out
}

// Count returns the number of recorded calls of op ("" for any) whose key
// starts with prefix (List: whose listed prefix does; DeleteMany: with at
// least one such key).
func (f *Storage) Count(op Op, prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if (op == "" || c.Op == op) && c.matches(prefix) {
			n++
		}
	}
	return n
}

// matches reports whether the call's key (or one of its keys) starts with
// prefix.
func (c Call) matches(prefix string) bool {
	if c.Op != OpDeleteMany {
		return strings.HasPrefix(c.Key, prefix)
	}
	for _, k := range c.Keys {
		if strings.HasPrefix(string(k), prefix) {
			return true
		}
	}
	return false
}

// ResetCalls forgets the recorded calls.
func (f *Storage) ResetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

// Injected returns how many times rules have fired.
func (f *Storage) Injected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected
}

// Properties returns the wrapped storage's properties.
func (f *Storage) Properties() providers.Properties { return f.s.Properties() }

// Close closes the wrapped storage.
func (f *Storage) Close(ctx context.Context) error { return f.s.Close(ctx) }

// record logs the call and returns the rules that fire on it, in order.
func (f *Storage) record(c Call) []Rule {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
	var fired []Rule
	for _, r := range f.rules {
		if !r.matches(c) {
			continue
		}
		r.matched++
		if r.Times > 0 && r.fired >= r.Times {
			continue
		}
		if r.fires() {
			r.fired++
			f.injected++
			fired = append(fired, r.Rule)
		}
	}
	return fired
}

// fires reports whether the rule fires on its r.matched-th matching call.
func (r *rule) fires() bool {
	switch {
	case r.Nth > 0:
		return r.matched == r.Nth
	case r.matched <= r.After:
		return false
	case r.Every > 0:
		return (r.matched-r.After)%r.Every == 0
	default:
		return true
	}
}

// matches reports whether the rule applies to the call.
func (r *rule) matches(c Call) bool {
	if r.Op != "" && r.Op != c.Op {
		return false
	}
	switch c.Op {
	case OpList:
		return strings.HasPrefix(c.Key, r.KeyPrefix) || strings.HasPrefix(r.KeyPrefix, c.Key)
	default:
		return c.matches(r.KeyPrefix)
	}
}

// err is the rule's error, or the default one for op: ErrInjected and
// providers.ErrTransient, plus io.ErrUnexpectedEOF for a truncated read.
func (r Rule) err(op Op, key string, truncated bool) error {
	if r.Err != nil {
		return r.Err
	}
	err := fmt.Errorf("%w: %w", ErrInjected, providers.ErrTransient)
	if truncated {
		err = fmt.Errorf("%w: %w", err, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}

// before applies the Delay and Fail parts of the fired rules: it waits, then
// returns the first Fail rule's error, if any.
func before(ctx context.Context, op Op, key string, fired []Rule) error {
	var wait time.Duration
	for _, r := range fired {
		wait += r.Delay
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("%s %s: %w", op, key, ctx.Err())
		}
	}
	for _, r := range fired {
		if r.Action == Fail {
			return r.err(op, key, false)
		}
	}
	return nil
}

// after returns the first FailAfter rule's error, or err.
func after(op Op, key string, fired []Rule, err error) error {
	for _, r := range fired {
		if r.Action == FailAfter {
			return r.err(op, key, false)
		}
	}
	return err
}
