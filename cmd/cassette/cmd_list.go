package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
)

func newListCommand() *cli.Command {
	return &cli.Command{
		Name:    "list",
		Aliases: []string{"list-backups"},
		Usage:   "list the backups in the repository, oldest first, like `kubectl get MedusaBackup`",
		Description: "One line per backup name: when it started and finished, how many nodes take part and how many\n" +
			"completed, and its status. --nodes prints one line per node backup instead.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: outputFlagUsage},
			&cli.BoolFlag{Name: "nodes", Usage: "one line per node backup, with files, size and new bytes (reads every manifest header)"},
		},
		Action: func(c *cli.Context) error {
			if err := checkOutput(c.String("output")); err != nil {
				return err
			}
			if c.Bool("nodes") {
				return runListNodes(c, c.String("output"))
			}
			return runList(c, c.String("output"))
		},
	}
}

func runList(c *cli.Context, output string) error {
	s, err := openSession(c)
	if err != nil {
		return err
	}
	defer s.close(c.Context)
	backups, err := s.engine().ListClusterBackups(c.Context)
	if err != nil {
		return err
	}
	if output == "json" || output == "yaml" {
		return writeStructured(c.App.Writer, output, backups)
	}
	if len(backups) == 0 {
		fmt.Fprintln(c.App.Writer, "no backups yet")
		return nil
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTARTED\tFINISHED\tNODES\tCOMPLETED\tSTATUS")
	for _, b := range backups {
		fin := "-"
		if b.FinishTime != nil {
			fin = ts(*b.FinishTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", b.Name, ts(b.StartTime), fin, b.TotalNodes, b.FinishedNodes, b.Status)
	}
	return tw.Flush()
}

type listRow struct {
	Name     string    `json:"name" yaml:"name"`
	Node     string    `json:"node" yaml:"node"`
	Type     string    `json:"type" yaml:"type"`
	Status   string    `json:"status" yaml:"status"`
	Started  time.Time `json:"started" yaml:"started"`
	Finished time.Time `json:"finished,omitzero" yaml:"finished,omitempty"`
	Files    int64     `json:"files" yaml:"files"`
	Bytes    int64     `json:"bytes" yaml:"bytes"`
	NewBytes int64     `json:"newBytes" yaml:"newBytes"`
}

func runListNodes(c *cli.Context, output string) error {
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
	if output == "json" || output == "yaml" {
		return writeStructured(c.App.Writer, output, rows)
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
