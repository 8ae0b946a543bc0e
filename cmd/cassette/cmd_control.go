package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cassette-backup/cassette/cmd/internal/config"
	"github.com/cassette-backup/cassette/cmd/internal/control"
	"github.com/cassette-backup/cassette/cmd/internal/schedule"
	"github.com/cassette-backup/cassette/engine"
)

// controlHooks are test seams of `cassette control schedule`: a fake clock
// and the scheduler once it exists.
var controlHooks struct {
	clock   schedule.Clock
	started func(*schedule.Scheduler)
}

// controlFlags are the flags every control subcommand takes; dc adds --dc.
func controlFlags(dc bool, more ...cli.Flag) []cli.Flag {
	fl := []cli.Flag{
		&cli.StringFlag{Name: "inventory", Aliases: []string{"i"}, EnvVars: []string{"CASSETTE_INVENTORY"},
			Usage: "`FILE` naming the clusters, datacenters, nodes (sidecar addresses, racks, TLS) and storage configurations"},
		&cli.StringFlag{Name: "cluster", Usage: "the cluster of the inventory (default: its only one)"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: outputFlagUsage},
		&cli.DurationFlag{Name: "poll-interval", Value: control.DefaultPollInterval, Usage: "how often BackupStatus (and RestoreStatus) is asked, and unreachable nodes tried again"},
		&cli.DurationFlag{Name: "rpc-timeout", Value: control.DefaultCallTimeout, Usage: "deadline of each gRPC call (PurgeBackups: --timeout)"},
		&cli.DurationFlag{Name: "unreachable-after", Value: control.DefaultUnreachableAfter,
			Usage: "a node that does not answer for this long is FAILED (connection refused, timeouts)"},
	}
	if dc {
		fl = append(fl, &cli.StringFlag{Name: "dc", Aliases: []string{"datacenter"}, Usage: "the `DATACENTER` to act on (default: the cluster's only one)"})
	}
	return append(fl, more...)
}

func newControlCommand() *cli.Command {
	return &cli.Command{
		Name:  "control",
		Usage: "drive the cassette serve (Medusa) sidecars of whole datacenters: backup, purge, restore, schedules",
		Description: "The control plane does what k8ssandra-operator does for MedusaBackupJob, MedusaTask, MedusaRestoreJob and\n" +
			"MedusaBackupSchedule objects, outside Kubernetes: it calls every node's sidecar (the nodes listed in the\n" +
			"--inventory file) in parallel, and reports each node by name. See docs/control.md.\n" +
			"With --http ADDR it serves the web console instead (docs/console.md).",
		Flags:  consoleFlags(),
		Action: runConsole,
		Subcommands: []*cli.Command{
			{Name: "inventory", Usage: "check the inventory and show its clusters, nodes and storage configurations (credentials as file names only)",
				Flags: controlFlags(false), Action: runControlInventory},
			{Name: "backup", Usage: "back up every node of a datacenter at once and print the MedusaBackup (not SUCCESS unless every node finished)",
				Flags: controlFlags(true,
					&cli.StringFlag{Name: "name", Usage: "the backup's `NAME` (required)"},
					&cli.StringFlag{Name: "type", Value: "differential", Usage: "full or differential"}),
				Action: runControlBackup},
			{Name: "purge", Usage: "purge every node of a datacenter at once (each node's maxBackupAge and maxBackupCount) and print each node's counters",
				Flags:  controlFlags(true, purgeTimeoutFlag(), sequentialFlag()),
				Action: runControlPurge},
			newControlRestoreCommand(),
			newControlScheduleCommand(),
		},
	}
}

// controlSession is a loaded inventory and a controller over it.
type controlSession struct {
	ctl     *control.Controller
	log     *slog.Logger
	cluster *control.Cluster
	dc      *control.Datacenter
	out     string
}

func openControl(c *cli.Context, needDC bool) (*controlSession, error) {
	if c.NArg() > 0 {
		return nil, usagef("%s takes no arguments (got %q)", c.Command.Name, c.Args().First())
	}
	out := c.String("output")
	if err := checkOutput(out); err != nil {
		return nil, err
	}
	path := c.String("inventory")
	if path == "" {
		return nil, usagef("give the inventory: --inventory FILE (or set CASSETTE_INVENTORY); see docs/control.md")
	}
	inv, err := control.LoadInventory(path)
	if err != nil {
		return nil, usageError{err}
	}
	cl, err := inv.FindCluster(c.String("cluster"))
	if err != nil {
		return nil, usageError{err}
	}
	log, err := newLogger(c)
	if err != nil {
		return nil, err
	}
	s := &controlSession{cluster: cl, out: out, log: log, ctl: control.New(inv, control.Options{Log: log,
		PollInterval: c.Duration("poll-interval"), CallTimeout: c.Duration("rpc-timeout"), UnreachableAfter: c.Duration("unreachable-after")})}
	if needDC {
		if s.dc, err = cl.FindDatacenter(c.String("dc")); err != nil {
			s.ctl.Close()
			return nil, usageError{err}
		}
	}
	return s, nil
}

