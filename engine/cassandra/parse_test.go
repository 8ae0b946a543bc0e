package cassandra

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sharedDir holds verbatim nodetool captures kept outside the module.
const sharedDir = "../../../shared/testdata/nodetool"

// sharedSample reads a capture from sharedDir. CI must have them; a
// developer checkout without the folder skips.
func sharedSample(t testing.TB, name string) []byte {
	t.Helper()
	if _, err := os.Stat(sharedDir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("nodetool samples missing (%v): CI must provide %s", err, sharedDir)
		}
		t.Skipf("nodetool samples not found (%v)", err)
	}
	b, err := os.ReadFile(filepath.Join(sharedDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixture reads one of this package's own nodetool outputs.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "nodetool", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// variants returns b as captures found in the wild mangle it.
func variants(b []byte) map[string][]byte {
	lines := strings.Split(string(b), "\n")
	mapLines := func(f func(string) string) []byte {
		out := make([]string, len(lines))
		for i, l := range lines {
			out[i] = f(l)
		}
		return []byte(strings.Join(out, "\n"))
	}
	return map[string][]byte{
		"crlf":     bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")),
		"markdown": mapLines(func(l string) string { return "    " + l }),
		"trimmed":  bytes.TrimRight(mapLines(func(l string) string { return strings.TrimRight(l, " ") }), "\n"),
		"jvm-warnings": append([]byte("OpenJDK 64-Bit Server VM warning: Option UseConcMarkSweepGC was deprecated in version 9.0\n"+
			"WARN  12:00:01,234 Small commitlog volume detected at /var/lib/cassandra/commitlog\n"+
			"Picked up JAVA_TOOL_OPTIONS: -Dfile.encoding=UTF-8\n"), b...),
	}
}

// checkVariants asserts that parse gives want for every variant of b.
func checkVariants[T any](t *testing.T, b []byte, want T, parse func([]byte) (T, error)) {
	t.Helper()
	for name, v := range variants(b) {
		got, err := parse(v)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v\nwant %+v", name, got, want)
		}
	}
}

func parseStatus(b []byte) ([]StatusNode, error)      { return ParseStatus(bytes.NewReader(b)) }
func parseRing(b []byte) ([]RingEntry, error)         { return ParseRing(bytes.NewReader(b)) }
func parseInfo(b []byte) (Info, error)                { return ParseInfo(bytes.NewReader(b)) }
func parseVersion(b []byte) (string, error)           { return ParseVersion(bytes.NewReader(b)) }
func parseSnapshots(b []byte) ([]SnapshotInfo, error) { return ParseListSnapshots(bytes.NewReader(b)) }
func mustParse[T any](t *testing.T, b []byte, parse func([]byte) (T, error)) T {
	t.Helper()
	v, err := parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseStatus40(t *testing.T) {
	b := sharedSample(t, "4.0-status-k8ssandra.txt")
	got := mustParse(t, b, parseStatus)
	want := []StatusNode{
		{"dc1", "U", "N", "10.244.1.5", "96.71 KiB", 16, "100.0%", "4b95036b-1603-464f-bdee-b519fa28a079", "default"},
		{"dc1", "U", "N", "10.244.2.4", "96.62 KiB", 16, "100.0%", "ade61d9f-90f4-464c-8e18-dd3522c2bf3c", "default"},
		{"dc1", "U", "N", "10.244.3.4", "96.7 KiB", 16, "100.0%", "0f75a6fe-c91d-4c0e-9253-2235b6c9a206", "default"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	checkVariants(t, b, want, parseStatus)
}

func TestParseStatus3xMultiDC(t *testing.T) {
	b := sharedSample(t, "3.x-status-multi-dc-k8ssandra.txt")
	got := mustParse(t, b, parseStatus)
	if len(got) != 6 {
		t.Fatalf("got %d nodes, want 6: %+v", len(got), got)
	}
	perDC := map[string]int{}
	for _, n := range got {
		perDC[n.Datacenter]++
		if n.Tokens != 256 || n.Owns != "100.0%" || n.Rack != "default" || n.Status != "U" || n.State != "N" {
			t.Errorf("node %+v", n)
		}
	}
	if perDC["dc1"] != 3 || perDC["dc2"] != 3 {
		t.Errorf("nodes per DC %v, want 3 in dc1 and dc2", perDC)
	}
	if n := got[3]; n.Datacenter != "dc2" || n.Address != "172.18.0.16" || n.Load != "355.6 KiB" || n.HostID != "f2bd31ef-5ca5-4c28-a9b2-bac28f76af4f" {
		t.Errorf("first dc2 node %+v", n)
	}
	if n := got[2]; n.Address != "172.18.0.8" || n.Load != "304.01 KiB" {
		t.Errorf("last dc1 node %+v", n)
	}
	checkVariants(t, b, got, parseStatus)
}

func TestParseStatusFixtures(t *testing.T) {
	b := fixture(t, "status-4.0-multi-dc-comma.txt")
	got := mustParse(t, b, parseStatus)
	want := []StatusNode{
		{"eu", "U", "N", "10.1.0.11", "117,11 KiB", 16, "?", "2a2f1b4e-5c10-4e7a-9d0b-0c3c6c1d0a11", "eu-a"},
		{"eu", "D", "N", "10.1.0.12", "?", 16, "?", "7b1f2f42-8f1c-4bb0-a1f6-52f93d6d7c12", "eu-b"},
		{"us", "U", "J", "10.2.0.21", "1,5 MiB", 16, "?", "c0ffee00-1111-4222-8333-944455556666", "us-east-1a"},
		{"us", "U", "L", "10.2.0.22", "2.03 GiB", 8, "?", "deadbeef-2222-4333-8444-a55566667777", "us-east-1b"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	checkVariants(t, b, want, parseStatus)

	b = fixture(t, "status-3.11-single-token.txt")
	got = mustParse(t, b, parseStatus)
	want = []StatusNode{
		{"datacenter1", "U", "N", "127.0.0.1", "103.64 KiB", 1, "66.7%", "5c1f2b7e-2d3e-4a5f-8b9c-0d1e2f3a4b5c", "rack1"},
		{"datacenter1", "U", "N", "127.0.0.2", "98.2 KiB", 1, "66.7%", "6d2a3c8f-3e4f-4b60-9cad-1e2f3a4b5c6d", "rack1"},
		{"datacenter1", "D", "N", "127.0.0.3", "110 bytes", 1, "66.7%", "7e3b4d90-4f50-4c71-adbe-2f3a4b5c6d7e", "rack1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	checkVariants(t, b, want, parseStatus)
}

func TestParseRing(t *testing.T) {
	b := fixture(t, "ring-4.0-vnodes.txt")
	got := mustParse(t, b, parseRing)
	if len(got) != 8 { // the last-token line is not an entry
		t.Fatalf("got %d entries, want 8: %+v", len(got), got)
	}
	if e := got[0]; e != (RingEntry{"dc1", "10.0.0.2", "rack1", "Down", "Normal", "?", "49.88%", -8180183305176764472}) {
		t.Errorf("first entry %+v", e)
	}
	if e := got[7]; e != (RingEntry{"dc1", "10.0.0.2", "rack1", "Down", "Normal", "?", "49.88%", 6527092348415079311}) {
		t.Errorf("last entry %+v", e)
	}
	if e := got[1]; e.Address != "10.0.0.1" || e.Status != "Up" || e.Load != "67.43 KiB" || e.Owns != "50.12%" || e.Token != -7491968275375482579 {
		t.Errorf("second entry %+v", e)
	}
	checkVariants(t, b, got, parseRing)

	b = fixture(t, "ring-3.11-multi-dc-single-token.txt")
	got = mustParse(t, b, parseRing)
	want := []RingEntry{
		{"DC1", "172.18.0.10", "RAC1", "Up", "Normal", "327.02 KiB", "?", -9223372036854775808},
		{"DC1", "172.18.0.11", "RAC2", "Up", "Leaving", "338,79 KiB", "?", 3074457345618258602},
		{"DC2", "172.18.0.16", "RAC1", "Up", "Joining", "355.6 KiB", "?", -9223372036854775708},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	checkVariants(t, b, want, parseRing)
}

func TestParseInfo(t *testing.T) {
	for _, tc := range []struct {
		file                   string
		id, dc, rack, load     string
		uptime                 time.Duration
		count                  int
		first, last            int64
		tokensShown, joined, g bool
	}{
		{"info-3.11-T.txt", "dec6a537-f00c-458a-bbc0-26b173675cc7", "us-east", "us-east-1c", "597.42 KiB", 9232 * time.Second, 8, -6372287078845961990, 8817436546968205917, true, true, true},
		{"info-4.0-T.txt", "4b95036b-1603-464f-bdee-b519fa28a079", "dc1", "default", "96.71 KiB", 1234 * time.Second, 16, -8635908151614172643, 8777523799321782054, true, true, true},
		{"info-4.0.txt", "4b95036b-1603-464f-bdee-b519fa28a079", "dc1", "default", "96.71 KiB", 1234 * time.Second, 16, 0, 0, false, true, true},
		{"info-5.0-T-indented-crlf.txt", "0f75a6fe-c91d-4c0e-9253-2235b6c9a206", "europe-west1", "europe-west1-b", "1.28 MiB", 24 * time.Hour, 16, -5737509456717140986, 8931631305334424770, true, true, true},
		{"info-dse-T.txt", "878e519b-a6f4-4aff-b8ab-c1fb30679847", "Analytics", "rack1", "2.13 GiB", 500000 * time.Second, 8, -8200033817266017854, 0, true, true, true},
		{"info-3.11-single-token.txt", "82800bf3-8c1a-4355-9b72-e19aa61d9fba", "dc1", "r1", "247.59 MiB", 526 * time.Second, 1, -9223372036854775808, -9223372036854775808, true, true, true},
		{"info-4.0-not-joined.txt", "9e3e48ee-529e-4b2a-9bf2-39575d32f578", "dc1", "rack1", "0 bytes", 61 * time.Second, 0, 0, 0, false, false, false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b := fixture(t, tc.file)
			got := mustParse(t, b, parseInfo)
			if got.ID != tc.id || got.Datacenter != tc.dc || got.Rack != tc.rack || got.Load != tc.load || got.Uptime != tc.uptime ||
				got.TokenCount != tc.count || got.Joined != tc.joined || got.GossipActive != tc.g || got.NativeTransportActive != tc.g {
				t.Errorf("got %+v", got)
			}
			if !tc.tokensShown {
				if got.Tokens != nil {
					t.Errorf("tokens %v, want none", got.Tokens)
				}
			} else if len(got.Tokens) != tc.count || got.Tokens[0] != tc.first || (tc.last != 0 && got.Tokens[len(got.Tokens)-1] != tc.last) {
				t.Errorf("tokens %v: want %d from %d to %d", got.Tokens, tc.count, tc.first, tc.last)
			}
			checkVariants(t, b, got, parseInfo)
		})
	}
}

func TestParseVersion(t *testing.T) {
	for file, want := range map[string]string{"version-4.0.txt": "4.0.11", "version-dse.txt": "4.0.0.6816"} {
		b := fixture(t, file)
		if got := mustParse(t, b, parseVersion); got != want {
			t.Errorf("%s: got %q, want %q", file, got, want)
		}
		checkVariants(t, b, want, parseVersion)
	}
}

func TestParseListSnapshots(t *testing.T) {
	ts := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	b := sharedSample(t, "4.0-listsnapshots-doc.txt")
	got := mustParse(t, b, parseSnapshots)
	if len(got) != 9 {
		t.Fatalf("got %d, want 9: %+v", len(got), got)
	}
	if s := got[0]; s != (SnapshotInfo{Name: "multi-table", Keyspace: "cqlkeyspace", Table: "t2", TrueSize: "4.86 KiB", SizeOnDisk: "5.67 KiB"}) {
		t.Errorf("first %+v", s)
	}
	if s := got[8]; s != (SnapshotInfo{Name: "catalog-ks", Keyspace: "catalogkeyspace", Table: "magazine", TrueSize: "4.9 KiB", SizeOnDisk: "5.73 KiB"}) {
		t.Errorf("last %+v", s)
	}
	checkVariants(t, b, got, parseSnapshots)

	b = sharedSample(t, "5.1-listsnapshots-ttl-doc.txt")
	want := []SnapshotInfo{{Name: "catalog-journal", Keyspace: "catalogkeyspace", Table: "journal", TrueSize: "1.12 KiB", SizeOnDisk: "6.13 KiB",
		CreationTime: ts("2024-01-25T09:45:31.820Z"), ExpirationTime: ts("2024-01-25T09:48:31.820Z")}}
	checkVariants(t, b, want, parseSnapshots)

	b = sharedSample(t, "5.1-listsnapshots-ephemeral-doc.txt")
	want = []SnapshotInfo{
		{Name: "catalog-cql-ks", Keyspace: "catalogkeyspace", Table: "magazine", TrueSize: "1.1 KiB", SizeOnDisk: "1.1 KiB",
			CreationTime: ts("2024-01-25T10:01:59.745Z"), ExpirationTime: ts("2024-01-25T10:04:59.745Z")},
		{Name: "catalog-cql-ks", Keyspace: "catalogkeyspace", Table: "journal", TrueSize: "1.12 KiB", SizeOnDisk: "6.13 KiB",
			CreationTime: ts("2024-01-25T10:01:59.745Z"), ExpirationTime: ts("2024-01-25T10:04:59.745Z")},
	}
	checkVariants(t, b, want, parseSnapshots)

	checkVariants(t, sharedSample(t, "5.1-listsnapshots-empty-doc.txt"), []SnapshotInfo(nil), parseSnapshots)

	b = fixture(t, "listsnapshots-4.1-no-ttl.txt")
	want = []SnapshotInfo{
		{Name: "cassette-daily", Keyspace: "ks1", Table: "users", TrueSize: "0 bytes", SizeOnDisk: "12.5 MiB", CreationTime: ts("2024-01-25T09:45:31.820Z")},
		{Name: "catalog-journal", Keyspace: "catalogkeyspace", Table: "journal", TrueSize: "1.12 KiB", SizeOnDisk: "6.13 KiB",
			CreationTime: ts("2024-01-25T09:45:31.820Z"), ExpirationTime: ts("2024-01-25T09:48:31.820Z")},
	}
	checkVariants(t, b, want, parseSnapshots)
}

func TestParseEphemeralTrue(t *testing.T) {
	in := "Snapshot Details: \nSnapshot name Keyspace name Column family name True size Size on disk Creation time Expiration time Ephemeral\n" +
		"repair-1 ks t 1 KiB 1 KiB 2024-01-25T10:01:59.745Z true\n"
	got := mustParse(t, []byte(in), parseSnapshots)
	if len(got) != 1 || !got[0].Ephemeral || got[0].CreationTime.IsZero() || !got[0].ExpirationTime.IsZero() {
		t.Fatalf("got %+v", got)
	}
}

func TestParseRejects(t *testing.T) {
	info := fixture(t, "info-4.0.txt")
	for _, tc := range []struct {
		name, want string
		err        error
	}{
		{"status of info output", "no node rows", func() error { _, err := parseStatus(info); return err }()},
		{"ring of info output", "no token rows", func() error { _, err := parseRing(info); return err }()},
		{"version of info output", "ReleaseVersion", func() error { _, err := parseVersion(info); return err }()},
		{"listsnapshots of info output", "Snapshot Details", func() error { _, err := parseSnapshots(info); return err }()},
		{"info without ID", "ID", func() error { _, err := parseInfo([]byte("Load : 1 KiB\n")); return err }()},
		{"RandomPartitioner ring", "Murmur3Partitioner", func() error {
			_, err := parseRing([]byte("Datacenter: dc1\n127.0.0.1  rack1  Up  Normal  1 KiB  100.00%  85070591730234615865843651857942052864\n"))
			return err
		}()},
		{"RandomPartitioner info", "Murmur3Partitioner", func() error {
			_, err := parseInfo([]byte("ID : x\nToken : 85070591730234615865843651857942052864\n"))
			return err
		}()},
		{"status token count", "token count", func() error {
			_, err := parseStatus([]byte("UN  10.0.0.1  1 KiB  many  100.0%  id  rack1\n"))
			return err
		}()},
		{"short status row", "too few columns", func() error { _, err := parseStatus([]byte("UN  10.0.0.1  1 KiB\n")); return err }()},
		{"bad snapshot time", "ISO-8601", func() error {
			_, err := parseSnapshots([]byte("Snapshot Details:\nSnapshot name Keyspace name Column family name True size Size on disk Creation time Expiration time\ns ks t 1 KiB 1 KiB yesterday\n"))
			return err
		}()},
		{"long line", "too long", func() error { _, err := parseStatus(bytes.Repeat([]byte("x"), maxLine+1)); return err }()},
	} {
		if !errors.Is(tc.err, ErrBadOutput) || !strings.Contains(tc.err.Error(), tc.want) || strings.Contains(tc.err.Error(), "\n") {
			t.Errorf("%s: got %v, want one line wrapping ErrBadOutput mentioning %q", tc.name, tc.err, tc.want)
		}
	}
}
