package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/providers/all"
)

type initOptions struct {
	packSize int64
	compress string
}

func newInitCommand() *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "create a new repository in the configured bucket (creates the bucket or folder if allowed)",
		Description: "init writes the repository's config object once, with a create-if-absent write: it refuses to\n" +
			"initialise over an existing repository, so two clusters cannot clobber each other. Every node of\n" +
			"a cluster then backs up into the same repository, and identical data is stored once.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "pack-size", Value: "32MiB", Usage: "target size of pack objects; bigger packs mean fewer objects and requests"},
			&cli.StringFlag{Name: "compression", Value: "zstd", Usage: "zstd (data that does not compress, such as LZ4 SSTables, is stored as is) or none"},
		},
		Action: func(c *cli.Context) error {
			ps, err := parseSize(c.String("pack-size"))
			if err != nil {
				return usagef("--pack-size: %v", err)
			}
			return runInit(c, initOptions{packSize: ps, compress: c.String("compression")})
		},
	}
}

func runInit(c *cli.Context, o initOptions) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	log, err := newLogger(c)
	if err != nil {
		return err
	}
	st, err := all.Create(c.Context, cfg.Storage, all.Options{Logger: log})
	if err != nil {
		return err
	}
	defer st.Close(c.Context)
	repo, err := chunkstore.Init(c.Context, st, chunkstore.InitOptions{PackSize: o.packSize, Compression: o.compress}, chunkstore.Options{CacheDir: cfg.CacheDir, Logger: log})
	if err != nil {
		return err
	}
	defer repo.Close()
	rc := repo.Config()
	fmt.Fprintf(c.App.Writer, "initialised repository %s at %s (format %d, pack size %s, compression %s)\n",
		rc.ID[:12], st.Properties().Name, rc.Version, humanBytes(rc.PackSize), rc.Compression)
	return nil
}