// controlError maps the package's errors to exit codes: a missing backup
// is exit 4, a refused restore and a failed operation exit 1.
func controlError(err error) error {
	if errors.Is(err, control.ErrNotFound) {
		return notFoundError{err}
	}
	return err
}

type notFoundError struct{ error }

func (e notFoundError) Unwrap() error        { return e.error }
func (e notFoundError) Is(target error) bool { return target == engine.ErrBackupNotFound }

func runControlInventory(c *cli.Context) error {
	s, err := openControl(c, false)
	if err != nil {
		return err
	}
	defer s.ctl.Close()
	inv := s.ctl.Inventory()
	if s.out == "json" || s.out == "yaml" {
		return writeStructured(c.App.Writer, s.out, inv)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "inventory %s: %d cluster(s), %d storage configuration(s)\n\n", inv.File, len(inv.Clusters), len(inv.Storage))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tDATACENTER\tNODE\tRACK\tADDRESS\tTLS\tSTORAGE")
	for _, cl := range inv.Clusters {
		for _, dc := range cl.Datacenters {
			for _, n := range dc.Nodes {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cl.Name, dc.Name, n.Name, n.Rack, n.Address, tlsLabel(n.TLS), firstSet(dc.Storage, "-"))
			}
		}
	}
	tw.Flush()
	if len(inv.Storage) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "STORAGE\tPROVIDER\tBUCKET\tPREFIX\tENDPOINT\tCREDENTIALS")
		for _, sc := range inv.Storage {
			sp := sc.Properties
			endpoint := "-"
			if sp.Host != "" {
				endpoint = fmt.Sprintf("%s:%d", sp.Host, sp.Port)
			}
			creds := "-"
			switch {
			case sp.CredentialsFile != "":
				creds = "file " + sp.CredentialsFile
			case sc.SecretRef != "":
				creds = "secret " + sc.SecretRef
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", sc.Name, sp.StorageProvider, sp.BucketName, firstSet(sp.Prefix, "-"), endpoint, creds)
		}
		tw.Flush()
	}
	return nil
}

func tlsLabel(t control.TLS) string {
	switch {
	case t.TLSCert != "":
		return "mutual TLS"
	case !t.IsZero():
		return "TLS"
	}
	return "plain text"
}

// nodeProgress prints a line to w whenever a node's status changes.
func nodeProgress(w io.Writer, dc string) func(node, addr, status, msg string) {
	var mu sync.Mutex
	last := map[string]string{}
	return func(node, addr, status, msg string) {
		mu.Lock()
		defer mu.Unlock()
		if last[node] == status || status == control.StatusPending {
			return
		}
		last[node] = status
		line := fmt.Sprintf("%s %s/%s (%s): %s", time.Now().UTC().Format("15:04:05"), dc, node, addr, status)
		if msg != "" && status == control.StatusFailed {
			line += ": " + msg
		}
		fmt.Fprintln(w, line)
	}
}

func runControlBackup(c *cli.Context) error {
	s, err := openControl(c, true)
	if err != nil {
		return err
	}
	defer s.ctl.Close()
	if c.String("name") == "" {
		return usagef("give the backup's name: --name NAME")
	}
	show := nodeProgress(c.App.ErrWriter, s.dc.Name)
	job, err := s.ctl.Backup(c.Context, control.BackupRequest{Datacenter: s.dc, Name: c.String("name"), Type: c.String("type"),
		Progress: func(j control.BackupJob) {
			for _, nr := range j.Nodes {
				show(nr.Node, nr.Address, nr.Status, nr.Error)
			}
		}})
	if job == nil {
		return usageError{err}
	}
	if werr := printBackupJob(c.App.Writer, s.out, job); werr != nil {
		return werr
	}
	return controlError(err)
}

