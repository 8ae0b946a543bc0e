package chunkstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/restic/chunker"
	"pgregory.net/rapid"

	"github.com/cassette-backup/cassette/index"
	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/mem"
)

// smallRepo makes a repository with small chunks and packs so tests cross
// every boundary with little data.
func smallRepo(t testing.TB, st providers.Storage) *Repo {
	t.Helper()
	r, err := Init(context.Background(), st, InitOptions{MinChunkSize: 1 << 10, MaxChunkSize: 16 << 10, AverageChunkBits: 12, PackSize: 64 << 10},
		Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestChunkerProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		data := rapid.SliceOfN(rapid.Byte(), 0, 200<<10).Draw(t, "data")
		// Mix in a random tail so we get realistic cut points, not only
		// runs of drawn bytes.
		seed := rapid.Uint64().Draw(t, "seed")
		rng := rand.New(rand.NewPCG(seed, seed))
		extra := make([]byte, rapid.IntRange(0, 100<<10).Draw(t, "extra"))
		for i := range extra {
			extra[i] = byte(rng.Uint32())
		}
		data = append(data, extra...)
		pol, err := chunker.RandomPolynomial()
		if err != nil {
			t.Fatal(err)
		}
		const minSize, maxSize = 1 << 10, 16 << 10
		ch := chunker.NewWithBoundaries(bytes.NewReader(data), pol, minSize, maxSize)
		ch.SetAverageBits(12)
		buf := make([]byte, maxSize)
		var out []byte
		for {
			c, err := ch.Next(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Length > maxSize {
				t.Fatalf("chunk of %d bytes above max %d", c.Length, maxSize)
			}
			if c.Length < minSize && int(c.Start+c.Length) != len(data) {
				t.Fatalf("chunk of %d bytes below min %d that is not the last", c.Length, minSize)
			}
			out = append(out, c.Data...)
		}
		if !bytes.Equal(out, data) {
			t.Fatal("chunks do not concatenate to the input")
		}
	})
}

func TestPackTrailerRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 50).Draw(t, "n")
		var entries []packEntry
		var body []byte
		body = append(body, packHeader...)
		for i := 0; i < n; i++ {
			l := rapid.IntRange(0, 300).Draw(t, "len")
			e := packEntry{Type: index.DataBlob, Compression: index.Raw, Length: uint64(l), RawLength: uint64(l)}
			if rapid.Bool().Draw(t, "meta") {
				e.Type = index.MetaBlob
			}
			if rapid.Bool().Draw(t, "zstd") {
				e.Compression = index.Zstd
				e.RawLength = rapid.Uint64Range(0, 1<<20).Draw(t, "raw")
			}
			copy(e.ID[:], rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "id"))
			entries = append(entries, e)
			body = append(body, make([]byte, l)...)
		}
		pack := append(body, encodeTrailer(entries)...)
		id := index.RandomID()
		got, err := ParsePack(id, pack)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(entries) {
			t.Fatalf("%d entries, want %d", len(got), len(entries))
		}
		off := uint64(len(packHeader))
		for i, e := range entries {
			g := got[i]
			if g.ID != e.ID || g.Type != e.Type || g.Compression != e.Compression || g.Length != e.Length || g.RawLength != e.RawLength || g.Offset != off || g.Pack != id {
				t.Fatalf("entry %d: %+v != %+v", i, g, e)
			}
			off += e.Length
		}
	})
}

func TestConfigNewerVersionRefused(t *testing.T) {
	st := mem.New(mem.Options{})
	cfg, err := InitOptions{}.config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Version = FormatVersion + 1
	b := []byte(`{"version": 2}`)
	_ = cfg
	if err := st.Put(context.Background(), ConfigKey, providers.Bytes(b), providers.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), st, Options{CacheDir: t.TempDir()})
	if !errors.Is(err, ErrNewerFormat) {
		t.Fatalf("want ErrNewerFormat, got %v", err)
	}
}

func TestInitTwiceRefused(t *testing.T) {
	st := mem.New(mem.Options{})
	smallRepo(t, st)
	_, err := Init(context.Background(), st, InitOptions{}, Options{CacheDir: t.TempDir()})
	if !errors.Is(err, ErrRepositoryExists) {
		t.Fatalf("want ErrRepositoryExists, got %v", err)
	}
}

func TestNoRepository(t *testing.T) {
	_, err := Open(context.Background(), mem.New(mem.Options{}), Options{CacheDir: t.TempDir()})
	if !errors.Is(err, ErrNoRepository) {
		t.Fatalf("want ErrNoRepository, got %v", err)
	}
}

