package s3

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/cassette-backup/cassette/providers"
)

// cycleReader yields n bytes cycled from a random block: incompressible for
// the server, free for the client (which shares the CPU with MinIO).
type cycleReader struct {
	block []byte
	off   int
	left  int64
}

func (c *cycleReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n := copy(p, c.block[c.off:])
	c.off = (c.off + n) % len(c.block)
	c.left -= int64(n)
	return n, nil
}

// BenchmarkPut streams a 256 MiB one-shot payload of unknown size (a pack
// being built) to MinIO at several concurrentTransfers, with the default
// part size.
func BenchmarkPut(b *testing.B) {
	const size = 256 << 20
	block := randomData(7<<20 + 12345)
	for _, transfers := range []int{1, 4, 8} {
		for _, sum := range []string{"when_supported", "when_required"} {
			b.Run(fmt.Sprintf("transfers=%d/%s", transfers, sum), func(b *testing.B) {
				sp := minioProps(b, KindCompatible, sum)
				sp.ConcurrentTransfers = transfers
				sp.MultipartPartSize = 0
				s := openTest(b, sp, Options{})
				b.SetBytes(size)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					key := providers.Key(fmt.Sprintf("bench/%d", i))
					i++
					r := &cycleReader{block: block, left: size}
					if err := s.Put(context.Background(), key, providers.Stream(r, -1), providers.PutOptions{}); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					if err := s.Delete(context.Background(), key); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				st := s.Stats()
				b.ReportMetric(float64(st.Puts)/float64(st.BytesUp)*(1<<30), "PUT/GiB")
			})
		}
	}
}

// BenchmarkGet reads a 256 MiB object back in 8 MiB ranges, as a restore
// does, with concurrentTransfers ranges in flight.
func BenchmarkGet(b *testing.B) {
	const size, chunk = 256 << 20, 8 << 20
	for _, transfers := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("transfers=%d", transfers), func(b *testing.B) {
			sp := minioProps(b, KindCompatible, "")
			sp.ConcurrentTransfers = transfers
			s := openTest(b, sp, Options{})
			r := &cycleReader{block: randomData(7<<20 + 12345), left: size}
			if err := s.Put(context.Background(), "obj", providers.Stream(r, -1), providers.PutOptions{}); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				errs := make(chan error, size/chunk)
				for off := int64(0); off < size; off += chunk {
					go func() {
						errs <- s.Get(context.Background(), "obj", off, chunk, func(r io.Reader) error {
							_, err := io.Copy(io.Discard, r)
							return err
						})
					}()
				}
				for range size / chunk {
					if err := <-errs; err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
