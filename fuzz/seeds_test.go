package fuzz

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/engine"
	"github.com/cassette-backup/cassette/index"
	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/mem"
)

func seedSegments() []*index.Segment {
	p := index.PackInfo{ID: index.Hash([]byte("p")), Size: 1000, Hash: index.Hash([]byte("h"))}
	return []*index.Segment{
		{},
		{Packs: []index.PackInfo{p}, Blobs: []index.Entry{
			{ID: index.Hash([]byte("a")), Type: index.DataBlob, Compression: index.Raw, Pack: p.ID, Offset: 8, Length: 100, RawLength: 100},
			{ID: index.Hash([]byte("b")), Type: index.MetaBlob, Compression: index.Zstd, Pack: p.ID, Offset: 108, Length: 50, RawLength: 640},
		}, Supersedes: []index.ID{index.Hash([]byte("old"))}},
	}
}

// seedRepo backs up a tiny tree into a mem repository and returns the raw
// objects it wrote, so the seeds are real encoder output.
func seedRepo() map[providers.Key][]byte {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "cassette-fuzz-seed")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(tmp)
	data := filepath.Join(tmp, "data", "ks", "t-0a0b")
	os.MkdirAll(data, 0o755)
	rng := rand.New(rand.NewPCG(1, 1))
	big := make([]byte, 40<<10)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	os.WriteFile(filepath.Join(data, "nb-1-big-Data.db"), big, 0o644)
	os.WriteFile(filepath.Join(data, "nb-1-big-TOC.txt"), []byte("Data.db\nTOC.txt\n"), 0o644)
	os.WriteFile(filepath.Join(data, "nb-1-big-Rows.db"), nil, 0o644)
	os.WriteFile(filepath.Join(data, "nb-1-big-Statistics.db"), bytes.Repeat([]byte("stats "), 500), 0o644)
	st := mem.New(mem.Options{})
	repo, err := chunkstore.Init(ctx, st, chunkstore.InitOptions{MinChunkSize: 1 << 10, MaxChunkSize: 8 << 10, AverageChunkBits: 11, PackSize: 64 << 10}, chunkstore.Options{CacheDir: filepath.Join(tmp, "cache")})
	if err != nil {
		panic(err)
	}
	defer repo.Close()
	e := &engine.Engine{Repo: repo, CacheDir: filepath.Join(tmp, "cache")}
	if _, err := e.Backup(ctx, engine.BackupOptions{Name: "b", Node: "n", DataDirs: []string{filepath.Join(tmp, "data")}}); err != nil {
		panic(err)
	}
	out := map[providers.Key][]byte{}
	st.List(ctx, "", func(oi providers.ObjectInfo) error {
		return st.Get(ctx, oi.Key, 0, -1, func(r io.Reader) error {
			b, err := io.ReadAll(r)
			out[oi.Key] = b
			return err
		})
	})
	return out
}

func seedPacks() [][]byte {
	var out [][]byte
	for k, b := range seedRepo() {
		if bytes.HasPrefix([]byte(k), []byte(chunkstore.PackPrefix)) {
			out = append(out, b)
		}
	}
	return out
}

func seedManifests() [][]byte {
	var out [][]byte
	for k, b := range seedRepo() {
		if bytes.HasSuffix([]byte(k), []byte("/manifest")) {
			out = append(out, b)
		}
	}
	return out
}

var _ = testing.T{}
