package s3store_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/s3store"
)

func TestPublic(t *testing.T) {
	m := testenv.S3(t)
	private, open := m.Bucket(t), m.Bucket(t)
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},
		"Action":["s3:ListBucket"],"Resource":["arn:aws:s3:::%s"]}]}`, open)
	if _, err := m.Admin(t).PutBucketPolicy(t.Context(), &s3.PutBucketPolicyInput{Bucket: aws.String(open), Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	c, err := s3store.New(t.Context(), s3store.Config{Endpoint: m.Endpoint, Region: m.Region, AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for bucket, want := range map[string]bool{private: false, open: true} {
		got, err := c.Public(t.Context(), bucket)
		if err != nil || got != want {
			t.Errorf("Public(%s) = %v, %v; want %v", bucket, got, err, want)
		}
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
