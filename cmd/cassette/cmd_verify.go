package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/cassette-backup/cassette/engine"
)

func newVerifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "check that every chunk the backups reference is indexed and stored (--read-data: download and re-hash it)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "verify only this backup"},
			&cli.StringFlag{Name: "node", Usage: "verify only this node's backups"},
			&cli.BoolFlag{Name: "read-data", Usage: "download every referenced pack and re-hash it and every chunk in it (reads the whole repository)"},
			&cli.Float64Flag{Name: "sample", Usage: "with --read-data: read a random `PERCENT` of the referenced packs (a cheap regular check)"},
		},
		Action: func(c *cli.Context) error {
			if p := c.Float64("sample"); p < 0 || p > 100 {
				return usagef("--sample %g: give a percentage between 0 and 100", p)
			}
			return runVerify(c, engine.VerifyOptions{Name: c.String("name"), Node: c.String("node"), ReadData: c.Bool("read-data") || c.Float64("sample") > 0, Sample: c.Float64("sample")})
		},
	}
}

func runVerify(c *cli.Context, o engine.VerifyOptions) error {
	s, err := openSession(c)
	if err != nil {
		return err
	}
	defer s.close(c.Context)
	e := s.engine()
	pr := newProgress("verify", c.App.ErrWriter, s.log)
	e.Progress = pr
	res, err := e.Verify(c.Context, o)
	pr.done(err == nil)
	if err != nil {
		return err
	}
	what := "structure"
	if o.ReadData {
		what = "structure and data"
	}
	fmt.Fprintf(c.App.Writer, "verified %s of %d node backups: %d files, %d chunk references, %d packs\n", what, res.Backups, res.Files, res.Chunks, res.Packs)
	if o.ReadData && res.PacksRead != res.Packs {
		fmt.Fprintf(c.App.Writer, "  read a %.0f%% sample: %d of %d packs\n", o.Sample, res.PacksRead, res.Packs)
	}
	for _, p := range res.Problems {
		fmt.Fprintln(c.App.ErrWriter, "problem: "+p)
	}
	if len(res.Problems) > 0 {
		return fmt.Errorf("%w: %d problems (listed above); restore of the affected files will fail", errVerifyFailed, len(res.Problems))
	}
	fmt.Fprintln(c.App.Writer, "no problems found")
	return nil
}
