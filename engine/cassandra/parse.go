package cassandra

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The parsers read what nodetool prints for people. They work on
// whitespace-separated fields rather than column offsets: captures lose
// their padding (trimmed trailing blanks, Markdown indentation, normalised
// spacing in docs), widths differ between 3.x and 4.0+, and a field such as
// Load can itself hold a space ("96.71 KiB"). Lines they do not recognise
// (JVM warnings, legends, notes, a "$ nodetool ..." prompt) are skipped.

// StatusNode is one node row of nodetool status.
type StatusNode struct {
	Datacenter string
	Status     string // "U" up, "D" down, "?" unknown
	State      string // "N" normal, "L" leaving, "J" joining, "M" moving
	Address    string // as printed: IP, IP:port (-pp) or host name (-r)
	Load       string // as printed: "96.71 KiB", "117,11 KiB", "?"
	Tokens     int    // number of tokens; 1 in the single-token layout
	Owns       string // as printed: "100.0%", "?"
	HostID     string
	Rack       string
}

// RingEntry is one token row of nodetool ring.
type RingEntry struct {
	Datacenter string
	Address    string
	Rack       string
	Status     string // "Up", "Down", "?"
	State      string // "Normal", "Leaving", "Joining", "Moving"
	Load       string // as printed
	Owns       string // as printed: "33.33%", "?"
	Token      int64
}

// Info is what cassette needs from nodetool info.
type Info struct {
	ID                    string // host ID
	GossipActive          bool
	NativeTransportActive bool
	Load                  string // as printed
	Uptime                time.Duration
	Datacenter            string
	Rack                  string
	// Joined is false before the node joined the ring, when it has no
	// tokens yet.
	Joined bool
	// TokenCount is how many tokens the node owns, known even when
	// Tokens is not.
	TokenCount int
	// Tokens lists the tokens when nodetool printed them (info -T, or a
	// single-token node); nil otherwise.
	Tokens []int64
}

// SnapshotInfo is one snapshot of one table, from nodetool listsnapshots.
type SnapshotInfo struct {
	Name       string
	Keyspace   string
	Table      string
	TrueSize   string // as printed
	SizeOnDisk string // as printed
	// CreationTime and ExpirationTime are zero when not printed (before
	// 4.1, or a snapshot without TTL).
	CreationTime   time.Time
	ExpirationTime time.Time
	Ephemeral      bool // printed by 5.0's listsnapshots -e only
}

// maxLine bounds one line of input; longer is not nodetool output.
const maxLine = 1 << 20

// readLines returns the lines of r trimmed of indentation, padding and CRs.
func readLines(r io.Reader) ([]string, error) {
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for sc.Scan() {
		lines = append(lines, strings.TrimSpace(sc.Text()))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOutput, err)
	}
	return lines, nil
}

// badLine reports a recognised line that cannot be read.
func badLine(n int, line string, err error) error {
	if len(line) > 100 {
		line = line[:100] + "..."
	}
	return fmt.Errorf("%w: line %d %q: %v", ErrBadOutput, n, line, err)
}

