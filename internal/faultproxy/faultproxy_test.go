package faultproxy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/s3bridge/s3bridge/internal/faultproxy"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		method, target string
		copySource     bool
		want           faultproxy.Op
		bucket, key    string
	}{
		{"POST", "/b/dir/k?uploads", false, faultproxy.CreateMultipartUpload, "b", "dir/k"},
		{"PUT", "/b/k?partNumber=2&uploadId=u", false, faultproxy.UploadPart, "b", "k"},
		{"PUT", "/b/k?partNumber=2&uploadId=u", true, faultproxy.UploadPartCopy, "b", "k"},
		{"POST", "/b/k?uploadId=u", false, faultproxy.CompleteMultipartUpload, "b", "k"},
		{"DELETE", "/b/k?uploadId=u", false, faultproxy.AbortMultipartUpload, "b", "k"},
		{"GET", "/b/k?uploadId=u", false, faultproxy.ListParts, "b", "k"},
		{"PUT", "/b/k", false, faultproxy.PutObject, "b", "k"},
		{"PUT", "/b/k?x-id=PutObject", false, faultproxy.PutObject, "b", "k"},
		{"PUT", "/b/k", true, faultproxy.CopyObject, "b", "k"},
		{"PUT", "/b/k?tagging", false, faultproxy.ObjectSubresource, "b", "k"},
		{"GET", "/b/k?x-id=GetObject", false, faultproxy.GetObject, "b", "k"},
		{"GET", "/b/k?versionId=v&partNumber=1", false, faultproxy.GetObject, "b", "k"},
		{"GET", "/b/k?attributes", false, faultproxy.ObjectSubresource, "b", "k"},
		{"HEAD", "/b/k", false, faultproxy.HeadObject, "b", "k"},
		{"DELETE", "/b/k", false, faultproxy.DeleteObject, "b", "k"},
		{"GET", "/b?list-type=2&prefix=p%2Fq", false, faultproxy.ListObjectsV2, "b", "p/q"},
		{"GET", "/b/?list-type=2", false, faultproxy.ListObjectsV2, "b", ""},
		{"GET", "/b?prefix=p&marker=m", false, faultproxy.ListObjects, "b", "p"},
		{"GET", "/b?versions", false, faultproxy.ListObjectVersions, "b", ""},
		{"GET", "/b?uploads&prefix=k", false, faultproxy.ListMultipartUploads, "b", "k"},
		{"GET", "/b?location", false, faultproxy.GetBucketLocation, "b", ""},
		{"GET", "/b?policyStatus", false, faultproxy.BucketSubresource, "b", ""},
		{"HEAD", "/b", false, faultproxy.HeadBucket, "b", ""},
		{"POST", "/b?delete", false, faultproxy.DeleteObjects, "b", ""},
		{"GET", "/", false, faultproxy.ListBuckets, "", ""},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		if tc.copySource {
			r.Header.Set("X-Amz-Copy-Source", "/b/src")
		}
		op, bucket, key := faultproxy.Classify(r)
		if op != tc.want || bucket != tc.bucket || key != tc.key {
			t.Errorf("%s %s: got %s %q %q, want %s %q %q", tc.method, tc.target, op, bucket, key, tc.want, tc.bucket, tc.key)
		}
	}
}

// client is a plain SDK client through the proxy, with one attempt per
// request so each fault shows as the SDK sees it.
func client(m testenv.MinIO, p *faultproxy.Proxy) *s3.Client {
	return s3.New(s3.Options{
		Region:                     m.Region,
		BaseEndpoint:               aws.String(p.URL),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(m.AccessKey, m.SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		RetryMaxAttempts:           1,
	})
}

// TestForwardsSigned: MinIO accepts requests signed for the proxy's host,
// and every operation a transfer uses is classified as it goes by.
func TestForwardsSigned(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	p := faultproxy.Start(t, m.Endpoint)
	c := client(m, p)
	ctx := t.Context()
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("a/b c.bin"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("put through the proxy: %v", err)
	}
	got := get(t, c, bucket, "a/b c.bin")
	if !bytes.Equal(got, body) {
		t.Fatalf("got %d bytes back, want the %d put", len(got), len(body))
	}
	mp, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: aws.String("mp")})
	must(t, err)
	part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &bucket, Key: aws.String("mp"), UploadId: mp.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader(body)})
	must(t, err)
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: aws.String("mp"), UploadId: mp.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}})
	must(t, err)
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket})
	must(t, err)
	var ops []faultproxy.Op
	for _, r := range p.Requests() {
		ops = append(ops, r.Op)
		if r.End.Before(r.Start) {
			t.Errorf("%s ended before it started", r.Op)
		}
	}
	want := []faultproxy.Op{faultproxy.PutObject, faultproxy.GetObject, faultproxy.CreateMultipartUpload, faultproxy.UploadPart,
		faultproxy.CompleteMultipartUpload, faultproxy.ListObjectsV2}
	if !slices.Equal(ops, want) {
		t.Errorf("requests seen: %v, want %v", ops, want)
	}
}

