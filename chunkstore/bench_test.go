package chunkstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/mem"
)

// discardPacks measures the CPU pipeline alone: pack bodies are read and
// dropped, everything else is kept in memory.
type discardPacks struct{ providers.Storage }

func (d discardPacks) Put(ctx context.Context, key providers.Key, p providers.Payload, o providers.PutOptions) error {
	if len(key) > len(PackPrefix) && key[:len(PackPrefix)] == PackPrefix {
		r, err := p.Reader()
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, r)
		return err
	}
	return d.Storage.Put(ctx, key, p, o)
}

func benchData(n int, text bool) []byte {
	rng := rand.New(rand.NewPCG(11, 12))
	if text {
		// Rows of a text-like, uncompressed table: repetitive but not
		// trivially so.
		words := []string{"user_id", "session", "active", "inactive", "eu-west", "us-east", "payload", "sensor"}
		b := make([]byte, 0, n+128)
		for len(b) < n {
			b = fmt.Appendf(b, "%08d|%s|%s|%d|%s\n", rng.IntN(1e8), words[rng.IntN(8)], words[rng.IntN(8)], rng.IntN(1e6), words[rng.IntN(8)])
		}
		return b[:n]
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// benchmarkWrite stores the same amount of data as `files` parallel files,
// each new (the repository is fresh for every iteration).
func benchmarkWrite(b *testing.B, text bool, files int) {
	const size = 64 << 20
	data := benchData(size, text)
	ctx := context.Background()
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st := discardPacks{mem.New(mem.Options{})}
		r, err := Init(ctx, st, InitOptions{}, Options{CacheDir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		s, err := r.NewSession(ctx, SessionOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		var wg sync.WaitGroup
		per := size / files
		for f := 0; f < files; f++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.WriteFile(ctx, bytes.NewReader(data[f*per:(f+1)*per])); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
		if err := s.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		r.Close()
		b.StartTimer()
	}
}

func BenchmarkWriteIncompressible1(b *testing.B) { benchmarkWrite(b, false, 1) }
func BenchmarkWriteIncompressible2(b *testing.B) { benchmarkWrite(b, false, 2) }
func BenchmarkWriteText1(b *testing.B)           { benchmarkWrite(b, true, 1) }
func BenchmarkWriteText2(b *testing.B)           { benchmarkWrite(b, true, 2) }