// isUnit reports a size unit that follows a number: bytes, KiB, MB, ...
func isUnit(s string) bool {
	if len(s) == 0 || len(s) > 5 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// takeSize reads a size at f[i], with its unit when one follows, and
// returns it and the index after it.
func takeSize(f []string, i int) (string, int) {
	if i+1 < len(f) && isUnit(f[i+1]) {
		return f[i] + " " + f[i+1], i + 2
	}
	return f[i], i + 1
}

// ParseStatus reads nodetool status (3.x fixed widths or 4.0+ tables, one
// or more datacenters, the vnode or single-token layout).
func ParseStatus(r io.Reader) ([]StatusNode, error) {
	lines, err := readLines(r)
	if err != nil {
		return nil, err
	}
	var nodes []StatusNode
	dc, tokenPerNode := "", false
	for i, l := range lines {
		if v, ok := strings.CutPrefix(l, "Datacenter:"); ok {
			dc = strings.TrimSpace(v)
			continue
		}
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if f[0] == "--" { // header: "Token" instead of "Tokens" when each node has one token
			tokenPerNode = slices.Contains(f, "Token") && !slices.Contains(f, "Tokens")
			continue
		}
		if len(f[0]) != 2 || !strings.ContainsRune("UD?", rune(f[0][0])) || !strings.ContainsRune("NLJM?", rune(f[0][1])) {
			continue
		}
		n, err := statusRow(f, tokenPerNode)
		if err != nil {
			return nil, badLine(i+1, l, err)
		}
		n.Datacenter = dc
		nodes = append(nodes, n)
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("%w: no node rows in nodetool status output", ErrBadOutput)
	}
	return nodes, nil
}

// statusRow reads "UN address load [unit] tokens owns hostID rack", or
// "UN address load [unit] owns hostID token rack" when tokenPerNode.
func statusRow(f []string, tokenPerNode bool) (StatusNode, error) {
	if len(f) < 7 {
		return StatusNode{}, errors.New("too few columns")
	}
	n := StatusNode{Status: f[0][:1], State: f[0][1:], Address: f[1]}
	load, i := takeSize(f, 2)
	rest := f[i:]
	if len(rest) < 4 {
		return StatusNode{}, errors.New("too few columns")
	}
	n.Load, n.Rack = load, strings.Join(rest[3:], " ")
	if tokenPerNode {
		n.Owns, n.HostID, n.Tokens = rest[0], rest[1], 1
		return n, nil
	}
	t, err := strconv.Atoi(rest[0])
	if err != nil || t < 0 {
		return StatusNode{}, fmt.Errorf("token count %q is not a number", rest[0])
	}
	n.Tokens, n.Owns, n.HostID = t, rest[1], rest[2]
	return n, nil
}

// ParseRing reads nodetool ring: one entry per token. The lone last-token
// line under each header, the vnode warning and notes are skipped.
func ParseRing(r io.Reader) ([]RingEntry, error) {
	lines, err := readLines(r)
	if err != nil {
		return nil, err
	}
	var ring []RingEntry
	dc := ""
	for i, l := range lines {
		if v, ok := strings.CutPrefix(l, "Datacenter:"); ok {
			dc = strings.TrimSpace(v)
			continue
		}
		f := strings.Fields(l)
		if len(f) < 7 || !slices.Contains([]string{"Up", "Down", "?"}, f[2]) ||
			!slices.Contains([]string{"Normal", "Leaving", "Joining", "Moving", "?"}, f[3]) {
			continue
		}
		tok, err := parseToken(f[len(f)-1])
		if err != nil {
			return nil, badLine(i+1, l, err)
		}
		ring = append(ring, RingEntry{
			Datacenter: dc, Address: f[0], Rack: f[1], Status: f[2], State: f[3],
			Load: strings.Join(f[4:len(f)-2], " "), Owns: f[len(f)-2], Token: tok,
		})
	}
	if len(ring) == 0 {
		return nil, fmt.Errorf("%w: no token rows in nodetool ring output", ErrBadOutput)
	}
	return ring, nil
}

// parseToken reads a Murmur3Partitioner token.
func parseToken(s string) (int64, error) {
	t, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("token %q is not a Murmur3Partitioner token (cassette supports Murmur3Partitioner only)", s)
	}
	return t, nil
}

// ParseInfo reads the "Key : value" lines of nodetool info, with or without
// -T, from Cassandra 3.11 to 5.0 and DSE; unknown keys are ignored.
func ParseInfo(r io.Reader) (Info, error) {
	lines, err := readLines(r)
	if err != nil {
		return Info{}, err
	}
	var info Info
	notJoined, tokensSeen := false, false
	for i, l := range lines {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "ID":
			info.ID = v
		case "Gossip active":
			info.GossipActive = v == "true"
		case "Native Transport active":
			info.NativeTransportActive = v == "true"
		case "Load":
			info.Load = v
		case "Uptime (seconds)":
			if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 && s < math.MaxInt64/int64(time.Second) {
				info.Uptime = time.Duration(s) * time.Second
			}
		case "Data Center":
			info.Datacenter = v
		case "Rack":
			info.Rack = v
		case "Token":
			switch {
			case strings.HasPrefix(v, "(node is not joined"):
				notJoined = true
			case strings.HasPrefix(v, "(invoke with"): // "(invoke with -T/--tokens to see all 16 tokens)"
				_, after, _ := strings.Cut(v, "see all ")
				n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSuffix(after, ")"), " tokens"))
				if err != nil || n < 0 {
					return Info{}, badLine(i+1, l, errors.New("no token count"))
				}
				info.TokenCount, tokensSeen = n, true
			default:
				t, err := parseToken(v)
				if err != nil {
					return Info{}, badLine(i+1, l, err)
				}
				info.Tokens, tokensSeen = append(info.Tokens, t), true
			}
		}
	}
	if info.ID == "" {
		return Info{}, fmt.Errorf("%w: no \"ID :\" line in nodetool info output", ErrBadOutput)
	}
	info.TokenCount = max(info.TokenCount, len(info.Tokens))
	info.Joined = tokensSeen && !notJoined
	return info, nil
}

