package s3store

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

// transferConfig uses S3's minimum part size so multipart paths run on
// tens of MiB.
func transferConfig(m testenv.MinIO) Config {
	cfg := minioConfig(m)
	cfg.PartSize = 5 << 20
	cfg.Concurrency = 4
	return cfg
}

func TestUploadDownload(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	c := newClient(t, transferConfig(m))
	tests := []struct {
		name      string
		size      int
		file      bool  // upload from an *os.File (sections) instead of a plain reader
		offset    int64 // file position when Upload is called
		wantParts int   // 0 = single PutObject
	}{
		{name: "empty stream", size: 0},
		{name: "small stream", size: 1000},
		{name: "small file", size: 100 << 10, file: true},
		{name: "exactly one part stream", size: 5 << 20},
		{name: "multipart file", size: 40 << 20, file: true, wantParts: 8},
		{name: "multipart stream", size: 40<<20 + 123, wantParts: 9},
		{name: "multipart file from its current offset", size: 12 << 20, file: true, offset: 1 << 20, wantParts: 3},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			data := randomBytes(tt.size, uint64(i))
			key := fmt.Sprintf("dir/%d %s.bin", i, tt.name) // spaces: keys are not URL paths
			var src io.Reader = onlyReader{bytes.NewReader(data)}
			if tt.file {
				f := tempFile(t, data)
				if _, err := f.Seek(tt.offset, io.SeekStart); err != nil {
					t.Fatal(err)
				}
				src = f
			}
			want := data[tt.offset:]
			var progress []int64
			obj, err := c.Upload(ctx, bucket, key, src, s3bridge.PutOptions{
				ContentType: "application/x-test",
				Progress:    func(n int64) { progress = append(progress, n) },
			})
			if err != nil {
				t.Fatalf("Upload: %v", err)
			}
			if obj.Size != int64(len(want)) || obj.Key != key {
				t.Errorf("Upload = %+v, want size %d", obj, len(want))
			}
			if tt.wantParts > 0 && !strings.HasSuffix(obj.ETag, fmt.Sprintf(`-%d"`, tt.wantParts)) {
				t.Errorf("ETag %s, want a multipart ETag of %d parts", obj.ETag, tt.wantParts)
			}
			if len(progress) == 0 || progress[len(progress)-1] != int64(len(want)) || !slices.IsSorted(progress) {
				t.Errorf("progress %v, want increasing to %d", progress, len(want))
			}
			stat, err := c.Stat(ctx, bucket, key)
			if err != nil || stat.ETag != obj.ETag || stat.Size != obj.Size {
				t.Errorf("Stat = %+v, %v; want ETag %s size %d", stat, err, obj.ETag, obj.Size)
			}
			head, err := m.Admin(t).HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil || aws.ToString(head.ContentType) != "application/x-test" {
				t.Errorf("content type %q, %v", aws.ToString(head.ContentType), err)
			}
			checkDownload(t, c, bucket, key, want)
			checkOpen(t, c, bucket, key, want)
		})
	}
	assertNoUploads(t, m.Admin(t), bucket)
}

