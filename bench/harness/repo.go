package harness

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/local"
	"github.com/cassette-backup/cassette/providers/s3"
)

// Repo is where one tool run stores its backups: a prefix of the bench
// bucket behind the proxy (s3_compatible), or a folder (local).
type Repo struct {
	Provider        string // s3_compatible or local
	Host            string
	Port            int
	Bucket          string
	Prefix          string
	CredentialsFile string
	BasePath        string // local: the folder holding the bucket
	Concurrency     int
}

// Props are the repository's storageProperties.
func (r Repo) Props() providers.StorageProperties {
	f := false
	return providers.StorageProperties{
		StorageProvider:     r.Provider,
		BucketName:          r.Bucket,
		Prefix:              r.Prefix,
		Host:                r.Host,
		Port:                r.Port,
		Secure:              &f,
		CredentialsFile:     r.CredentialsFile,
		BasePath:            r.BasePath,
		ConcurrentTransfers: r.Concurrency,
	}
}

// Open opens the repository's storage with the same provider code cassette
// uses (providers/s3, the same AWS SDK; providers/local).
func (r Repo) Open(ctx context.Context) (providers.Storage, error) {
	switch r.Provider {
	case s3.KindCompatible:
		return s3.Open(ctx, r.Props(), s3.Options{})
	case "local":
		dir := filepath.Join(r.BasePath, r.Bucket, filepath.FromSlash(strings.Trim(r.Prefix, "/")))
		return local.Create(ctx, dir, local.Options{Concurrency: r.Concurrency})
	}
	return nil, fmt.Errorf("repo: provider %q: want %s or local", r.Provider, s3.KindCompatible)
}

// CassetteConfig is a cassette YAML configuration for this repository.
func (r Repo) CassetteConfig(dataDir, node, cacheDir string) string {
	var b strings.Builder
	b.WriteString("storageProperties:\n")
	fmt.Fprintf(&b, "  storageProvider: %s\n  bucketName: %s\n  concurrentTransfers: %d\n", r.Provider, r.Bucket, r.Concurrency)
	if r.Prefix != "" {
		fmt.Fprintf(&b, "  prefix: %s\n", r.Prefix)
	}
	if r.Provider == "local" {
		fmt.Fprintf(&b, "  basePath: %s\n", r.BasePath)
	} else {
		fmt.Fprintf(&b, "  host: %s\n  port: %d\n  secure: false\n  credentialsFile: %s\n", r.Host, r.Port, r.CredentialsFile)
	}
	fmt.Fprintf(&b, "cassandra:\n  dataDirs: [%s]\n  node: %s\n  snapshot: none\ncacheDir: %s\n", dataDir, node, cacheDir)
	return b.String()
}

// Args are the command-line flags that RegisterFlags reads back.
func (r Repo) Args() []string {
	return []string{
		"-provider", r.Provider, "-host", r.Host, "-port", strconv.Itoa(r.Port), "-bucket", r.Bucket,
		"-prefix", r.Prefix, "-credentials", r.CredentialsFile, "-base-path", r.BasePath,
		"-concurrency", strconv.Itoa(r.Concurrency),
	}
}

// RegisterFlags declares the flags Args writes.
func (r *Repo) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&r.Provider, "provider", s3.KindCompatible, "s3_compatible or local")
	fs.StringVar(&r.Host, "host", "127.0.0.1", "S3 host")
	fs.IntVar(&r.Port, "port", 0, "S3 port")
	fs.StringVar(&r.Bucket, "bucket", "bench", "bucket")
	fs.StringVar(&r.Prefix, "prefix", "", "prefix inside the bucket")
	fs.StringVar(&r.CredentialsFile, "credentials", "", "AWS INI credentials file")
	fs.StringVar(&r.BasePath, "base-path", "", "local: folder holding the bucket")
	fs.IntVar(&r.Concurrency, "concurrency", 4, "transfers in flight")
}
