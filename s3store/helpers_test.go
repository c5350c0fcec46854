package s3store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// noWait retries immediately, so retry tests don't sleep through backoff.
var noWait = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })

// minioConfig is a basic-auth Config for the test MinIO.
func minioConfig(m testenv.MinIO) Config {
	return Config{
		Endpoint:        m.Endpoint,
		Region:          m.Region,
		Auth:            AuthBasic,
		AccessKeyID:     m.AccessKey,
		SecretAccessKey: m.SecretKey,
	}
}

func newClient(t testing.TB, cfg Config) *Client {
	t.Helper()
	c, err := New(t.Context(), cfg, testLogger(t))
	if err != nil {
		t.Fatalf("New(%v): %v", cfg, err)
	}
	return c
}

// testLogger sends the client's log to the test log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// randomBytes returns n deterministic incompressible bytes.
func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 1})
	r.Read(b)
	return b
}

// tempFile writes data to a file in the test's temp dir and opens it.
func tempFile(t testing.TB, data []byte) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// adminPut stores data with the raw SDK client, bypassing the code under
// test.
func adminPut(t testing.TB, admin *s3.Client, bucket, key string, data []byte) {
	t.Helper()
	_, err := admin.PutObject(context.WithoutCancel(t.Context()), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data),
	})
	if err != nil {
		t.Fatalf("admin put %s/%s: %v", bucket, key, err)
	}
}

// assertNoUploads fails the test if the bucket holds unfinished multipart
// uploads.
func assertNoUploads(t testing.TB, admin *s3.Client, bucket string) {
	t.Helper()
	out, err := admin.ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("list multipart uploads: %v", err)
	}
	if len(out.Uploads) != 0 {
		t.Errorf("%d multipart uploads left in %s, want 0 (first: key %s)", len(out.Uploads), bucket, aws.ToString(out.Uploads[0].Key))
	}
}

func sum(b []byte) [32]byte { return sha256.Sum256(b) }

// onlyReader hides every method but Read, so Upload takes the streaming
// path.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }
