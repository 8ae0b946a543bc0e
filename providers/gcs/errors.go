package gcs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"

	"github.com/cassette-backup/cassette/providers"
	"github.com/cassette-backup/cassette/providers/internal/transport"
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
	return transport.OpError("gcs", op, where, classify(err), summarize(err),
		fmt.Sprintf("check the service-account JSON in credentialsFile and that its account has a Storage role on bucket %q", s.bucket))
}

// classify returns the sentinel err belongs to, or nil when it is none of
// them (a programming error, a cancelled context, a failing payload).
func classify(err error) error {
	switch {
	case transport.Classified(err):
		return nil // already classified (wrapped again by the caller)
	case errors.Is(err, storage.ErrObjectNotExist), errors.Is(err, storage.ErrBucketNotExist):
		return providers.ErrNotFound
	case errors.Is(err, context.Canceled):
		return nil
	}
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		return transport.StatusSentinel(gerr.Code)
	}
	var aerr *auth.Error
	if errors.As(err, &aerr) {
		switch {
		case aerr.Response == nil && transport.IsTransientNetError(aerr.Err),
			aerr.Response != nil && (aerr.Response.StatusCode >= 500 || aerr.Response.StatusCode == http.StatusTooManyRequests):
			return providers.ErrTransient
		}
		return providers.ErrPermission
	}
	if transport.IsTransientNetError(err) {
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
