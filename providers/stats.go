package providers

import "sync/atomic"

// Stats counts the requests a remote backend sent, by kind, and the bytes
// it moved: what the bench harness reports as requests per GB and
// throughput. Every attempt of a retried request counts. Each backend's
// Stats method says how it sorts its requests into the kinds.
type Stats struct {
	// Puts counts uploads: objects, parts (blocks, chunks) and, where the
	// backend says so, the requests that commit them.
	Puts int64
	// Gets counts object reads, and metadata reads where the backend does
	// not tell them apart.
	Gets int64
	// Heads counts metadata reads the backend tells apart from reads.
	Heads int64
	// Lists counts list pages.
	Lists int64
	// Deletes counts delete requests; a batch of deletes counts once.
	Deletes int64
	// Others counts the rest (bucket creation, starting and completing
	// multipart uploads).
	Others int64
	// BytesUp and BytesDown are the bytes sent and received: object data,
	// plus request and response bodies where the backend counts on the wire.
	BytesUp   int64
	BytesDown int64
}

// Requests is the number of requests of every kind.
func (s Stats) Requests() int64 {
	return s.Puts + s.Gets + s.Heads + s.Lists + s.Deletes + s.Others
}

// Sub returns the counts since before (a snapshot taken earlier).
func (s Stats) Sub(before Stats) Stats {
	return Stats{
		Puts: s.Puts - before.Puts, Gets: s.Gets - before.Gets, Heads: s.Heads - before.Heads,
		Lists: s.Lists - before.Lists, Deletes: s.Deletes - before.Deletes, Others: s.Others - before.Others,
		BytesUp: s.BytesUp - before.BytesUp, BytesDown: s.BytesDown - before.BytesDown,
	}
}

// RequestKind is the Stats field a request counts in.
type RequestKind int

// The kinds of request, one per request field of Stats.
const (
	RequestPut RequestKind = iota
	RequestGet
	RequestHead
	RequestList
	RequestDelete
	RequestOther
	numRequestKinds
)

// Counters is the live form of Stats, safe for concurrent use. The zero
// value is ready to use.
type Counters struct {
	requests [numRequestKinds]atomic.Int64
	up, down atomic.Int64
}

// Request counts one request of kind k (RequestOther when k is unknown).
func (c *Counters) Request(k RequestKind) {
	if k < 0 || k >= numRequestKinds {
		k = RequestOther
	}
	c.requests[k].Add(1)
}

// Up adds n bytes sent.
func (c *Counters) Up(n int64) { c.up.Add(n) }

// Down adds n bytes received.
func (c *Counters) Down(n int64) { c.down.Add(n) }

// Snapshot returns the counts so far.
func (c *Counters) Snapshot() Stats {
	return Stats{
		Puts:      c.requests[RequestPut].Load(),
		Gets:      c.requests[RequestGet].Load(),
		Heads:     c.requests[RequestHead].Load(),
		Lists:     c.requests[RequestList].Load(),
		Deletes:   c.requests[RequestDelete].Load(),
		Others:    c.requests[RequestOther].Load(),
		BytesUp:   c.up.Load(),
		BytesDown: c.down.Load(),
	}
}
