// Package all wires the concrete storage backends: it is the only place that
// maps a storageProvider name to a package, and the only import of every
// backend. cmd uses it; nothing else should.
package all

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/azure"
	"github.com/cassette-backup/cassette/providers/gcs"
	"github.com/cassette-backup/cassette/providers/local"
	"github.com/cassette-backup/cassette/providers/mem"
	"github.com/cassette-backup/cassette/providers/retry"
	"github.com/cassette-backup/cassette/providers/s3"
)

// Options for opening storage.
type Options struct {
	Logger *slog.Logger
}

type backend struct {
	open func(ctx context.Context, sp providers.StorageProperties, o Options, create bool) (providers.Storage, error)
	// remote backends get the retry decorator; local disk does not need it.
	remote bool
}

func registry() map[string]backend {
	return map[string]backend{
		"local":          {open: openLocal},
		"mem":            {open: openMem},
		"s3":             {open: openS3, remote: true},
		"s3_compatible":  {open: openS3, remote: true},
		"s3_rgw":         {open: openS3, remote: true},
		"google_storage": {open: openGCS, remote: true},
		"azure_blobs":    {open: openAzure, remote: true},
	}
}

// Names lists the storageProvider values this build supports.
func Names() []string {
	var out []string
	for k := range registry() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Open opens existing storage (it never creates a bucket or folder).
func Open(ctx context.Context, sp providers.StorageProperties, o Options) (providers.Storage, error) {
	return open(ctx, sp, o, false)
}

// Create opens storage, creating the bucket (or folder) when it is missing
// and the credentials allow it (`cassette init`).
func Create(ctx context.Context, sp providers.StorageProperties, o Options) (providers.Storage, error) {
	return open(ctx, sp, o, true)
}

func open(ctx context.Context, sp providers.StorageProperties, o Options, create bool) (providers.Storage, error) {
	b, ok := registry()[sp.StorageProvider]
	if !ok {
		return nil, fmt.Errorf("storageProvider %q is not supported: use one of %s", sp.StorageProvider, strings.Join(Names(), ", "))
	}
	st, err := b.open(ctx, sp, o, create)
	if err != nil {
		return nil, err
	}
	if b.remote {
		st = wrapRemote(st, o)
	}
	return st, nil
}

// localDir is where a local repository lives: basePath/bucketName[/prefix].
func localDir(sp providers.StorageProperties) (string, error) {
	if sp.BasePath == "" || sp.BucketName == "" {
		return "", fmt.Errorf("storageProvider local needs basePath and bucketName")
	}
	dir := filepath.Join(sp.BasePath, sp.BucketName)
	if sp.Prefix != "" {
		p := filepath.Clean(filepath.FromSlash(sp.Prefix))
		if filepath.IsAbs(p) || p == ".." || strings.HasPrefix(p, ".."+string(filepath.Separator)) {
			return "", fmt.Errorf("prefix %q must be a relative path inside the bucket", sp.Prefix)
		}
		dir = filepath.Join(dir, p)
	}
	return dir, nil
}

func openLocal(ctx context.Context, sp providers.StorageProperties, o Options, create bool) (providers.Storage, error) {
	dir, err := localDir(sp)
	if err != nil {
		return nil, err
	}
	lo := local.Options{Concurrency: sp.Transfers()}
	if create {
		return local.Create(ctx, dir, lo)
	}
	return local.Open(ctx, dir, lo)
}

// openMem gives a fresh in-memory store (tests and dry runs only: nothing
// survives the process).
func openMem(_ context.Context, sp providers.StorageProperties, _ Options, _ bool) (providers.Storage, error) {
	return mem.New(mem.Options{ListPageSize: sp.ListPageSize}), nil
}

// wrapRemote adds the decorators every remote backend gets: one retry layer
// (the SDKs' own retries are turned down so the two never multiply).
func wrapRemote(st providers.Storage, o Options) providers.Storage {
	return retry.New(st, retry.Options{Logger: o.Logger})
}

func openS3(ctx context.Context, sp providers.StorageProperties, o Options, create bool) (providers.Storage, error) {
	so := s3.Options{Logger: o.Logger}
	if create {
		return s3.Create(ctx, sp, so)
	}
	return s3.Open(ctx, sp, so)
}

func openGCS(ctx context.Context, sp providers.StorageProperties, o Options, create bool) (providers.Storage, error) {
	goo := gcs.Options{Logger: o.Logger}
	if create {
		return gcs.Create(ctx, sp, goo)
	}
	return gcs.Open(ctx, sp, goo)
}

func openAzure(ctx context.Context, sp providers.StorageProperties, o Options, create bool) (providers.Storage, error) {
	ao := azure.Options{Logger: o.Logger}
	if create {
		return azure.Create(ctx, sp, ao)
	}
	return azure.Open(ctx, sp, ao)
}
