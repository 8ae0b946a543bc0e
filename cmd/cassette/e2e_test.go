package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cassette-backup/cassette/bench/datagen"
	"github.com/cassette-backup/cassette/bench/harness"
	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/all"
	"github.com/cassette-backup/cassette/providers/providertest"
)

// The end-to-end tests drive the CLI against each emulator the way an
// operator would: a YAML configuration naming the server, init, a full and
// a differential backup of a generated data directory, list, restore, a
// byte-for-byte comparison, verify --read-data and a refused second init.

// The tests do not run in parallel: run is not safe for concurrent use
// (urfave/cli sets up its shared help command on every run).

// e2ePartSize is the multipart part size, and e2ePackSize the pack size
// init sets, so that every pack crosses several parts.
const (
	e2ePartSize = "5MiB"
	e2ePackSize = "12MiB"
)

func TestEndToEndMinIO(t *testing.T) {
	srv := providertest.Start(t, providertest.StartMinIO)
	for _, kind := range []string{"s3_compatible", "s3_rgw"} {
		t.Run(kind, func(t *testing.T) {
			sp := srv.Props("")
			sp.StorageProvider = kind
			if kind == "s3_rgw" {
				sp.RequestChecksum = "when_required" // what older Ceph RGW needs
			}
			runEndToEnd(t, sp)
		})
	}
}

func TestEndToEndFakeGCS(t *testing.T) {
	runEndToEnd(t, providertest.Start(t, providertest.StartFakeGCS).Props(""))
}

func TestEndToEndAzurite(t *testing.T) {
	runEndToEnd(t, providertest.Start(t, providertest.StartAzurite).Props(""))
}

// runEndToEnd runs the whole operator workflow on the server sp addresses,
// in a bucket and under a prefix of its own.
func runEndToEnd(t *testing.T, sp providers.StorageProperties) {
	dir := t.TempDir()
	data, target := filepath.Join(dir, "data"), filepath.Join(dir, "restore")
	sp.BucketName = fmt.Sprintf("e2e-%s-%d", strings.ReplaceAll(sp.StorageProvider, "_", "-"), time.Now().UnixNano()%1e9)
	sp.Prefix = "clusters/" + providertest.UniquePrefix(t)
	cfg := writeEndToEndConfig(t, dir, sp, data)
	cli := func(args ...string) (string, string) {
		t.Helper()
		start := time.Now()
		code, out, stderr := runCLI(t, append([]string{"--config", cfg}, args...)...)
		if code != 0 {
			t.Fatalf("cassette %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, stderr)
		}
		t.Logf("cassette %s (%s):\n%s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond), out)
		return out, stderr
	}

	if out, _ := cli("init", "--pack-size", e2ePackSize); !strings.Contains(out, "initialised repository") {
		t.Fatalf("init said %q", out)
	}
	spec := datagen.Spec{Seed: 7, Keyspaces: 2, TablesPerKeyspace: 2, SSTablesPerTable: 3, DataBytes: 3 << 20, CompressedFraction: 0.5}
	if _, err := datagen.Generate(data, spec); err != nil {
		t.Fatal(err)
	}
	cli("backup", "--name", "day1")
	if _, err := datagen.Compact(data, 8, 0.5); err != nil {
		t.Fatal(err)
	}
	cli("backup", "--name", "day2")
	out, _ := cli("list")
	for _, name := range []string{"day1", "day2"} {
		if !strings.Contains(out, name) {
			t.Errorf("list does not show %s:\n%s", name, out)
		}
	}
	cli("restore", "--name", "day2", "--target", target)
	if err := harness.CompareTrees(data, target); err != nil { // skips snapshots/ and backups/, as backups do
		t.Error(err)
	}
	if out, _ := cli("verify", "--read-data"); !strings.Contains(out, "no problems") {
		t.Errorf("verify --read-data said %q", out)
	}
	checkMultipartPacks(t, sp)
	code, _, stderr := runCLI(t, "--config", cfg, "init")
	if code == 0 || !strings.Contains(stderr, "already exists") {
		t.Errorf("second init: exit %d, %q; want a failure saying the repository already exists", code, stderr)
	}
}

// writeEndToEndConfig writes sp and the node's data directory as an
// operator's cassette.yaml in dir, with small list pages and parts.
func writeEndToEndConfig(t *testing.T, dir string, sp providers.StorageProperties, data string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "storageProperties:\n  storageProvider: %s\n  bucketName: %s\n  prefix: %s\n", sp.StorageProvider, sp.BucketName, sp.Prefix)
	fmt.Fprintf(&b, "  host: %s\n  port: %d\n  secure: false\n", sp.Host, sp.Port)
	if sp.CredentialsFile != "" {
		fmt.Fprintf(&b, "  credentialsFile: %s\n", sp.CredentialsFile)
	}
	if sp.RequestChecksum != "" {
		fmt.Fprintf(&b, "  requestChecksum: %s\n", sp.RequestChecksum)
	}
	fmt.Fprintf(&b, "  concurrentTransfers: 4\n  multipartPartSize: %s\n  listPageSize: 7\n", e2ePartSize)
	fmt.Fprintf(&b, "cassandra:\n  dataDirs: [%s]\n  node: node1\n  snapshot: none\ncacheDir: %s\n", data, filepath.Join(dir, "cache"))
	cfg := filepath.Join(dir, "cassette.yaml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// checkMultipartPacks fails unless some pack in the bucket is larger than
// one multipart part, so the run proved multipart uploads and ranged reads
// across parts.
func checkMultipartPacks(t *testing.T, sp providers.StorageProperties) {
	t.Helper()
	st, err := all.Open(t.Context(), sp, all.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close(t.Context()) }()
	var largest int64
	err = st.List(t.Context(), chunkstore.PackPrefix, func(oi providers.ObjectInfo) error {
		largest = max(largest, oi.Size)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if largest <= 5<<20 {
		t.Errorf("the largest pack holds %d bytes, not more than one %s part", largest, e2ePartSize)
	}
}
