package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/index"
	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/faulty"
	"github.com/cassette-backup/cassette/providers/mem"
)

// testEngine opens a fresh small-chunk repository on st.
func testEngine(t testing.TB, st providers.Storage) *Engine {
	t.Helper()
	cache := t.TempDir()
	ctx := context.Background()
	repo, err := chunkstore.Open(ctx, st, chunkstore.Options{CacheDir: cache})
	if errors.Is(err, chunkstore.ErrNoRepository) {
		repo, err = chunkstore.Init(ctx, st, chunkstore.InitOptions{MinChunkSize: 1 << 10, MaxChunkSize: 16 << 10, AverageChunkBits: 12, PackSize: 128 << 10},
			chunkstore.Options{CacheDir: cache})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	return &Engine{Repo: repo, CacheDir: cache}
}

// treeFile is one file of a generated data directory.
type treeFile struct {
	rel  string
	data []byte
}

func writeTree(t testing.TB, root string, files []treeFile) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
}

// compareTrees fails unless got holds exactly the files of want (skipping
// snapshots/ and backups/ sub-folders of tables in want), byte for byte.
func compareTrees(t testing.TB, want, got string) {
	t.Helper()
	collect := func(root string, skipSnap bool) map[string][]byte {
		out := map[string][]byte{}
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel)
			if d.IsDir() {
				if skipSnap && strings.Count(rel, "/") == 2 && (d.Name() == "snapshots" || d.Name() == "backups") {
					return fs.SkipDir
				}
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out[rel] = b
			return nil
		})
		return out
	}
	w, g := collect(want, true), collect(got, false)
	for k, v := range w {
		gv, ok := g[k]
		if !ok {
			t.Fatalf("restore lacks %s", k)
		}
		if !bytes.Equal(v, gv) {
			t.Fatalf("restored %s differs (%d vs %d bytes)", k, len(gv), len(v))
		}
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			t.Fatalf("restore has extra file %s", k)
		}
	}
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func genTree() *rapid.Generator[[]treeFile] {
	return rapid.Custom(func(t *rapid.T) []treeFile {
		names := []string{"nb-1-big-Data.db", "nb-1-big-TOC.txt", "nb-2-big-Index.db", "Digest.crc32", "ünïcødé-Data.db", "nb-3-big-Rows.db"}
		n := rapid.IntRange(0, 30).Draw(t, "files")
		seen := map[string]bool{}
		var out []treeFile
		seed := rapid.Uint64().Draw(t, "seed")
		rng := rand.New(rand.NewPCG(seed, 9))
		for i := 0; i < n; i++ {
			ks := rapid.SampledFrom([]string{"ks1", "system_schema", "ks_ü"}).Draw(t, "ks")
			tbl := rapid.SampledFrom([]string{"t1-0123abcd", "t2-4567ef01", "deep-89abcdef/.idx_v"}).Draw(t, "tbl")
			name := rapid.SampledFrom(names).Draw(t, "name")
			rel := ks + "/" + tbl + "/" + name
			if seen[rel] {
				continue
			}
			seen[rel] = true
			var data []byte
			switch rapid.IntRange(0, 4).Draw(t, "kind") {
			case 0: // empty component, like a zero-byte Rows.db
			case 1:
				data = randomBytes(rng, rapid.IntRange(1, 200).Draw(t, "small"))
			case 2:
				data = randomBytes(rng, rapid.IntRange(16<<10, 120<<10).Draw(t, "large"))
			case 3:
				data = bytes.Repeat([]byte("row,"), rapid.IntRange(1, 30000).Draw(t, "text"))
			case 4: // shares content with another file
				if len(out) > 0 {
					data = out[rapid.IntRange(0, len(out)-1).Draw(t, "dup")].data
				}
			}
			out = append(out, treeFile{rel: rel, data: data})
		}
		return out
	})
}

func TestBackupRestoreRandomTrees(t *testing.T) {
	ctx := context.Background()
	rapid.Check(t, func(rt *rapid.T) {
		files := genTree().Draw(rt, "tree")
		dir := t.TempDir()
		data := filepath.Join(dir, "data")
		os.MkdirAll(data, 0o755)
		writeTree(t, data, files)
		st := mem.New(mem.Options{ListPageSize: 7})
		e := testEngine(t, st)
		if _, err := e.Backup(ctx, BackupOptions{Name: "b1", Node: "node1", DataDirs: []string{data}}); err != nil {
			rt.Fatal(err)
		}
		target := filepath.Join(dir, "restore")
		res, err := e.Restore(ctx, RestoreOptions{Name: "b1", Node: "node1", Target: target})
		if err != nil {
			rt.Fatal(err)
		}
		if int(res.Files) != len(files) {
			rt.Fatalf("restored %d files, want %d", res.Files, len(files))
		}
		if len(files) > 0 {
			compareTrees(t, data, target)
		}
		// A second backup of the unchanged tree uploads no chunk.
		res2, err := e.Backup(ctx, BackupOptions{Name: "b2", Node: "node1", DataDirs: []string{data}})
		if err != nil {
			rt.Fatal(err)
		}
		if s := res2.Header.Summary; s.NewChunks != 0 || s.Packs != 0 || s.ReadFiles != 0 {
			rt.Fatalf("unchanged tree: %+v", s)
		}
	})
}

