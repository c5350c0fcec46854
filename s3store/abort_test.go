package s3store

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestAbortUploadsUnderAFolder: AbortUploads aborts the uploads under a
// folder prefix — MinIO takes a non-empty ListMultipartUploads prefix for
// an exact key, so a folder listed nothing and a killed pipeline's upload
// stayed (found by e2e TestPipelineS3Faults) — and leaves those outside
// it, newer than initiatedBefore, or refused by match.
func TestAbortUploadsUnderAFolder(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	c := newClient(t, transferConfig(m))
	ctx := t.Context()
	admin := m.Admin(t)
	start := func(key string) {
		t.Helper()
		if _, err := admin.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
			t.Fatal(err)
		}
	}
	left := func() map[string]bool {
		t.Helper()
		out, err := admin.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
		if err != nil {
			t.Fatal(err)
		}
		keys := map[string]bool{}
		for _, u := range out.Uploads {
			keys[aws.ToString(u.Key)] = true
		}
		return keys
	}
	for _, k := range []string{"cdc/db/public/t/changes/1.avro", "cdc/db/public/u/snapshot/X/part-00000.avro", "cdc/db/keep.avro", "other/db/x.avro", "cdc/dbx/y.avro"} {
		start(k)
	}
	n, err := c.AbortUploads(ctx, bucket, "cdc/db/", time.Now().Add(time.Second), func(key string) bool { return key != "cdc/db/keep.avro" })
	if err != nil || n != 2 {
		t.Fatalf("AbortUploads(cdc/db/) = %d, %v; want the 2 uploads under it", n, err)
	}
	got := left()
	for k, want := range map[string]bool{"cdc/db/public/t/changes/1.avro": false, "cdc/db/public/u/snapshot/X/part-00000.avro": false,
		"cdc/db/keep.avro": true, "other/db/x.avro": true, "cdc/dbx/y.avro": true} {
		if got[k] != want {
			t.Errorf("upload of %s left: %t, want %t", k, got[k], want)
		}
	}
	start("cdc/db/new.avro")
	if n, err := c.AbortUploads(ctx, bucket, "cdc/db/", time.Now().Add(-time.Hour), nil); err != nil || n != 0 {
		t.Errorf("AbortUploads of uploads before an hour ago = %d, %v; want none", n, err)
	}
}
