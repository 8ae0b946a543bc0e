package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/cmd/internal/config"
	"github.com/cassette-backup/cassette/cmd/internal/schedule"
	"github.com/cassette-backup/cassette/engine"
	"github.com/cassette-backup/cassette/providers/all"
)

// scheduleHooks are test seams of `cassette schedule run`: a fake clock,
// the scheduler once it exists, and the progress of scheduled backups (a
// test holds a backup half-way through by blocking in it).
var scheduleHooks struct {
	clock    schedule.Clock
	started  func(*schedule.Scheduler)
	progress func(ctx context.Context, scheduled time.Time) engine.Progress
}

type scheduleRunOptions struct {
	file       string
	node       string
	grace      time.Duration
	maxRunning int
}

func scheduleFileFlag(required string) cli.Flag {
	return &cli.StringFlag{Name: "schedules", EnvVars: []string{"CASSETTE_SCHEDULES"},
		Usage: "`FILE` of MedusaBackupSchedule manifests (several YAML documents, or a List)" + required}
}

func scheduleRunFlags() []cli.Flag {
	return []cli.Flag{
		scheduleFileFlag(""),
		&cli.StringFlag{Name: "node", Usage: "this node's name (default: cassandra.node, else $POD_NAME, else the host name)"},
		&cli.DurationFlag{Name: "shutdown-grace", Value: 2 * time.Minute,
			Usage: "on SIGTERM or SIGINT, how long a running backup or purge may go on before it is cancelled (a second signal cancels at once)"},
		&cli.IntFlag{Name: "max-running", Value: schedule.DefaultMaxRunning,
			Usage: "runs in progress at once over all schedules (concurrencyPolicy Allow lets a schedule overlap itself up to this)"},
	}
}

func newScheduleCommand() *cli.Command {
	action := func(c *cli.Context) error {
		if c.NArg() > 0 {
			return usagef("schedule: unknown subcommand %q: use run or status", c.Args().First())
		}
		return runScheduleRun(c, scheduleRunOptions{file: c.String("schedules"), node: c.String("node"),
			grace: c.Duration("shutdown-grace"), maxRunning: c.Int("max-running")})
	}
	return &cli.Command{
		Name:  "schedule",
		Usage: "run backup and purge schedules (MedusaBackupSchedule manifests) in one long-lived process",
		Description: "Each scheduled backup is named <schedule>-<unix seconds of the scheduled time>, so every node\n" +
			"running the same schedule makes the same cluster backup. Times are UTC unless the cron expression\n" +
			"starts with CRON_TZ=<zone>. Runs missed while cassette was not running are reported, not run late.\n" +
			"State (last execution, next schedule, last result) is kept in <cacheDir>/schedules/<node>.json.\n" +
			"See docs/schedules.md.",
		Flags:  scheduleRunFlags(),
		Action: action,
		Subcommands: []*cli.Command{
			{
				Name:   "run",
				Usage:  "run the schedules until SIGTERM or SIGINT (the same as `cassette schedule`)",
				Flags:  scheduleRunFlags(),
				Action: action,
			},
			{
				Name:  "status",
				Usage: "show each schedule's lastExecution, nextSchedule and last result on this node",
				Flags: []cli.Flag{
					scheduleFileFlag(" (default: every schedule the state knows)"),
					&cli.StringFlag{Name: "node", Usage: "the node whose state to show (default: cassandra.node, else $POD_NAME, else the host name)"},
					&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: outputFlagUsage},
				},
				Action: func(c *cli.Context) error {
					return runScheduleStatus(c, c.String("schedules"), c.String("node"), c.String("output"))
				},
			},
		},
	}
}