// checkDownload downloads key into a file and compares it with want.
func checkDownload(t *testing.T, c *Client, bucket, key string, want []byte) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "download"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var last int64
	obj, err := c.Download(t.Context(), bucket, key, f, func(n int64) { last = n })
	if err != nil {
		t.Fatalf("Download: %v", err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if sum(got) != sum(want) || obj.Size != int64(len(want)) || (len(want) > 0 && last != obj.Size) {
		t.Errorf("Download: %d bytes (progress %d, size %d), want %d identical bytes", len(got), last, obj.Size, len(want))
	}
}

// checkOpen streams key and compares it with want.
func checkOpen(t *testing.T, c *Client, bucket, key string, want []byte) {
	t.Helper()
	body, obj, err := c.Open(t.Context(), bucket, key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer body.Close()
	got, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if sum(got) != sum(want) || obj.Size != int64(len(want)) {
		t.Errorf("Open: %d bytes (size %d), want %d identical bytes", len(got), obj.Size, len(want))
	}
}

// TestUploadIfNoneMatch proves both halves of the no-overwrite check: the
// early Stat, and S3's atomic If-None-Match on PutObject and
// CompleteMultipartUpload for a writer that got there in between.
func TestUploadIfNoneMatch(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	c := newClient(t, transferConfig(m))
	ctx := t.Context()
	adminPut(t, m.Admin(t), bucket, "taken", []byte("first writer"))

	if _, err := c.Upload(ctx, bucket, "taken", strings.NewReader("second"), s3bridge.PutOptions{IfNoneMatch: true}); !errors.Is(err, s3bridge.ErrExists) {
		t.Errorf("Upload over an existing key = %v, want ErrExists", err)
	}
	if _, err := c.Upload(ctx, bucket, "free", strings.NewReader("new"), s3bridge.PutOptions{IfNoneMatch: true}); err != nil {
		t.Errorf("Upload to a free key: %v", err)
	}

	// Skip the early check, as if the other writer won the race after it.
	inRegion, err := c.inRegion(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	u := &upload{c: c, bucket: bucket, key: "taken", target: uri(bucket, "taken"), opts: s3bridge.PutOptions{IfNoneMatch: true}, inRegion: inRegion}
	if _, err := u.fromStream(ctx, strings.NewReader("small")); !errors.Is(err, s3bridge.ErrExists) {
		t.Errorf("PutObject If-None-Match = %v, want ErrExists", err)
	}
	big := randomBytes(12<<20, 7)
	if _, err := u.fromReaderAt(ctx, bytes.NewReader(big), 0, int64(len(big))); !errors.Is(err, s3bridge.ErrExists) {
		t.Errorf("CompleteMultipartUpload If-None-Match = %v, want ErrExists", err)
	}
	checkOpen(t, c, bucket, "taken", []byte("first writer"))
	assertNoUploads(t, m.Admin(t), bucket)
}

// TestUploadCancel cancels an upload once the first part is confirmed: the
// error is the cancellation and neither an object nor a multipart upload is
// left behind.
func TestUploadCancel(t *testing.T) {
	m := testenv.S3(t)
	tests := []struct {
		name string
		src  func(t *testing.T) io.Reader
	}{
		{"endless stream", func(*testing.T) io.Reader { return onlyReader{rand.NewChaCha8([32]byte{9})} }},
		{"file", func(t *testing.T) io.Reader { return tempFile(t, randomBytes(60<<20, 9)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bucket := m.Bucket(t)
			c := newClient(t, transferConfig(m))
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			_, err := c.Upload(ctx, bucket, "cancelled", tt.src(t), s3bridge.PutOptions{Progress: func(int64) { cancel() }})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Upload = %v, want context.Canceled", err)
			}
			assertNoUploads(t, m.Admin(t), bucket)
			if _, err := c.Stat(t.Context(), bucket, "cancelled"); !errors.Is(err, s3bridge.ErrNotFound) {
				t.Errorf("Stat after cancel = %v, want ErrNotFound", err)
			}
		})
	}
}

var errDiskOnFire = errors.New("disk on fire")

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errDiskOnFire }

// TestUploadReaderFails proves an input error aborts the upload, wherever
// it happens, and is returned to the caller.
func TestUploadReaderFails(t *testing.T) {
	m := testenv.S3(t)
	tests := []struct {
		name  string
		after int // bytes read before the error
	}{
		{"in the first part", 1 << 20},
		{"mid multipart", 12 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bucket := m.Bucket(t)
			c := newClient(t, transferConfig(m))
			src := onlyReader{io.MultiReader(bytes.NewReader(randomBytes(tt.after, 3)), failingReader{})}
			_, err := c.Upload(t.Context(), bucket, "broken", src, s3bridge.PutOptions{})
			if !errors.Is(err, errDiskOnFire) {
				t.Fatalf("Upload = %v, want the reader's error", err)
			}
			assertNoUploads(t, m.Admin(t), bucket)
			if _, err := c.Stat(t.Context(), bucket, "broken"); !errors.Is(err, s3bridge.ErrNotFound) {
				t.Errorf("Stat after a failed upload = %v, want ErrNotFound", err)
			}
		})
	}
}

// TestList proves pagination (pages of 10 for 26 keys) and delimiters.
func TestList(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	admin := m.Admin(t)
	var all []string
	for i := range 20 {
		all = append(all, fmt.Sprintf("a/%02d", i))
	}
	for i := range 5 {
		all = append(all, fmt.Sprintf("a/sub/%d", i))
	}
	for _, k := range append(all, "b/x") {
		adminPut(t, admin, bucket, k, []byte(k))
	}
	c := newClient(t, minioConfig(m))
	c.listPageSize = 10

	tests := []struct {
		prefix, delimiter string
		wantKeys          []string
		wantPrefixes      []string
	}{
		{"a/", "", all, nil},
		{"a/", "/", all[:20], []string{"a/sub/"}},
		{"", "/", nil, []string{"a/", "b/"}},
		{"a/sub/3", "", []string{"a/sub/3"}, nil},
		{"nothing/", "", nil, nil},
	}
	for _, tt := range tests {
		objects, prefixes, err := c.List(t.Context(), bucket, tt.prefix, tt.delimiter)
		if err != nil {
			t.Fatalf("List(%q, %q): %v", tt.prefix, tt.delimiter, err)
		}
		var keys []string
		for _, o := range objects {
			keys = append(keys, o.Key)
			if o.Size != int64(len(o.Key)) || o.ETag == "" || o.LastModified.IsZero() {
				t.Errorf("List(%q): object %+v lacks size, ETag or time", tt.prefix, o)
			}
		}
		if !slices.Equal(keys, tt.wantKeys) || !slices.Equal(prefixes, tt.wantPrefixes) {
			t.Errorf("List(%q, %q) = %v %v, want %v %v", tt.prefix, tt.delimiter, keys, prefixes, tt.wantKeys, tt.wantPrefixes)
		}
	}
	if _, _, err := c.List(t.Context(), "s3b-no-such-bucket", "", ""); !errors.Is(err, s3bridge.ErrNotFound) {
		t.Errorf("List of a missing bucket = %v, want ErrNotFound", err)
	}
}

// TestNotFound proves missing keys and buckets map to s3bridge.ErrNotFound
// with the SDK error still reachable, and that Delete is idempotent.
func TestNotFound(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	c := newClient(t, minioConfig(m))
	ctx := t.Context()
	_, statErr := c.Stat(ctx, bucket, "missing")
	_, _, openErr := c.Open(ctx, bucket, "missing")
	_, downloadErr := c.Download(ctx, bucket, "missing", nil, nil)
	_, bucketErr := c.Stat(ctx, "s3b-no-such-bucket", "k")
	for name, err := range map[string]error{"Stat": statErr, "Open": openErr, "Download": downloadErr, "Stat missing bucket": bucketErr} {
		var apiErr smithy.APIError
		if !errors.Is(err, s3bridge.ErrNotFound) || !errors.As(err, &apiErr) {
			t.Errorf("%s = %v, want ErrNotFound wrapping the SDK error", name, err)
		}
	}
	// What is wrong comes first, in words; then what was being done.
	if want := "object s3://" + bucket + "/missing not found at " + m.Endpoint + ": s3: get object s3://" + bucket + "/missing: "; !strings.HasPrefix(openErr.Error(), want) {
		t.Errorf("Open error %q, want prefix %q", openErr, want)
	}
	adminPut(t, m.Admin(t), bucket, "doomed", []byte("x"))
	for range 2 { // the second Delete finds nothing and still succeeds
		if err := c.Delete(ctx, bucket, "doomed"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	if _, err := c.Stat(ctx, bucket, "doomed"); !errors.Is(err, s3bridge.ErrNotFound) {
		t.Errorf("Stat after Delete = %v, want ErrNotFound", err)
	}
}

// TestBucketRegionMinIO proves detection asks the server (MinIO reports its
// region through GetBucketLocation) rather than echoing the configuration.
func TestBucketRegionMinIO(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	loc, err := m.Admin(t).GetBucketLocation(t.Context(), &s3.GetBucketLocationInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	want := cmp.Or(string(loc.LocationConstraint), "us-east-1")
	cfg := minioConfig(m)
	cfg.Region = "eu-west-3"
	c := newClient(t, cfg)
	got, err := c.BucketRegion(t.Context(), bucket)
	if err != nil || got != want {
		t.Fatalf("BucketRegion = %q, %v; want MinIO's %q", got, err, want)
	}
	roundTrip(t, c, bucket)
}
