package s3

import (
	"testing"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/providertest"
)

// TestConformance runs the providers contract against MinIO as each
// S3-compatible kind, with both request checksum settings, small list pages
// (7 keys) and a large object above the 5 MiB part size.
func TestConformance(t *testing.T) {
	minio.Server(t)
	for _, kind := range []string{KindCompatible, KindRGW} {
		for _, sum := range []string{"when_supported", "when_required"} {
			t.Run(kind+"/"+sum, func(t *testing.T) {
				t.Parallel()
				providertest.RunWithOptions(t, func(t *testing.T) providers.Storage {
					// Small delete batches: DeleteMany crosses several without
					// the suite writing thousands of objects.
					return openTest(t, minioProps(t, kind, sum), Options{DeleteBatch: 50})
				}, providertest.Options{LargeObjectSize: 2*testPart + 1234})
			})
		}
	}
}