func TestThousandsOfSmallFiles(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	var files []treeFile
	for i := 0; i < 3000; i++ {
		files = append(files, treeFile{rel: fmt.Sprintf("ks%d/t%d-00ff/nb-%d-big-Statistics.db", i%3, i%40, i), data: randomBytes(rng, 10+rng.IntN(3000))})
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeTree(t, data, files)
	st := mem.New(mem.Options{})
	e := testEngine(t, st)
	res, err := e.Backup(ctx, BackupOptions{Name: "b1", Node: "n1", DataDirs: []string{data}})
	if err != nil {
		t.Fatal(err)
	}
	// 3000 files, ~4.5 MB: packs of 128 KiB => a few tens of packs, not 3000 objects.
	var objects int
	st.List(ctx, "", func(providers.ObjectInfo) error { objects++; return nil })
	if objects > 80 {
		t.Fatalf("%d objects for 3000 small files", objects)
	}
	t.Logf("3000 files -> %d objects (%d packs)", objects, res.Header.Summary.Packs)
	if _, err := e.Restore(ctx, RestoreOptions{Name: "b1", Node: "n1", Target: filepath.Join(dir, "r")}); err != nil {
		t.Fatal(err)
	}
	compareTrees(t, data, filepath.Join(dir, "r"))
}

func TestTwoNodesIdenticalDataStoredOnce(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 8))
	files := []treeFile{{"ks/t-01/nb-1-big-Data.db", randomBytes(rng, 400<<10)}, {"ks/t-01/nb-1-big-TOC.txt", []byte("Data.db\n")}}
	d1, d2 := t.TempDir(), t.TempDir()
	writeTree(t, d1, files)
	writeTree(t, d2, files)
	st := mem.New(mem.Options{})
	e1 := testEngine(t, st)
	e2 := testEngine(t, st) // another machine: its own caches
	r1, err := e1.Backup(ctx, BackupOptions{Name: "b", Node: "n1", DataDirs: []string{d1}})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := e2.Backup(ctx, BackupOptions{Name: "b", Node: "n2", DataDirs: []string{d2}})
	if err != nil {
		t.Fatal(err)
	}
	if r1.Header.Summary.NewBytes < 400<<10 || r2.Header.Summary.NewChunks != 0 {
		t.Fatalf("n1 %+v, n2 %+v", r1.Header.Summary, r2.Header.Summary)
	}
	if _, err := e2.Restore(ctx, RestoreOptions{Name: "b", Node: "n1", Target: filepath.Join(t.TempDir(), "x")}); err != nil {
		t.Fatal(err)
	}
}

func TestRestoreRefusesEscapingPath(t *testing.T) {
	for _, p := range []string{"../x", "/etc/passwd", "ks/../../x", "ks//x", "ks/./x", ""} {
		if validPath(p) {
			t.Errorf("%q accepted", p)
		}
	}
	for _, p := range []string{"ks/t-1/nb-1-big-Data.db", "ks/t-1/.idx/x"} {
		if !validPath(p) {
			t.Errorf("%q refused", p)
		}
	}
}

