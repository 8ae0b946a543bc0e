package main

import (
	"context"
	"errors"

	"github.com/cassette-backup/cassette/chunkstore"
	"github.com/cassette-backup/cassette/cmd/internal/schedule"
	"github.com/cassette-backup/cassette/engine"
	"github.com/cassette-backup/cassette/providers"
)

// Exit codes, decided here and nowhere else.
const (
	exitOK        = 0
	exitError     = 1 // the operation failed; the message says why
	exitUsage     = 2 // bad flags or configuration
	exitIntegrity = 3 // data in the repository is damaged or missing
	exitNotFound  = 4 // no such repository or backup
	exitLocked    = 5 // another process holds a conflicting repository lock
	exitCancelled = 130
)

func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitCancelled
	case errors.Is(err, chunkstore.ErrIntegrity), errors.Is(err, errVerifyFailed), errors.Is(err, chunkstore.ErrBlobNotFound):
		return exitIntegrity
	case errors.Is(err, engine.ErrLocked), errors.Is(err, schedule.ErrLocked):
		return exitLocked
	case errors.Is(err, chunkstore.ErrNoRepository), errors.Is(err, engine.ErrBackupNotFound), errors.Is(err, providers.ErrNotFound):
		return exitNotFound
	}
	return exitError
}
