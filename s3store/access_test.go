package s3store_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/s3store"
)

// TestPublic: a bucket is public when its policy lets anyone without
// credentials read, list or write it, and the reason names what and which
// statement; grants pinned to a source range or to a named principal are
// not public.
func TestPublic(t *testing.T) {
	m := testenv.S3(t)
	c, err := s3store.New(t.Context(), s3store.Config{Endpoint: m.Endpoint, Region: m.Region, AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		statement string // %[1]s is the bucket; "" means no policy
		want      string // in the reason; "" means not public
	}{
		{"private", "", ""},
		{"download", `{"Sid":"Download","Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%[1]s/*"]}`,
			`anyone may read objects (bucket policy statement "Download")`},
		{"list only", `{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:ListBucket"],"Resource":["arn:aws:s3:::%[1]s"]}`,
			"anyone may list the bucket"},
		{"upload only", `{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::%[1]s/in/*"}`,
			"anyone may write objects (bucket policy Statement[0])"},
		{"source range", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%[1]s/*",
			"Condition":{"IpAddress":{"aws:SourceIp":"10.1.2.3/32"}}}`, ""},
		{"named principal", `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"s3:*","Resource":"arn:aws:s3:::%[1]s/*"}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bucket := m.Bucket(t)
			if tc.statement != "" {
				doc := `{"Version":"2012-10-17","Statement":[` + fmt.Sprintf(tc.statement, bucket) + `]}`
				if _, err := m.Admin(t).PutBucketPolicy(t.Context(), &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(doc)}); err != nil {
					t.Fatal(err)
				}
			}
			why, err := c.PublicReason(t.Context(), bucket)
			if err != nil || !strings.Contains(why, tc.want) || (tc.want == "") != (why == "") {
				t.Errorf("PublicReason = %q, %v; want %q", why, err, tc.want)
			}
			public, err := c.Public(t.Context(), bucket)
			if err != nil || public != (tc.want != "") {
				t.Errorf("Public = %v, %v; want %v", public, err, tc.want != "")
			}
		})
	}
}

func TestCredentialsAssumeRole(t *testing.T) {
	m := testenv.S3(t)
	cfg := s3store.Config{Endpoint: m.Endpoint, Region: m.Region, AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey,
		RoleARN: "arn:aws:iam::123456789012:role/s3bridge-test"}
	c, err := s3store.New(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Credentials(t.Context()); err != nil {
		t.Errorf("assume_role with MinIO STS: %v", err)
	}
	cfg.SecretAccessKey = "wrong-" + m.SecretKey
	c, err = s3store.New(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Credentials(t.Context()); err == nil {
		t.Error("assume_role with a wrong base secret: want STS's refusal")
	}
}
