package purgebench

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/engine"
	"github.com/cassette-backup/cassette/providers/mem"
)

// TestGeneratedRepositoryIsValid builds a small repository and has
// cassette's own engine check it: verify --read-data, a purge with garbage
// collection (which reads every kept manifest and content list and repacks
// partly live packs), verify again, and a restore (which re-hashes every
// chunk and file).
func TestGeneratedRepositoryIsValid(t *testing.T) {
	ctx := context.Background()
	st := mem.New(mem.Options{ListPageSize: 50})
	sp := Spec{Backups: 12, Nodes: 2, Packs: 300, PackBlobs: 8, Lifetime: 3, ListFraction: 0.5, Seed: 3, Concurrency: 4}
	shape, err := Generate(ctx, st, sp, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if shape.Packs < sp.Packs*9/10 || shape.Manifests != sp.Backups*sp.Nodes || shape.Segments < shape.Manifests || shape.ContentLists == 0 {
		t.Fatalf("shape %+v", shape)
	}
	repo, err := chunkstore.Open(ctx, st, chunkstore.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	e := &engine.Engine{Repo: repo, CacheDir: t.TempDir()}
	verify := func(when string, backups int) {
		t.Helper()
		vr, err := e.Verify(ctx, engine.VerifyOptions{ReadData: true})
		if err != nil || len(vr.Problems) != 0 || vr.Backups != backups {
			t.Fatalf("verify --read-data %s: %d backups, %v %v", when, vr.Backups, vr.Problems, err)
		}
	}
	verify("as built", sp.Backups*sp.Nodes)
	res, err := e.Purge(ctx, engine.PurgeOptions{MaxCount: 3, GC: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.BackupsPurged != (sp.Backups-3)*sp.Nodes || res.GC.PacksDeleted == 0 {
		t.Fatalf("purge: %+v, gc %+v", res, res.GC)
	}
	for _, nb := range res.Deleted {
		if nb.Name >= BackupName(sp.Backups-3) {
			t.Fatalf("purge removed %s of %s, one of the newest three", nb.Name, nb.Node)
		}
	}
	verify("after the purge", 3*sp.Nodes)
	if _, err := e.Restore(ctx, engine.RestoreOptions{Name: shape.LastBackup, Node: NodeName(1), Target: filepath.Join(t.TempDir(), "r")}); err != nil {
		t.Fatal(err)
	}
	if refs, distinct := shape.ListReads(3); refs == 0 || distinct == 0 || distinct > refs {
		t.Fatalf("ListReads(3) = %d, %d", refs, distinct)
	}
}
