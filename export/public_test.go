package export_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3bridge/s3bridge/export"
)

// TestPublicBucketRefused: an export into a bucket anyone may read is
// refused before anything is written, and the error says why the bucket is
// public, as a file transfer's does; nothing lands in it.
func TestPublicBucketRefused(t *testing.T) {
	h := newHarness(t, dbs[0])
	h.exec(dbs[0].table(3)...)
	doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/*"]}]}`, h.bucket)
	if _, err := h.minio.Admin(t).PutBucketPolicy(t.Context(), &s3.PutBucketPolicyInput{Bucket: aws.String(h.bucket), Policy: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	h.fails(export.Params{Query: "SELECT * FROM t", URI: h.uri("out/t"), Format: "csv"},
		"bucket "+h.bucket+" is open to the public: ", "anyone may read objects", "refuses to export there")
	if keys := h.keys(""); len(keys) != 0 {
		t.Errorf("objects written to a public bucket: %v", keys)
	}
}
