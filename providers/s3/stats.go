package s3

import (
	"context"

	"github.com/aws/smithy-go/middleware"

	"github.com/cassette-backup/cassette/providers"
)

// Stats returns the requests sent and the object bytes moved since the
// Storage was opened. PutObject and UploadPart count as Puts, GetObject as
// Gets, HeadObject and HeadBucket as Heads, ListObjectsV2 and
// ListMultipartUploads pages as Lists, DeleteObject, DeleteObjects and
// AbortMultipartUpload as Deletes, and the rest (creating and completing
// multipart uploads, bucket creation) as Others. BytesUp is the object data
// sent (each attempt), BytesDown the object data read by Get callbacks.
func (s *Storage) Stats() providers.Stats { return s.stats.Snapshot() }

// countRequests is SDK middleware that counts each request attempt by
// operation, after the SDK's (disabled) retry step so attempts are counted
// one by one.
func countRequests(c *providers.Counters) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("cassetteRequestStats",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
				middleware.FinalizeOutput, middleware.Metadata, error,
			) {
				c.Request(requestKind(middleware.GetOperationName(ctx)))
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	}
}

// requestKind sorts an S3 operation into the Stats kinds.
func requestKind(op string) providers.RequestKind {
	switch op {
	case "PutObject", "UploadPart":
		return providers.RequestPut
	case "GetObject":
		return providers.RequestGet
	case "HeadObject", "HeadBucket":
		return providers.RequestHead
	case "ListObjectsV2", "ListMultipartUploads":
		return providers.RequestList
	case "DeleteObject", "DeleteObjects", "AbortMultipartUpload":
		return providers.RequestDelete
	}
	return providers.RequestOther
}