func runScheduleRun(c *cli.Context, o scheduleRunOptions) error {
	if o.file == "" {
		return usagef("give the schedules: --schedules FILE (MedusaBackupSchedule manifests), or set CASSETTE_SCHEDULES")
	}
	if o.grace < 0 || o.maxRunning < 1 {
		return usagef("--shutdown-grace must be 0 or more and --max-running 1 or more")
	}
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	log, err := newLogger(c)
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	schedules, node, err := loadSchedules(cfg, o.file, o.node, log)
	if err != nil {
		return err
	}
	// Fail at start, not at the first scheduled time, when the repository
	// cannot be opened.
	s, err := openRunSession(c.Context, cfg, log)
	if err != nil {
		return err
	}
	s.close(c.Context)

	path := schedule.StatePath(cfg.CacheDir, node)
	release, err := schedule.LockState(path)
	if err != nil {
		return err
	}
	defer release()
	runner := &scheduleRunner{cfg: cfg, log: log, node: node, repo: make(chan struct{}, 1)}
	so := schedule.Options{Schedules: schedules, Run: runner.run, StatePath: path, Node: node, Clock: scheduleHooks.clock,
		Log: log, MaxRunning: o.maxRunning, ShutdownGrace: o.grace}
	sch, err := schedule.New(so)
	if errors.Is(err, schedule.ErrBadState) {
		aside := path + ".unreadable-" + time.Now().UTC().Format("20060102T150405")
		log.Warn("the schedule state cannot be read; starting a fresh one (the old file is kept)", "err", err, "moved_to", aside)
		if rerr := os.Rename(path, aside); rerr != nil {
			return fmt.Errorf("%w (and moving it aside failed: %v)", err, rerr)
		}
		sch, err = schedule.New(so)
	}
	if err != nil {
		return err
	}
	runner.stopping = sch.Stopping()
	printScheduleStart(c.App.Writer, schedules, node, path, so.Clock)
	stopWatch := abortOnSecondSignal(c.Context, sch.Abort)
	defer stopWatch()
	if scheduleHooks.started != nil {
		scheduleHooks.started(sch)
	}
	err = sch.Run(c.Context)
	fmt.Fprintf(c.App.Writer, "schedules stopped; state in %s\n", path)
	return err
}

// loadSchedules reads and checks the schedules file against the
// configuration, and decides the node's name.
func loadSchedules(cfg *config.Config, file, node string, log *slog.Logger) ([]schedule.Schedule, string, error) {
	schedules, notes, err := schedule.Load(file)
	if err != nil {
		return nil, "", usageError{err}
	}
	for _, n := range notes {
		log.Warn(n)
	}
	node = firstSet(node, cfg.Cassandra.Node, defaultNode())
	if err := engine.ValidateName("node", node); err != nil {
		return nil, "", usagef("--node: %v", err)
	}
	enabled := 0
	for _, sc := range schedules {
		if sc.Disabled {
			continue
		}
		enabled++
		if sc.Operation == schedule.OpBackup && len(cfg.Cassandra.DataDirs) == 0 {
			return nil, "", usagef("%s:%d: schedule %q backs up this node, but no data directory is configured: set cassandra.dataDirs in %s",
				sc.File, sc.Line, sc.Name, orDash(cfg.Source))
		}
	}
	if enabled == 0 {
		log.Warn("every schedule is disabled: nothing will run until one is enabled and cassette restarted", "schedules", file)
	}
	return schedules, node, nil
}

func printScheduleStart(w io.Writer, schedules []schedule.Schedule, node, path string, clock schedule.Clock) {
	if clock == nil {
		clock = schedule.RealClock{}
	}
	now := clock.Now()
	fmt.Fprintf(w, "running %d schedule(s) for node %s; state in %s\n", len(schedules), node, path)
	for _, sc := range schedules {
		next := "disabled"
		if !sc.Disabled {
			next = "next " + ts(sc.Next(now)) + " UTC"
		}
		fmt.Fprintf(w, "  %s: %s %q, %s\n", sc.Name, operationLabel(sc.Operation, sc.BackupType), sc.Cron, next)
	}
}

func operationLabel(op, typ string) string {
	if op == schedule.OpBackup && typ != "" {
		return op + " (" + typ + ")"
	}
	return op
}

