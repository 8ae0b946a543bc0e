package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cassette-backup/cassette/engine"
)

func newListCommand() *cli.Command {
	return &cli.Command{
		Name:    "list",
		Aliases: []string{"list-backups"},
		Usage:   "list the backups in the repository, oldest first, one line per node backup",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON (one object per node backup) instead of a table"},
		},
		Action: func(c *cli.Context) error { return runList(c, c.Bool("json")) },
	}
}

type listRow struct {
	Name     string    `json:"name"`
	Node     string    `json:"node"`
	Type     string    `json:"type"`
	Status   string    `json:"status"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	Files    int64     `json:"files"`
	Bytes    int64     `json:"bytes"`
	NewBytes int64     `json:"newBytes"`
}

func runList(c *cli.Context, asJSON bool) error {
	s, err := openSession(c)
	if err != nil {
		return err
	}
	defer s.close(c.Context)
	backups, err := s.engine().ListBackups(c.Context)
	if err != nil {
		return err
	}
	rows := make([]listRow, 0, len(backups))
	for _, b := range backups {
		r := listRow{Name: b.Name, Node: b.Node, Type: b.Started.Type, Started: b.Started.Started, Status: "incomplete"}
		if b.Complete {
			h := b.Header
			r.Status, r.Finished, r.Files, r.Bytes, r.NewBytes = "complete", h.Finished, h.Summary.Files, h.Summary.Bytes, h.Summary.NewBytes
		}
		rows = append(rows, r)
	}
	if asJSON {
		enc := json.NewEncoder(c.App.Writer)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	if len(rows) == 0 {
		fmt.Fprintln(c.App.Writer, "no backups yet")
		return nil
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tNODE\tTYPE\tSTATUS\tSTARTED (UTC)\tFINISHED (UTC)\tFILES\tSIZE\tNEW")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.Name, r.Node, r.Type, r.Status, ts(r.Started), ts(r.Finished), r.Files, humanBytes(r.Bytes), humanBytes(r.NewBytes))
	}
	return tw.Flush()
}

var _ = engine.TypeFull
