package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/internal/transport"
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
	return transport.OpError("azure", op, where, classify(err), summarize(err),
		fmt.Sprintf("check storage_account and key in credentialsFile: the key must be a current access key of account %q", s.account))
}

// classify returns the sentinel err belongs to, or nil when it is none of
// them (a programming error, a cancelled context, a failing payload).
func classify(err error) error {
	switch {
	case transport.Classified(err):
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
	if transport.IsTransientNetError(err) {
		return providers.ErrTransient
	}
	return nil
}

// classifyStatus maps an HTTP status without a known error code: as any
// storage API, except that 409 Conflict means the blob or container exists.
func classifyStatus(code int) error {
	if code == http.StatusConflict {
		return providers.ErrAlreadyExists
	}
	return transport.StatusSentinel(code)
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
