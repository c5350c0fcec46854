package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/internal/faultproxy"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestMarkTransient: what the SDK would retry is marked
// s3bridge.ErrTransient, keeping its text and its SDK error; the rest,
// and a context that ended, are left as they are.
func TestMarkTransient(t *testing.T) {
	slowDown := &smithy.GenericAPIError{Code: "SlowDown", Message: "Please reduce your request rate."}
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"SlowDown", fmt.Errorf("s3: get object s3://b/k: %w", slowDown), true},
		{"after the SDK's attempts", fmt.Errorf("s3: get object s3://b/k: %w", &retry.MaxAttemptsError{Attempt: 8, Err: slowDown}), true},
		{"500 InternalError", &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 500}},
			Err: &smithy.GenericAPIError{Code: "InternalError"}}, true},
		{"connection reset", fmt.Errorf("s3: read s3://b/k: %w", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}), true},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"already marked", fmt.Errorf("list: %w", s3bridge.ErrTransient), true},
		{"NoSuchKey", &smithy.GenericAPIError{Code: "NoSuchKey"}, false},
		{"access denied", fmt.Errorf("s3: get object s3://b/k: %w", errors.Join(ErrAccessDenied, &smithy.GenericAPIError{Code: "AccessDenied"})), false},
		{"cancelled", fmt.Errorf("s3: get object s3://b/k: %w", context.Canceled), false},
		{"deadline", fmt.Errorf("s3: get object s3://b/k: %w", context.DeadlineExceeded), false},
		{"body cut short", fmt.Errorf("s3: read s3://b/k: %w", io.ErrUnexpectedEOF), false},
		{"nil", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := markTransient(tt.err)
			if is := errors.Is(got, s3bridge.ErrTransient); is != tt.want {
				t.Errorf("markTransient(%v) is ErrTransient: %v, want %v", tt.err, is, tt.want)
			}
			if tt.err == nil {
				if got != nil {
					t.Errorf("markTransient(nil) = %v", got)
				}
				return
			}
			if got.Error() != tt.err.Error() || !errors.Is(got, tt.err) {
				t.Errorf("markTransient(%v) = %v: want the same text, wrapping the error", tt.err, got)
			}
		})
	}
}

// TestTransientFromServer: errors of a real server that the SDK retries
// reach callers as s3bridge.ErrTransient, so they need not link the SDK
// to tell them (connector.Retryable); a missing object, a denial and a
// cancel are not transient.
func TestTransientFromServer(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	p := faultproxy.Start(t, m.Endpoint)
	cfg := minioConfig(m)
	// One attempt per request: the error under test is what the SDK gives
	// up with, not a retry of it.
	cfg.Endpoint, cfg.RetryMaxAttempts = p.URL, 1
	c := newClient(t, cfg)
	body := randomBytes(64<<10, 7)
	adminPut(t, m.Admin(t), bucket, "k", body)

	open := func(ctx context.Context, key string) error {
		r, _, err := c.Open(ctx, bucket, key)
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = io.Copy(io.Discard, r)
		return err
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	for _, tt := range []struct {
		name string
		rule faultproxy.Rule
		call func() error
		want bool
	}{
		{"GetObject SlowDown", faultproxy.Rule{Op: faultproxy.GetObject, Action: faultproxy.SlowDown()},
			func() error { return open(t.Context(), "k") }, true},
		{"ListObjectsV2 InternalError", faultproxy.Rule{Op: faultproxy.ListObjectsV2, Action: faultproxy.InternalError()},
			func() error { _, _, err := c.List(t.Context(), bucket, "", ""); return err }, true},
		{"a body reset until the reader gives up", faultproxy.Rule{Op: faultproxy.GetObject, Action: faultproxy.ResetResponse(1 << 10)},
			func() error { return open(t.Context(), "k") }, true},
		{"missing object", faultproxy.Rule{},
			func() error { return open(t.Context(), "missing") }, false},
		{"denied", faultproxy.Rule{Op: faultproxy.GetObject, Action: faultproxy.Status(http.StatusForbidden, "AccessDenied")},
			func() error { return open(t.Context(), "k") }, false},
		{"cancelled", faultproxy.Rule{Op: faultproxy.GetObject, Action: faultproxy.SlowDown()},
			func() error { return open(cancelled, "k") }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p.Clear()
			if tt.rule.Action != (faultproxy.Action{}) {
				p.Add(tt.rule)
			}
			defer p.Clear()
			err := tt.call()
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, s3bridge.ErrTransient); got != tt.want {
				t.Errorf("%v: ErrTransient %v, want %v", err, got, tt.want)
			}
		})
	}
}
