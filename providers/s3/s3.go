package s3

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/sync/semaphore"

	"github.com/cassette-backup/cassette/providers"
)

// Storage kinds (providers.StorageProperties.StorageProvider) this package
// serves.
const (
	KindAWS        = "s3"
	KindCompatible = "s3_compatible"
	KindRGW        = "s3_rgw"
)

// Part sizes. S3 requires every part but the last to be at least MinPartSize;
// an upload has at most MaxParts parts.
const (
	DefaultPartSize int64 = 8 << 20
	MinPartSize     int64 = 5 << 20
	MaxPartSize     int64 = 5 << 30
	MaxParts              = 10000
	// DefaultDeleteBatch is the most keys one DeleteObjects request takes.
	DefaultDeleteBatch = 1000
	// DefaultPartAttempts is how often one part is sent before a transient
	// failure fails the whole upload.
	DefaultPartAttempts = 3
)

// Options tune a Storage beyond what StorageProperties holds. The zero value
// is ready to use.
type Options struct {
	// Logger receives warnings (plain-HTTP endpoints, failed aborts) and
	// debug lines (part retries). Nil discards.
	Logger *slog.Logger
	// HTTPClient replaces the client built from the TLS settings (tests).
	HTTPClient *http.Client
	// PartSize is the multipart part size; 0 takes sp.MultipartPartSize,
	// then DefaultPartSize. Objects up to PartSize go up in one PutObject.
	PartSize int64
	// ListPageSize overrides sp.ListPageSize (0 keeps it; 0 there means the
	// server's default of 1,000).
	ListPageSize int
	// DeleteBatch is the number of keys per DeleteObjects request
	// (default and maximum 1,000).
	DeleteBatch int
	// PartAttempts is how often a buffered part (or a buffered one-shot
	// object) is sent before giving up (default 3).
	PartAttempts int
	// RetryBackoff is the first pause between part attempts (default
	// 200ms, doubling).
	RetryBackoff time.Duration
	// ConditionalCreate overrides whether the server honours If-None-Match
	// on PUT (the default is true). Create probes the server and records the
	// answer in Properties; persist it and pass it back on Open.
	ConditionalCreate *bool
	// Now is the clock for AbortStaleUploads (default time.Now).
	Now func() time.Time
}

