package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cassette-backup/cassette/cmd/internal/config"
	"github.com/cassette-backup/cassette/cmd/internal/console"
	"github.com/cassette-backup/cassette/cmd/internal/control"
	"github.com/cassette-backup/cassette/cmd/internal/schedule"
	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/all"
)

// consoleHooks are test seams of `cassette control --http`: a fake clock
// for the schedules.
var consoleHooks struct {
	clock schedule.Clock
}

// consoleFlags are the flags of `cassette control` itself, which serves
// the web console with --http.
func consoleFlags() []cli.Flag {
	var fl []cli.Flag
	for _, f := range controlFlags(false) {
		if !slices.Contains(f.Names(), "output") && !slices.Contains(f.Names(), "cluster") {
			fl = append(fl, f)
		}
	}
	return append(fl,
		&cli.StringFlag{Name: "http", Usage: "serve the web console on `ADDR`, e.g. " + console.DefaultAddr + ", until SIGINT or SIGTERM (see docs/console.md)"},
		&cli.StringFlag{Name: "http-tls-cert", Usage: "serve the console with TLS: the PEM certificate `FILE` (with --http-tls-key)"},
		&cli.StringFlag{Name: "http-tls-key", Usage: "the PEM key `FILE` of --http-tls-cert"},
		&cli.StringFlag{Name: "http-auth-file", Usage: "require basic auth: `FILE` of user:hash lines (bcrypt, or sha256:<hex>)"},
		&cli.StringFlag{Name: "http-client-ca", Usage: "require client certificates signed by the CA in `FILE` (needs TLS)"},
		&cli.StringFlag{Name: "state-dir", Usage: "`DIR` where the console keeps its storage configurations, schedules and their state (default: <cacheDir>/console)"},
		&cli.DurationFlag{Name: "shutdown-grace", Value: 2 * time.Minute, Usage: "on SIGTERM or SIGINT, how long running scheduled operations are watched before the console stops"},
		&cli.IntFlag{Name: "max-running", Value: 4, Usage: "scheduled operations in progress at once over all schedules of a cluster"},
	)
}

// runConsole is `cassette control`: the web console with --http, the
// subcommands' help otherwise.
func runConsole(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("cassette control has no subcommand %q; see cassette control --help", c.Args().First())
	}
	lc := console.ListenConfig{Addr: c.String("http"), TLSCert: c.String("http-tls-cert"), TLSKey: c.String("http-tls-key"),
		AuthFile: c.String("http-auth-file"), ClientCA: c.String("http-client-ca")}
	if lc.Addr == "" {
		return cli.ShowSubcommandHelp(c)
	}
	if err := lc.Check(); err != nil {
		return usageError{err}
	}
	path := c.String("inventory")
	if path == "" {
		return usagef("give the inventory: --inventory FILE (or set CASSETTE_INVENTORY); see docs/control.md")
	}
	inv, err := control.LoadInventory(path)
	if err != nil {
		return usageError{err}
	}
	log, err := newLogger(c)
	if err != nil {
		return err
	}
	var users *console.Users
	if lc.AuthFile != "" {
		if users, err = console.LoadUsers(lc.AuthFile); err != nil {
			return usageError{err}
		}
	}
	ctl := control.New(inv, control.Options{Log: log,
		PollInterval: c.Duration("poll-interval"), CallTimeout: c.Duration("rpc-timeout"), UnreachableAfter: c.Duration("unreachable-after")})
	defer ctl.Close()
	stateDir := c.String("state-dir")
	if stateDir == "" {
		cache := c.String("cache-dir")
		if cache == "" {
			cache = config.Default().CacheDir
		}
		stateDir = filepath.Join(cache, "console")
	}
	srv, err := console.New(console.Options{Controller: ctl, StateDir: stateDir, Users: users, Clock: consoleHooks.clock, Log: log,
		MaxRunning: c.Int("max-running"), ShutdownGrace: c.Duration("shutdown-grace"),
		OpenStorage: func(ctx context.Context, sp providers.StorageProperties) (providers.Storage, error) {
			return all.Open(ctx, sp, all.Options{Logger: log})
		}})
	if err != nil {
		return err
	}
	defer srv.Close()
	lis, err := console.Listen(lc)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "cassette control: web console on %s (inventory %s, state in %s)\n", lis.URL, inv.File, stateDir)
	log.Info("web console serving", "url", lis.URL, "auth", users != nil, "clientCA", lc.ClientCA != "")
	ctx, cancel := context.WithCancel(c.Context)
	defer cancel()
	stop := abortOnSecondSignal(c.Context, srv.Abort)
	defer stop()
	scheduled := make(chan error, 1)
	go func() { scheduled <- srv.Run(ctx) }()
	err = console.Serve(ctx, lis, srv.Handler(), log)
	cancel()
	err = errors.Join(err, <-scheduled)
	fmt.Fprintln(c.App.Writer, "web console stopped")
	return err
}
