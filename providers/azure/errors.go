package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/cassette-backup/cassette/providers"
)

// translateError maps an error of the azblob client to cassette's sentinels
// and wraps it with the operation and the blob it concerned. It is the only
// place that classifies Azure errors; nil stays nil.
func (s *Storage) translateError(err error, op, name string) error {
	if err == nil {
		return nil
	}
	where := s.container
	if name != "" {
		where += "/" + name
	}
	sentinel := classify(err)
	err = summarize(err)
	switch {
	case sentinel == nil:
		return fmt.Errorf("azure %s %s: %w", op, where, err)
	case errors.Is(sentinel, providers.ErrPermission):
		return fmt.Errorf("azure %s %s: %w: %w (check storage_account and key in credentialsFile: the key must be a current access key of account %q)",
			op, where, sentinel, err, s.account)
	default:
		return fmt.Errorf("azure %s %s: %w: %w", op, where, sentinel, err)
	}
}

// classify returns the sentinel err belongs to, or nil when it is none of
// them (a programming error, a cancelled context, a failing payload).
func classify(err error) error {
	switch {
	case errors.Is(err, providers.ErrNotFound), errors.Is(err, providers.ErrAlreadyExists),
		errors.Is(err, providers.ErrInvalidRange), errors.Is(err, providers.ErrPermission),
		errors.Is(err, providers.ErrTransient), errors.Is(err, providers.ErrNotSupported),
		errors.Is(err, providers.ErrPayloadConsumed):
		return nil // already classified (wrapped again by the caller)
	case errors.Is(err, context.Canceled):
		return nil
	case bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound, bloberror.ResourceNotFound):
		return providers.ErrNotFound
	case bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet):
		return providers.ErrAlreadyExists
	case bloberror.HasCode(err, bloberror.InvalidRange):
		return providers.ErrInvalidRange
	case bloberror.HasCode(err, bloberror.AuthenticationFailed, bloberror.AuthorizationFailure,
		bloberror.AuthorizationPermissionMismatch, bloberror.InsufficientAccountPermissions,
		bloberror.InvalidAuthenticationInfo):
		return providers.ErrPermission
	case bloberror.HasCode(err, bloberror.ServerBusy, bloberror.OperationTimedOut, bloberror.InternalError):
		return providers.ErrTransient
	}
	var rerr *azcore.ResponseError
	if errors.As(err, &rerr) {
		return classifyStatus(rerr.StatusCode)
	}
	if isTransientNetError(err) {
		return providers.ErrTransient
	}
	return nil
}

// classifyStatus maps an HTTP status without a known error code.
func classifyStatus(code int) error {
	switch {
	case code == http.StatusNotFound:
		return providers.ErrNotFound
	case code == http.StatusConflict, code == http.StatusPreconditionFailed:
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

// isTransientNetError reports connection-level failures worth retrying:
// timeouts, resets, refused connections, bodies cut short.
func isTransientNetError(err error) bool {
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

// responseError is the one-line form of an azcore.ResponseError, whose own
// text is a multi-line dump of the request and response.
type responseError struct {
	status int
	code   string
	err    *azcore.ResponseError
}

func (e *responseError) Error() string {
	if e.code == "" {
		return fmt.Sprintf("HTTP %d %s", e.status, http.StatusText(e.status))
	}
	return fmt.Sprintf("HTTP %d %s", e.status, e.code)
}

// Unwrap keeps errors.As(err, *azcore.ResponseError) and bloberror.HasCode
// working on the summarised error.
func (e *responseError) Unwrap() error { return e.err }

// summarize replaces a multi-line azcore.ResponseError with a one-line
// wrapper around it; other errors pass unchanged.
func summarize(err error) error {
	var rerr *azcore.ResponseError
	if !errors.As(err, &rerr) {
		return err
	}
	return &responseError{status: rerr.StatusCode, code: rerr.ErrorCode, err: rerr}
}
