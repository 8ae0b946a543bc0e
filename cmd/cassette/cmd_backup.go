package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cassette-backup/cassette/engine"
)

type backupOptions struct {
	name      string
	node      string
	typ       string
	dataDirs  []string
	workers   int
	snapshots bool

	datacenter, rack, tokensFile, expect string

	snapshot, existingSnapshot string
	keepSnapshot               bool
	keyspaces, excludeKS       []string
	// stop, when closed, ends the backup early and cleanly (schedules'
	// SIGTERM): see engine.BackupOptions.Stop.
	stop <-chan struct{}
}

func newBackupCommand() *cli.Command {
	return &cli.Command{
		Name:  "backup",
		Usage: "back up this node's data directories as one node of a (cluster) backup",
		Description: "Run it on every node with the same --name to make a cluster backup. Every backup is a synthetic\n" +
			"full backup: unchanged SSTables cost nothing but a line in the manifest. The manifest is written\n" +
			"last, so a backup is complete exactly when it appears in `cassette list`.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "backup name, the same on every node of the cluster (default: the current UTC time, YYYYMMDDhhmm)"},
			&cli.StringFlag{Name: "type", Aliases: []string{"mode"}, Value: engine.TypeDifferential,
				Usage: "differential: skip re-reading SSTables whose size, mtime and inode are unchanged since the last backup; full: re-read and re-hash every file and re-check every chunk against the bucket"},
			&cli.StringSliceFlag{Name: "data-dir", Usage: "a Cassandra data directory (data_file_directories); repeat for JBOD; default: cassandra.dataDirs from the config"},
			&cli.StringFlag{Name: "node", Usage: "this node's name as the operator knows it (default: $POD_NAME, else the host name)"},
			&cli.IntFlag{Name: "workers", Usage: "files read and chunked at once (default: CPU cores + 1)"},
			&cli.StringFlag{Name: "datacenter", Usage: "this node's datacenter, recorded with the backup (default: cassandra.datacenter)"},
			&cli.StringFlag{Name: "rack", Usage: "this node's rack (default: cassandra.rack)"},
			&cli.StringFlag{Name: "tokens-file", Usage: "file with this node's tokens, comma or line separated (default: cassandra.tokensFile)"},
			&cli.StringFlag{Name: "expect-nodes", Usage: "every node expected in this cluster backup, as host[:dc[:rack]] separated by commas, or @FILE; nodes that never start keep the backup IN_PROGRESS"},
			&cli.BoolFlag{Name: "include-snapshot-dirs", Usage: "with --snapshot none: also back up snapshots/ and backups/ sub-folders of table folders (normally skipped)"},
			&cli.StringFlag{Name: "snapshot", Usage: "how to get a consistent copy: nodetool (nodetool snapshot, then clearsnapshot; the node must run), hardlink (cassette hard-links the SSTables itself; for a stopped node), none (read the folders as they are) (default: cassandra.snapshot, else nodetool)"},
			&cli.BoolFlag{Name: "keep-snapshot", Usage: "leave the snapshot cassette-<name> on the node after the backup (it pins disk space until cleared)"},
			&cli.StringFlag{Name: "use-existing-snapshot", Usage: "back up the existing snapshot `TAG` (taken earlier with nodetool snapshot -t TAG) instead of taking one; it is left in place"},
			&cli.StringSliceFlag{Name: "keyspace", Usage: "back up only this keyspace; repeat for several (default: cassandra.keyspaces, else all)"},
			&cli.StringSliceFlag{Name: "exclude-keyspace", Usage: "leave this keyspace out; repeat for several (default: cassandra.excludeKeyspaces)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("backup takes no arguments (got %q): use --name and --data-dir", c.Args().First())
			}
			return runBackup(c, backupOptions{
				name: c.String("name"), node: c.String("node"), typ: c.String("type"),
				dataDirs: c.StringSlice("data-dir"), workers: c.Int("workers"), snapshots: c.Bool("include-snapshot-dirs"),
				datacenter: c.String("datacenter"), rack: c.String("rack"), tokensFile: c.String("tokens-file"), expect: c.String("expect-nodes"),
				snapshot: c.String("snapshot"), existingSnapshot: c.String("use-existing-snapshot"), keepSnapshot: c.Bool("keep-snapshot"),
				keyspaces: c.StringSlice("keyspace"), excludeKS: c.StringSlice("exclude-keyspace"),
			})
		},
	}
}

