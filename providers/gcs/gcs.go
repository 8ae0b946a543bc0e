// Package gcs is the Google Cloud Storage backend (storageProvider
// google_storage), built on cloud.google.com/go/storage.
//
// Credentials are the service-account JSON key file named by
// credentialsFile (the Mission Control storageSecretRef secret). host, port
// and secure override the endpoint for emulators (fake-gcs-server) and
// private endpoints; with an override and no credentials file, requests are
// sent without authentication. With neither, Google's application default
// credentials are used (workload identity, GOOGLE_APPLICATION_CREDENTIALS).
//
// Retries are classified once: the client's own retryer is switched off
// (storage.RetryNever) and every failure is mapped to cassette's sentinels
// by translateError, so the retry decorator decides alone. The one exception
// is a one-shot stream uploaded in several chunks: nothing above this
// package can resend it, so the client retries a failed chunk inside its
// resumable-upload session (which cannot create a second object).
package gcs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"cloud.google.com/go/auth/credentials"
	"cloud.google.com/go/auth/httptransport"
	"cloud.google.com/go/storage"
	"golang.org/x/sync/semaphore"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/internal/credfile"
	"github.com/cassette-backup/cassette/providers/internal/transport"
)

// DefaultPartSize is the upload chunk size when multipartPartSize is unset.
const DefaultPartSize = 16 << 20

// minPartSize is GCS's chunk granularity: resumable-upload chunks are
// multiples of 256 KiB.
const minPartSize = 256 << 10

// defaultListPageSize is the number of objects one list page holds when
// listPageSize is unset (the JSON API's maximum).
const defaultListPageSize = 1000

// Options are the settings of a GCS storage that are not part of the
// storage configuration.
type Options struct {
	// Logger receives warnings, such as plain HTTP to a remote host. Nil
	// discards them.
	Logger *slog.Logger
}

// Storage is a repository in a GCS bucket, under an optional prefix. It
// implements providers.Storage and is safe for concurrent use.
type Storage struct {
	client    *storage.Client
	bkt       *storage.BucketHandle
	bucket    string
	root      string // prefix + "/", or "" for the bucket's root
	projectID string
	partSize  int
	pageSize  int
	transfers int
	// slots bounds the uploads in flight, so memory stays within
	// concurrentTransfers x part size.
	slots *semaphore.Weighted
	stats *providers.Counters
	log   *slog.Logger
}

var _ providers.Storage = (*Storage)(nil)

// Open connects to an existing bucket. It never creates the bucket: a
// missing bucket is ErrNotFound with a message saying to create it.
func Open(ctx context.Context, sp providers.StorageProperties, opts Options) (*Storage, error) {
	s, err := newStorage(ctx, sp, opts)
	if err != nil {
		return nil, err
	}
	if err := s.probe(ctx); err != nil {
		_ = s.client.Close()
		if errors.Is(err, providers.ErrNotFound) {
			return nil, fmt.Errorf("gcs: bucket %q does not exist (create it, or run cassette init with credentials allowed to create buckets): %w", s.bucket, providers.ErrNotFound)
		}
		return nil, err
	}
	return s, nil
}

// Create connects to the bucket and creates it first when it does not exist
// and the credentials allow it; otherwise the error says what is missing.
func Create(ctx context.Context, sp providers.StorageProperties, opts Options) (*Storage, error) {
	s, err := newStorage(ctx, sp, opts)
	if err != nil {
		return nil, err
	}
	if err := s.createBucket(ctx); err != nil {
		_ = s.client.Close()
		return nil, err
	}
	return s, nil
}

// createBucket creates the bucket unless it already exists.
func (s *Storage) createBucket(ctx context.Context) error {
	err := s.probe(ctx)
	if !errors.Is(err, providers.ErrNotFound) {
		return err // nil: the bucket exists
	}
	if s.projectID == "" {
		return fmt.Errorf("gcs: bucket %q does not exist and cannot be created: the service-account JSON has no project_id; create the bucket yourself", s.bucket)
	}
	err = s.bkt.Create(ctx, s.projectID, nil)
	var cerr = classify(err)
	switch {
	case err == nil:
		s.log.Info("created bucket", "bucket", s.bucket)
		return nil
	case isConflict(err):
		return nil // created meanwhile by someone else
	case errors.Is(cerr, providers.ErrPermission):
		return fmt.Errorf("gcs: bucket %q does not exist and the service account may not create it (it needs storage.buckets.create, e.g. roles/storage.admin on project %q); create the bucket yourself: %w: %w",
			s.bucket, s.projectID, providers.ErrPermission, summarize(err))
	default:
		return s.translateError(err, "create bucket", "")
	}
}

