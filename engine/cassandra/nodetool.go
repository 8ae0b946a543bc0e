package cassandra

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// NodetoolConfig says how to run nodetool; the zero value runs "nodetool"
// from PATH against nodetool's own default (127.0.0.1:7199).
type NodetoolConfig struct {
	Executable   string        // default "nodetool"
	Host         string        // -h, omitted when empty
	Port         int           // -p, omitted when 0
	Username     string        // -u
	PasswordFile string        // --password-file; nodetool reads it, cassette never does
	Password     string        // -pw; never logged nor put in errors
	Timeout      time.Duration // per call, default 2m
}

// Default nodetool settings.
const (
	DefaultNodetool        = "nodetool"
	DefaultNodetoolTimeout = 2 * time.Minute
)

// Nodetool runs nodetool against one node. It is safe for concurrent use.
type Nodetool struct {
	c NodetoolConfig
}

// NewNodetool returns a runner for c, with defaults filled in.
func NewNodetool(c NodetoolConfig) *Nodetool {
	if c.Executable == "" {
		c.Executable = DefaultNodetool
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultNodetoolTimeout
	}
	return &Nodetool{c: c}
}

// target is the JMX endpoint nodetool talks to, for messages.
func (n *Nodetool) target() string {
	host, port := n.c.Host, "7199"
	if host == "" {
		host = "127.0.0.1"
	}
	if n.c.Port != 0 {
		port = strconv.Itoa(n.c.Port)
	}
	return net.JoinHostPort(host, port)
}

// args puts the connection options before the subcommand, where nodetool
// expects them.
func (n *Nodetool) args(sub []string) []string {
	var a []string
	if n.c.Host != "" {
		a = append(a, "-h", n.c.Host)
	}
	if n.c.Port != 0 {
		a = append(a, "-p", strconv.Itoa(n.c.Port))
	}
	if n.c.Username != "" {
		a = append(a, "-u", n.c.Username)
	}
	if n.c.PasswordFile != "" {
		a = append(a, "--password-file", n.c.PasswordFile)
	}
	if n.c.Password != "" {
		a = append(a, "-pw", n.c.Password)
	}
	return append(a, sub...)
}

// Run runs nodetool with the connection options and args, and returns its
// standard output. A failure is one line naming the command (password
// masked), the node, nodetool's own explanation and what to do; it wraps
// ErrUnreachable, ErrAuth or ErrSnapshotExists when it is one of those, the
// caller's context error, or context.DeadlineExceeded when the call's own
// timeout killed it.
func (n *Nodetool) Run(ctx context.Context, args ...string) ([]byte, error) {
	full := n.args(args)
	stdout, stderr, err := execute(ctx, n.c.Timeout, n.c.Executable, full)
	if err == nil {
		return stdout, nil
	}
	cmd := commandLine(n.c.Executable, full, n.c.Password, "-pw", "--password")
	var exitErr *exec.ExitError
	switch {
	case errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("run %s: %w (install nodetool or set cassandra.nodetool.executable)", cmd, err)
	case errors.Is(err, errTimeout):
		return nil, fmt.Errorf("%s on %s: %w (check that the node is healthy; a busy node can be slow to answer)", cmd, n.target(), err)
	case !errors.As(err, &exitErr):
		return nil, fmt.Errorf("run %s on %s: %w", cmd, n.target(), err)
	}
	msg := lastMessage(stderr, stdout, n.c.Password)
	kind, hint := classify(string(stderr) + string(stdout))
	if kind == nil {
		return nil, fmt.Errorf("%s on %s failed (%w): %s (%s)", cmd, n.target(), err, msg, hint)
	}
	return nil, fmt.Errorf("%s on %s: %w: %s (%s)", cmd, n.target(), kind, msg, hint)
}

// classify maps what nodetool printed to a sentinel and advice.
func classify(out string) (error, string) {
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(out, x) {
				return true
			}
		}
		return false
	}
	switch {
	case has("already exists") && has("Snapshot"):
		return ErrSnapshotExists, "use another snapshot tag, or remove the old one with nodetool clearsnapshot -t <tag>"
	case has("SecurityException", "Authentication failed", "Invalid username or password", "Credentials required"):
		return ErrAuth, "check cassandra.nodetool.username, password and passwordFile"
	case has("Failed to connect", "Connection refused", "ConnectException", "NoRouteToHostException", "UnknownHostException", "Connection timed out"):
		return ErrUnreachable, "check cassandra.nodetool.host/port and that Cassandra is running"
	}
	return nil, "see the node's Cassandra system.log"
}

