package s3store

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/s3bridge/s3bridge"
)

// sdkRetryable is the AWS SDK's own judgement of an error: S3 5xx,
// throttling (SlowDown), timeouts, connection resets and refusals. Its
// checks use errors.As, so they see through the SDK's MaxAttemptsError
// and our wrapping.
var sdkRetryable = retry.IsErrorRetryables(retry.DefaultRetryables)

// transientError is an error the SDK deems retryable, marked
// s3bridge.ErrTransient. It reads as the error it marks and keeps that
// error's chain, so callers can still errors.As the SDK's types.
type transientError struct{ err error }

func (e *transientError) Error() string   { return e.err.Error() }
func (e *transientError) Unwrap() []error { return []error{s3bridge.ErrTransient, e.err} }

// markTransient returns err marked s3bridge.ErrTransient when the SDK
// would retry it, and err itself otherwise (nil stays nil). Errors of a
// context that ended are never transient: the caller stopped, and a retry
// would only stop again. Callers above s3store (a connector's run
// retries) branch on the sentinel and need not link the SDK.
func markTransient(err error) error {
	if err == nil || errors.Is(err, s3bridge.ErrTransient) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if sdkRetryable.IsErrorRetryable(err) != aws.TrueTernary {
		return err
	}
	return &transientError{err: err}
}
