package cassandra

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// FakeNodetoolPath returns the absolute path of testdata/fake-nodetool, a
// POSIX sh stand-in for nodetool that snapshots real data directories with
// hard links; the script's header documents its FAKE_NODETOOL_* variables.
//
// It is for tests only, of this package and of others (engine, cmd): it
// finds the script next to this source file through runtime.Caller, so it
// works under go test in a source checkout and fails in a binary built
// elsewhere or with -trimpath.
func FakeNodetoolPath() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("fake nodetool: cannot locate the cassandra package source")
	}
	p := filepath.Join(filepath.Dir(file), "testdata", "fake-nodetool")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("fake nodetool: %w (it is only available to tests run from a source checkout)", err)
	}
	return p, nil
}
