//go:build unix

package cassandra

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const testPassword = "s3cr3t-jmx-pw"

// fakeNodetool returns a runner of the fake nodetool over dataDirs, with
// its FAKE_NODETOOL_* environment reset, and the path of its call log.
func fakeNodetool(t *testing.T, dataDirs ...string) (*Nodetool, string) {
	t.Helper()
	exe, err := FakeNodetoolPath()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"DC", "RACK", "TOKENS", "VERSION", "HOST_ID", "DOWN", "FAIL", "JVM_WARNINGS", "SLEEP", "PIDFILE"} {
		t.Setenv("FAKE_NODETOOL_"+k, "")
		os.Unsetenv("FAKE_NODETOOL_" + k)
	}
	log := filepath.Join(t.TempDir(), "calls.log")
	t.Setenv("FAKE_NODETOOL_LOG", log)
	t.Setenv("FAKE_NODETOOL_DATA_DIRS", strings.Join(dataDirs, ":"))
	return NewNodetool(NodetoolConfig{Executable: exe, Host: "127.0.0.1", Port: 7199, Username: "cassandra",
		Password: testPassword, Timeout: 30 * time.Second}), log
}

// checkOneLine asserts that err is a single line without the password.
func checkOneLine(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || strings.Contains(msg, testPassword) {
		t.Errorf("error is not one line without the password: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not say %q", msg, w)
		}
	}
}

func TestNodetoolSnapshot(t *testing.T) {
	dir := makeDataDir(t)
	nt, log := fakeNodetool(t, dir)
	ctx := context.Background()
	if err := nt.Snapshot(ctx, "T", nil); err != nil {
		t.Fatal(err)
	}
	if got := snapshotFiles(t, dir, "T"); !reflect.DeepEqual(got, snapshotOf) {
		t.Fatalf("snapshot holds %q\nwant %q", got, snapshotOf)
	}

	err := nt.Snapshot(ctx, "T", nil)
	if !errors.Is(err, ErrSnapshotExists) {
		t.Fatalf("second snapshot: %v, want ErrSnapshotExists", err)
	}
	checkOneLine(t, err, "nodetool -h 127.0.0.1 -p 7199 -u cassandra -pw *** snapshot -t T", "127.0.0.1:7199", "error: Snapshot T already exists.", "clearsnapshot")
	if strings.Contains(err.Error(), "StackTrace") || strings.Contains(err.Error(), "at org.") {
		t.Errorf("error carries the stack trace: %v", err)
	}

	snaps, err := nt.ListSnapshots(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for _, s := range snaps {
		if s.Name == "T" {
			tables = append(tables, s.Keyspace+"."+s.Table)
		}
	}
	slices.Sort(tables)
	if want := []string{"ks1.users", "ks2.events", "system.local"}; !reflect.DeepEqual(tables, want) {
		t.Errorf("listsnapshots shows T for %q, want %q", tables, want)
	}

	if err := nt.ClearSnapshot(ctx, "T"); err != nil {
		t.Fatal(err)
	}
	if got := snapshotFiles(t, dir, "T"); len(got) != 0 {
		t.Errorf("left after clearsnapshot: %q", got)
	}
	if err := nt.Snapshot(ctx, "K", []string{"ks2"}); err != nil {
		t.Fatal(err)
	}
	if got, want := snapshotFiles(t, dir, "K"), []string{"ks2/events-3c4d/snapshots/K/nb-7-big-Data.db"}; !reflect.DeepEqual(got, want) {
		t.Errorf("keyspace snapshot holds %q, want %q", got, want)
	}

	if err := nt.Snapshot(ctx, "X", []string{"-pw"}); err == nil || !strings.Contains(err.Error(), "keyspace name") {
		t.Errorf("a keyspace that reads as an option: %v", err)
	}

	calls, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(calls), testPassword) || !strings.Contains(string(calls), "-u cassandra -pw *** clearsnapshot -t T\n") ||
		strings.Contains(string(calls), "snapshot -t X") {
		t.Errorf("call log:\n%s", calls)
	}
}