func printBackupJob(w io.Writer, out string, job *control.BackupJob) error {
	if out == "json" || out == "yaml" {
		return writeStructured(w, out, job)
	}
	b := job.Backup
	fmt.Fprintf(w, "backup %s of datacenter %s (cluster %s): %s\n\n", job.Name, job.Datacenter, job.Cluster, job.Status)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTARTED\tFINISHED\tNODES\tCOMPLETED\tSTATUS\tTYPE\tFILES\tSIZE")
	fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%d\t%s\n", b.Name, ts(b.StartTime), ts(b.FinishTime), b.TotalNodes, b.FinishedNodes,
		b.Status, b.BackupType, b.TotalFiles, humanBytes(b.TotalSize))
	tw.Flush()
	tokens := map[string]int{}
	for _, bn := range b.Nodes {
		tokens[bn.Host] = len(bn.Tokens)
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tRACK\tADDRESS\tSTATUS\tSTARTED\tFINISHED\tTOKENS\tERROR")
	for _, nr := range job.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", nr.Node, nr.Rack, nr.Address, nr.Status, firstSet(nr.StartTime, "-"),
			firstSet(nr.FinishTime, "-"), tokens[nr.Node], firstSet(nr.Error, "-"))
	}
	tw.Flush()
	if job.Error != "" {
		fmt.Fprintf(w, "\n%s\n", job.Error)
	}
	return nil
}

func runControlPurge(c *cli.Context) error {
	s, err := openControl(c, true)
	if err != nil {
		return err
	}
	defer s.ctl.Close()
	show := nodeProgress(c.App.ErrWriter, s.dc.Name)
	job, err := s.ctl.Purge(c.Context, control.PurgeRequest{Datacenter: s.dc, Timeout: c.Duration("timeout"), Sequential: c.Bool("sequential"),
		Progress: func(j control.PurgeJob) {
			for _, pn := range j.Nodes {
				show(pn.Node, pn.Address, pn.Status, pn.Error)
			}
		}})
	if job == nil {
		return usageError{err}
	}
	if s.out == "json" || s.out == "yaml" {
		if werr := writeStructured(c.App.Writer, s.out, job); werr != nil {
			return werr
		}
		return controlError(err)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "purge of datacenter %s (cluster %s): %s\n\n", job.Datacenter, job.Cluster, job.Status)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tADDRESS\tSTATUS\tBACKUPS PURGED\tOBJECTS PURGED\tSIZE FREED\tWITHIN GC GRACE\tERROR")
	var notes []string
	for _, pn := range job.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%d\t%s\n", pn.Node, pn.Address, pn.Status, pn.NbBackupsPurged, pn.NbObjectsPurged,
			humanBytes(pn.TotalPurgedSize), pn.TotalObjectsWithinGcGrace, firstSet(pn.Error, "-"))
		if pn.Note != "" {
			notes = append(notes, fmt.Sprintf("%s: %s", pn.Node, pn.Note))
		}
	}
	tw.Flush()
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(notes, "\n"))
	}
	return controlError(err)
}

func purgeTimeoutFlag() cli.Flag {
	return &cli.DurationFlag{Name: "timeout", Value: control.DefaultPurgeTimeout, Usage: "deadline of each node's PurgeBackups"}
}

func sequentialFlag() cli.Flag {
	return &cli.BoolFlag{Name: "sequential", Usage: "purge the nodes one after the other, not all at once (nodes sharing a repository then never race on it; see docs/control.md)"}
}

func newControlScheduleCommand() *cli.Command {
	stateFlag := &cli.StringFlag{Name: "state", Usage: "the schedules' state `FILE` (default: <cacheDir>/schedules/control-<cluster>.json)"}
	return &cli.Command{
		Name:  "schedule",
		Usage: "run MedusaBackupSchedule objects per datacenter against the sidecars (spec.backupSpec.cassandraDatacenter picks the datacenter)",
		Flags: controlFlags(false, scheduleFileFlag(""), stateFlag,
			&cli.DurationFlag{Name: "shutdown-grace", Value: 2 * time.Minute, Usage: "on SIGTERM or SIGINT, how long running operations are watched before the control plane stops"},
			&cli.IntFlag{Name: "max-running", Value: 4, Usage: "scheduled operations in progress at once over all schedules"},
			purgeTimeoutFlag(), sequentialFlag()),
		Action: runControlSchedule,
		Subcommands: []*cli.Command{{
			Name: "status", Usage: "show each schedule's lastExecution, nextSchedule and last result",
			Flags: controlFlags(false, scheduleFileFlag(" (default: every schedule the state knows)"), stateFlag), Action: runControlScheduleStatus,
		}},
	}
}

