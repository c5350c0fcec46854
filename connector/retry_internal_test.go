package connector

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
)

// TestRetryable: the object store's transient failures (what the SDK
// retries, marked s3bridge.ErrTransient by s3store: TestMarkTransient and
// TestTransientFromServer there) and a broken database session are
// retried; the rest is final.
func TestRetryable(t *testing.T) {
	transient := func(err error) error { return errors.Join(s3bridge.ErrTransient, err) }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"SlowDown", fmt.Errorf("load s3://b/k: %w", transient(errors.New("s3: get object s3://b/k: api error SlowDown"))), true},
		{"connection reset", fmt.Errorf("load s3://b/k: %w", transient(errors.New("s3: read s3://b/k: connection reset by peer"))), true},
		{"transient but cancelled", fmt.Errorf("load s3://b/k: %w", transient(context.Canceled)), false},
		{"lost database connection", fmt.Errorf("commit: %w", driver.ErrBadConn), true},
		{"body cut short", fmt.Errorf("read k: %w", io.ErrUnexpectedEOF), true},
		{"bad row", errors.New(`load k line 3: column "id": "x" is not a long`), false},
		{"missing object", fmt.Errorf("load s3://b/k: %w", s3bridge.ErrNotFound), false},
		{"access denied", fmt.Errorf("get k: %w", s3bridge.ErrAccessDenied), false},
		{"expired credentials", fmt.Errorf("get k: %w", errors.Join(s3bridge.ErrAccessDenied, s3bridge.ErrCredentialsExpired)), true},
		{"database session ended", fmt.Errorf("load: %w", s3bridge.ErrConnectionLost), true},
		{"lease lost", fmt.Errorf("commit: %w", s3bridge.ErrLeaseLost), false},
		{"cancelled", fmt.Errorf("get k: %w", context.Canceled), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Retryable(tt.err); got != tt.want {
				t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	three := 3
	tests := []struct {
		name        string
		r           Retry
		wantRetries int
		want        []time.Duration
	}{
		{"defaults", Retry{}, 5, []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second}},
		{"capped", Retry{MaximumRetries: &three, InitialRetryIntervalMillis: 100, MaximumRetryIntervalMillis: 300},
			3, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, backoff := tt.r.retries()
			if n != tt.wantRetries {
				t.Errorf("retries %d, want %d", n, tt.wantRetries)
			}
			for i, want := range tt.want {
				if got := backoff(i + 1); got != want {
					t.Errorf("backoff(%d) = %s, want %s", i+1, got, want)
				}
			}
		})
	}
}