// The fake and HardlinkSnapshot must make the same tree, or tests that use
// the fake would prove nothing about hardlink mode, and vice versa.
func TestFakeNodetoolMatchesHardlink(t *testing.T) {
	a, b := makeDataDir(t), makeDataDir(t)
	nt, _ := fakeNodetool(t, a)
	if err := nt.Snapshot(context.Background(), "T", nil); err != nil {
		t.Fatal(err)
	}
	if err := HardlinkSnapshot([]string{b}, "T", nil); err != nil {
		t.Fatal(err)
	}
	tree := func(dir string) []string {
		var out []string
		filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
			return err
		})
		return out
	}
	if ta, tb := tree(a), tree(b); !reflect.DeepEqual(ta, tb) {
		t.Errorf("fake nodetool made\n%q\nHardlinkSnapshot made\n%q", ta, tb)
	}
}

// The fake prints what the real nodetool prints.
func TestFakeNodetoolSnapshotOutput(t *testing.T) {
	doc := string(sharedSample(t, "5.1-snapshot-ttl-doc.txt"))
	nt, _ := fakeNodetool(t, makeDataDir(t))
	out, err := nt.Run(context.Background(), "snapshot", "-t", "catalog-journal", "ks1")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	want := strings.Split(strings.TrimSpace(doc), "\n")[1:] // without the "$ nodetool" prompt
	want[0] = strings.Replace(strings.Replace(want[0], "catalogkeyspace.journal", "ks1", 1), ", ttl=3m", "", 1)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fake printed %q\nnodetool prints %q", got, want)
	}
	own := strings.Split(strings.TrimSpace(string(fixture(t, "clearsnapshot-4.0.txt"))), "\n")
	out, err = nt.Run(context.Background(), "clearsnapshot", "-t", "cassette-20240125")
	if err != nil || !reflect.DeepEqual(strings.Split(strings.TrimSpace(string(out)), "\n"), own) {
		t.Errorf("fake clearsnapshot printed %q (%v), want %q", out, err, own)
	}
}

