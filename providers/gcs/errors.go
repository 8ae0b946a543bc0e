package gcs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"

	"github.com/cassette-backup/cassette/providers"
)

// translateError maps an error of the GCS client to cassette's sentinels and
// wraps it with the operation and the object (gs://bucket/name) it concerned.
// It is the only place that classifies GCS errors; nil stays nil.
func (s *Storage) translateError(err error, op, name string) error {
	if err == nil {
		return nil
	}
	where := "gs://" + s.bucket
	if name != "" {
		where += "/" + name
	}
	sentinel := classify(err)
	err = summarize(err)
	switch {
	case sentinel == nil:
		return fmt.Errorf("gcs %s %s: %w", op, where, err)
	case errors.Is(sentinel, providers.ErrPermission):
		return fmt.Errorf("gcs %s %s: %w: %w (check the service-account JSON in credentialsFile and that its account has a Storage role on bucket %q)",
			op, where, sentinel, err, s.bucket)
	default:
		return fmt.Errorf("gcs %s %s: %w: %w", op, where, sentinel, err)
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
	case errors.Is(err, storage.ErrObjectNotExist), errors.Is(err, storage.ErrBucketNotExist):
		return providers.ErrNotFound
	case errors.Is(err, context.Canceled):
		return nil
	}
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		return classifyStatus(gerr.Code)
	}
	var aerr *auth.Error
	if errors.As(err, &aerr) {
		switch {
		case aerr.Response == nil && isTransientNetError(aerr.Err),
			aerr.Response != nil && (aerr.Response.StatusCode >= 500 || aerr.Response.StatusCode == http.StatusTooManyRequests):
			return providers.ErrTransient
		}
		return providers.ErrPermission
	}
	if isTransientNetError(err) {
		return providers.ErrTransient
	}
	return nil
}

// summarize shortens the errors whose text can span lines or dump a
// response body: refused token requests and JSON/XML API errors.
func summarize(err error) error {
	var aerr *auth.Error
	if errors.As(err, &aerr) {
		return tokenError(aerr)
	}
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		return &apiError{err: gerr}
	}
	return err
}

// apiError is the one-line form of a googleapi.Error: status and message.
type apiError struct{ err *googleapi.Error }

func (e *apiError) Error() string {
	msg := e.err.Message
	if msg == "" {
		msg = http.StatusText(e.err.Code)
	}
	msg, _, _ = strings.Cut(msg, "\n")
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return fmt.Sprintf("HTTP %d: %s", e.err.Code, msg)
}

// Unwrap keeps errors.As(err, *googleapi.Error) working.
func (e *apiError) Unwrap() error { return e.err }

// tokenError summarises a refused token request in one line: the HTTP
// status and the OAuth error code and description Google sent back.
func tokenError(aerr *auth.Error) error {
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(aerr.Body, &body)
	status := "no response"
	if aerr.Response != nil {
		status = aerr.Response.Status
	}
	msg := "the token request was refused (" + status
	if body.Error != "" {
		msg += ", " + body.Error
	}
	if body.Description != "" {
		msg += ": " + body.Description
	}
	if aerr.Response == nil && aerr.Err != nil {
		return fmt.Errorf("%s): %w", msg, aerr.Err)
	}
	return errors.New(strings.ReplaceAll(msg, "\n", " ") + ")")
}

// classifyStatus maps an HTTP status of the JSON or XML API to a sentinel.
func classifyStatus(code int) error {
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