func controlStatePath(c *cli.Context, cluster string) string {
	if p := c.String("state"); p != "" {
		return p
	}
	cache := c.String("cache-dir")
	if cache == "" {
		cache = config.Default().CacheDir
	}
	return schedule.StatePath(cache, "control-"+cluster)
}

func runControlSchedule(c *cli.Context) error {
	s, err := openControl(c, false)
	if err != nil {
		return err
	}
	defer s.ctl.Close()
	file := c.String("schedules")
	if file == "" {
		return usagef("give the schedules: --schedules FILE (MedusaBackupSchedule manifests)")
	}
	ops, notes, err := control.LoadSchedules(file, s.cluster)
	if err != nil {
		return usageError{err}
	}
	for _, n := range notes {
		s.log.Warn(n)
	}
	path := controlStatePath(c, s.cluster.Name)
	release, err := schedule.LockState(path)
	if err != nil {
		return err
	}
	defer release()
	w := c.App.Writer
	var mu sync.Mutex
	shows := map[string]func(node, addr, status, msg string){}
	progress := func(dc string) func(node, addr, status, msg string) {
		mu.Lock()
		defer mu.Unlock()
		if shows[dc] == nil {
			shows[dc] = nodeProgress(c.App.ErrWriter, dc)
		}
		return shows[dc]
	}
	sch, err := s.ctl.NewScheduler(s.cluster, ops, control.ScheduleOptions{StatePath: path, Clock: controlHooks.clock,
		MaxRunning: c.Int("max-running"), ShutdownGrace: c.Duration("shutdown-grace"), PurgeTimeout: c.Duration("timeout"), SequentialPurge: c.Bool("sequential"),
		BackupProgress: func(j control.BackupJob) {
			for _, nr := range j.Nodes {
				progress(j.Datacenter)(nr.Node, nr.Address, nr.Status, nr.Error)
			}
		}})
	if err != nil {
		return err
	}
	now := time.Now()
	if controlHooks.clock != nil {
		now = controlHooks.clock.Now()
	}
	fmt.Fprintf(w, "running %d schedule(s) of cluster %s; state in %s\n", len(ops), s.cluster.Name, path)
	for _, op := range ops {
		sc := op.Schedule
		next := "disabled"
		if !sc.Disabled {
			next = "next " + ts(sc.Next(now)) + " UTC"
		}
		dcs := make([]string, 0, len(op.Datacenters))
		for _, dc := range op.Datacenters {
			dcs = append(dcs, dc.Name)
		}
		fmt.Fprintf(w, "  %s: %s of %s %q, %s\n", sc.Name, operationLabel(sc.Operation, sc.BackupType), strings.Join(dcs, ", "), sc.Cron, next)
	}
	stop := abortOnSecondSignal(c.Context, sch.Abort)
	defer stop()
	if controlHooks.started != nil {
		controlHooks.started(sch)
	}
	err = sch.Run(c.Context)
	fmt.Fprintf(w, "schedules stopped; state in %s\n", path)
	return err
}

func runControlScheduleStatus(c *cli.Context) error {
	s, err := openControl(c, false)
	if err != nil {
		return err
	}
	defer s.ctl.Close()
	var schedules []schedule.Schedule
	if file := c.String("schedules"); file != "" {
		ops, _, err := control.LoadSchedules(file, s.cluster)
		if err != nil {
			return usageError{err}
		}
		for _, op := range ops {
			schedules = append(schedules, op.Schedule)
		}
	}
	path := controlStatePath(c, s.cluster.Name)
	st, err := schedule.LoadState(path)
	if err != nil {
		return err
	}
	if len(schedules) == 0 && len(st.Schedules) == 0 {
		return usagef("no schedule state for cluster %s in %s: pass --schedules FILE, or --state (`cassette control schedule` writes it)", s.cluster.Name, path)
	}
	pid, active := schedule.Holder(path)
	v := scheduleStatusView{Node: "control-" + s.cluster.Name, State: path, Scheduler: "stopped", Schedules: schedule.Report(schedules, st, time.Now(), active)}
	if active {
		v.Scheduler, v.PID = "running", pid
	}
	if s.out == "json" || s.out == "yaml" {
		return writeStructured(c.App.Writer, s.out, v)
	}
	printScheduleStatus(c.App.Writer, v)
	return nil
}
