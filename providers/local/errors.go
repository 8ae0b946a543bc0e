package local

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	"github.com/cassette-backup/cassette/providers"
)

// translateError maps file-system errors to the providers sentinels, keeping
// the original error in the chain. Callers wrap the result with the
// operation and key.
func translateError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		// ENOTDIR: a parent of the key is an object, so the key is absent.
		return fmt.Errorf("%w: %w", providers.ErrNotFound, err)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%w: %w", providers.ErrPermission, err)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("the disk holding the repository is full (free space or move basePath): %w", err)
	default:
		return err
	}
}
