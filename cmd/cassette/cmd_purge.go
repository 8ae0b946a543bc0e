package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cassette-backup/cassette/engine"
)

const day = 24 * time.Hour

func newPurgeCommand() *cli.Command {
	return &cli.Command{
		Name:  "purge",
		Usage: "apply retention (maxBackupAge, maxBackupCount) and collect the garbage it leaves",
		Description: "Complete backups are kept newest first up to maxBackupCount and while younger than maxBackupAge\n" +
			"days; the stricter rule wins, and a node's newest complete backup always stays. Incomplete and\n" +
			"failed backups do not count toward maxBackupCount and are removed once older than\n" +
			"backupGracePeriodInDays. Garbage collection then deletes packs no backup uses (in batches) and\n" +
			"repacks mostly dead ones, under an exclusive lock that running backups hold off.",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "max-backup-age", Value: -1, Usage: "days; 0 turns the age rule off (default: maxBackupAge from the config)"},
			&cli.IntFlag{Name: "max-backup-count", Value: -1, Usage: "keep the newest N complete backups per node; 0 turns the rule off (default: maxBackupCount)"},
			&cli.IntFlag{Name: "grace-days", Value: -1, Usage: "incomplete backups and new packs younger than this are kept (default: backupGracePeriodInDays, 10)"},
			&cli.StringFlag{Name: "node", Usage: "purge this node's backups (default: this node: $POD_NAME, else the host name)"},
			&cli.BoolFlag{Name: "all-nodes", Usage: "purge the backups of every node of the cluster"},
			&cli.BoolFlag{Name: "dry-run", Usage: "show what would be deleted and change nothing"},
			&cli.BoolFlag{Name: "no-gc", Usage: "delete the backups only; run `cassette gc` later to free their data"},
		},
		Action: runPurge,
	}
}

func retentionDays(c *cli.Context, flag string, cfg int) time.Duration {
	if v := c.Int(flag); v >= 0 {
		return time.Duration(v) * day
	}
	return time.Duration(cfg) * day
}

func runPurge(c *cli.Context) error {
	if c.Bool("all-nodes") && c.String("node") != "" {
		return usagef("give --node or --all-nodes, not both")
	}
	s, err := openSession(c)
	if err != nil {
		return err
	}
	defer s.close(c.Context)
	sp := s.cfg.Storage
	o := engine.PurgeOptions{
		MaxAge: retentionDays(c, "max-backup-age", sp.MaxBackupAge),
		Grace:  retentionDays(c, "grace-days", sp.BackupGracePeriodInDays),
		DryRun: c.Bool("dry-run"), GC: !c.Bool("no-gc"),
	}
	o.MaxCount = sp.MaxBackupCount
	if v := c.Int("max-backup-count"); v >= 0 {
		o.MaxCount = v
	}
	if !c.Bool("all-nodes") {
		o.Node = firstSet(c.String("node"), s.cfg.Cassandra.Node, defaultNode())
	}
	if o.MaxAge == 0 && o.MaxCount == 0 {
		s.log.Warn("maxBackupAge and maxBackupCount are both 0: only incomplete backups past the grace period are purged")
	}
	res, err := s.engine().Purge(c.Context, o)
	if res != nil {
		verb := "purged"
		if o.DryRun {
			verb = "would purge"
		}
		for _, d := range res.Deleted {
			state := "complete"
			if !d.Complete {
				state = "incomplete"
			}
			fmt.Fprintf(c.App.Writer, "%s %s node %s (%s, started %s): %s\n", verb, d.Name, d.Node, state, d.Started.UTC().Format("2006-01-02 15:04"), d.Why)
		}
		fmt.Fprintf(c.App.Writer, "backups %s: %d; objects: %d; bytes freed: %s; objects kept within the grace period: %d\n",
			verb, res.BackupsPurged, res.ObjectsPurged, humanBytes(res.BytesFreed), res.ObjectsInGrace)
		if g := res.GC; g != nil {
			printGC(c, g, o.DryRun)
		}
		if res.GCSkipped != "" {
			fmt.Fprintf(c.App.Writer, "gc: skipped (%s); the next purge or `cassette gc` frees the data\n", res.GCSkipped)
		}
	}
	return err
}

