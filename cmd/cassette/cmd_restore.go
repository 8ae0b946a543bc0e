package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
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
	hostMap            string
	inPlace            bool
	dataDirs           []string
	removeAside        bool
	runningCheck       string
	// isRunning, when set, is the running check itself (the sidecar's,
	// already built from runningCheck); nil builds it from runningCheck.
	isRunning func(ctx context.Context) (bool, error)
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
			&cli.StringFlag{Name: "host-map", EnvVars: []string{"RESTORE_MAPPING"},
				Usage: "restore another node's data onto this one: k8ssandra RESTORE_MAPPING JSON {\"in_place\": false, \"host_map\": {\"<this node>\": {\"source\": [\"<source host>\"], \"seed\": false}}}, or a JSON file holding it"},
			&cli.BoolFlag{Name: "skip-space-check", Usage: "do not check free space in the target before writing"},
			&cli.BoolFlag{Name: "in-place", Usage: "restore into this node's own data directories (--data-dir or cassandra.dataDirs): refuses while Cassandra runs, moves the current table folders aside to <data dir>/.cassette-aside/<time>/ first and puts them back if the restore fails"},
			&cli.StringSliceFlag{Name: "data-dir", Usage: "with --in-place: the node's data directories, in the backup's order (default: cassandra.dataDirs)"},
			&cli.BoolFlag{Name: "remove-aside", Usage: "with --in-place: delete the moved-aside table folders once the restore succeeded (default: keep them and print where)"},
			&cli.StringFlag{Name: "running-check", Usage: "with --in-place: shell `COMMAND` that exits 0 while Cassandra runs on this node (default: ask nodetool, as configured in cassandra.nodetool)"},
		},
		Action: func(c *cli.Context) error {
			return runRestore(c, restoreOptions{
				name: c.String("name"), node: c.String("node"), target: c.String("target"), targetDirs: c.StringSlice("target-dir"),
				keyspaces: c.StringSlice("keyspace"), tables: c.StringSlice("table"), overwrite: c.Bool("overwrite"), skipSpace: c.Bool("skip-space-check"), hostMap: c.String("host-map"),
				inPlace: c.Bool("in-place"), dataDirs: c.StringSlice("data-dir"), removeAside: c.Bool("remove-aside"), runningCheck: c.String("running-check"),
			})
		},
	}
}

func runRestore(c *cli.Context, o restoreOptions) error {
	if err := o.check(); err != nil {
		return err
	}
	s, err := openSession(c)
	if err != nil {
		return err
	}
	defer s.close(c.Context)
	pr := newProgress("restore", c.App.ErrWriter, s.log)
	res, aside, err := s.restore(c.Context, &o, pr)
	pr.done(err == nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "restored backup %s node %s: %d files, %s in %s (%s), every file verified\n",
		o.name, o.node, res.Files, humanBytes(res.Bytes), res.Duration.Round(time.Millisecond), rate(res.Bytes, res.Duration))
	if res.InPlace > 0 {
		fmt.Fprintf(c.App.Writer, "  %d files were already in place with the right content and were kept\n", res.InPlace)
	}
	for _, a := range aside {
		fmt.Fprintf(c.App.Writer, "  the tables that were there before are in %s (delete it once Cassandra is back and healthy)\n", a)
	}
	return nil
}

// check validates the flags that need no configuration, and applies
// RESTORE_MAPPING's in_place.
func (o *restoreOptions) check() error {
	mapping, err := readHostMap(o.hostMap)
	if err != nil {
		return err
	}
	if mapping != nil && mapping.InPlace != nil && *mapping.InPlace && o.target == "" && len(o.targetDirs) == 0 {
		o.inPlace = true // RESTORE_MAPPING's in_place, as the operator sets it
	}
	if o.inPlace {
		if o.target != "" || len(o.targetDirs) > 0 {
			return usagef("--in-place restores into the node's data directories: drop --target/--target-dir (or use --data-dir)")
		}
	} else if (o.target == "") == (len(o.targetDirs) == 0) {
		return usagef("give exactly one of --target DIR, --target-dir DIR (repeatable) or --in-place")
	}
	ks, tables, err := restoreSelection(o.keyspaces, o.tables)
	if err != nil {
		return err
	}
	o.keyspaces, o.tables = ks, tables
	return nil
}