// Snapshot runs nodetool snapshot -t tag [keyspace...] (all keyspaces when
// none are given). An existing tag is ErrSnapshotExists.
func (n *Nodetool) Snapshot(ctx context.Context, tag string, keyspaces []string) error {
	if err := ValidateTag(tag); err != nil {
		return err
	}
	for _, ks := range keyspaces {
		if ks == "" || strings.IndexFunc(ks, func(r rune) bool { return r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) }) >= 0 {
			return fmt.Errorf("snapshot %s: keyspace name %q is invalid: keyspace names hold only letters, digits and '_' (check cassandra.keyspaces)", tag, ks)
		}
	}
	_, err := n.Run(ctx, append([]string{"snapshot", "-t", tag}, keyspaces...)...)
	return err
}

// ClearSnapshot runs nodetool clearsnapshot -t tag on all keyspaces; a tag
// that does not exist is not an error (nodetool says nothing either).
func (n *Nodetool) ClearSnapshot(ctx context.Context, tag string) error {
	if err := ValidateTag(tag); err != nil {
		return err
	}
	_, err := n.Run(ctx, "clearsnapshot", "-t", tag)
	return err
}

// Info runs nodetool info -T, so that every token is listed.
func (n *Nodetool) Info(ctx context.Context) (Info, error) {
	out, err := n.Run(ctx, "info", "-T")
	if err != nil {
		return Info{}, err
	}
	info, err := ParseInfo(bytes.NewReader(out))
	if err != nil {
		return Info{}, n.parseErr("info -T", err)
	}
	return info, nil
}

// Version runs nodetool version and returns the release version, such as
// "4.0.11".
func (n *Nodetool) Version(ctx context.Context) (string, error) {
	out, err := n.Run(ctx, "version")
	if err != nil {
		return "", err
	}
	v, err := ParseVersion(bytes.NewReader(out))
	if err != nil {
		return "", n.parseErr("version", err)
	}
	return v, nil
}

// Status runs nodetool status: every node of the cluster as this node sees
// it.
func (n *Nodetool) Status(ctx context.Context) ([]StatusNode, error) {
	out, err := n.Run(ctx, "status")
	if err != nil {
		return nil, err
	}
	nodes, err := ParseStatus(bytes.NewReader(out))
	if err != nil {
		return nil, n.parseErr("status", err)
	}
	return nodes, nil
}

// Ring runs nodetool ring: one entry per token of every node.
func (n *Nodetool) Ring(ctx context.Context) ([]RingEntry, error) {
	out, err := n.Run(ctx, "ring")
	if err != nil {
		return nil, err
	}
	ring, err := ParseRing(bytes.NewReader(out))
	if err != nil {
		return nil, n.parseErr("ring", err)
	}
	return ring, nil
}

// ListSnapshots runs nodetool listsnapshots: one entry per snapshot and
// table.
func (n *Nodetool) ListSnapshots(ctx context.Context) ([]SnapshotInfo, error) {
	out, err := n.Run(ctx, "listsnapshots")
	if err != nil {
		return nil, err
	}
	snaps, err := ParseListSnapshots(bytes.NewReader(out))
	if err != nil {
		return nil, n.parseErr("listsnapshots", err)
	}
	return snaps, nil
}

// IsRunning reports whether Cassandra answers on this node: true when
// nodetool reaches it (even if it rejects the credentials: it is up), false
// with a nil error when nodetool cannot connect, and an error when that
// cannot be told (nodetool missing, timed out, failed otherwise).
func (n *Nodetool) IsRunning(ctx context.Context) (bool, error) {
	_, err := n.Run(ctx, "version")
	switch {
	case err == nil, errors.Is(err, ErrAuth):
		return true, nil
	case errors.Is(err, ErrUnreachable) && strings.Contains(err.Error(), "NoSuchObjectException"):
		// JMX answers but Cassandra has not registered its beans yet: a
		// node that is starting up is running for an in-place restore.
		return true, nil
	case errors.Is(err, ErrUnreachable):
		return false, nil
	}
	return false, err
}

// parseErr names the command and node whose output could not be read.
func (n *Nodetool) parseErr(sub string, err error) error {
	return fmt.Errorf("nodetool %s on %s: %w (is %s really Cassandra 3.11-5.0's nodetool?)", sub, n.target(), err, n.c.Executable)
}
