package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cassette-backup/cassette/engine"
)

// envMedusaMode selects what the container does, as in Medusa's image.
const envMedusaMode = "MEDUSA_MODE"

func newEntrypointCommand() *cli.Command {
	return &cli.Command{
		Name:  "entrypoint",
		Usage: "the container's entrypoint (also `cassette` alone with MEDUSA_MODE set): GRPC serves, RESTORE restores this pod",
		Description: "k8ssandra-operator runs the Medusa image twice in every Cassandra pod, and cassette's image the same way:\n" +
			"  MEDUSA_MODE=GRPC     the sidecar: `cassette serve`, exiting 0 when medusa.ini changes and no backup\n" +
			"                       runs, so that Kubernetes restarts it with the new configuration;\n" +
			"  MEDUSA_MODE=RESTORE  the init container: restores backup BACKUP_NAME into this pod's data directories\n" +
			"                       before Cassandra starts, from the source host RESTORE_MAPPING maps POD_NAME to\n" +
			"                       (else from the mapping PrepareRestore wrote for RESTORE_KEY, else its own backup),\n" +
			"                       then records RESTORE_KEY in <state dir>/.last-restore; a key already recorded is\n" +
			"                       not restored again. Without BACKUP_NAME or RESTORE_KEY there is nothing to do.\n" +
			"Without --config (or CASSETTE_CONFIG) it reads /etc/medusa/medusa.ini. DEBUG_SLEEP=N waits N seconds first.",
		Flags: append(serveFlags(5*time.Second),
			&cli.StringFlag{Name: "mode", EnvVars: []string{envMedusaMode}, Usage: "GRPC or RESTORE (default: $MEDUSA_MODE)"},
			&cli.BoolFlag{Name: "keep-aside", Usage: "RESTORE: keep the table folders the data directories held before the restore, in <data dir>/.cassette-aside/ (default: delete them once the restore succeeded, as Medusa does)"},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("entrypoint takes no arguments (got %q): set MEDUSA_MODE", c.Args().First())
			}
			if err := debugSleep(c.Context, os.Getenv("DEBUG_SLEEP")); err != nil {
				return err
			}
			switch mode := strings.ToUpper(strings.TrimSpace(c.String("mode"))); mode {
			case "GRPC":
				return runServe(c, serveOptionsFrom(c))
			case "RESTORE":
				return runRestoreMode(c, restoreModeOptions{
					backup: os.Getenv("BACKUP_NAME"), key: os.Getenv("RESTORE_KEY"), mapping: os.Getenv("RESTORE_MAPPING"),
					node: firstSet(c.String("node"), os.Getenv("POD_NAME")), stateDir: c.String("state-dir"), keepAside: c.Bool("keep-aside"),
				})
			case "":
				return usagef("MEDUSA_MODE is not set: set it to GRPC (the gRPC sidecar) or RESTORE (the restore init container), or pass --mode")
			default:
				return usagef("MEDUSA_MODE %q: use GRPC or RESTORE", c.String("mode"))
			}
		},
	}
}

// debugSleep waits DEBUG_SLEEP seconds first, as Medusa's entrypoint
// does (time to attach a debugger or exec into the container).
func debugSleep(ctx context.Context, v string) error {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return usagef("DEBUG_SLEEP %q: give a number of seconds", v)
	}
	select {
	case <-time.After(time.Duration(n) * time.Second):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// restoreModeOptions are the RESTORE init container's inputs, from the
// environment the operator sets.
type restoreModeOptions struct {
	backup, key, mapping string
	node                 string // POD_NAME: the pod being restored
	stateDir             string
	keepAside            bool
}

// lastRestorePath records the restore key last applied, as Medusa's
// entrypoint does.
func lastRestorePath(stateDir string) string { return filepath.Join(stateDir, ".last-restore") }

// runRestoreMode is the RESTORE init container: restore this pod's data in
// place from its mapped source host, once per restore key.
func runRestoreMode(c *cli.Context, o restoreModeOptions) error {
	out := c.App.Writer
	if o.backup == "" || o.key == "" {
		fmt.Fprintln(out, "cassette entrypoint: BACKUP_NAME or RESTORE_KEY is not set: no restore requested")
		return nil
	}
	if err := engine.ValidateName("restore key", o.key); err != nil {
		return usagef("RESTORE_KEY: %v", err)
	}
	last := lastRestorePath(o.stateDir)
	b, err := os.ReadFile(last)
	switch {
	case err == nil && strings.TrimSpace(string(b)) == o.key:
		fmt.Fprintf(out, "cassette entrypoint: restore %s (backup %s) was already applied (%s): nothing to do\n", o.key, o.backup, last)
		return nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("read %s: %w (set --state-dir or CASSETTE_STATE_DIR to Cassandra's data root)", last, err)
	}
	hostMap := o.mapping
	if hostMap == "" {
		if p := restoreMappingPath(o.stateDir, o.key); fileExists(p) {
			hostMap = p // written by PrepareRestore
		}
	}
	if err := useMedusaINI(c); err != nil {
		return err
	}
	s, err := openSession(c)
	if err != nil {
		return err
	}
	defer s.close(c.Context)
	defaultDataDirs(s, o.stateDir)
	node := firstSet(o.node, s.cfg.Cassandra.Node, defaultNode())
	mapping, err := readHostMap(hostMap)
	if err != nil {
		return err
	}
	if mapping != nil && len(mapping.HostMap) > 0 {
		if _, ok := mapping.HostMap[node]; !ok {
			if mapping.InPlace == nil || !*mapping.InPlace {
				// As Medusa: a pod the mapping does not name (a node added
				// since the backup) has nothing to restore.
				targets := make([]string, 0, len(mapping.HostMap))
				for t := range mapping.HostMap {
					targets = append(targets, t)
				}
				sort.Strings(targets)
				fmt.Fprintf(out, "cassette entrypoint: the restore mapping names no source for this pod %s (it maps %s): nothing to restore here\n", node, strings.Join(targets, ", "))
				return recordRestore(last, o.key)
			}
			hostMap = "" // in place: the pod restores its own backup
		}
	}
	ro := restoreOptions{name: o.backup, node: node, hostMap: hostMap, inPlace: true, removeAside: !o.keepAside}
	if err := ro.check(); err != nil {
		return err
	}
	fmt.Fprintf(out, "cassette entrypoint: restoring backup %s into %s (restore %s)\n", o.backup, strings.Join(s.cfg.Cassandra.DataDirs, ", "), o.key)
	pr := newProgress("restore", c.App.ErrWriter, s.log)
	res, aside, err := s.restore(c.Context, &ro, pr)
	pr.done(err == nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "restored backup %s node %s onto %s: %d files, %s in %s, every file verified\n",
		o.backup, ro.node, node, res.Files, humanBytes(res.Bytes), res.Duration.Round(time.Millisecond))
	for _, a := range aside {
		fmt.Fprintf(out, "  the tables that were there before are in %s (delete it once Cassandra is back and healthy)\n", a)
	}
	return recordRestore(last, o.key)
}

// recordRestore writes the restore key to .last-restore, so a restarted
// init container does not restore again.
func recordRestore(path, key string) error {
	if err := writeBytesAtomic(path, []byte(key+"\n")); err != nil {
		return fmt.Errorf("record restore %s in %s: %w (the next start restores again; is the data root writable?)", key, path, err)
	}
	return nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