func TestNodetoolQueries(t *testing.T) {
	nt, _ := fakeNodetool(t)
	t.Setenv("FAKE_NODETOOL_DC", "eu-west")
	t.Setenv("FAKE_NODETOOL_RACK", "eu-west-1b")
	t.Setenv("FAKE_NODETOOL_TOKENS", "3074457345618258602 -9223372036854775808 -3074457345618258603")
	t.Setenv("FAKE_NODETOOL_VERSION", "5.0.2")
	ctx := context.Background()

	info, err := nt.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Datacenter != "eu-west" || info.Rack != "eu-west-1b" || !info.Joined || info.TokenCount != 3 ||
		!reflect.DeepEqual(info.Tokens, []int64{3074457345618258602, -9223372036854775808, -3074457345618258603}) ||
		info.ID != "4b95036b-1603-464f-bdee-b519fa28a079" || info.Uptime != time.Hour {
		t.Errorf("info %+v", info)
	}
	if v, err := nt.Version(ctx); v != "5.0.2" || err != nil {
		t.Errorf("version %q, %v", v, err)
	}
	status, err := nt.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []StatusNode{{"eu-west", "U", "N", "127.0.0.1", "96.71 KiB", 3, "100.0%", "4b95036b-1603-464f-bdee-b519fa28a079", "eu-west-1b"}}
	if !reflect.DeepEqual(status, want) {
		t.Errorf("status %+v, want %+v", status, want)
	}
	ring, err := nt.Ring(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var tokens []int64
	for _, e := range ring {
		if e.Datacenter != "eu-west" || e.Rack != "eu-west-1b" || e.Address != "127.0.0.1" || e.Status != "Up" {
			t.Errorf("ring entry %+v", e)
		}
		tokens = append(tokens, e.Token)
	}
	if want := []int64{-9223372036854775808, -3074457345618258603, 3074457345618258602}; !reflect.DeepEqual(tokens, want) {
		t.Errorf("ring tokens %v, want %v", tokens, want)
	}
	if up, err := nt.IsRunning(ctx); !up || err != nil {
		t.Errorf("IsRunning = %v, %v", up, err)
	}

	t.Setenv("FAKE_NODETOOL_TOKENS", "42") // single-token layouts
	if info, err := nt.Info(ctx); err != nil || !reflect.DeepEqual(info.Tokens, []int64{42}) {
		t.Errorf("single-token info %+v, %v", info, err)
	}
	if s, err := nt.Status(ctx); err != nil || len(s) != 1 || s[0].Tokens != 1 || s[0].HostID != want[0].HostID {
		t.Errorf("single-token status %+v, %v", s, err)
	}
	t.Setenv("FAKE_NODETOOL_TOKENS", "")
	if info, err := nt.Info(ctx); err != nil || info.Joined || info.TokenCount != 0 {
		t.Errorf("not-joined info %+v, %v", info, err)
	}
}

func TestNodetoolDown(t *testing.T) {
	nt, _ := fakeNodetool(t, makeDataDir(t))
	t.Setenv("FAKE_NODETOOL_DOWN", "1")
	t.Setenv("FAKE_NODETOOL_JVM_WARNINGS", "1")
	ctx := context.Background()
	if up, err := nt.IsRunning(ctx); up || err != nil {
		t.Errorf("IsRunning = %v, %v; want false, nil", up, err)
	}
	err := nt.Snapshot(ctx, "T", nil)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("got %v, want ErrUnreachable", err)
	}
	checkOneLine(t, err, "snapshot -t T", "127.0.0.1:7199", "Failed to connect to '127.0.0.1:7199' - ConnectException: 'Connection refused'.",
		"check cassandra.nodetool.host/port and that Cassandra is running")
	if strings.Contains(err.Error(), "OpenJDK") || strings.Contains(err.Error(), "Picked up") {
		t.Errorf("error quotes a JVM warning: %v", err)
	}
}

func TestNodetoolCommandFails(t *testing.T) {
	nt, _ := fakeNodetool(t)
	t.Setenv("FAKE_NODETOOL_FAIL", "info")
	_, err := nt.Info(context.Background())
	checkOneLine(t, err, "info -T", "exit status 1", "error: fake-nodetool: info failed", "system.log")
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || errors.Is(err, ErrUnreachable) {
		t.Errorf("got %v, want an exit error that is not ErrUnreachable", err)
	}
	t.Setenv("FAKE_NODETOOL_FAIL", "version")
	if up, err := nt.IsRunning(context.Background()); up || err == nil {
		t.Errorf("IsRunning = %v, %v; want an error when nodetool fails otherwise", up, err)
	}
}

func TestNodetoolNotInstalled(t *testing.T) {
	for _, exe := range []string{"cassette-no-such-nodetool", filepath.Join(t.TempDir(), "nodetool")} {
		nt := NewNodetool(NodetoolConfig{Executable: exe, Password: testPassword})
		up, err := nt.IsRunning(context.Background())
		if up {
			t.Errorf("%s: IsRunning = true", exe)
		}
		checkOneLine(t, err, exe, "install nodetool or set cassandra.nodetool.executable")
	}
}