// abortOnSecondSignal calls abort when SIGINT or SIGTERM arrives after ctx
// (cancelled by the first one) is done. stop ends the watch.
func abortOnSecondSignal(ctx context.Context, abort func()) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(sig)
		select {
		case <-sig:
			abort()
		case <-done:
		}
	}()
	return func() { close(done) }
}

// scheduleRunner runs scheduled backups and purges the way `cassette
// backup` and `cassette purge` do, each with a session of its own.
type scheduleRunner struct {
	cfg  *config.Config
	log  *slog.Logger
	node string
	// repo admits one repository operation of this process at a time: the
	// index and file caches under cacheDir take one writer, so overlapping
	// runs (Allow) queue here.
	repo chan struct{}
	// stopping is the scheduler's: closed at shutdown, it makes a running
	// backup finish the files it reads, index its packs and stop.
	stopping <-chan struct{}
}

func (r *scheduleRunner) run(ctx context.Context, sc schedule.Schedule, at time.Time) (schedule.Result, error) {
	select {
	case r.repo <- struct{}{}:
	case <-ctx.Done():
		return schedule.Result{}, ctx.Err()
	}
	defer func() { <-r.repo }()
	s, err := openRunSession(ctx, r.cfg, r.log)
	if err != nil {
		return schedule.Result{}, err
	}
	defer s.close(context.WithoutCancel(ctx))
	if sc.Operation == schedule.OpPurge {
		return r.purge(ctx, s)
	}
	o := backupOptions{name: sc.BackupName(at), node: r.node, typ: sc.BackupType, stop: r.stopping}
	var pr engine.Progress
	if h := scheduleHooks.progress; h != nil {
		pr = h(ctx, at)
	}
	res, err := s.backup(ctx, &o, pr)
	if err != nil {
		return schedule.Result{Backup: o.name}, err
	}
	sm := res.Header.Summary
	return schedule.Result{Backup: o.name, Summary: fmt.Sprintf("%d files, %s; %s new in %d packs; %s",
		sm.Files, humanBytes(sm.Bytes), humanBytes(sm.NewBytes), sm.Packs, res.Duration.Round(time.Millisecond))}, nil
}

// purge applies the configuration's retention to this node's backups, as
// `cassette purge` does without flags.
func (r *scheduleRunner) purge(ctx context.Context, s *session) (schedule.Result, error) {
	sp := s.cfg.Storage
	o := engine.PurgeOptions{
		MaxAge:   time.Duration(sp.MaxBackupAge) * day,
		MaxCount: sp.MaxBackupCount,
		Grace:    time.Duration(sp.BackupGracePeriodInDays) * day,
		Node:     r.node,
		GC:       true,
	}
	if o.MaxAge == 0 && o.MaxCount == 0 {
		s.log.Warn("maxBackupAge and maxBackupCount are both 0: only incomplete backups past the grace period are purged")
	}
	res, err := s.engine().Purge(ctx, o)
	if res == nil {
		return schedule.Result{}, err
	}
	return schedule.Result{Summary: fmt.Sprintf("%d backups purged, %d objects, %s freed; %d objects kept within the grace period",
		res.BackupsPurged, res.ObjectsPurged, humanBytes(res.BytesFreed), res.ObjectsInGrace)}, err
}

// openRunSession opens the storage and repository for one scheduled run,
// as openSession does for a command, under the run's context.
func openRunSession(ctx context.Context, cfg *config.Config, log *slog.Logger) (*session, error) {
	st, err := all.Open(ctx, cfg.Storage, all.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
		st.Close(ctx)
		return nil, fmt.Errorf("create cache folder %s: %w (set cacheDir or --cache-dir)", cfg.CacheDir, err)
	}
	repo, err := chunkstore.Open(ctx, st, chunkstore.Options{CacheDir: cfg.CacheDir, Logger: log})
	if err != nil {
		st.Close(ctx)
		return nil, err
	}
	return &session{cfg: cfg, log: log, st: st, repo: repo}, nil
}

