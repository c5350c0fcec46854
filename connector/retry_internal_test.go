package connector

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/s3bridge/s3bridge"
)

func TestRetryable(t *testing.T) {
	slowDown := &smithy.GenericAPIError{Code: "SlowDown", Message: "Please reduce your request rate."}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"SlowDown", fmt.Errorf("get k: %w", slowDown), true},
		{"after the SDK's attempts", fmt.Errorf("get k: %w", &retry.MaxAttemptsError{Attempt: 8, Err: slowDown}), true},
		{"500 InternalError", &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 500}},
			Err: &smithy.GenericAPIError{Code: "InternalError"}}, true},
		{"connection reset", fmt.Errorf("read k: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), true},
		{"lost database connection", fmt.Errorf("commit: %w", driver.ErrBadConn), true},
		{"body cut short", fmt.Errorf("read k: %w", io.ErrUnexpectedEOF), true},
		{"bad row", errors.New(`load k line 3: column "id": "x" is not a long`), false},
		{"NoSuchKey", &smithy.GenericAPIError{Code: "NoSuchKey"}, false},
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
