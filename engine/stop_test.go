package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/mem"
)

// stopAfterFirst closes stop when the first file is done.
type stopAfterFirst struct {
	once sync.Once
	stop chan struct{}
}

func (p *stopAfterFirst) Total(int64, int64)       {}
func (p *stopAfterFirst) File(string, int64, bool) { p.once.Do(func() { close(p.stop) }) }

func TestBackupStopsCleanly(t *testing.T) {
	ctx := context.Background()
	st := mem.New(mem.Options{})
	e := testEngine(t, st)
	data := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	var files []treeFile
	for i := range 40 {
		files = append(files, treeFile{fmt.Sprintf("ks/t-01/nb-%d-big-Data.db", i), randomBytes(rng, 64<<10)})
	}
	writeTree(t, data, files)
	p := &stopAfterFirst{stop: make(chan struct{})}
	e.Progress = p
	_, err := e.Backup(ctx, BackupOptions{Name: "b1", Node: "n1", DataDirs: []string{data}, Workers: 1, Stop: p.stop})
	if !errors.Is(err, ErrStopped) {
		t.Fatalf("stopped backup: %v", err)
	}
	if _, err := st.Stat(ctx, ManifestKey("b1", "n1")); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("a stopped backup must write no manifest: %v", err)
	}
	if countObjects(t, st, chunkstore.IndexPrefix) == 0 {
		t.Fatal("what the stopped backup uploaded was not indexed")
	}
	// The rerun completes it and uploads only what is missing.
	e.Progress = nil
	res, err := e.Backup(ctx, BackupOptions{Name: "b1", Node: "n1", DataDirs: []string{data}})
	if err != nil {
		t.Fatal(err)
	}
	if sm := res.Header.Summary; sm.Files != 40 || sm.NewBytes >= sm.Bytes {
		t.Fatalf("the rerun must reuse what the stopped backup uploaded: %+v", sm)
	}
	target := t.TempDir()
	if _, err := e.Restore(ctx, RestoreOptions{Name: "b1", Node: "n1", Target: target}); err != nil {
		t.Fatal(err)
	}
	compareTrees(t, data, target)
}