func printGC(c *cli.Context, g *engine.GCResult, dry bool) {
	verb := "deleted"
	if dry {
		verb = "would delete"
	}
	fmt.Fprintf(c.App.Writer, "gc: %d manifests, %d live chunks; packs: %d, %s %d, repacked %d (%d chunks moved), kept within the grace period %d; index segments %d -> %d; %s\n",
		g.Manifests, g.LiveBlobs, g.PacksTotal, verb, g.PacksDeleted, g.PacksRepacked, g.BlobsRepacked, g.PacksKeptGrace, g.SegmentsDeleted, g.SegmentsWritten, g.Duration.Round(time.Millisecond))
}

func newGCCommand() *cli.Command {
	return &cli.Command{
		Name:  "gc",
		Usage: "delete data no backup uses any more (purge runs it; run it alone after `cassette delete`)",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "grace-days", Value: -1, Usage: "packs younger than this are kept (default: backupGracePeriodInDays, 10)"},
			&cli.Float64Flag{Name: "repack-below", Value: engine.DefaultRepackBelow, Usage: "repack packs whose live share is below this fraction (0..1); negative: never repack"},
			&cli.BoolFlag{Name: "dry-run", Usage: "show what would be deleted and change nothing"},
		},
		Action: func(c *cli.Context) error {
			s, err := openSession(c)
			if err != nil {
				return err
			}
			defer s.close(c.Context)
			rb := c.Float64("repack-below")
			if rb > 1 {
				return usagef("--repack-below %g: give a fraction between 0 and 1", rb)
			}
			if rb == 0 {
				rb = -1
			}
			g, err := s.engine().GC(c.Context, engine.GCOptions{Grace: retentionDays(c, "grace-days", s.cfg.Storage.BackupGracePeriodInDays), RepackBelow: rb, DryRun: c.Bool("dry-run")})
			if err != nil {
				return err
			}
			printGC(c, g, c.Bool("dry-run"))
			return nil
		},
	}
}

func newDeleteCommand() *cli.Command {
	return &cli.Command{
		Name:  "delete",
		Usage: "delete one backup (of this node, one node, or every node); `cassette gc` then frees its data",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Required: true, Usage: "the backup to delete"},
			&cli.StringFlag{Name: "node", Usage: "delete this node's part (default: this node: $POD_NAME, else the host name)"},
			&cli.BoolFlag{Name: "all-nodes", Usage: "delete the backup of every node"},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("all-nodes") && c.String("node") != "" {
				return usagef("give --node or --all-nodes, not both")
			}
			s, err := openSession(c)
			if err != nil {
				return err
			}
			defer s.close(c.Context)
			node := ""
			if !c.Bool("all-nodes") {
				node = firstSet(c.String("node"), s.cfg.Cassandra.Node, defaultNode())
			}
			gone, err := s.engine().Delete(c.Context, c.String("name"), node)
			if err != nil {
				return err
			}
			for _, d := range gone {
				fmt.Fprintf(c.App.Writer, "deleted %s node %s\n", d.Name, d.Node)
			}
			fmt.Fprintln(c.App.Writer, "its data is freed by the next `cassette gc` or `cassette purge`")
			return nil
		},
	}
}

func newUnlockCommand() *cli.Command {
	return &cli.Command{
		Name:  "unlock",
		Usage: "list repository locks, and remove stale ones (--stale) left by processes that died",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "stale", Usage: "remove locks not refreshed for --stale-after; live locks are never removed"},
			&cli.DurationFlag{Name: "stale-after", Value: engine.DefaultStaleAfter, Usage: "how long without a refresh makes a lock stale (holders refresh every quarter of it); when not given, a lock whose holder runs with a longer timeout waits for that one; when given, it decides alone (for holders you know are gone)"},
		},
		Action: func(c *cli.Context) error {
			s, err := openSession(c)
			if err != nil {
				return err
			}
			defer s.close(c.Context)
			e := s.engine()
			if c.Bool("stale") {
				removed, err := e.RemoveStaleLocks(c.Context, c.Duration("stale-after"), c.IsSet("stale-after"))
				for _, l := range removed {
					fmt.Fprintln(c.App.Writer, "removed stale "+l.String())
				}
				if err != nil {
					return err
				}
			}
			locks, err := e.ListLocks(c.Context)
			if err != nil {
				return err
			}
			for _, l := range locks {
				state := "live"
				if c.IsSet("stale-after") {
					l.StaleAfterSeconds = 0 // the operator's timeout decides
				}
				if l.Stale(time.Now(), c.Duration("stale-after")) {
					state = "stale"
				}
				fmt.Fprintf(c.App.Writer, "%s %s\n", state, l.String())
			}
			if len(locks) == 0 {
				fmt.Fprintln(c.App.Writer, "no locks")
			}
			return nil
		},
	}
}
