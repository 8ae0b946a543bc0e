// Package s3 is cassette's backend for Amazon S3 and S3-compatible object
// stores (MinIO, Ceph Object Gateway, OpenStack Swift's S3 layer), built on
// aws-sdk-go-v2.
//
// The storage kinds follow Medusa's storage_provider values:
//
//   - "s3": AWS, addressed by region with virtual-hosted bucket names (or
//     path-style against host/port when a host is configured);
//   - "s3_compatible" and "s3_rgw": a server at host/port, https unless
//     secure is false, path-style addressing.
//
// Credentials come from an AWS INI credentials file (the mounted
// storageSecretRef) or, when none is configured, from the SDK's default
// chain (environment, instance role).
//
// Retries are classified once, by cassette's providers/retry decorator: the
// SDK's own retryer is disabled. The one exception is a multipart upload,
// whose parts are buffered and retried here (transient failures only),
// because a streamed payload cannot be sent again by a decorator.
//
// Large objects upload as multipart uploads with parts sent in parallel. One
// process-wide limit of concurrentTransfers bounds the part buffers (memory
// is at most concurrentTransfers x part size) and another of the same size
// bounds the requests in flight, shared by every Put and Get of a Storage.
package s3
