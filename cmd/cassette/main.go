// Command cassette backs up and restores Apache Cassandra, DSE and HCD nodes
// to object storage (S3 and S3-compatible, Google Cloud Storage, Azure Blob,
// local disk) with content-defined deduplication.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: tests call it. `cassette` alone with
// MEDUSA_MODE set is the container entrypoint, as Medusa's image is.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && os.Getenv(envMedusaMode) != "" {
		args = append(args, "entrypoint")
	}
	app := newApp(stdout, stderr)
	err := app.RunContext(ctx, args)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "cassette: "+oneLine(err))
	return exitCode(err)
}

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:    "cassette",
		Usage:   "back up and restore Cassandra nodes to object storage, deduplicated",
		Version: version,
		Description: "cassette stores each node's SSTables as content-defined chunks in packs, so every backup is a\n" +
			"synthetic full backup that costs only the chunks that are new. Configure the repository in a YAML\n" +
			"file (--config or CASSETTE_CONFIG) using Mission Control's storageProperties names, a\n" +
			"MedusaConfiguration manifest, or an existing medusa.ini.\n\n" +
			"Exit codes: 0 success, 1 the operation failed (the message says why), 2 bad flags or configuration,\n" +
			"3 data in the repository is damaged or missing, 4 no such repository or backup, 5 the repository is\n" +
			"locked by another process (a purge, or backups when purging), 130 interrupted.",
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		Flags:                globalFlags(),
		Commands: []*cli.Command{
			newInitCommand(),
			newBackupCommand(),
			newListCommand(),
			newStatusCommand(),
			newRestoreCommand(),
			newVerifyCommand(),
			newPurgeCommand(),
			newDeleteCommand(),
			newGCCommand(),
			newUnlockCommand(),
			newScheduleCommand(),
			newControlCommand(),
			newServeCommand(),
			newEntrypointCommand(),
		},
		// Errors are printed once, by run, with the exit code decided in
		// exitCode.
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

// usageError marks errors in how cassette was called (exit code 2).
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// oneLine keeps the message a user sees on one line.
func oneLine(err error) string {
	msg := err.Error()
	out := make([]rune, 0, len(msg))
	for _, r := range msg {
		if r == '\n' || r == '\r' {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}

var errVerifyFailed = errors.New("verification found problems")