// ParseVersion returns the value of nodetool version's "ReleaseVersion:"
// line, such as "4.0.11" (DSE: its bundled Cassandra version).
func ParseVersion(r io.Reader) (string, error) {
	lines, err := readLines(r)
	if err != nil {
		return "", err
	}
	for i, l := range lines {
		v, ok := strings.CutPrefix(l, "ReleaseVersion:")
		if !ok {
			continue
		}
		if v = strings.TrimSpace(v); v == "" || strings.IndexFunc(v, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
			return "", badLine(i+1, l, errors.New("not a version"))
		}
		return v, nil
	}
	return "", fmt.Errorf("%w: no \"ReleaseVersion:\" line in nodetool version output", ErrBadOutput)
}

// ParseListSnapshots reads nodetool listsnapshots: 4.0's five columns,
// 4.1+'s creation and expiration times, 5.0's Ephemeral column (-e), or
// "There are no snapshots" (nil, nil).
func ParseListSnapshots(r io.Reader) ([]SnapshotInfo, error) {
	lines, err := readLines(r)
	if err != nil {
		return nil, err
	}
	var snaps []SnapshotInfo
	details, header, hasTimes, hasEphemeral := false, false, false, false
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "Snapshot Details:"):
			details = true
			continue
		case !details || l == "" || strings.HasPrefix(l, "Total TrueDiskSpaceUsed"):
			continue
		case l == "There are no snapshots":
			return nil, nil
		case strings.HasPrefix(l, "Snapshot name"):
			header = true
			hasTimes, hasEphemeral = strings.Contains(l, "Creation time"), strings.Contains(l, "Ephemeral")
			continue
		case !header:
			continue
		}
		s, err := snapshotRow(strings.Fields(l), hasTimes, hasEphemeral)
		if err != nil {
			return nil, badLine(i+1, l, err)
		}
		snaps = append(snaps, s)
	}
	if !header {
		return nil, fmt.Errorf("%w: no \"Snapshot Details:\" table in nodetool listsnapshots output", ErrBadOutput)
	}
	return snaps, nil
}

// snapshotRow reads "name keyspace table trueSize sizeOnDisk [created
// [expires]] [ephemeral]"; 4.1 prints an empty expiration time for a
// snapshot without TTL, so that column may be missing.
func snapshotRow(f []string, hasTimes, hasEphemeral bool) (SnapshotInfo, error) {
	if len(f) < 5 {
		return SnapshotInfo{}, errors.New("too few columns")
	}
	s := SnapshotInfo{Name: f[0], Keyspace: f[1], Table: f[2]}
	var i int
	s.TrueSize, i = takeSize(f, 3)
	if i >= len(f) {
		return SnapshotInfo{}, errors.New("no size on disk")
	}
	s.SizeOnDisk, i = takeSize(f, i)
	rest := f[i:]
	if hasEphemeral {
		if len(rest) == 0 || (rest[len(rest)-1] != "true" && rest[len(rest)-1] != "false") {
			return SnapshotInfo{}, errors.New("no true/false Ephemeral column")
		}
		s.Ephemeral, rest = rest[len(rest)-1] == "true", rest[:len(rest)-1]
	}
	if len(rest) > 2 || (!hasTimes && len(rest) > 0) {
		return SnapshotInfo{}, errors.New("too many columns")
	}
	for j, t := range []*time.Time{&s.CreationTime, &s.ExpirationTime}[:len(rest)] {
		v, err := time.Parse(time.RFC3339Nano, rest[j])
		if err != nil {
			return SnapshotInfo{}, fmt.Errorf("time %q is not ISO-8601", rest[j])
		}
		*t = v
	}
	return s, nil
}