// Validate applies defaults from sp and checks the options.
func (o *Options) Validate(sp providers.StorageProperties) error {
	if o.PartSize == 0 {
		o.PartSize = sp.MultipartPartSize
	}
	if o.PartSize == 0 {
		o.PartSize = DefaultPartSize
	}
	if o.PartSize < MinPartSize || o.PartSize > MaxPartSize {
		return fmt.Errorf("s3: multipart part size %d is outside S3's limits [%d, %d]", o.PartSize, MinPartSize, MaxPartSize)
	}
	if o.ListPageSize == 0 {
		o.ListPageSize = sp.ListPageSize
	}
	if o.ListPageSize < 0 || o.ListPageSize > 1000 {
		return fmt.Errorf("s3: list page size %d is outside [1, 1000]", o.ListPageSize)
	}
	if o.DeleteBatch == 0 {
		o.DeleteBatch = DefaultDeleteBatch
	}
	if o.DeleteBatch < 1 || o.DeleteBatch > DefaultDeleteBatch {
		return fmt.Errorf("s3: delete batch %d is outside [1, 1000]", o.DeleteBatch)
	}
	if o.PartAttempts <= 0 {
		o.PartAttempts = DefaultPartAttempts
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = 200 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Storage is a providers.Storage on one S3 bucket and prefix. It is safe for
// concurrent use.
type Storage struct {
	client   *s3sdk.Client
	http     *http.Client // nil when the caller supplied one
	opts     Options
	kind     string
	region   string
	bucket   string
	root     string // prefix without slashes; "" for the bucket root
	credFrom string // where credentials come from, for messages
	condPut  bool
	sse      sseSettings
	checksum bool // request checksums on (when_supported)
	xfers    *semaphore.Weighted
	bufs     *bufferPool
	stats    providers.Counters
	transfer int
}

var _ providers.Storage = (*Storage)(nil)

// Open connects to an existing bucket. It never creates the bucket: a
// missing one is providers.ErrNotFound with a hint to run init.
func Open(ctx context.Context, sp providers.StorageProperties, opts Options) (*Storage, error) {
	s, err := newStorage(ctx, sp, opts)
	if err != nil {
		return nil, err
	}
	if err := s.headBucket(ctx); err != nil {
		s.closeIdle()
		if errors.Is(err, providers.ErrNotFound) {
			return nil, fmt.Errorf("%w (run cassette init to create it)", err)
		}
		return nil, err
	}
	return s, nil
}

// Create opens the bucket, creating it first when it does not exist and the
// credentials allow. Unless opts.ConditionalCreate is set it then probes
// whether the server honours If-None-Match on PUT and records the answer in
// Properties().ConditionalCreate.
func Create(ctx context.Context, sp providers.StorageProperties, opts Options) (*Storage, error) {
	s, err := newStorage(ctx, sp, opts)
	if err != nil {
		return nil, err
	}
	if err := s.ensureBucket(ctx); err != nil {
		s.closeIdle()
		return nil, err
	}
	if opts.ConditionalCreate == nil {
		ok, err := s.ProbeConditionalCreate(ctx)
		if err != nil {
			s.closeIdle()
			return nil, err
		}
		s.condPut = ok
	}
	return s, nil
}

func newStorage(ctx context.Context, sp providers.StorageProperties, opts Options) (*Storage, error) {
	if err := opts.Validate(sp); err != nil {
		return nil, err
	}
	if sp.BucketName == "" {
		return nil, fmt.Errorf("s3: bucketName is not set")
	}
	ep, err := resolveEndpoint(sp, opts.Logger)
	if err != nil {
		return nil, err
	}
	sse, err := newSSE(sp)
	if err != nil {
		return nil, err
	}
	reqSum, respSum, err := checksumModes(sp.RequestChecksum)
	if err != nil {
		return nil, err
	}
	creds, envRegion, credFrom, err := loadCredentials(ctx, sp)
	if err != nil {
		return nil, err
	}
	region := sp.Region
	if region == "" {
		region = envRegion
	}
	if region == "" {
		region = "us-east-1"
	}
	s := &Storage{
		opts:     opts,
		kind:     sp.StorageProvider,
		region:   region,
		bucket:   sp.BucketName,
		root:     strings.Trim(sp.Prefix, "/"),
		credFrom: credFrom,
		condPut:  opts.ConditionalCreate == nil || *opts.ConditionalCreate,
		sse:      sse,
		checksum: reqSum == aws.RequestChecksumCalculationWhenSupported,
		transfer: sp.Transfers(),
		xfers:    semaphore.NewWeighted(int64(sp.Transfers())),
		bufs:     newBufferPool(sp.Transfers(), int(opts.PartSize)),
	}
	hc := opts.HTTPClient
	if !sp.VerifyTLS() && sp.IsSecure() {
		opts.Logger.Warn("s3: TLS certificates are not verified (sslVerify: false); anyone on the path can impersonate the server",
			"bucket", sp.BucketName)
	}
	if hc == nil {
		if hc, err = newHTTPClient(sp, s.transfer); err != nil {
			return nil, err
		}
		s.http = hc
	}
	s.client = s3sdk.New(s3sdk.Options{
		Region:      region,
		Credentials: creds,
		HTTPClient:  hc,
		// Whole requests are retried by cassette's retry decorator, which
		// classifies errors once; an SDK retryer underneath would multiply
		// its attempts. Buffered multipart parts are retried in put.go.
		Retryer:                    aws.NopRetryer{},
		BaseEndpoint:               ep.baseURL,
		UsePathStyle:               ep.pathStyle,
		RequestChecksumCalculation: reqSum,
		ResponseChecksumValidation: respSum,
		// Multipart objects carry no whole-object checksum to validate.
		DisableLogOutputChecksumValidationSkipped: true,
		APIOptions: []func(*middleware.Stack) error{countRequests(&s.stats)},
	})
	return s, nil
}

// Properties reports the backend's capabilities.
func (s *Storage) Properties() providers.Properties {
	page := s.opts.ListPageSize
	if page == 0 {
		page = 1000
	}
	name := s.kind + ":" + s.bucket
	if s.root != "" {
		name += "/" + s.root
	}
	return providers.Properties{
		Name:              name,
		ConditionalCreate: s.condPut,
		DeleteBatch:       s.opts.DeleteBatch,
		ListPageSize:      page,
		Concurrency:       s.transfer,
	}
}

// PartSize is the multipart part size in use.
func (s *Storage) PartSize() int64 { return s.opts.PartSize }

// Close releases idle connections. In-flight calls are not interrupted.
func (s *Storage) Close(context.Context) error {
	s.closeIdle()
	s.bufs.drain()
	return nil
}

func (s *Storage) closeIdle() {
	if s.http != nil {
		s.http.CloseIdleConnections()
	}
}

// objectKey maps a repository key to the bucket's object key.
func (s *Storage) objectKey(k providers.Key) string {
	if s.root == "" {
		return string(k)
	}
	return s.root + "/" + string(k)
}

// listPrefix maps a repository key prefix to the bucket's.
func (s *Storage) listPrefix(prefix string) string {
	if s.root == "" {
		return prefix
	}
	return s.root + "/" + prefix
}

// repoKey maps a bucket object key back to the repository key.
func (s *Storage) repoKey(objKey string) providers.Key {
	if s.root == "" {
		return providers.Key(objKey)
	}
	return providers.Key(strings.TrimPrefix(objKey, s.root+"/"))
}