func TestManifestRoundTrip(t *testing.T) {
	var entries bytes.Buffer
	mw, err := NewManifestWriter(&entries)
	if err != nil {
		t.Fatal(err)
	}
	id := index.Hash([]byte("x"))
	want := []FileEntry{
		{Path: "ks/t-1/a", Size: 1, Hash: id, Content: chunkstore.Content{Chunk: &id}},
		{Path: "ks/t-1/b", Size: 0},
		{Path: "ks/t-1/c", Size: 99, Content: chunkstore.Content{Lists: []index.ID{id, id}}},
	}
	for i := range want {
		mw.Add(&want[i])
	}
	mw.Close()
	h := &Header{Format: 1, Backup: "b", Node: "n", Type: TypeFull, DataDirs: []string{"/d"}, Summary: Summary{Files: 3}}
	hb, _ := EncodeHeader(h)
	var got []FileEntry
	gh, err := DecodeManifest(io.MultiReader(bytes.NewReader(hb), &entries), func(f *FileEntry) error { got = append(got, *f); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if gh.Backup != "b" || len(got) != 3 || *got[0].Chunk != id || len(got[2].Lists) != 2 {
		t.Fatalf("round trip: %+v %+v", gh, got)
	}
}

// An interrupted restore resumes: files already in place are kept without
// download, missing ones are fetched; a restore that cannot fit fails before
// writing anything.
func TestRestoreResumesAndChecksSpace(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(31, 32))
	var files []treeFile
	for i := 0; i < 12; i++ {
		files = append(files, treeFile{rel: fmt.Sprintf("ks/t-0a/nb-%d-big-Data.db", i), data: randomBytes(rng, 5000+rng.IntN(60<<10))})
	}
	data := filepath.Join(t.TempDir(), "data")
	writeTree(t, data, files)
	e := testEngine(t, mem.New(mem.Options{}))
	if _, err := e.Backup(ctx, BackupOptions{Name: "b", Node: "n", DataDirs: []string{data}}); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "r")
	if _, err := e.Restore(ctx, RestoreOptions{Name: "b", Node: "n", Target: target}); err != nil {
		t.Fatal(err)
	}
	// "Interrupt": remove a third of the files.
	for i := 0; i < 4; i++ {
		os.Remove(filepath.Join(target, "ks", "t-0a", fmt.Sprintf("nb-%d-big-Data.db", i)))
	}
	res, err := e.Restore(ctx, RestoreOptions{Name: "b", Node: "n", Target: target})
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 4 || res.InPlace != 8 {
		t.Fatalf("resume wrote %d, kept %d", res.Files, res.InPlace)
	}
	compareTrees(t, data, target)

	old := freeSpaceFn
	freeSpaceFn = func(string) (int64, error) { return 1000, nil }
	defer func() { freeSpaceFn = old }()
	empty := filepath.Join(t.TempDir(), "small")
	_, err = e.Restore(ctx, RestoreOptions{Name: "b", Node: "n", Target: empty})
	if err == nil || !strings.Contains(err.Error(), "free") {
		t.Fatalf("restore into a too small disk: %v", err)
	}
	if _, statErr := os.Stat(empty); !os.IsNotExist(statErr) {
		t.Fatal("a restore that cannot fit wrote something")
	}
}

// In-place restore refuses while the node runs, moves current tables aside,
// restores, and on an injected failure puts everything back as it was.
func TestRestoreInPlace(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(41, 42))
	data := filepath.Join(t.TempDir(), "data")
	writeTree(t, data, []treeFile{
		{"ks/t-0a/nb-1-big-Data.db", randomBytes(rng, 40<<10)},
		{"ks/t-0a/nb-1-big-TOC.txt", []byte("Data.db\n")},
		{"ks/u-0b/nb-1-big-Data.db", randomBytes(rng, 10<<10)},
	})
	st := mem.New(mem.Options{})
	fs := faulty.New(st)
	e := testEngine(t, fs)
	if _, err := e.Backup(ctx, BackupOptions{Name: "b", Node: "n", DataDirs: []string{data}}); err != nil {
		t.Fatal(err)
	}
	snapshot := filepath.Join(t.TempDir(), "before")
	// The node moves on: compaction replaced a file, a new one appeared.
	os.Remove(filepath.Join(data, "ks/t-0a/nb-1-big-Data.db"))
	writeTree(t, data, []treeFile{{"ks/t-0a/nb-2-big-Data.db", randomBytes(rng, 30<<10)}})
	copyTree(t, data, snapshot)

	o := RestoreOptions{Name: "b", Node: "n", TargetDirs: []string{data}}
	running := func(context.Context) (bool, error) { return true, nil }
	if _, _, err := e.RestoreInPlace(ctx, o, InPlaceOptions{IsRunning: running}); !errors.Is(err, ErrNodeRunning) {
		t.Fatalf("in-place restore while running: %v", err)
	}
	stopped := func(context.Context) (bool, error) { return false, nil }
	fs.AddRule(faulty.Rule{Op: faulty.OpGet, KeyPrefix: chunkstore.PackPrefix, Nth: 1})
	if _, _, err := e.RestoreInPlace(ctx, o, InPlaceOptions{IsRunning: stopped}); err == nil {
		t.Fatal("restore with a failing pack read succeeded")
	}
	fs.ClearRules()
	compareTrees(t, snapshot, data) // rolled back exactly
	res, aside, err := e.RestoreInPlace(ctx, o, InPlaceOptions{IsRunning: stopped})
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 3 || len(aside) != 1 {
		t.Fatalf("restored %d files, aside %v", res.Files, aside)
	}
	// The old files wait aside; the live folders hold the backup.
	if _, err := os.Stat(filepath.Join(aside[0], "ks/t-0a/nb-2-big-Data.db")); err != nil {
		t.Fatalf("old file not kept aside: %v", err)
	}
	os.RemoveAll(filepath.Join(data, asideDir))
	if _, err := os.Stat(filepath.Join(data, "ks/t-0a/nb-2-big-Data.db")); !os.IsNotExist(err) {
		t.Fatal("a file newer than the backup is still live")
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
}
