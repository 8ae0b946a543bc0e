// Package azure is the Azure Blob Storage backend (storageProvider
// azure_blobs), built on github.com/Azure/azure-sdk-for-go/sdk/storage/azblob.
//
// bucketName is the container. Credentials are the JSON file named by
// credentialsFile, {"storage_account": ..., "key": ...} (the Mission Control
// storageSecretRef secret), used as a shared-key credential. host, port and
// secure override the endpoint for Azurite and private endpoints.
//
// Objects are block blobs. Small payloads of known size go up in one Put
// Blob request; larger or unsized ones are staged as blocks in parallel and
// committed with one Put Block List, so a blob appears only whole. Staged
// but uncommitted blocks are invisible and expire after seven days.
//
// Retries are classified once: the SDK's retry policy is switched off
// (MaxRetries -1) and translateError maps every failure to cassette's
// sentinels, so the retry decorator decides alone. The one exception is a
// block of a one-shot stream: nothing above this package can resend the
// stream, so staging a block (idempotent: same ID, same bytes) is retried
// by the SDK.
package azure

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"golang.org/x/sync/semaphore"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/internal/credfile"
	"github.com/cassette-backup/cassette/providers/internal/transport"
)

// DefaultPartSize is the block size of staged uploads when
// multipartPartSize is unset.
const DefaultPartSize = 16 << 20

// maxBlockSize is Azure's largest block (4000 MiB).
const maxBlockSize = 4000 << 20

// defaultListPageSize is the list page size when listPageSize is unset (the
// service's maximum).
const defaultListPageSize = 5000

// maxBatch is the number of sub-requests one blob batch may hold.
const maxBatch = 256

// Options are the settings of an Azure storage that are not part of the
// storage configuration.
type Options struct {
	// Logger receives warnings, such as plain HTTP to a remote host. Nil
	// discards them.
	Logger *slog.Logger
}

// Storage is a repository in an Azure Blob container, under an optional
// prefix. It implements providers.Storage and is safe for concurrent use.
type Storage struct {
	// cc sends every request without SDK retries; stager stages blocks of
	// one-shot streams with a few SDK retries.
	cc, stager *container.Client
	container  string
	account    string
	root       string // prefix + "/", or "" for the container's root
	partSize   int
	pageSize   int
	transfers  int
	// slots bounds the single-shot uploads and staged blocks in flight, so
	// memory stays within concurrentTransfers x part size.
	slots *semaphore.Weighted
	parts *partPool
	// transport is closed (its idle connections) by Close.
	transport *http.Transport
	stats     *providers.Counters
	log       *slog.Logger
}

var _ providers.Storage = (*Storage)(nil)

// Open connects to an existing container. It never creates it: a missing
// container is ErrNotFound with a message saying to create it.
func Open(ctx context.Context, sp providers.StorageProperties, opts Options) (*Storage, error) {
	s, err := newStorage(sp, opts)
	if err != nil {
		return nil, err
	}
	if err := s.probe(ctx); err != nil {
		if errors.Is(err, providers.ErrNotFound) {
			return nil, fmt.Errorf("azure: container %q does not exist in account %q (create it, or run cassette init): %w", s.container, s.account, providers.ErrNotFound)
		}
		return nil, err
	}
	return s, nil
}

