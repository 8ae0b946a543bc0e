package cassandra

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// CQLSHConfig says how to run cqlsh for schema capture.
type CQLSHConfig struct {
	Executable string        // default "cqlsh"
	Host       string        // default cqlsh's own (127.0.0.1)
	Port       int           // default cqlsh's own (9042)
	Username   string        // -u
	Password   string        // -p; never logged nor put in errors
	Timeout    time.Duration // default 2m
}

// DescribeSchema returns the cluster's schema as CQL, from cqlsh -e
// "DESCRIBE SCHEMA", so that a restore into a new cluster can recreate the
// tables first. A missing or broken cqlsh (or its Python), a node it cannot
// connect to and rejected credentials are ErrNotAvailable: callers warn and
// continue, as the backup of the files is still good without the schema.
func DescribeSchema(ctx context.Context, c CQLSHConfig) ([]byte, error) {
	if c.Executable == "" {
		c.Executable = "cqlsh"
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultNodetoolTimeout
	}
	var args []string // cqlsh [host [port]]: a port needs a host before it
	host := c.Host
	if host == "" && c.Port != 0 {
		host = "127.0.0.1"
	}
	if host != "" {
		args = append(args, host)
	}
	if c.Port != 0 {
		args = append(args, strconv.Itoa(c.Port))
	}
	if c.Username != "" {
		args = append(args, "-u", c.Username)
	}
	if c.Password != "" {
		args = append(args, "-p", c.Password)
	}
	args = append(args, "-e", "DESCRIBE SCHEMA")
	cmd := commandLine(c.Executable, args, c.Password, "-p", "--password")
	target := net.JoinHostPort(cmp.Or(host, "127.0.0.1"), strconv.Itoa(cmp.Or(c.Port, 9042)))

	stdout, stderr, err := execute(ctx, c.Timeout, c.Executable, args)
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		if len(bytes.TrimSpace(stdout)) == 0 {
			return nil, fmt.Errorf("%s on %s printed no schema (check that the user may read system_schema)", cmd, target)
		}
		return stdout, nil
	case errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("run %s: %w: %w (install cqlsh to back up the schema)", cmd, ErrNotAvailable, err)
	case errors.Is(err, errTimeout):
		return nil, fmt.Errorf("%s on %s: %w: %w (check that the node accepts CQL connections)", cmd, target, ErrNotAvailable, err)
	case !errors.As(err, &exitErr):
		return nil, fmt.Errorf("run %s on %s: %w", cmd, target, err)
	}
	msg := lastMessage(stderr, stdout, c.Password)
	all := string(stderr) + string(stdout)
	for _, s := range []string{"Connection error", "Unable to connect", "AuthenticationFailed", "Bad credentials", "python", "Python"} {
		if strings.Contains(all, s) {
			return nil, fmt.Errorf("%s on %s: %w: %s (check that native transport is up and cassandra.cqlUsername/cqlPassword)", cmd, target, ErrNotAvailable, msg)
		}
	}
	return nil, fmt.Errorf("%s on %s failed (%v): %s (see the node's Cassandra system.log)", cmd, target, err, msg)
}