// scheduleStatusView is what `schedule status -o json|yaml` prints.
type scheduleStatusView struct {
	Node      string            `json:"node" yaml:"node"`
	State     string            `json:"state" yaml:"state"`
	Scheduler string            `json:"scheduler" yaml:"scheduler"` // running or stopped
	PID       int               `json:"pid,omitempty" yaml:"pid,omitempty"`
	Schedules []schedule.Status `json:"schedules" yaml:"schedules"`
}

func runScheduleStatus(c *cli.Context, file, node, output string) error {
	if err := checkOutput(output); err != nil {
		return err
	}
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	var schedules []schedule.Schedule
	if file != "" {
		if schedules, _, err = schedule.Load(file); err != nil {
			return usageError{err}
		}
	}
	node = firstSet(node, cfg.Cassandra.Node, defaultNode())
	if err := engine.ValidateName("node", node); err != nil {
		return usagef("--node: %v", err)
	}
	path := schedule.StatePath(cfg.CacheDir, node)
	st, err := schedule.LoadState(path)
	if err != nil {
		return err
	}
	if file == "" && len(st.Schedules) == 0 {
		return usagef("no schedule state for node %s in %s: pass --schedules FILE, or check --node and cacheDir (`cassette schedule run` writes it)", node, path)
	}
	pid, active := schedule.Holder(path)
	v := scheduleStatusView{Node: node, State: path, Scheduler: "stopped", Schedules: schedule.Report(schedules, st, time.Now(), active)}
	if active {
		v.Scheduler, v.PID = "running", pid
	}
	if output == "json" || output == "yaml" {
		return writeStructured(c.App.Writer, output, v)
	}
	printScheduleStatus(c.App.Writer, v)
	return nil
}

func printScheduleStatus(w io.Writer, v scheduleStatusView) {
	who := "not running"
	if v.Scheduler == "running" {
		who = fmt.Sprintf("running (pid %d)", v.PID)
	}
	fmt.Fprintf(w, "node %s, scheduler %s; state %s; times in UTC\n\n", v.Node, who, v.State)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tOPERATION\tCRON\tLAST EXECUTION\tNEXT SCHEDULE\tLAST RESULT\tBACKUP")
	var notes []string
	for _, s := range v.Schedules {
		next, result, backup := "-", "-", "-"
		if s.Disabled {
			next = "disabled"
		} else if s.NextSchedule != nil {
			next = ts(*s.NextSchedule)
		}
		if r := s.LastResult; r != nil {
			result, backup = r.Status, firstSet(r.Backup, "-")
			if r.Interrupted {
				result += " (interrupted)"
			}
			if r.Error != "" {
				notes = append(notes, fmt.Sprintf("%s: the run scheduled %s failed: %s", s.Name, ts(r.Scheduled), r.Error))
			} else if r.Summary != "" {
				notes = append(notes, fmt.Sprintf("%s: the run scheduled %s: %s", s.Name, ts(r.Scheduled), r.Summary))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, firstSet(operationLabel(s.OperationType, s.BackupType), "-"),
			firstSet(s.CronSchedule, "-"), tsPtr(s.LastExecution), next, result, backup)
		for _, r := range s.Running {
			notes = append(notes, fmt.Sprintf("%s: running since %s (scheduled %s) %s", s.Name, ts(r.Started), ts(r.Scheduled), r.Backup))
		}
		if s.Waiting != nil {
			notes = append(notes, fmt.Sprintf("%s: the run scheduled %s waits for the previous one", s.Name, ts(*s.Waiting)))
		}
		if m := s.Missed; m != nil {
			count := fmt.Sprint(m.Count)
			if m.AtLeast {
				count = "at least " + count
			}
			when := ts(m.First)
			if !m.Last.Equal(m.First) {
				when += " to " + ts(m.Last)
			}
			notes = append(notes, fmt.Sprintf("%s: missed %s run(s) scheduled %s: %s (noticed %s; %d missed in all)",
				s.Name, count, when, m.Reason, ts(m.Noticed), s.MissedTotal))
		}
	}
	tw.Flush()
	if len(notes) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, strings.Join(notes, "\n"))
	}
}

func tsPtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return ts(*t)
}