// stubTool writes a script that prints the given files on stdout and
// stderr and exits with code.
func stubTool(t *testing.T, stdout, stderr string, code int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tool")
	script := "#!/bin/sh\n"
	if stdout != "" {
		script += "cat '" + stdout + "'\n"
	}
	if stderr != "" {
		script += "cat '" + stderr + "' >&2\n"
	}
	script += "exit " + strconv.Itoa(code) + "\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// Real nodetool messages, as they come on stderr, are classified and
// reduced to the line that explains them.
func TestNodetoolErrorMessages(t *testing.T) {
	abs := func(name string) string { p, _ := filepath.Abs(filepath.Join("testdata", "nodetool", name)); return p }
	secret := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(secret, []byte("error: Authentication failed for password "+testPassword+"\n"), 0o644)
	for _, tc := range []struct {
		stderr  string
		code    int
		kind    error
		running bool
		want    string
	}{
		{abs("connect-refused-jdk8-stderr.txt"), 1, ErrUnreachable, false, "nodetool: Failed to connect to '10.0.0.5:7199' - ConnectException: 'Connection refused (Connection refused)'."},
		{abs("connect-refused-stderr.txt"), 1, ErrUnreachable, false, "ConnectException: 'Connection refused'."},
		{abs("auth-failed-stderr.txt"), 1, ErrAuth, true, "SecurityException: 'Authentication failed! Invalid username or password'."},
		{abs("snapshot-exists-stderr.txt"), 2, ErrSnapshotExists, true, "error: Snapshot cassette-20240125 already exists. (use another snapshot tag"},
		{secret, 2, ErrAuth, true, "password ***"},
	} {
		exe := stubTool(t, "", tc.stderr, tc.code)
		nt := NewNodetool(NodetoolConfig{Executable: exe, Host: "10.0.0.5", Password: testPassword})
		_, err := nt.Run(context.Background(), "snapshot", "-t", "cassette-20240125")
		if !errors.Is(err, tc.kind) {
			t.Errorf("%s: got %v, want %v", filepath.Base(tc.stderr), err, tc.kind)
		}
		checkOneLine(t, err, "10.0.0.5:7199", "-pw ***", tc.want)
		if msg := err.Error(); strings.Contains(msg, "OpenJDK") || strings.Contains(msg, "StackTrace") {
			t.Errorf("error quotes noise: %v", err)
		}
		if tc.code == 1 {
			if up, err := nt.IsRunning(context.Background()); up != tc.running || err != nil {
				t.Errorf("%s: IsRunning = %v, %v; want %v", filepath.Base(tc.stderr), up, err, tc.running)
			}
		}
	}
}

func TestNodetoolPasswordFile(t *testing.T) {
	nt, log := fakeNodetool(t)
	nt.c.Password = ""
	nt.c.PasswordFile = "/etc/cassandra/jmxremote.password"
	if _, err := nt.Version(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls, _ := os.ReadFile(log)
	if got := string(calls); got != "-h 127.0.0.1 -p 7199 -u cassandra --password-file /etc/cassandra/jmxremote.password version\n" {
		t.Errorf("called with %q", got)
	}
}

// A hung nodetool is killed with its children when the timeout expires,
// and when the caller gives up.
func TestNodetoolTimeoutKillsProcessGroup(t *testing.T) {
	for _, cancelled := range []bool{false, true} {
		nt, _ := fakeNodetool(t)
		pidFile := filepath.Join(t.TempDir(), "pid")
		t.Setenv("FAKE_NODETOOL_SLEEP", "60")
		t.Setenv("FAKE_NODETOOL_PIDFILE", pidFile)
		ctx, cancel := context.WithCancel(context.Background())
		nt.c.Timeout = 300 * time.Millisecond
		want := context.DeadlineExceeded
		if cancelled {
			nt.c.Timeout = time.Minute
			want = context.Canceled
			time.AfterFunc(300*time.Millisecond, cancel)
		}
		_, err := nt.Run(ctx, "status")
		cancel()
		if !errors.Is(err, want) {
			t.Fatalf("got %v, want %v", err, want)
		}
		checkOneLine(t, err, "127.0.0.1:7199")
		b, rerr := os.ReadFile(pidFile)
		pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
		if rerr != nil || perr != nil {
			t.Fatalf("no pid of the child: %v %v", rerr, perr)
		}
		deadline := time.Now().Add(10 * time.Second)
		for processAlive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("child %d of the killed nodetool still runs", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// processAlive reports a process that exists and is not a zombie.
func processAlive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		if _, serr := os.Stat("/proc/self"); serr == nil {
			return false // /proc works: the process is gone
		}
		p, _ := os.FindProcess(pid)
		return p.Signal(syscall.Signal(0)) == nil
	}
	if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}
