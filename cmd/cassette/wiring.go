package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/cmd/internal/config"
	"github.com/cassette-backup/cassette/engine"
	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/all"
)

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Aliases: []string{"c"}, EnvVars: []string{config.EnvConfig},
			Usage: "configuration `FILE`: cassette YAML (storageProperties + cassandra), a MedusaConfiguration / MissionControlCluster manifest, or a medusa.ini"},
		&cli.StringFlag{Name: "storage-provider", Usage: "override storageProvider: local, s3, s3_compatible, s3_rgw, google_storage, azure_blobs"},
		&cli.StringFlag{Name: "bucket-name", Usage: "override bucketName (Azure: the container; local: a folder under --base-path)"},
		&cli.StringFlag{Name: "base-path", Usage: "override basePath, the folder that holds local buckets (storageProvider local)"},
		&cli.StringFlag{Name: "prefix", Usage: "override prefix: a folder inside the bucket, to keep several clusters apart"},
		&cli.IntFlag{Name: "concurrent-transfers", Usage: "override concurrentTransfers: uploads and downloads in flight at once"},
		&cli.StringFlag{Name: "cache-dir", EnvVars: []string{"CASSETTE_CACHE_DIR"}, Usage: "local cache `DIR` (index and file-metadata caches; safe to delete, rebuilt from the bucket)"},
		&cli.StringFlag{Name: "log-level", Value: "warn", EnvVars: []string{"CASSETTE_LOG_LEVEL"}, Usage: "log level: debug, info, warn, error"},
		&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: []string{"CASSETTE_LOG_FORMAT"}, Usage: "log format: text, or json (one JSON object per line, for log collectors)"},
	}
}

// loadConfig reads the configuration file (when given) and applies the
// global flag overrides and defaults.
func loadConfig(c *cli.Context) (*config.Config, error) {
	path, err := config.Resolve(c.String("config"))
	if err != nil {
		return nil, usageError{err}
	}
	cfg := &config.Config{}
	if path != "" {
		if cfg, err = config.Load(path); err != nil {
			return nil, usageError{err}
		}
	}
	sp := &cfg.Storage
	if v := c.String("storage-provider"); v != "" {
		sp.StorageProvider = v
	}
	if v := c.String("bucket-name"); v != "" {
		sp.BucketName = v
	}
	if v := c.String("base-path"); v != "" {
		sp.BasePath = v
	}
	if v := c.String("prefix"); v != "" {
		sp.Prefix = v
	}
	if v := c.Int("concurrent-transfers"); v > 0 {
		sp.ConcurrentTransfers = v
	}
	if v := c.String("cache-dir"); v != "" {
		cfg.CacheDir = v
	}
	if sp.StorageProvider == "" {
		return nil, usagef("no storage configured: pass --config FILE (or set CASSETTE_CONFIG), or --storage-provider with --bucket-name")
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

func newLogger(c *cli.Context) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return nil, usagef("--log-level %q: use debug, info, warn or error", c.String("log-level"))
	}
	o := &slog.HandlerOptions{Level: lvl}
	var w io.Writer = c.App.ErrWriter
	switch c.String("log-format") {
	case "json":
		return slog.New(slog.NewJSONHandler(w, o)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(w, o)), nil
	}
	return nil, usagef("--log-format %q: use text or json", c.String("log-format"))
}

// session is everything a command needs: config, logger, storage, repo.
type session struct {
	cfg  *config.Config
	log  *slog.Logger
	st   providers.Storage
	repo *chunkstore.Repo
}

func (s *session) engine() *engine.Engine {
	return &engine.Engine{Repo: s.repo, CacheDir: s.cfg.CacheDir, Log: s.log}
}

func (s *session) close(ctx context.Context) {
	if s.repo != nil {
		s.repo.Close()
	}
	if s.st != nil {
		s.st.Close(ctx)
	}
}

// openSession loads config, opens the storage and the repository in it.
func openSession(c *cli.Context) (*session, error) {
	cfg, err := loadConfig(c)
	if err != nil {
		return nil, err
	}
	log, err := newLogger(c)
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	st, err := all.Open(c.Context, cfg.Storage, all.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
		st.Close(c.Context)
		return nil, fmt.Errorf("create cache folder %s: %w (set cacheDir or --cache-dir)", cfg.CacheDir, err)
	}
	repo, err := chunkstore.Open(c.Context, st, chunkstore.Options{CacheDir: cfg.CacheDir, Logger: log})
	if err != nil {
		st.Close(c.Context)
		return nil, err
	}
	return &session{cfg: cfg, log: log, st: st, repo: repo}, nil
}

// defaultNode is the name this node goes by: POD_NAME in Kubernetes (the
// operator maps restores by it), else the host name.
func defaultNode() string {
	if p := os.Getenv("POD_NAME"); p != "" {
		return p
	}
	h, err := os.Hostname()
	if err != nil {
		return "localhost"
	}
	return strings.SplitN(h, ".", 2)[0]
}

func absAll(dirs []string) ([]string, error) {
	out := make([]string, len(dirs))
	for i, d := range dirs {
		a, err := filepath.Abs(d)
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}
