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
	skipSpace          bool
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
			&cli.StringSliceFlag{Name: "table", Usage: "restore only this table: keyspace.table, or a table name (with --keyspace: that table of those keyspaces; alone: in every keyspace); repeatable"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace files in the target whose content differs from the backup (files that already match are always kept, so an interrupted restore resumes)"},
			&cli.BoolFlag{Name: "skip-space-check", Usage: "do not check free space in the target before writing"},
		},
		Action: func(c *cli.Context) error {
			return runRestore(c, restoreOptions{
				name: c.String("name"), node: c.String("node"), target: c.String("target"), targetDirs: c.StringSlice("target-dir"),
				keyspaces: c.StringSlice("keyspace"), tables: c.StringSlice("table"), overwrite: c.Bool("overwrite"), skipSpace: c.Bool("skip-space-check"),
			})
		},
	}
}

func runRestore(c *cli.Context, o restoreOptions) error {
	if (o.target == "") == (len(o.targetDirs) == 0) {
		return usagef("give exactly one of --target DIR or --target-dir DIR (repeatable)")
	}
	ks, tables, err := restoreSelection(o.keyspaces, o.tables)
	if err != nil {
		return err
	}
	o.keyspaces, o.tables = ks, tables
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
		Filter: engine.TableFilter(o.keyspaces, o.tables, nil), Overwrite: o.overwrite, SkipSpaceCheck: o.skipSpace,
	})
	pr.done(err == nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "restored backup %s node %s: %d files, %s in %s (%s), every file verified\n",
		o.name, o.node, res.Files, humanBytes(res.Bytes), res.Duration.Round(time.Millisecond), rate(res.Bytes, res.Duration))
	if res.InPlace > 0 {
		fmt.Fprintf(c.App.Writer, "  %d files were already in place with the right content and were kept\n", res.InPlace)
	}
	return nil
}

// restoreSelection turns --keyspace/--table into the include lists of
// engine.TableFilter: "--keyspace ks --table t" means ks.t (not all of ks
// plus every t), a bare --table alone matches that table in every keyspace.
func restoreSelection(keyspaces, tables []string) ([]string, []string, error) {
	var bare, qualified []string
	for _, t := range tables {
		if t == "" || strings.HasPrefix(t, ".") || strings.HasSuffix(t, ".") {
			return nil, nil, usagef("--table %q: give a table name or keyspace.table", t)
		}
		if strings.Contains(t, ".") {
			qualified = append(qualified, t)
		} else {
			bare = append(bare, t)
		}
	}
	if len(bare) == 0 || len(keyspaces) == 0 {
		return keyspaces, append(qualified, bare...), nil
	}
	for _, k := range keyspaces {
		for _, t := range bare {
			qualified = append(qualified, k+"."+t)
		}
	}
	return nil, qualified, nil
}
