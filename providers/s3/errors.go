package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cassette-backup/cassette/providers"
)

// opError is a failed S3 operation: what was done on which key, the
// providers sentinel it maps to (nil when unclassified) and the SDK's error.
type opError struct {
	op, key string
	kind    error
	detail  string
	hint    string
	cause   error
}

func (e *opError) Error() string {
	msg := "s3 " + e.op
	if e.key != "" {
		msg += " " + e.key
	}
	if e.kind != nil {
		msg += ": " + e.kind.Error()
	}
	msg += ": " + e.detail
	if e.hint != "" {
		msg += " (" + e.hint + ")"
	}
	return msg
}

func (e *opError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.cause}
	}
	return []error{e.kind, e.cause}
}

// translateError maps an SDK or transport error to the providers sentinels
// and wraps it with the operation and key. A cancelled ctx is returned as
// ctx's error (wrapped), never as transient.
func (s *Storage) translateError(ctx context.Context, op, key string, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return fmt.Errorf("s3 %s %s: %w", op, key, ctx.Err())
	}
	kind, detail := classify(err)
	e := &opError{op: op, key: key, kind: kind, detail: detail, cause: err}
	switch kind {
	case providers.ErrPermission:
		e.hint = fmt.Sprintf("check %s and that it may access bucket %s", s.credFrom, s.bucket)
	case providers.ErrNotFound:
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchBucket" {
			e.hint = "bucket " + s.bucket + " does not exist"
		}
	}
	return e
}

// classify picks the sentinel for err and a short description of it.
func classify(err error) (error, string) {
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		detail := code
		if status != 0 {
			detail = fmt.Sprintf("%s (HTTP %d)", code, status)
		}
		if m := ae.ErrorMessage(); m != "" {
			detail += ": " + m
		}
		return classifyAPI(code, status), detail
	}
	if status != 0 {
		return classifyAPI("", status), fmt.Sprintf("HTTP %d", status)
	}
	return classifyTransport(err), err.Error()
}

// classifyAPI maps an S3 error code and HTTP status.
func classifyAPI(code string, status int) error {
	switch code {
	case "NoSuchKey", "NotFound", "NoSuchBucket", "NoSuchUpload":
		return providers.ErrNotFound
	case "PreconditionFailed":
		return providers.ErrAlreadyExists
	case "ConditionalRequestConflict", "OperationAborted":
		return providers.ErrTransient
	case "InvalidRange":
		return providers.ErrInvalidRange
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
		"InvalidToken", "TokenRefreshRequired", "AllAccessDisabled", "AccountProblem",
		"InvalidSecurity", "AuthorizationHeaderMalformed", "MissingSecurityHeader":
		return providers.ErrPermission
	case "SlowDown", "Throttling", "ThrottlingException", "RequestThrottled", "RequestTimeout",
		"InternalError", "ServiceUnavailable", "XMinioServerNotInitialized", "XAmzContentSHA256Mismatch",
		"BadDigest", "IncompleteBody", "RequestTimeTooSkewed", "SlowDownWrite", "SlowDownRead":
		return providers.ErrTransient
	case "NotImplemented":
		return providers.ErrNotSupported
	}
	switch {
	case status == 404:
		return providers.ErrNotFound
	case status == 412:
		return providers.ErrAlreadyExists
	case status == 416:
		return providers.ErrInvalidRange
	case status == 401 || status == 403:
		return providers.ErrPermission
	case status == 408 || status == 429 || status == 409 && code == "":
		return providers.ErrTransient
	case status == 501:
		return providers.ErrNotSupported
	case status >= 500:
		return providers.ErrTransient
	}
	return nil
}

// classifyTransport maps errors that carry no S3 response: connection
// failures, timeouts, truncated bodies, missing credentials.
func classifyTransport(err error) error {
	var (
		ne   net.Error
		send *smithyhttp.RequestSendError
		de   *smithy.DeserializationError
	)
	switch {
	case isCredentialsError(err):
		return providers.ErrPermission
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, context.DeadlineExceeded):
		return providers.ErrTransient
	case errors.As(err, &ne) && ne.Timeout():
		return providers.ErrTransient
	case errors.As(err, &send), errors.As(err, &de):
		return providers.ErrTransient
	case strings.Contains(err.Error(), "checksum did not match"):
		// The SDK's response checksum validation: corrupted in transit.
		return providers.ErrTransient
	}
	return nil
}

// isCredentialsError reports whether the SDK could not obtain credentials
// at all (no file configured and nothing in the default chain).
func isCredentialsError(err error) bool {
	var se *v4.SigningError
	return errors.As(err, &se) && strings.Contains(se.Error(), "retrieve credentials")
}
