package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/all"
	"github.com/cassette-backup/cassette/providers/providertest"
)

// TestS3BackupThroughCutConnections runs backups through the whole remote
// stack (providers/all with its retry decorator, the S3 SDK, MinIO) with a
// TCP proxy in between that cuts connections in the middle of uploads:
// first a few connections, then all of them for a while. A backup either
// completes through retries or fails with a clear error; either way no
// manifest points at missing data, and once the network heals the next
// backup succeeds and restores byte for byte.
func TestS3BackupThroughCutConnections(t *testing.T) {
	ctx := context.Background()
	srv := providertest.Start(t, providertest.StartMinIO)
	proxy := providertest.StartProxy(t, srv.Addr())
	sp := srv.Props("engine-fault")
	sp.Port = proxy.Port()
	sp.MultipartPartSize = 5 << 20
	sp.ListPageSize = 7
	st, err := all.Create(ctx, sp, all.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	// Packs larger than a part: pack uploads are multipart, parts are cut
	// mid-body. testEngine opens this repository.
	repo, err := chunkstore.Init(ctx, st, chunkstore.InitOptions{PackSize: 8 << 20}, chunkstore.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	repo.Close()
	e := testEngine(t, st)
	rng := rand.New(rand.NewPCG(31, 32))
	data := filepath.Join(t.TempDir(), "data")
	writeTree(t, data, sstables(rng, "day1", 16, 1<<20))

	// Two uploads are cut once they sent 1 MiB: within the S3 backend's
	// part retries, so the backup should get through.
	proxy.CutAfter(1<<20, 2)
	_, err = e.Backup(ctx, BackupOptions{Name: "b1", Node: "n1", DataDirs: []string{data}})
	if proxy.Cuts() == 0 {
		t.Fatal("the proxy cut nothing; the test proves nothing")
	}
	checkClearFailure(t, "b1 (2 connections cut)", err)

	// The network goes down in the middle of the next backup's uploads.
	writeTree(t, data, sstables(rng, "day2", 12, 1<<20))
	proxy.CutAfter(0, 0)
	watch, stop := context.WithCancel(ctx)
	down := cutWhenSent(watch, proxy, proxy.Sent()+2<<20)
	_, err = e.Backup(ctx, BackupOptions{Name: "b2", Node: "n1", DataDirs: []string{data}})
	stop()
	<-down
	if err == nil {
		t.Fatal("backup b2 succeeded although the network went down during its uploads")
	}
	checkClearFailure(t, "b2 (network down)", err)

	// Healed: the next backup succeeds and restores byte for byte.
	proxy.CutAfter(0, 0)
	if _, err := e.Backup(ctx, BackupOptions{Name: "b3", Node: "n1", DataDirs: []string{data}}); err != nil {
		t.Fatalf("backup after the network healed: %v", err)
	}
	target := filepath.Join(t.TempDir(), "restore")
	if _, err := e.Restore(ctx, RestoreOptions{Name: "b3", Node: "n1", Target: target}); err != nil {
		t.Fatal(err)
	}
	compareTrees(t, data, target)

	// Whatever failed, every manifest in the bucket points at data that is
	// there and intact.
	for _, k := range listKeys(t, st) {
		if k == string(ManifestKey("b2", "n1")) {
			t.Errorf("the failed backup b2 left a manifest")
		}
	}
	res, err := e.Verify(ctx, VerifyOptions{ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 0 || res.Backups < 1 {
		t.Fatalf("verify --read-data of %d complete backups: %v", res.Backups, res.Problems)
	}
	t.Logf("%d connections cut; %d complete backups verified", proxy.Cuts(), res.Backups)
}

// sstables returns n Data.db files of size incompressible bytes, each with
// its TOC, in one table.
func sstables(rng *rand.Rand, gen string, n, size int) []treeFile {
	var files []treeFile
	for i := range n {
		base := fmt.Sprintf("ks1/events-0c1d/nb-%s%02d-big-", gen, i)
		files = append(files,
			treeFile{rel: base + "Data.db", data: randomBytes(rng, size)},
			treeFile{rel: base + "TOC.txt", data: []byte("Data.db\nTOC.txt\n")})
	}
	return files
}

// cutWhenSent takes the proxy down (every connection cut) once it has
// forwarded more than bytes, unless ctx ends first; the channel closes
// when it is done.
func cutWhenSent(ctx context.Context, p *providertest.Proxy, bytes int64) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for p.Sent() <= bytes {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
		p.CutAfter(0, -1)
	}()
	return done
}

// checkClearFailure accepts a nil err (the backup got through) or a clear
// one: a transient storage failure, in one line, saying what failed.
func checkClearFailure(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Logf("backup %s completed through retries", what)
		return
	}
	t.Logf("backup %s failed: %v", what, err)
	msg := err.Error()
	if !errors.Is(err, providers.ErrTransient) || strings.Contains(msg, "\n") || !strings.Contains(msg, "s3 ") {
		t.Errorf("backup %s failed with %q; want one line wrapping ErrTransient and naming the S3 operation", what, msg)
	}
}
