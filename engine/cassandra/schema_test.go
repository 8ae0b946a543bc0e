//go:build unix

package cassandra

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeCQLSH writes a cqlsh stand-in that records its arguments one a line
// in args.txt next to it, prints out on stdout, errOut on stderr and exits
// with code.
func fakeCQLSH(t *testing.T, out, errOut, code string) (exe, argsFile string) {
	t.Helper()
	dir := t.TempDir()
	exe, argsFile = filepath.Join(dir, "cqlsh"), filepath.Join(dir, "args.txt")
	for name, content := range map[string]string{"out.txt": out, "err.txt": errOut} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > '" + argsFile + "'\ncat '" + dir + "/out.txt'\ncat '" + dir + "/err.txt' >&2\nexit " + code + "\n"
	if err := os.WriteFile(exe, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return exe, argsFile
}

func TestDescribeSchema(t *testing.T) {
	const schema = "CREATE KEYSPACE ks1 WITH replication = {\"class\": \"NetworkTopologyStrategy\", \"dc1\": \"3\"}  AND durable_writes = true;\n"
	exe, argsFile := fakeCQLSH(t, schema, "", "0")
	got, err := DescribeSchema(context.Background(), CQLSHConfig{Executable: exe, Host: "10.0.0.1", Port: 9043, Username: "cassandra", Password: testPassword})
	if err != nil || string(got) != schema {
		t.Fatalf("got %q, %v", got, err)
	}
	args, _ := os.ReadFile(argsFile)
	if want := "10.0.0.1\n9043\n-u\ncassandra\n-p\n" + testPassword + "\n-e\nDESCRIBE SCHEMA\n"; string(args) != want {
		t.Errorf("cqlsh called with %q, want %q", args, want)
	}

	// A port alone still needs a host in front of it.
	if _, err := DescribeSchema(context.Background(), CQLSHConfig{Executable: exe, Port: 9043}); err != nil {
		t.Fatal(err)
	}
	if args, _ := os.ReadFile(argsFile); string(args) != "127.0.0.1\n9043\n-e\nDESCRIBE SCHEMA\n" {
		t.Errorf("cqlsh called with %q", args)
	}
}

func TestDescribeSchemaNotAvailable(t *testing.T) {
	refused := `Connection error: ('Unable to connect to any servers', {'127.0.0.1:9042': ConnectionRefusedError(111, "Tried connecting to [('127.0.0.1', 9042)]. Last error: Connection refused")})`
	badCreds := `Connection error: ('Unable to connect to any servers', {'127.0.0.1:9042': AuthenticationFailed('Failed to authenticate to 127.0.0.1:9042: Error from server: code=0100 [Bad credentials] message="Provided username cassandra and/or password are incorrect"')})`
	for name, exe := range map[string]string{
		"not installed": filepath.Join(t.TempDir(), "cqlsh"),
		"refused":       func() string { e, _ := fakeCQLSH(t, "", refused+"\n", "1"); return e }(),
		"credentials":   func() string { e, _ := fakeCQLSH(t, "", badCreds+"\n", "1"); return e }(),
	} {
		_, err := DescribeSchema(context.Background(), CQLSHConfig{Executable: exe, Username: "cassandra", Password: testPassword})
		if !errors.Is(err, ErrNotAvailable) {
			t.Errorf("%s: got %v, want ErrNotAvailable", name, err)
		}
		checkOneLine(t, err, "DESCRIBE SCHEMA", "-p ***")
	}

	exe, _ := fakeCQLSH(t, "", "<stdin>:1:SyntaxException: line 1:0 no viable alternative\n", "2")
	_, err := DescribeSchema(context.Background(), CQLSHConfig{Executable: exe})
	if err == nil || errors.Is(err, ErrNotAvailable) {
		t.Errorf("other failure: got %v, want an error that is not ErrNotAvailable", err)
	}
	checkOneLine(t, err, "SyntaxException", "127.0.0.1:9042")

	exe, _ = fakeCQLSH(t, "\n", "", "0")
	if _, err := DescribeSchema(context.Background(), CQLSHConfig{Executable: exe}); err == nil || !strings.Contains(err.Error(), "no schema") {
		t.Errorf("empty output: got %v", err)
	}

	exe, _ = fakeCQLSH(t, "", "", "0")
	os.WriteFile(exe, []byte("#!/bin/sh\nsleep 30\n"), 0o755)
	_, err = DescribeSchema(context.Background(), CQLSHConfig{Executable: exe, Timeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrNotAvailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hung cqlsh: got %v, want ErrNotAvailable and DeadlineExceeded", err)
	}
}