// TestActions checks what each action does to a request, as the SDK sees
// it.
func TestActions(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	p := faultproxy.Start(t, m.Endpoint)
	c := client(m, p)
	ctx := t.Context()
	body := bytes.Repeat([]byte("x"), 1<<20)
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("k"), Body: bytes.NewReader(body)})
	must(t, err)

	t.Run("status", func(t *testing.T) {
		f := p.Add(faultproxy.Rule{Op: faultproxy.GetObject, Key: "k", Times: 2, Action: faultproxy.SlowDown()})
		defer p.Clear()
		for range 2 {
			_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("k")})
			if code := apiCode(err); code != "SlowDown" {
				t.Errorf("got %v (code %q), want SlowDown", err, code)
			}
		}
		if got := get(t, c, bucket, "k"); len(got) != len(body) {
			t.Errorf("third GET: %d bytes, want %d", len(got), len(body))
		}
		if f.Hits() != 2 {
			t.Errorf("rule acted %d times, want 2", f.Hits())
		}
	})
	t.Run("error in a 200", func(t *testing.T) {
		p.Add(faultproxy.Rule{Op: faultproxy.CompleteMultipartUpload, Times: 1, Action: faultproxy.Error200("InternalError")})
		defer p.Clear()
		mp, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: aws.String("e200")})
		must(t, err)
		part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: &bucket, Key: aws.String("e200"), UploadId: mp.UploadId, PartNumber: aws.Int32(1), Body: bytes.NewReader(body)})
		must(t, err)
		in := &s3.CompleteMultipartUploadInput{Bucket: &bucket, Key: aws.String("e200"), UploadId: mp.UploadId,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: []types.CompletedPart{{PartNumber: aws.Int32(1), ETag: part.ETag}}}}
		if _, err := c.CompleteMultipartUpload(ctx, in); apiCode(err) != "InternalError" {
			t.Errorf("complete answered 200 <Error>: got %v, want an InternalError error", err)
		}
		if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("e200")}); err == nil {
			t.Error("the object exists although the complete was never forwarded")
		}
		_, err = c.CompleteMultipartUpload(ctx, in)
		must(t, err)
	})
	t.Run("reset response", func(t *testing.T) {
		p.Add(faultproxy.Rule{Op: faultproxy.GetObject, Times: 1, Action: faultproxy.ResetResponse(1000)})
		defer p.Clear()
		n, err := readBody(ctx, c, bucket, "k")
		if n != 1000 || !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("got %d bytes and %v, want 1000 and a connection reset", n, err)
		}
	})
	t.Run("cut response", func(t *testing.T) {
		p.Add(faultproxy.Rule{Op: faultproxy.GetObject, Times: 1, Action: faultproxy.CutResponse(1000)})
		defer p.Clear()
		n, err := readBody(ctx, c, bucket, "k")
		if n != 1000 || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("got %d bytes and %v, want 1000 and an unexpected EOF", n, err)
		}
	})
	t.Run("reset request", func(t *testing.T) {
		f := p.Add(faultproxy.Rule{Op: faultproxy.PutObject, Key: "reset", Times: 1, Action: faultproxy.ResetRequest(64 << 10)})
		defer p.Clear()
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("reset"), Body: bytes.NewReader(body)})
		if err == nil || f.Hits() != 1 {
			t.Fatalf("put through a reset: %v (rule hits %d), want an error", err, f.Hits())
		}
		if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("reset")}); err == nil {
			t.Error("an object landed although its request was reset")
		}
	})
	t.Run("delay", func(t *testing.T) {
		p.Add(faultproxy.Rule{Action: faultproxy.Delay(300 * time.Millisecond)})
		defer p.Clear()
		start := time.Now()
		_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("k")})
		must(t, err)
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("a delayed request took %v", d)
		}
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		before := len(p.Requests())
		if _, err := c.HeadObject(short, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("k")}); err == nil {
			t.Fatal("a request that gave up succeeded")
		}
		waitFor(t, func() bool { r := p.Requests(); return len(r) > before && !r[before].End.IsZero() })
		if r := p.Requests()[before]; r.End.Sub(r.Start) > 250*time.Millisecond {
			t.Errorf("the proxy held a request the client gave up on for %v", r.End.Sub(r.Start))
		}
		// A write the client gave up on never reaches S3.
		short, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		before = len(p.Requests())
		if _, err := c.PutObject(short, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String("late"), Body: bytes.NewReader(body)}); err == nil {
			t.Fatal("a write that gave up succeeded")
		}
		waitFor(t, func() bool { r := p.Requests(); return len(r) > before && !r[before].End.IsZero() })
		time.Sleep(400 * time.Millisecond) // past the delay: had it been forwarded, it would have landed
		p.Clear()
		if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("late")}); err == nil {
			t.Error("a delayed write landed although its client had given up")
		}
	})
}

func get(t *testing.T, c *s3.Client, bucket, key string) []byte {
	t.Helper()
	out, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	must(t, err)
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	must(t, err)
	return b
}

func readBody(ctx context.Context, c *s3.Client, bucket, key string) (int, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return 0, err
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return len(b), err
}

func apiCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 5s")
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
