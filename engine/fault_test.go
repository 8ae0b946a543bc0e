package engine

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/index"
	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/faulty"
	"github.com/cassette-backup/cassette/providers/local"
)

func faultTree(t *testing.T) string {
	rng := rand.New(rand.NewPCG(21, 22))
	var files []treeFile
	for i := 0; i < 20; i++ {
		files = append(files, treeFile{rel: "ks/t-0a/nb-" + string(rune('a'+i)) + "-big-Data.db", data: randomBytes(rng, 30<<10+rng.IntN(60<<10))})
		files = append(files, treeFile{rel: "ks/t-0a/nb-" + string(rune('a'+i)) + "-big-TOC.txt", data: []byte("Data.db\n")})
	}
	dir := filepath.Join(t.TempDir(), "data")
	writeTree(t, dir, files)
	return dir
}

// listKeys returns every key in st (below the decorators).
func listKeys(t *testing.T, st providers.Storage) []string {
	var keys []string
	if err := st.List(context.Background(), "", func(oi providers.ObjectInfo) error { keys = append(keys, string(oi.Key)); return nil }); err != nil {
		t.Fatal(err)
	}
	return keys
}

// A backup that fails part-way leaves no manifest and no half-written
// object, and the next backup succeeds and restores.
func TestBackupFailsPartWayThenSucceeds(t *testing.T) {
	ctx := context.Background()
	data := faultTree(t)
	cases := []faulty.Rule{
		{Op: faulty.OpPut, KeyPrefix: chunkstore.PackPrefix, Nth: 3},                                          // a pack upload fails
		{Op: faulty.OpPut, KeyPrefix: chunkstore.PackPrefix, Nth: 2, Action: faulty.FailPayload, Bytes: 5000}, // the connection drops mid-pack
		{Op: faulty.OpPut, KeyPrefix: chunkstore.IndexPrefix, Nth: 1},                                         // the index segment write fails
		{Op: faulty.OpPut, KeyPrefix: "backups/", Nth: 2},                                                     // the manifest write fails
	}
	for i, rule := range cases {
		t.Run(string(rule.Op)+"-"+rule.KeyPrefix+"-"+string(rune('0'+i)), func(t *testing.T) {
			root := t.TempDir()
			base, err := local.Create(ctx, root, local.Options{})
			if err != nil {
				t.Fatal(err)
			}
			fs := faulty.New(base)
			e := testEngine(t, fs)
			fs.AddRule(rule)
			_, err = e.Backup(ctx, BackupOptions{Name: "b1", Node: "n1", DataDirs: []string{data}, Workers: 2})
			if err == nil {
				t.Fatal("backup succeeded despite the injected fault")
			}
			for _, k := range listKeys(t, base) {
				if strings.HasSuffix(k, "/manifest") {
					t.Fatalf("failed backup left a manifest: %s", k)
				}
			}
			// No temporary or partial file is visible in the repository folder.
			filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && strings.Contains(d.Name(), ".tmp") {
					t.Errorf("half-written object left behind: %s", p)
				}
				return nil
			})
			fs.ClearRules()
			res, err := e.Backup(ctx, BackupOptions{Name: "b1", Node: "n1", DataDirs: []string{data}})
			if err != nil {
				t.Fatalf("backup after the fault: %v", err)
			}
			if res.Header.Summary.Files != 40 {
				t.Fatalf("files %d", res.Header.Summary.Files)
			}
			target := filepath.Join(t.TempDir(), "r")
			if _, err := e.Restore(ctx, RestoreOptions{Name: "b1", Node: "n1", Target: target}); err != nil {
				t.Fatal(err)
			}
			compareTrees(t, data, target)
		})
	}
}

// A flipped byte in a pack fails restore and verify --read-data with an
// error naming the file and the pack.
func TestCorruptPackFailsRestoreAndVerify(t *testing.T) {
	ctx := context.Background()
	data := faultTree(t)
	root := t.TempDir()
	st, err := local.Create(ctx, root, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := testEngine(t, st)
	if _, err := e.Backup(ctx, BackupOptions{Name: "b1", Node: "n1", DataDirs: []string{data}}); err != nil {
		t.Fatal(err)
	}
	// Structure verify passes first.
	if res, err := e.Verify(ctx, VerifyOptions{ReadData: true}); err != nil || len(res.Problems) != 0 {
		t.Fatalf("clean verify: %+v %v", res, err)
	}
	var packs []string
	for _, k := range listKeys(t, st) {
		if strings.HasPrefix(k, chunkstore.PackPrefix) {
			packs = append(packs, k)
		}
	}
	victim := filepath.Join(root, filepath.FromSlash(packs[0]))
	b, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	b[100] ^= 0x40
	if err := os.WriteFile(victim, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = e.Restore(ctx, RestoreOptions{Name: "b1", Node: "n1", Target: filepath.Join(t.TempDir(), "r")})
	if !errors.Is(err, chunkstore.ErrIntegrity) {
		t.Fatalf("restore of corrupt data: want ErrIntegrity, got %v", err)
	}
	if !strings.Contains(err.Error(), packs[0]) && !strings.Contains(err.Error(), strings.TrimPrefix(packs[0], chunkstore.PackPrefix)[3:]) {
		t.Fatalf("restore error does not name the pack %s: %v", packs[0], err)
	}
	if !strings.Contains(err.Error(), "ks/t-0a/") {
		t.Fatalf("restore error does not name the file: %v", err)
	}
	res, err := e.Verify(ctx, VerifyOptions{ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) == 0 {
		t.Fatal("verify --read-data found no problem in a corrupt pack")
	}
	for _, p := range res.Problems {
		if !strings.Contains(p, packs[0]) || !strings.Contains(p, "ks/t-0a/") {
			t.Fatalf("problem does not name file and pack: %s", p)
		}
	}
}

// A damaged content list is reported by verify as the problem of the file
// that uses it (file and pack named), and verify goes on with the others.
func TestCorruptContentListNamesFile(t *testing.T) {
	ctx := context.Background()
	data := faultTree(t)
	root := t.TempDir()
	st, err := local.Create(ctx, root, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := testEngine(t, st)
	if _, err := e.Backup(ctx, BackupOptions{Name: "b1", Node: "n1", DataDirs: []string{data}}); err != nil {
		t.Fatal(err)
	}
	var victim index.Entry
	var path string
	if _, err := e.ReadManifest(ctx, "b1", "n1", func(f *FileEntry) error {
		if len(f.Lists) > 0 && path == "" {
			path = f.Path
			victim, err = e.Repo.Lookup(f.Lists[0])
			return err
		}
		return nil
	}); err != nil || path == "" {
		t.Fatalf("no file with a content list: %v", err)
	}
	pack := filepath.Join(root, filepath.FromSlash(string(chunkstore.PackKey(victim.Pack))))
	b, err := os.ReadFile(pack)
	if err != nil {
		t.Fatal(err)
	}
	b[victim.Offset+victim.Length/2] ^= 0x40
	if err := os.WriteFile(pack, b, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := e.Verify(ctx, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range res.Problems {
		found = found || (strings.Contains(p, "file "+path+":") && strings.Contains(p, victim.Pack.String()))
	}
	if !found || res.Files < 2 {
		t.Fatalf("problems %q (files checked %d), want one naming %s and pack %s", res.Problems, res.Files, path, victim.Pack)
	}
}