// newStorage checks the configuration and builds the client; it sends no
// request.
func newStorage(ctx context.Context, sp providers.StorageProperties, opts Options) (*Storage, error) {
	if sp.BucketName == "" {
		return nil, errors.New("gcs: bucketName is empty")
	}
	if strings.Contains(sp.BucketName, "/") {
		return nil, fmt.Errorf("gcs: bucketName %q must not contain '/'; put the path in prefix", sp.BucketName)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Storage{
		bucket:    sp.BucketName,
		root:      transport.RootPrefix(sp.Prefix),
		partSize:  partSize(sp.MultipartPartSize),
		pageSize:  sp.ListPageSize,
		transfers: sp.Transfers(),
		stats:     new(providers.Counters),
		log:       log,
	}
	if s.pageSize <= 0 {
		s.pageSize = defaultListPageSize
	}
	s.slots = semaphore.NewWeighted(int64(s.transfers))
	transport.WarnPlainHTTP(log, sp)
	client, projectID, err := newClient(ctx, sp, s.stats)
	if err != nil {
		return nil, err
	}
	client.SetRetry(storage.WithPolicy(storage.RetryNever))
	s.client, s.projectID = client, projectID
	s.bkt = client.Bucket(s.bucket)
	return s, nil
}

// newClient builds the storage client: endpoint override, TLS, credentials
// and request counting. It returns the project ID of the credentials.
func newClient(ctx context.Context, sp providers.StorageProperties, c *providers.Counters) (*storage.Client, string, error) {
	ep, err := endpoint(sp)
	if err != nil {
		return nil, "", err
	}
	base, err := transport.New(sp, "gcs")
	if err != nil {
		return nil, "", err
	}
	counted := transport.Counting(base, c, requestKind)
	detect := &credentials.DetectOptions{
		Scopes: []string{storage.ScopeFullControl},
		Client: &http.Client{Transport: base},
	}
	var projectID string
	opts := []option.ClientOption{storage.WithDisabledClientMetrics()}
	switch {
	case sp.CredentialsFile != "":
		data, sa, err := readCredentials(sp.CredentialsFile)
		if err != nil {
			return nil, "", err
		}
		ac, err := credentials.NewCredentialsFromJSON(credentials.ServiceAccount, data, detect)
		if err != nil {
			return nil, "", &credfile.Error{Backend: "gcs", File: sp.CredentialsFile, Problem: "not usable (" + credErrorKind(err) + ")", Format: credentialsFormat}
		}
		hc, err := httptransport.NewClient(&httptransport.Options{Credentials: ac, BaseRoundTripper: counted, DisableTelemetry: true})
		if err != nil {
			return nil, "", fmt.Errorf("gcs: building the authenticated HTTP client: %w", err)
		}
		opts = append(opts, option.WithHTTPClient(hc), option.WithAuthCredentials(ac))
		projectID = sa.ProjectID
	case ep != "":
		// An emulator or private endpoint without credentials.
		opts = append(opts, option.WithHTTPClient(&http.Client{Transport: counted}), option.WithoutAuthentication())
		projectID = "cassette"
	default:
		ac, err := credentials.DetectDefault(detect)
		if err != nil {
			return nil, "", fmt.Errorf("gcs: no credentialsFile is set and no application default credentials were found; set credentialsFile to %s", credentialsFormat)
		}
		hc, err := httptransport.NewClient(&httptransport.Options{Credentials: ac, BaseRoundTripper: counted, DisableTelemetry: true})
		if err != nil {
			return nil, "", fmt.Errorf("gcs: building the authenticated HTTP client: %w", err)
		}
		opts = append(opts, option.WithHTTPClient(hc), option.WithAuthCredentials(ac))
		projectID, _ = ac.ProjectID(ctx) // only needed to create a bucket
	}
	if ep != "" {
		opts = append(opts, option.WithEndpoint(ep))
	}
	client, err := storage.NewClient(ctx, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("gcs: creating the client: %w", err)
	}
	return client, projectID, nil
}

// credErrorKind describes an auth-library error without quoting it: its
// text may include parts of the key file.
func credErrorKind(err error) string {
	if strings.Contains(err.Error(), "private key") {
		return "the private_key cannot be parsed"
	}
	return "the auth library rejected it"
}

// isConflict reports a 409 (bucket already exists).
func isConflict(err error) bool {
	var gerr *googleapi.Error
	return errors.As(err, &gerr) && gerr.Code == http.StatusConflict
}

// probe checks that the bucket exists and the credentials can list it with
// one tiny list request (objects.list is in every object role, unlike
// buckets.get).
func (s *Storage) probe(ctx context.Context) error {
	it := s.bkt.Objects(ctx, &storage.Query{Prefix: s.root})
	it.PageInfo().MaxSize = 1
	if _, err := it.Next(); err != nil && !errors.Is(err, iterator.Done) {
		return s.translateError(err, "open bucket", "")
	}
	return nil
}

// Properties implements providers.Storage.
func (s *Storage) Properties() providers.Properties {
	return providers.Properties{
		Name:              strings.TrimSuffix("google_storage:"+s.bucket+"/"+s.root, "/"),
		ConditionalCreate: true,
		DeleteBatch:       1,
		ListPageSize:      s.pageSize,
		Concurrency:       s.transfers,
	}
}

// Stats returns the requests and the body bytes sent and received so far:
// uploads (object inserts, resumable-upload chunks, bucket creation) count
// as Puts, object reads and metadata lookups as Gets.
func (s *Storage) Stats() providers.Stats { return s.stats.Snapshot() }

// Close releases the client's connections.
func (s *Storage) Close(context.Context) error {
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("gcs: closing the client: %w", err)
	}
	return nil
}

// partSize applies the default and GCS's 256 KiB granularity.
func partSize(n int64) int {
	if n <= 0 {
		return DefaultPartSize
	}
	n = (n + minPartSize - 1) / minPartSize * minPartSize
	return int(n)
}

// objectName is the GCS object name of key.
func (s *Storage) objectName(key providers.Key) string { return s.root + string(key) }
