package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

func newStatusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show one cluster backup in the MedusaBackup status shape (nodes, finished nodes, files, size, status)",
		Description: "A backup is SUCCESS when every expected node finished, FAILED when a node's backup failed,\n" +
			"IN_PROGRESS otherwise (including nodes that never started). -o yaml and -o json print the\n" +
			"MedusaBackup status fields: startTime, finishTime, totalNodes, finishedNodes, nodes, totalFiles,\n" +
			"totalSize, status, backupType.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Required: true, Usage: "the backup name"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: outputFlagUsage},
		},
		Action: func(c *cli.Context) error { return runStatus(c, c.String("name"), c.String("output")) },
	}
}

func runStatus(c *cli.Context, name, output string) error {
	if err := checkOutput(output); err != nil {
		return err
	}
	s, err := openSession(c)
	if err != nil {
		return err
	}
	defer s.close(c.Context)
	cb, err := s.engine().ClusterStatus(c.Context, name)
	if err != nil {
		return err
	}
	if output == "json" || output == "yaml" {
		return writeStructured(c.App.Writer, output, cb)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "backup:         %s (%s)\n", cb.Name, cb.BackupType)
	fmt.Fprintf(w, "status:         %s\n", cb.Status)
	fmt.Fprintf(w, "started:        %s\n", ts(cb.StartTime))
	if cb.FinishTime != nil {
		fmt.Fprintf(w, "finished:       %s\n", ts(*cb.FinishTime))
	}
	fmt.Fprintf(w, "nodes:          %d of %d finished\n", cb.FinishedNodes, cb.TotalNodes)
	fmt.Fprintf(w, "files:          %d, %s\n", cb.TotalFiles, humanBytes(cb.TotalSize))
	if len(cb.Missing) > 0 {
		fmt.Fprintf(w, "not finished:   %s\n", strings.Join(cb.Missing, ", "))
	}
	for node, why := range cb.Failed {
		fmt.Fprintf(w, "failed:         %s: %s\n", node, why)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nHOST\tDATACENTER\tRACK\tTOKENS")
	for _, n := range cb.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", n.Host, orNone(n.Datacenter), orNone(n.Rack), len(n.Tokens))
	}
	return tw.Flush()
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
