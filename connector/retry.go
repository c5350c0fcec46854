package connector

import (
	"cmp"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/s3bridge/s3bridge"
)

// Retry defaults: a run is retried five times, waiting 2 s, then twice as
// long each time, at most 8 minutes (Embulk's s3 input's interval bounds).
const (
	DefaultMaximumRetries             = 5
	DefaultInitialRetryIntervalMillis = 2000
	DefaultMaximumRetryIntervalMillis = 480000
)

// Retry is the in: section's retry of a whole run: a run that failed on
// a retryable error (Retryable) is run again, from the listing on, after
// an exponential backoff. A run loads in one transaction with its ledger
// rows, so a failed attempt leaves nothing behind and a retry loads
// exactly what the first attempt would have.
type Retry struct {
	// MaximumRetries is how many times a run is retried (default 5; 0:
	// never).
	MaximumRetries *int `yaml:"maximum_retries,omitempty" json:"maximum_retries,omitempty"`
	// InitialRetryIntervalMillis is the wait before the first retry; each
	// next one waits twice as long, up to MaximumRetryIntervalMillis.
	InitialRetryIntervalMillis int64 `yaml:"initial_retry_interval_millis,omitempty" json:"initial_retry_interval_millis,omitempty"`
	MaximumRetryIntervalMillis int64 `yaml:"maximum_retry_interval_millis,omitempty" json:"maximum_retry_interval_millis,omitempty"`
}

// retries is the number of retries and the backoff before retry n (from 1).
func (r Retry) retries() (int, func(n int) time.Duration) {
	n := DefaultMaximumRetries
	if r.MaximumRetries != nil {
		n = *r.MaximumRetries
	}
	first := time.Duration(cmp.Or[int64](r.InitialRetryIntervalMillis, DefaultInitialRetryIntervalMillis)) * time.Millisecond
	limit := time.Duration(cmp.Or[int64](r.MaximumRetryIntervalMillis, DefaultMaximumRetryIntervalMillis)) * time.Millisecond
	return n, func(k int) time.Duration {
		d := first
		for i := 1; i < k && d < limit; i++ {
			d *= 2
		}
		return min(d, limit)
	}
}

func (r Retry) validate() error {
	if r.MaximumRetries != nil && *r.MaximumRetries < 0 {
		return fmt.Errorf("config: in.maximum_retries %d: want 0 or more", *r.MaximumRetries)
	}
	if r.InitialRetryIntervalMillis < 0 || r.MaximumRetryIntervalMillis < 0 {
		return errors.New("config: in.initial_retry_interval_millis and in.maximum_retry_interval_millis must not be negative")
	}
	if r.InitialRetryIntervalMillis > cmp.Or[int64](r.MaximumRetryIntervalMillis, DefaultMaximumRetryIntervalMillis) {
		return fmt.Errorf("config: in.initial_retry_interval_millis %d is more than in.maximum_retry_interval_millis %d",
			r.InitialRetryIntervalMillis, cmp.Or[int64](r.MaximumRetryIntervalMillis, DefaultMaximumRetryIntervalMillis))
	}
	return nil
}

// Retryable reports whether a run that failed with err may succeed when
// run again: what the object store marks s3bridge.ErrTransient (what the
// AWS SDK retries: S3 5xx, SlowDown, timeouts, connection resets, judged
// in s3store so that connector links no SDK), a database connection that
// broke (s3bridge.ErrConnectionLost, which the instance packages make of
// their drivers' errors, or driver.ErrBadConn), an object body cut short,
// and expired S3 credentials. Cancellation, a lost lease, refused access
// and everything else — a bad row first — are final.
func Retryable(err error) bool {
	switch {
	case errors.Is(err, s3bridge.ErrCredentialsExpired):
		// The next attempt resolves the credentials again.
		return true
	case err == nil,
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, s3bridge.ErrLeaseLost), errors.Is(err, s3bridge.ErrAccessDenied):
		return false
	}
	return errors.Is(err, s3bridge.ErrTransient) || errors.Is(err, s3bridge.ErrConnectionLost) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF)
}

// wait sleeps d or until ctx ends.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
