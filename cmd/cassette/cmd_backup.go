package main

import (
	"fmt"
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
			&cli.BoolFlag{Name: "include-snapshot-dirs", Usage: "also back up snapshots/ and backups/ sub-folders of table folders (normally skipped)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("backup takes no arguments (got %q): use --name and --data-dir", c.Args().First())
			}
			return runBackup(c, backupOptions{
				name: c.String("name"), node: c.String("node"), typ: c.String("type"),
				dataDirs: c.StringSlice("data-dir"), workers: c.Int("workers"), snapshots: c.Bool("include-snapshot-dirs"),
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
	if len(o.dataDirs) == 0 {
		o.dataDirs = s.cfg.Cassandra.DataDirs
	}
	if len(o.dataDirs) == 0 {
		return usagef("no data directory: pass --data-dir or set cassandra.dataDirs in %s", orDash(s.cfg.Source))
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
		return usagef("--type %q: use differential or full", o.typ)
	}
	dirs, err := absAll(o.dataDirs)
	if err != nil {
		return err
	}
	eng := s.engine()
	pr := newProgress("backup", c.App.ErrWriter, s.log)
	eng.Progress = pr
	res, err := eng.Backup(c.Context, engine.BackupOptions{
		Name: o.name, Node: o.node, Type: o.typ, DataDirs: dirs, Workers: o.workers,
		Walk: engine.WalkOptions{IncludeSnapshotDirs: o.snapshots, Filter: engine.TableFilter(s.cfg.Cassandra.Keyspaces, nil, s.cfg.Cassandra.ExcludeKeyspaces)},
	})
	pr.done(err == nil)
	if err != nil {
		return err
	}
	sm := res.Header.Summary
	fmt.Fprintf(c.App.Writer, "backup %s node %s (%s) complete in %s\n", o.name, o.node, o.typ, res.Duration.Round(time.Millisecond))
	fmt.Fprintf(c.App.Writer, "  files %d, %s; read %d files, %s (%s)\n", sm.Files, humanBytes(sm.Bytes), sm.ReadFiles, humanBytes(sm.ReadBytes), rate(sm.ReadBytes, res.Duration))
	fmt.Fprintf(c.App.Writer, "  new chunks %d, %s; uploaded %s in %d packs\n", sm.NewChunks, humanBytes(sm.NewBytes), humanBytes(sm.StoredBytes), sm.Packs)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "the configuration"
	}
	return s
}
