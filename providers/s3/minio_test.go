package s3

import (
	"context"
	"log/slog"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/providertest"
)

// testPart is the part size in tests: S3's minimum, so the large-object
// tests cross several parts quickly.
const testPart = 5 << 20

// minio is the MinIO server the package's tests share, with small parts
// and list pages.
var minio = &providertest.Backend[*Storage, Options]{
	Start: providertest.StartMinIO, Open: Open, Create: Create, Options: Options{ConditionalCreate: ptr(true)},
	Tune: func(sp *providers.StorageProperties) {
		sp.ConcurrentTransfers, sp.MultipartPartSize, sp.ListPageSize = 4, testPart, 7
	},
}

func TestMain(m *testing.M) { providertest.Main(m) }

// minioProps configures the test bucket the way an operator would (host,
// port, secure false and the credentials file) as kind, on a fresh prefix.
// It skips t when MinIO is not installed.
func minioProps(t testing.TB, kind, checksum string) providers.StorageProperties {
	t.Helper()
	sp := minio.Props(t, providertest.UniquePrefix(t))
	sp.StorageProvider = kind
	sp.RequestChecksum = checksum
	return sp
}

// open opens sp with test options and closes it when t ends.
func openTest(t testing.TB, sp providers.StorageProperties, o Options) *Storage {
	t.Helper()
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	s, err := Open(t.Context(), sp, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func ptr[T any](v T) *T { return &v }

// pendingUploads lists the incomplete multipart uploads under s's prefix.
func pendingUploads(t testing.TB, s *Storage) []string {
	t.Helper()
	var ids []string
	err := s.listUploads(context.Background(), func(u types.MultipartUpload) error {
		ids = append(ids, *u.Key+" "+*u.UploadId)
		return nil
	})
	if err != nil {
		t.Fatalf("list multipart uploads: %v", err)
	}
	return ids
}
