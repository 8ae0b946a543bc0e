package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/cassette-backup/cassette/cmd/internal/control"
)

func newControlRestoreCommand() *cli.Command {
	return &cli.Command{
		Name: "restore",
		Usage: "check a backup against a datacenter, build the host map and prepare the restore on every node (PrepareRestore); " +
			"with --run, restore every node in place through its sidecar",
		Flags: controlFlags(true,
			&cli.StringFlag{Name: "backup", Usage: "the backup to restore (required)"},
			&cli.StringFlag{Name: "restore-key", Usage: "the restore's key (default: a new UUID); a node applies a key once"},
			&cli.StringFlag{Name: "env-dir", Usage: "write each node's RESTORE environment to `DIR`/<node>.env"},
			&cli.BoolFlag{Name: "run", Usage: "once every node prepared, restore every node in place, all at once, through its cassette serve " +
				"sidecar (NodeRestore); Cassandra must be stopped on every node. Run it again with the same --restore-key after " +
				"fixing a failed node: nodes that restored are not restored twice"}),
		Action: runControlRestore,
	}
}

func runControlRestore(c *cli.Context) error {
	s, err := openControl(c, true)
	if err != nil {
		return err
	}
	defer s.ctl.Close()
	if c.String("backup") == "" {
		return usagef("give the backup to restore: --backup NAME")
	}
	run := c.Bool("run")
	show := nodeProgress(c.App.ErrWriter, s.dc.Name)
	plan, err := s.ctl.Restore(c.Context, control.RestoreRequest{Datacenter: s.dc, Backup: c.String("backup"), RestoreKey: c.String("restore-key"), Run: run,
		Progress: func(p control.RestorePlan) {
			for _, rn := range p.Nodes {
				show(rn.Node, rn.Address, rn.Status, rn.Error)
			}
		}})
	if plan == nil {
		return controlError(err)
	}
	// With --run the environment is the way back to a node's RESTORE
	// step when its sidecar cannot restore it: written once every node
	// prepared, whatever the run's outcome.
	if dir := c.String("env-dir"); dir != "" && (err == nil || plan.Run) {
		if werr := writeRestoreEnv(dir, plan); werr != nil {
			return werr
		}
	}
	if s.out == "json" || s.out == "yaml" {
		if werr := writeStructured(c.App.Writer, s.out, plan); werr != nil {
			return werr
		}
		return controlError(err)
	}
	if run {
		printRestoreRun(c.App.Writer, plan)
	} else {
		printRestorePlan(c.App.Writer, plan, c.String("env-dir"))
	}
	return controlError(err)
}

func printRestorePlan(w io.Writer, p *control.RestorePlan, envDir string) {
	if len(p.Nodes) == 0 {
		fmt.Fprintf(w, "backup %s cannot be restored to datacenter %s (cluster %s)\n", p.Backup, p.Datacenter, p.Cluster)
		return
	}
	prepared := 0
	for _, rn := range p.Nodes {
		if rn.Status == control.StatusPrepared {
			prepared++
		}
	}
	fmt.Fprintf(w, "restore %s of backup %s to datacenter %s (cluster %s): prepared on %d of %d nodes; in place: %t\n\n",
		p.RestoreKey, p.Backup, p.Datacenter, p.Cluster, prepared, len(p.Nodes), p.InPlace)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tRACK\tADDRESS\tRESTORES BACKUP OF\tSTATUS\tERROR")
	for _, rn := range p.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", rn.Node, rn.Rack, rn.Address, rn.Source, rn.Status, firstSet(rn.Error, "-"))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nNOT RESTORED YET. %s\n\n", p.Note)
	for _, rn := range p.Nodes {
		fmt.Fprintf(w, "node %s:\n", rn.Node)
		if envDir != "" {
			fmt.Fprintf(w, "  set -a; . %s; set +a; cassette entrypoint\n", filepath.Join(envDir, rn.Node+".env"))
			continue
		}
		env := rn.Env.List()
		env[3] = "RESTORE_MAPPING='" + rn.Env.RestoreMapping + "'"
		fmt.Fprintf(w, "  %s cassette entrypoint\n", strings.Join(env, " "))
	}
}

// printRestoreRun prints a restore run with --run: each node's status,
// times, files and bytes restored, and its error.
func printRestoreRun(w io.Writer, p *control.RestorePlan) {
	if len(p.Nodes) == 0 {
		fmt.Fprintf(w, "backup %s cannot be restored to datacenter %s (cluster %s)\n", p.Backup, p.Datacenter, p.Cluster)
		return
	}
	restored := 0
	for _, rn := range p.Nodes {
		if rn.Status == control.StatusSuccess {
			restored++
		}
	}
	fmt.Fprintf(w, "restore %s of backup %s to datacenter %s (cluster %s): %s, restored on %d of %d nodes; in place: %t\n\n",
		p.RestoreKey, p.Backup, p.Datacenter, p.Cluster, p.Status, restored, len(p.Nodes), p.InPlace)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tRACK\tADDRESS\tRESTORES BACKUP OF\tSTATUS\tSTARTED\tFINISHED\tFILES\tSIZE\tERROR")
	var notes []string
	for _, rn := range p.Nodes {
		files, size := "-", "-"
		if pr := rn.Progress; pr != nil {
			files = fmt.Sprintf("%d/%d", pr.FilesDone, pr.FilesTotal)
			size = humanBytes(pr.BytesDone) + " of " + humanBytes(pr.BytesTotal)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", rn.Node, rn.Rack, rn.Address, rn.Source, rn.Status,
			firstSet(rn.StartTime, "-"), firstSet(rn.FinishTime, "-"), files, size, firstSet(rn.Error, "-"))
		if rn.Note != "" {
			notes = append(notes, fmt.Sprintf("node %s: %s", rn.Node, rn.Note))
		}
	}
	tw.Flush()
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(notes, "\n"))
	}
	fmt.Fprintf(w, "\n%s\n", p.Note)
}

// writeRestoreEnv writes <dir>/<node>.env for each node: NAME=value lines
// a shell (set -a; . file) or systemd's EnvironmentFile reads.
func writeRestoreEnv(dir string, p *control.RestorePlan) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--env-dir: %w", err)
	}
	for _, rn := range p.Nodes {
		env := rn.Env.List()
		env[3] = "RESTORE_MAPPING='" + rn.Env.RestoreMapping + "'"
		path := filepath.Join(dir, rn.Node+".env")
		if err := writeBytesAtomic(path, []byte(strings.Join(env, "\n")+"\n")); err != nil {
			return fmt.Errorf("--env-dir: write %s: %w", path, err)
		}
	}
	return nil
}
