package s3

import (
	"context"
	"sync/atomic"

	"github.com/aws/smithy-go/middleware"
)

// Stats counts the requests a Storage sent and the object bytes it moved,
// for the bench harness (requests per GB, throughput). Every attempt of a
// retried part counts.
type Stats struct {
	// PutRequests: PutObject and UploadPart.
	PutRequests int64
	// GetRequests: GetObject.
	GetRequests int64
	// HeadRequests: HeadObject and HeadBucket.
	HeadRequests int64
	// ListRequests: ListObjectsV2 and ListMultipartUploads pages.
	ListRequests int64
	// DeleteRequests: DeleteObject, DeleteObjects and AbortMultipartUpload.
	DeleteRequests int64
	// OtherRequests: creating and completing multipart uploads, bucket
	// creation.
	OtherRequests int64
	// BytesUp is the object data sent (parts and objects, each attempt).
	BytesUp int64
	// BytesDown is the object data read by Get callbacks.
	BytesDown int64
}

// Stats returns a snapshot of the counters since the Storage was opened.
func (s *Storage) Stats() Stats {
	c := &s.stats
	return Stats{
		PutRequests:    c.put.Load(),
		GetRequests:    c.get.Load(),
		HeadRequests:   c.head.Load(),
		ListRequests:   c.list.Load(),
		DeleteRequests: c.del.Load(),
		OtherRequests:  c.other.Load(),
		BytesUp:        c.up.Load(),
		BytesDown:      c.down.Load(),
	}
}

type counters struct {
	put, get, head, list, del, other, up, down atomic.Int64
}

// middleware counts each request attempt by operation, after the SDK's
// (disabled) retry step so attempts are counted one by one.
func (c *counters) middleware(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("cassetteRequestStats",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
			middleware.FinalizeOutput, middleware.Metadata, error,
		) {
			c.count(middleware.GetOperationName(ctx))
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}

func (c *counters) count(op string) {
	switch op {
	case "PutObject", "UploadPart":
		c.put.Add(1)
	case "GetObject":
		c.get.Add(1)
	case "HeadObject", "HeadBucket":
		c.head.Add(1)
	case "ListObjectsV2", "ListMultipartUploads":
		c.list.Add(1)
	case "DeleteObject", "DeleteObjects", "AbortMultipartUpload":
		c.del.Add(1)
	default:
		c.other.Add(1)
	}
}