// restore runs one node restore as the CLI and the RESTORE entrypoint do
// (o checked first): the node from the config or POD_NAME, mapped through
// RESTORE_MAPPING to its source; into a target folder or in place. It sets
// o.node to the source node restored.
func (s *session) restore(ctx context.Context, o *restoreOptions, pr engine.Progress) (*engine.RestoreResult, []string, error) {
	mapping, err := readHostMap(o.hostMap)
	if err != nil {
		return nil, nil, err
	}
	if o.node == "" {
		o.node = s.cfg.Cassandra.Node
	}
	if o.node == "" {
		o.node = defaultNode()
	}
	if mapping != nil {
		// With a host map, --node / POD_NAME name this node, the target;
		// the map names the node whose backup it receives.
		if o.node, err = mapping.source(o.node); err != nil {
			return nil, nil, err
		}
	}
	eng := s.engine()
	eng.Progress = pr
	ro := engine.RestoreOptions{
		Name: o.name, Node: o.node, Target: o.target, TargetDirs: o.targetDirs,
		Filter: engine.TableFilter(o.keyspaces, o.tables, nil), Overwrite: o.overwrite, SkipSpaceCheck: o.skipSpace,
	}
	var (
		res   *engine.RestoreResult
		aside []string
	)
	if o.inPlace {
		dirs := o.dataDirs
		if len(dirs) == 0 {
			dirs = s.cfg.Cassandra.DataDirs
		}
		if len(dirs) == 0 {
			return nil, nil, usagef("--in-place needs the node's data directories: pass --data-dir or set cassandra.dataDirs in %s", orDash(s.cfg.Source))
		}
		if ro.TargetDirs, err = absAll(dirs); err != nil {
			return nil, nil, err
		}
		isRunning := o.isRunning
		if isRunning == nil {
			isRunning = runningCheck(s, o.runningCheck)
		}
		res, aside, err = eng.RestoreInPlace(ctx, ro, engine.InPlaceOptions{IsRunning: isRunning, RemoveAside: o.removeAside})
	} else {
		res, err = eng.Restore(ctx, ro)
	}
	if err != nil {
		return nil, nil, explainNotFound(ctx, eng, o.name, o.node, err)
	}
	return res, aside, nil
}

// runningCheck tells whether Cassandra runs on this node: the operator's
// command when given (exit 0 = running), else nodetool.
func runningCheck(s *session, command string) func(ctx context.Context) (bool, error) {
	if command == "" {
		return newNodetool(s.cfg).IsRunning
	}
	return func(ctx context.Context) (bool, error) {
		err := exec.CommandContext(ctx, "/bin/sh", "-c", command).Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return true, nil
		case errors.As(err, &exit):
			return false, nil
		}
		return false, fmt.Errorf("--running-check %q: %w", command, err)
	}
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

// restoreMapping is k8ssandra-operator's RESTORE_MAPPING.
type restoreMapping struct {
	InPlace *bool `json:"in_place"`
	HostMap map[string]struct {
		Source []string `json:"source"`
		Seed   bool     `json:"seed"`
	} `json:"host_map"`
}

// readHostMap parses --host-map / RESTORE_MAPPING: the JSON itself or a
// file holding it; nil when not given.
func readHostMap(arg string) (*restoreMapping, error) {
	if arg == "" {
		return nil, nil
	}
	raw := []byte(arg)
	if t := strings.TrimSpace(arg); !strings.HasPrefix(t, "{") {
		b, err := os.ReadFile(arg)
		if err != nil {
			return nil, usagef("--host-map %s: not JSON and not a readable file: %v", arg, err)
		}
		raw = b
	}
	var m restoreMapping
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, usagef("--host-map: invalid RESTORE_MAPPING JSON (%v); expected {\"host_map\": {\"<target>\": {\"source\": [\"<host>\"]}}}", err)
	}
	return &m, nil
}

// source returns the source host whose backup this node (target) restores.
func (m *restoreMapping) source(target string) (string, error) {
	e, ok := m.HostMap[target]
	if !ok {
		targets := make([]string, 0, len(m.HostMap))
		for k := range m.HostMap {
			targets = append(targets, k)
		}
		sort.Strings(targets)
		return "", usagef("--host-map has no entry for this node %q (it maps %s): set --node or POD_NAME to one of them", target, strings.Join(targets, ", "))
	}
	if len(e.Source) != 1 || e.Source[0] == "" {
		return "", usagef("--host-map entry for %q must name exactly one source host, it names %d", target, len(e.Source))
	}
	return e.Source[0], nil
}
