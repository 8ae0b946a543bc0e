package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/cassette-backup/cassette/providers"
)

// Classified reports whether err already wraps one of the providers
// sentinels, so a backend's translateError does not classify it again.
func Classified(err error) bool {
	for _, s := range []error{
		providers.ErrNotFound, providers.ErrAlreadyExists, providers.ErrInvalidRange, providers.ErrPermission,
		providers.ErrTransient, providers.ErrNotSupported, providers.ErrPayloadConsumed,
	} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// StatusSentinel maps an HTTP status of a storage API to a sentinel, or nil
// for statuses that are none of them. Backends check their own error codes
// first.
func StatusSentinel(code int) error {
	switch {
	case code == http.StatusNotFound:
		return providers.ErrNotFound
	case code == http.StatusPreconditionFailed:
		return providers.ErrAlreadyExists
	case code == http.StatusRequestedRangeNotSatisfiable:
		return providers.ErrInvalidRange
	case code == http.StatusUnauthorized, code == http.StatusForbidden:
		return providers.ErrPermission
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		return providers.ErrTransient
	}
	return nil
}

// IsTransientNetError reports connection-level failures worth retrying:
// timeouts, resets, refused connections, bodies cut short.
func IsTransientNetError(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return true
	}
	var operr *net.OpError
	return errors.As(err, &operr)
}

// OpError is how the gcs and azure backends report a failed operation:
// "<backend> <op> <where>: <sentinel>: <err>", without the sentinel when
// it is nil, and with permissionHint (what to check) in parentheses when
// the sentinel is providers.ErrPermission. It wraps both sentinel and err.
func OpError(backend, op, where string, sentinel, err error, permissionHint string) error {
	switch {
	case sentinel == nil:
		return fmt.Errorf("%s %s %s: %w", backend, op, where, err)
	case errors.Is(sentinel, providers.ErrPermission):
		return fmt.Errorf("%s %s %s: %w: %w (%s)", backend, op, where, sentinel, err, permissionHint)
	}
	return fmt.Errorf("%s %s %s: %w: %w", backend, op, where, sentinel, err)
}
