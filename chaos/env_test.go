package chaos_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3bridge/s3bridge/internal/faultproxy"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/s3store"
)

// Client settings under test: the smallest part S3 allows, so a file of a
// few MiB is a multipart upload and a parallel download; three attempts,
// so two failures in a row are survivable and a persistent one fails fast.
const (
	partSize    = 5 << 20
	maxAttempts = 3
)

// env is one case's world: its own bucket, its own fault proxy in front of
// MinIO, and an s3store client that goes through the proxy. Checks go to
// MinIO directly with the admin client.
type env struct {
	t      *testing.T
	m      testenv.MinIO
	admin  *s3.Client
	bucket string
	proxy  *faultproxy.Proxy
	store  *s3store.Client
}

func newEnv(t *testing.T, versioned bool) *env { return newEnvWith(t, versioned, nil) }

// newEnvLogged is newEnv with the product's S3 client logging its own
// requests (clientLog).
func newEnvLogged(t *testing.T, versioned bool) (*env, *clientLog) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	cl := &clientLog{next: tr}
	return newEnvWith(t, versioned, &http.Client{Transport: cl}), cl
}

func newEnvWith(t *testing.T, versioned bool, hc *http.Client) *env {
	t.Helper()
	m := testenv.S3(t)
	e := &env{t: t, m: m, admin: m.Admin(t), bucket: m.Bucket(t)}
	if versioned {
		_, err := e.admin.PutBucketVersioning(t.Context(), &s3.PutBucketVersioningInput{Bucket: &e.bucket,
			VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
		must(t, err)
		// Runs before testenv's cleanup, which deletes current objects only.
		t.Cleanup(e.deleteVersions)
	}
	e.proxy = faultproxy.Start(t, m.Endpoint)
	store, err := s3store.New(t.Context(), s3store.Config{
		Endpoint: e.proxy.URL, Region: m.Region, AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey,
		PartSize: partSize, Concurrency: 4, RetryMaxAttempts: maxAttempts, HTTPClient: hc,
	}, nil)
	must(t, err)
	e.store = store
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// put stores an object directly in MinIO.
func (e *env) put(key string, body []byte) {
	e.t.Helper()
	_, err := e.admin.PutObject(e.t.Context(), &s3.PutObjectInput{Bucket: &e.bucket, Key: &key, Body: bytes.NewReader(body)})
	must(e.t, err)
}

// object reads an object directly from MinIO; false when it is missing.
func (e *env) object(key string) ([]byte, bool) {
	e.t.Helper()
	out, err := e.admin.GetObject(e.t.Context(), &s3.GetObjectInput{Bucket: &e.bucket, Key: &key})
	if err != nil {
		return nil, false
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	must(e.t, err)
	return b, true
}

// keys lists the current objects under prefix, in key order.
func (e *env) keys(prefix string) []string {
	e.t.Helper()
	var keys []string
	pages := s3.NewListObjectsV2Paginator(e.admin, &s3.ListObjectsV2Input{Bucket: &e.bucket, Prefix: &prefix})
	for pages.HasMorePages() {
		page, err := pages.NextPage(e.t.Context())
		must(e.t, err)
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// versions counts the versions (not delete markers) of each key under
// prefix.
func (e *env) versions(prefix string) map[string]int {
	e.t.Helper()
	n := map[string]int{}
	pages := s3.NewListObjectVersionsPaginator(e.admin, &s3.ListObjectVersionsInput{Bucket: &e.bucket, Prefix: &prefix})
	for pages.HasMorePages() {
		page, err := pages.NextPage(e.t.Context())
		must(e.t, err)
		for _, v := range page.Versions {
			n[aws.ToString(v.Key)]++
		}
	}
	return n
}

// uploads lists the unfinished multipart uploads of keys. MinIO lists
// uploads only for an exact key, so each key is asked for.
func (e *env) uploads(keys ...string) []string {
	e.t.Helper()
	var left []string
	for _, k := range keys {
		out, err := e.admin.ListMultipartUploads(e.t.Context(), &s3.ListMultipartUploadsInput{Bucket: &e.bucket, Prefix: aws.String(k)})
		must(e.t, err)
		for _, u := range out.Uploads {
			left = append(left, "multipart upload of "+aws.ToString(u.Key))
		}
	}
	return left
}

// deleteVersions removes every version and delete marker, so testenv can
// delete the bucket.
func (e *env) deleteVersions() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pages := s3.NewListObjectVersionsPaginator(e.admin, &s3.ListObjectVersionsInput{Bucket: &e.bucket})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			e.t.Logf("list versions of %s: %v", e.bucket, err)
			return
		}
		var ids []types.ObjectIdentifier
		for _, v := range page.Versions {
			ids = append(ids, types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, d := range page.DeleteMarkers {
			ids = append(ids, types.ObjectIdentifier{Key: d.Key, VersionId: d.VersionId})
		}
		if len(ids) == 0 {
			continue
		}
		if _, err := e.admin.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &e.bucket, Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
			e.t.Logf("delete versions in %s: %v", e.bucket, err)
		}
	}
}

// randomBytes returns n incompressible bytes, the same for the same seed.
func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 8})
	r.Read(b)
	return b
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

func writeFile(t testing.TB, path string, body []byte) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(t, os.WriteFile(path, body, 0o644))
}

// tempFiles lists the temporary download files left under dir.
func tempFiles(dir string) []string {
	var left []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".s3bridge-") {
			left = append(left, "temporary file "+p)
		}
		return nil
	})
	return left
}

// clientLog is an HTTP transport that records each S3 request as the
// product's client saw it: when it began, and when it was over for the
// client (the round trip failed, or the response's body was read to its
// end or closed). A request the client abandons ends here at once; the
// proxy sees it end only once it has read what the socket still held.
type clientLog struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []faultproxy.Request
}

func (c *clientLog) RoundTrip(r *http.Request) (*http.Response, error) {
	op, bucket, key := faultproxy.Classify(r)
	c.mu.Lock()
	i := len(c.reqs)
	c.reqs = append(c.reqs, faultproxy.Request{Op: op, Bucket: bucket, Key: key, Start: time.Now()})
	c.mu.Unlock()
	resp, err := c.next.RoundTrip(r)
	if err != nil || resp.Body == nil {
		c.end(i)
		return resp, err
	}
	resp.Body = &endBody{ReadCloser: resp.Body, done: func() { c.end(i) }}
	return resp, nil
}

func (c *clientLog) end(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reqs[i].End.IsZero() {
		c.reqs[i].End = time.Now()
	}
}

// Requests returns a copy of the log.
func (c *clientLog) Requests() []faultproxy.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.reqs)
}

// endBody calls done once its reader ends or is closed.
type endBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *endBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(b.done)
	}
	return n, err
}

func (b *endBody) Close() error {
	b.once.Do(b.done)
	return b.ReadCloser.Close()
}