// Create connects to the container and creates it first when it does not
// exist; when the key may not create it the error says so.
func Create(ctx context.Context, sp providers.StorageProperties, opts Options) (*Storage, error) {
	s, err := newStorage(sp, opts)
	if err != nil {
		return nil, err
	}
	err = s.probe(ctx)
	if !errors.Is(err, providers.ErrNotFound) {
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	_, err = s.cc.Create(ctx, nil)
	switch {
	case err == nil:
		s.log.Info("created container", "container", s.container, "account", s.account)
	case bloberror.HasCode(err, bloberror.ContainerAlreadyExists):
		// created meanwhile by someone else
	case errors.Is(classify(err), providers.ErrPermission):
		return nil, fmt.Errorf("azure: container %q does not exist and these credentials may not create it in account %q; create the container yourself: %w: %w",
			s.container, s.account, providers.ErrPermission, summarize(err))
	default:
		return nil, s.translateError(err, "create container", "")
	}
	return s, nil
}

// newStorage checks the configuration and builds the clients; it sends no
// request.
func newStorage(sp providers.StorageProperties, opts Options) (*Storage, error) {
	if sp.BucketName == "" {
		return nil, errors.New("azure: bucketName (the container) is empty")
	}
	if strings.Contains(sp.BucketName, "/") {
		return nil, fmt.Errorf("azure: bucketName %q must be a container name without '/'; put the path in prefix", sp.BucketName)
	}
	creds, err := readCredentials(sp.CredentialsFile)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Storage{
		container: sp.BucketName,
		account:   creds.StorageAccount,
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
	s.parts = newPartPool(s.partSize)
	transport.WarnPlainHTTP(log, sp)
	svc, err := serviceURL(sp, creds.StorageAccount)
	if err != nil {
		return nil, err
	}
	base, err := transport.New(sp, "azure")
	if err != nil {
		return nil, err
	}
	s.transport = base
	hc := &http.Client{Transport: transport.Counting(base, s.stats, requestKind)}
	cred, err := container.NewSharedKeyCredential(creds.StorageAccount, creds.Key.Reveal())
	if err != nil {
		return nil, &credfile.Error{Backend: "azure", File: sp.CredentialsFile, Problem: "key is not usable", Format: credentialsFormat}
	}
	newClient := func(retries int32) (*container.Client, error) {
		return container.NewClientWithSharedKeyCredential(svc+sp.BucketName, cred, &container.ClientOptions{
			ClientOptions: azcore.ClientOptions{
				Transport: hc,
				Retry:     policy.RetryOptions{MaxRetries: retries, RetryDelay: 500 * time.Millisecond, MaxRetryDelay: 10 * time.Second},
				Telemetry: policy.TelemetryOptions{Disabled: true},
			},
		})
	}
	if s.cc, err = newClient(-1); err != nil {
		return nil, fmt.Errorf("azure: creating the client for %s: %w", svc, err)
	}
	if s.stager, err = newClient(3); err != nil {
		return nil, fmt.Errorf("azure: creating the client for %s: %w", svc, err)
	}
	return s, nil
}

// probe checks that the container exists and the key can list it, with one
// tiny list request.
func (s *Storage) probe(ctx context.Context) error {
	one := int32(1)
	pager := s.cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &s.root, MaxResults: &one})
	if _, err := pager.NextPage(ctx); err != nil {
		return s.translateError(err, "open container", "")
	}
	return nil
}

// Properties implements providers.Storage.
func (s *Storage) Properties() providers.Properties {
	return providers.Properties{
		Name:              strings.TrimSuffix("azure_blobs:"+s.account+"/"+s.container+"/"+s.root, "/"),
		ConditionalCreate: true,
		DeleteBatch:       maxBatch,
		ListPageSize:      s.pageSize,
		Concurrency:       s.transfers,
	}
}

// Stats returns the requests and the body bytes sent and received so far:
// single-shot uploads, staged blocks, block list commits and container
// creation count as Puts, blob reads and property lookups as Gets, and a
// batch of deletes as one Delete.
func (s *Storage) Stats() providers.Stats { return s.stats.Snapshot() }

// Close implements providers.Storage: it closes idle connections; the
// azblob client holds nothing else.
func (s *Storage) Close(context.Context) error {
	s.transport.CloseIdleConnections()
	return nil
}

// partSize applies the default and Azure's block size limit.
func partSize(n int64) int {
	switch {
	case n <= 0:
		return DefaultPartSize
	case n > maxBlockSize:
		return maxBlockSize
	}
	return int(n)
}

// blobName is the blob name of key.
func (s *Storage) blobName(key providers.Key) string { return s.root + string(key) }
