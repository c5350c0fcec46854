package transfer_test

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"os"
	"path/filepath"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/s3store"
	"github.com/s3bridge/s3bridge/transfer"
)

// TestPublicBucketRefused: a bucket anyone may list, read from or write to
// is refused for file transfer, as RDS refuses it, and the refusal says
// why.
func TestPublicBucketRefused(t *testing.T) {
	tests := []struct {
		name, action, resource, why string
	}{
		{"list", "s3:ListBucket", "", "anyone may list the bucket"},
		{"download", "s3:GetObject", "/*", "anyone may read objects"},
		{"upload", "s3:PutObject", "/*", "anyone may write objects"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, databases[0].Open)
			doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["` + tc.action +
				`"],"Resource":["arn:aws:s3:::` + h.bucket + tc.resource + `"]}]}`
			_, err := h.minio.Admin(t).PutBucketPolicy(t.Context(), &s3.PutBucketPolicyInput{Bucket: aws.String(h.bucket), Policy: aws.String(doc)})
			must(t, err)
			h.put("a.csv", "x\n")
			writeFile(t, filepath.Join(h.area, "b.csv"), "y\n")
			h.fails(transfer.DownloadFileTask("s3://"+h.bucket+"/a.csv", "", false), "open to the public", tc.why)
			h.fails(transfer.UploadFileTask("b.csv", "s3://"+h.bucket+"/b.csv", false), "open to the public", tc.why)
			h.fails(transfer.UploadDirectoryTask(transfer.DirectoryUpload{Bucket: h.bucket, Directory: "DATA_PUMP_DIR"}), "open to the public", tc.why)
			if keys := h.keys(""); len(keys) != 1 {
				t.Errorf("upload to a public bucket went through: %v", keys)
			}
		})
	}
}

// TestPolicyFence: an instance's own policy decides before any byte moves,
// and a denial names the action, the resource and the deciding statement.
func TestPolicyFence(t *testing.T) {
	for _, db := range databases {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, db.Open)
			writeFile(t, filepath.Join(h.pump, "db1.dmp"), "one")
			writeFile(t, filepath.Join(h.pump, "secret.dmp"), "two")
			writeFile(t, filepath.Join(h.area, "a.csv"), "x\n")
			h.put("allowed/a.csv", "in")
			h.put("other/b.csv", "in")

			// Grants alone fence the instance to a bucket prefix.
			h.set.Grants = []s3bridge.Grant{{Feature: "S3_INTEGRATION", Bucket: h.bucket, Prefixes: []string{"allowed/"}}}
			h.attach()
			h.ok(transfer.UploadFileTask("a.csv", "s3://"+h.bucket+"/allowed/up.csv", false))
			h.fails(transfer.UploadFileTask("a.csv", "s3://"+h.bucket+"/other/up.csv", false),
				"s3:PutObject on arn:aws:s3:::"+h.bucket+"/other/up.csv: implicitDeny")
			h.ok(transfer.DownloadFileTask("s3://"+h.bucket+"/allowed/a.csv", "in1.csv", false))
			h.fails(transfer.DownloadFileTask("s3://"+h.bucket+"/other/b.csv", "in2.csv", false), "s3:GetObject on arn:aws:s3:::"+h.bucket+"/other/b.csv")
			h.fails(transfer.UploadDirectoryTask(transfer.DirectoryUpload{Bucket: h.bucket, S3Prefix: "other/", Directory: "DATA_PUMP_DIR"}), "s3:PutObject")
			if keys := h.keys("other/"); len(keys) != 1 {
				t.Errorf("a denied upload wrote objects: %v", keys)
			}

			// An attached policy document wins over grants; Deny beats Allow.
			h.set.Policy = []byte(`{"Version":"2012-10-17","Statement":[
				{"Sid":"All","Effect":"Allow","Action":"s3:*","Resource":"*"},
				{"Sid":"NoSecrets","Effect":"Deny","Action":"s3:PutObject","Resource":"arn:aws:s3:::*/*secret*"}]}`)
			h.attach()
			h.fails(transfer.UploadDirectoryTask(transfer.DirectoryUpload{Bucket: h.bucket, S3Prefix: "dir/", Directory: "DATA_PUMP_DIR"}),
				"s3:PutObject on arn:aws:s3:::"+h.bucket+"/dir/secret.dmp: explicitDeny by statement \"NoSecrets\"")
			if keys := h.keys("dir/"); len(keys) != 0 {
				t.Errorf("denied directory upload moved %v before the check", keys)
			}
			h.ok(transfer.UploadFileTask("a.csv", "s3://"+h.bucket+"/other/up2.csv", false))

			// The S3 server's own denial reads the same way.
			bad, err := s3store.New(t.Context(), s3store.Config{Endpoint: h.minio.Endpoint, Region: h.minio.Region,
				AccessKeyID: h.minio.AccessKey, SecretAccessKey: "wrong-" + h.minio.SecretKey}, nil)
			must(t, err)
			h.agent = newAgent(bad)
			d := h.fails(transfer.DownloadFileTask("s3://"+h.bucket+"/allowed/a.csv", "in3.csv", false),
				"s3:GetObject on arn:aws:s3:::"+h.bucket+"/allowed/a.csv: denied by the S3 server")
			if _, err := os.Stat(filepath.Join(h.area, "in3.csv")); err == nil {
				t.Errorf("task %d: denied download left a file", d.ID)
			}
		})
	}
}
