package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cassette-backup/cassette/engine"
)

type restoreOptions struct {
	name, node, target string
	targetDirs         []string
	keyspaces, tables  []string
	overwrite          bool
}

func newRestoreCommand() *cli.Command {
	return &cli.Command{
		Name:  "restore",
		Usage: "restore one node's backup into a folder, verifying every chunk and every file",
		Description: "Files land as <target>/<keyspace>/<table>-<id>/<file>, the layout of a Cassandra data directory.\n" +
			"Each file is written under a temporary name, checked against its whole-file hash, fsynced and\n" +
			"only then renamed into place. Restore into an empty folder, stop Cassandra before restoring into\n" +
			"its data directory.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Required: true, Usage: "the backup to restore (see `cassette list`)"},
			&cli.StringFlag{Name: "node", Usage: "whose backup to restore (default: this node: $POD_NAME, else the host name)"},
			&cli.StringFlag{Name: "target", Usage: "`DIR` to restore into"},
			&cli.StringSliceFlag{Name: "target-dir", Usage: "restore a JBOD backup in place: one folder per data directory of the backup, in order (instead of --target)"},
			&cli.StringSliceFlag{Name: "keyspace", Usage: "restore only this keyspace (repeatable)"},
			&cli.StringSliceFlag{Name: "table", Usage: "restore only this table, as keyspace.table (repeatable)"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace files that already exist in the target"},
		},
		Action: func(c *cli.Context) error {
			return runRestore(c, restoreOptions{
				name: c.String("name"), node: c.String("node"), target: c.String("target"), targetDirs: c.StringSlice("target-dir"),
				keyspaces: c.StringSlice("keyspace"), tables: c.StringSlice("table"), overwrite: c.Bool("overwrite"),
			})
		},
	}
}

func runRestore(c *cli.Context, o restoreOptions) error {
	if (o.target == "") == (len(o.targetDirs) == 0) {
		return usagef("give exactly one of --target DIR or --target-dir DIR (repeatable)")
	}
	for _, t := range o.tables {
		if !strings.Contains(t, ".") {
			return usagef("--table %q: write it as keyspace.table", t)
		}
	}
	s, err := openSession(c)
	if err != nil {
		return err
	}
	defer s.close(c.Context)
	if o.node == "" {
		o.node = s.cfg.Cassandra.Node
	}
	if o.node == "" {
		o.node = defaultNode()
	}
	eng := s.engine()
	pr := newProgress("restore", c.App.ErrWriter, s.log)
	eng.Progress = pr
	res, err := eng.Restore(c.Context, engine.RestoreOptions{
		Name: o.name, Node: o.node, Target: o.target, TargetDirs: o.targetDirs,
		Filter: engine.TableFilter(o.keyspaces, o.tables, nil), Overwrite: o.overwrite,
	})
	pr.done(err == nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "restored backup %s node %s: %d files, %s in %s (%s), every file verified\n",
		o.name, o.node, res.Files, humanBytes(res.Bytes), res.Duration.Round(time.Millisecond), rate(res.Bytes, res.Duration))
	return nil
}