func runBackup(c *cli.Context, o backupOptions) error {
	s, err := openSession(c)
	if err != nil {
		return err
	}
	defer s.close(c.Context)
	pr := newProgress("backup", c.App.ErrWriter, s.log)
	res, err := s.backup(c.Context, &o, pr)
	pr.done(err == nil)
	if err != nil {
		return err
	}
	sm := res.Header.Summary
	fmt.Fprintf(c.App.Writer, "backup %s node %s (%s) complete in %s\n", o.name, o.node, o.typ, res.Duration.Round(time.Millisecond))
	fmt.Fprintf(c.App.Writer, "  files %d, %s; read %d files, %s (%s)\n", sm.Files, humanBytes(sm.Bytes), sm.ReadFiles, humanBytes(sm.ReadBytes), rate(sm.ReadBytes, res.Duration))
	fmt.Fprintf(c.App.Writer, "  new chunks %d, %s; uploaded %s in %d packs\n", sm.NewChunks, humanBytes(sm.NewBytes), humanBytes(sm.StoredBytes), sm.Packs)
	dedup := "n/a"
	if sm.NewBytes > 0 {
		dedup = fmt.Sprintf("%.1fx", float64(sm.Bytes)/float64(sm.NewBytes))
	}
	fmt.Fprintf(c.App.Writer, "  dedup ratio %s (node bytes / new bytes); objects written %d\n", dedup, objectsWritten(res))
	return nil
}

// backup runs one node backup as the CLI, the gRPC server and schedules
// do: defaults from the config (data directories, node name, snapshot
// mode, keyspace filters), the snapshot, the node's identity and schema.
// It fills o's defaults in place (the caller reports o.name and o.node).
func (s *session) backup(ctx context.Context, o *backupOptions, pr engine.Progress) (*engine.BackupResult, error) {
	if len(o.dataDirs) == 0 {
		o.dataDirs = s.cfg.Cassandra.DataDirs
	}
	if len(o.dataDirs) == 0 {
		return nil, usagef("no data directory: pass --data-dir or set cassandra.dataDirs in %s", orDash(s.cfg.Source))
	}
	if o.node == "" {
		o.node = s.cfg.Cassandra.Node
	}
	if o.node == "" {
		o.node = defaultNode()
	}
	if o.name == "" {
		o.name = time.Now().UTC().Format("200601021504")
	}
	if o.typ != engine.TypeDifferential && o.typ != engine.TypeFull {
		return nil, usagef("--type %q: use differential or full", o.typ)
	}
	dirs, err := absAll(o.dataDirs)
	if err != nil {
		return nil, err
	}
	if len(o.keyspaces) == 0 {
		o.keyspaces = s.cfg.Cassandra.Keyspaces
	}
	if len(o.excludeKS) == 0 {
		o.excludeKS = s.cfg.Cassandra.ExcludeKeyspaces
	}
	if err := checkKeyspaces(dirs, o.keyspaces); err != nil {
		return nil, err
	}
	filter := engine.TableFilter(o.keyspaces, nil, o.excludeKS)
	snap, nt, err := snapshotter(s, *o, dirs, filter)
	if err != nil {
		return nil, err
	}
	identity, expected, err := nodeTopology(s, *o)
	if err != nil {
		return nil, err
	}
	var schema []byte
	if nt != nil {
		// The node runs (nodetool mode): what it says of itself fills what
		// the config and flags left open, and cqlsh gives the schema.
		nodetoolIdentity(ctx, s, nt, &identity)
		if len(expected) == 0 {
			expected = ringView(ctx, s, nt)
		}
		schema = describeSchema(ctx, s)
	}
	eng := s.engine()
	eng.Progress = pr
	return eng.Backup(ctx, engine.BackupOptions{
		Name: o.name, Node: o.node, Type: o.typ, DataDirs: dirs, Workers: o.workers, Identity: identity, Expected: expected,
		Walk:     engine.WalkOptions{IncludeSnapshotDirs: o.snapshots, Filter: filter},
		Snapshot: snap, Schema: schema, Stop: o.stop,
	})
}

// objectsWritten counts the objects a node backup wrote: packs, index
// segments, the manifest, the started marker, the summary (at start and
// end) and the schema.
func objectsWritten(res *engine.BackupResult) int64 {
	n := res.Header.Summary.Packs + res.Header.Summary.Segments + 4
	if res.Header.Schema != "" {
		n++
	}
	return n
}

func orDash(s string) string {
	if s == "" {
		return "the configuration"
	}
	return s
}

// nodeTopology gathers this node's identity and the expected cluster from
// flags, then the config file.
func nodeTopology(s *session, o backupOptions) (engine.NodeInfo, []engine.NodeInfo, error) {
	cc := s.cfg.Cassandra
	id := engine.NodeInfo{Host: o.node, Datacenter: firstSet(o.datacenter, cc.Datacenter), Rack: firstSet(o.rack, cc.Rack)}
	if tf := firstSet(o.tokensFile, cc.TokensFile); tf != "" {
		toks, err := engine.ReadTokensFile(tf)
		if err != nil {
			return id, nil, usageError{err}
		}
		id.Tokens = toks
	}
	spec := o.expect
	if strings.HasPrefix(spec, "@") {
		b, err := os.ReadFile(spec[1:])
		if err != nil {
			return id, nil, usagef("--expect-nodes %s: %v", spec, err)
		}
		spec = string(b)
	}
	expected, err := engine.ParseExpected(spec)
	if err != nil {
		return id, nil, usagef("--expect-nodes: %v", err)
	}
	return id, expected, nil
}

func firstSet(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
