package s3store

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestStage: a staged object is invisible, and an old one at its key
// readable, until Commit; Abort leaves the old one and no upload; empty,
// short and multi-part input all commit to exactly their bytes; IfNoneMatch
// refuses an existing key.
func TestStage(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	c := newClient(t, transferConfig(m))
	ctx := t.Context()
	read := func(key string) ([]byte, error) {
		t.Helper()
		r, _, err := c.Open(ctx, bucket, key)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		return io.ReadAll(r)
	}
	uploads := func(key string) int {
		t.Helper()
		out, err := m.Admin(t).ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Uploads)
	}
	for _, tt := range []struct {
		name string
		body []byte
	}{
		{"empty", nil},
		{"short", []byte("a,b\n1,2\n")},
		{"three parts", randomBytes(11<<20, 7)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			key := "stage/" + tt.name
			if _, err := c.Upload(ctx, bucket, key, bytes.NewReader([]byte("old")), s3bridge.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			st, err := c.Stage(ctx, bucket, key, io.NopCloser(bytes.NewReader(tt.body)), s3bridge.PutOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got, err := read(key); err != nil || string(got) != "old" {
				t.Fatalf("before Commit the key reads %.20q, %v; want the old object", got, err)
			}
			if st.Key() != key || st.Size() != int64(len(tt.body)) {
				t.Errorf("staged %s of %d bytes, want %s of %d", st.Key(), st.Size(), key, len(tt.body))
			}
			obj, err := st.Commit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := read(key); err != nil || !bytes.Equal(got, tt.body) || obj.Size != int64(len(tt.body)) {
				t.Errorf("after Commit: %d bytes (object says %d), %v; want the %d staged", len(got), obj.Size, err, len(tt.body))
			}

			st, err = c.Stage(ctx, bucket, key, bytes.NewReader([]byte("discarded")), s3bridge.PutOptions{})
			if err != nil {
				t.Fatal(err)
			}
			st.Abort(ctx)
			if got, err := read(key); err != nil || !bytes.Equal(got, tt.body) {
				t.Errorf("after Abort: %d bytes, %v; want the committed object", len(got), err)
			}
			if n := uploads(key); n != 0 {
				t.Errorf("%d multipart uploads left after Commit and Abort", n)
			}
			if _, err := c.Stage(ctx, bucket, key, bytes.NewReader(nil), s3bridge.PutOptions{IfNoneMatch: true}); !errors.Is(err, s3bridge.ErrExists) {
				t.Errorf("IfNoneMatch over an existing key: %v, want ErrExists", err)
			}
		})
	}
}
