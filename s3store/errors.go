package s3store

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/s3bridge/s3bridge"
)

// Errors callers branch on besides s3bridge.ErrNotFound and ErrExists.
var (
	// ErrAccessDenied means S3 refused the credentials or the policy does
	// not allow the action (AccessDenied, InvalidAccessKeyId,
	// SignatureDoesNotMatch, ExpiredToken, or a bare 403).
	ErrAccessDenied = s3bridge.ErrAccessDenied
	// ErrChanged means the object changed while it was being read: a resumed
	// or parallel ranged GET no longer matched the ETag of the first one.
	ErrChanged = errors.New("object changed while reading")
)

// apiError gives an SDK error a clear message and the sentinel callers branch
// on, and keeps the SDK error so callers can still errors.As it.
type apiError struct {
	msg      string
	sentinel error
	err      error
}

func (e *apiError) Error() string   { return e.msg + ": " + e.err.Error() }
func (e *apiError) Unwrap() []error { return []error{e.sentinel, e.err} }

// precondition is what a 412 Precondition Failed means for the request that
// got it: ErrExists for If-None-Match writes, ErrChanged for If-Match reads.
type precondition int

const (
	onWrite precondition = iota
	onRead
)

// wrapErr wraps err as "s3: OP TARGET: ..." with S3's error mapped to our
// sentinels. Context errors pass through unchanged under the same prefix.
func wrapErr(op, target string, err error, pre precondition) error {
	return fmt.Errorf("s3: %s %s: %w", op, target, interpret(err, pre))
}

func interpret(err error, pre precondition) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	code, status := "", 0
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	wrap := func(msg string, sentinel error) error { return &apiError{msg: msg, sentinel: sentinel, err: err} }
	switch code {
	case "NoSuchKey":
		return wrap("no such key", s3bridge.ErrNotFound)
	case "NoSuchBucket":
		return wrap("no such bucket", s3bridge.ErrNotFound)
	case "NoSuchUpload":
		return wrap("no such multipart upload", s3bridge.ErrNotFound)
	case "AccessDenied", "AllAccessDisabled":
		return wrap("access denied (check the credentials and that the bucket policy allows this action)", ErrAccessDenied)
	case "InvalidAccessKeyId":
		return wrap("access key ID unknown to the server", ErrAccessDenied)
	case "SignatureDoesNotMatch":
		return wrap("signature does not match (wrong secret access key?)", ErrAccessDenied)
	case "ExpiredToken", "InvalidToken", "TokenRefreshRequired":
		return wrap("session token expired or invalid", ErrAccessDenied)
	}
	switch status {
	case http.StatusNotFound: // HEAD responses carry no error code
		return wrap("not found", s3bridge.ErrNotFound)
	case http.StatusForbidden:
		return wrap("access denied (check the credentials and that the bucket policy allows this action)", ErrAccessDenied)
	case http.StatusPreconditionFailed:
		if pre == onRead {
			return wrap("object changed (ETag no longer matches)", ErrChanged)
		}
		return wrap("object exists", s3bridge.ErrExists)
	}
	return err
}
