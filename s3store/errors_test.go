package s3store

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestErrorFirstSentence pins the first sentence of the errors of the
// common failures: what is wrong, in words, and where; then what was
// being done and the SDK's error. Sentinels stay as they were.
func TestErrorFirstSentence(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Query().Get("prefix") == "expired":
			writeS3Error(w, http.StatusBadRequest, "ExpiredToken")
		default:
			writeS3Error(w, http.StatusForbidden, "AccessDenied")
		}
	}))
	defer fake.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there any more

	good := minioConfig(m)
	wrongKey, wrongSecret := good, good
	wrongKey.AccessKeyID = "s3b-unknown-key"
	wrongSecret.SecretAccessKey = "s3b-wrong-secret"
	downCfg := fakeConfig(down)
	downCfg.RetryMaxAttempts = 1
	stat := func(cfg Config, b, k string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := newClient(t, cfg).Stat(ctx, b, k)
			return err
		}
	}
	tests := []struct {
		name     string
		do       func(context.Context) error
		want     string
		sentinel error
	}{
		{"no bucket", func(ctx context.Context) error {
			_, err := newClient(t, good).BucketRegion(ctx, "s3b-no-such-bucket-x")
			return err
		}, "bucket s3b-no-such-bucket-x does not exist at " + m.Endpoint + ": s3: bucket region s3://s3b-no-such-bucket-x: ", s3bridge.ErrNotFound},
		{"no object", func(ctx context.Context) error {
			_, _, err := newClient(t, good).Open(ctx, bucket, "missing.csv")
			return err
		}, "object s3://" + bucket + "/missing.csv not found at " + m.Endpoint + ": s3: get object", s3bridge.ErrNotFound},
		{"no object (HEAD)", stat(good, bucket, "missing.csv"), "object s3://" + bucket + "/missing.csv not found at " + m.Endpoint + ": ", s3bridge.ErrNotFound},
		{"wrong key", func(ctx context.Context) error {
			_, _, err := newClient(t, wrongKey).List(ctx, bucket, "", "")
			return err
		}, "the access key ID is not known at " + m.Endpoint + " (check AWS_ACCESS_KEY_ID or the profile): ", ErrAccessDenied},
		{"wrong secret", func(ctx context.Context) error {
			_, _, err := newClient(t, wrongSecret).List(ctx, bucket, "", "")
			return err
		}, "the secret access key is wrong for this access key ID at " + m.Endpoint + " (check AWS_SECRET_ACCESS_KEY or the profile): ", ErrAccessDenied},
		{"expired token", func(ctx context.Context) error {
			_, _, err := newClient(t, fakeConfig(fake.URL)).List(ctx, "bkt", "expired", "")
			return err
		}, "the session token has expired or is invalid at " + fake.URL + " (get new credentials): ", s3bridge.ErrCredentialsExpired},
		{"denied", func(ctx context.Context) error {
			_, _, err := newClient(t, fakeConfig(fake.URL)).List(ctx, "bkt", "x", "")
			return err
		}, "access denied to s3://bkt/x at " + fake.URL + ": the credentials, or the bucket policy, do not allow this action: s3: list s3://bkt/x: ", ErrAccessDenied},
		{"endpoint down", stat(downCfg, "bkt", "k"), "cannot reach the S3 endpoint " + down + " (connection refused: is the server running, and is the port right?): s3: ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do(t.Context())
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("got %v\nwant the prefix %q", err, tt.want)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("%v: not %v", err, tt.sentinel)
			}
		})
	}
}