func writeAndRead(t *testing.T, r *Repo, data []byte) FileResult {
	t.Helper()
	ctx := context.Background()
	s, err := r.NewSession(ctx, SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.WriteFile(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var got []byte
	fh := NewFileHasher()
	err = r.ChunkIDs(ctx, res.Content, func(id index.ID) error {
		fh.Add(id)
		b, err := r.LoadBlob(ctx, id, nil)
		got = append(got, b...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, wrote %d", len(got), len(data))
	}
	if fh.Sum(int64(len(data))) != res.Hash {
		t.Fatal("file hash differs")
	}
	return res
}

func TestWriteFileDedupAndCompression(t *testing.T) {
	st := mem.New(mem.Options{})
	r := smallRepo(t, st)
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 300<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	text := bytes.Repeat([]byte("INSERT INTO ks.t (id, v) VALUES (42, 'cassandra row');\n"), 5000)
	res := writeAndRead(t, r, random)
	if res.New == 0 || res.Chunks < 5 || len(res.Content.Lists) != 1 {
		t.Fatalf("random: %+v", res)
	}
	again := writeAndRead(t, r, random)
	if again.New != 0 || again.Hash != res.Hash {
		t.Fatalf("second write of the same data stored %d new chunks", again.New)
	}
	tr := writeAndRead(t, r, text)
	if tr.New == 0 {
		t.Fatal("text stored nothing")
	}
	small := writeAndRead(t, r, []byte("TOC.txt\nData.db\n"))
	if small.Content.Chunk == nil || small.Chunks != 1 {
		t.Fatalf("small file not inline: %+v", small)
	}
	empty := writeAndRead(t, r, nil)
	if empty.Chunks != 0 || empty.Content.Chunk != nil || len(empty.Content.Lists) != 0 {
		t.Fatalf("empty file has content: %+v", empty)
	}
	// Compression: text must shrink, random must not grow.
	var stored, raw uint64
	var sumRandomStored uint64
	err := r.Cache().ForEachPack(func(p index.PackInfo) error { stored += p.Size; return nil })
	if err != nil {
		t.Fatal(err)
	}
	raw = uint64(len(random) + len(text))
	_ = sumRandomStored
	if stored >= raw {
		t.Fatalf("stored %d bytes for %d raw: compression did nothing", stored, raw)
	}
}

func TestCorruptPackDetected(t *testing.T) {
	st := mem.New(mem.Options{})
	r := smallRepo(t, st)
	data := bytes.Repeat([]byte{7, 1, 3}, 10000)
	res := writeAndRead(t, r, data)
	ctx := context.Background()
	var packs []index.PackInfo
	r.Cache().ForEachPack(func(p index.PackInfo) error { packs = append(packs, p); return nil })
	if len(packs) == 0 {
		t.Fatal("no packs")
	}
	// Flip one byte inside the data area of every pack.
	for _, p := range packs {
		var b []byte
		st.Get(ctx, PackKey(p.ID), 0, -1, func(rd io.Reader) error { b, _ = io.ReadAll(rd); return nil })
		b[len(packHeader)+1] ^= 0xff
		st.Put(ctx, PackKey(p.ID), providers.Bytes(b), providers.PutOptions{})
		if _, err := r.VerifyPack(ctx, p); !errors.Is(err, ErrIntegrity) {
			t.Fatalf("VerifyPack: want ErrIntegrity, got %v", err)
		}
	}
	err := r.ChunkIDs(ctx, res.Content, func(id index.ID) error {
		_, err := r.LoadBlob(ctx, id, nil)
		return err
	})
	if !errors.Is(err, ErrIntegrity) {
		t.Fatalf("want ErrIntegrity reading corrupt data, got %v", err)
	}
}

func TestIncompressibleStoredRaw(t *testing.T) {
	c, err := newCodec("zstd")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	if _, comp := c.encode(b, nil); comp != index.Raw {
		t.Fatal("random data was compressed")
	}
	text := bytes.Repeat([]byte("partition key, clustering, value\n"), 30000)
	out, comp := c.encode(text, nil)
	if comp != index.Zstd || len(out) >= len(text)/4 {
		t.Fatalf("text: comp %v, %d -> %d", comp, len(text), len(out))
	}
	id := index.Hash(text)
	plain, err := c.decode(index.Entry{ID: id, Compression: comp, RawLength: uint64(len(text))}, out, nil)
	if err != nil || sha256.Sum256(plain) != id {
		t.Fatalf("decode: %v", err)
	}
}
