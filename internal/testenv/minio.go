package testenv

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// MinIO is the S3-compatible server tests run against, with its root
// credentials.
type MinIO struct {
	Endpoint  string
	AccessKey string
	SecretKey string
	Region    string
}

// S3 returns the test MinIO (S3BRIDGE_TEST_S3_ENDPOINT, _ACCESS_KEY,
// _SECRET_KEY), after checking it is alive; when it isn't, the test skips
// locally and fails under CI=true.
func S3(t testing.TB) MinIO {
	t.Helper()
	m := MinIO{
		Endpoint:  env("S3BRIDGE_TEST_S3_ENDPOINT", "http://127.0.0.1:9123"),
		AccessKey: env("S3BRIDGE_TEST_S3_ACCESS_KEY", "s3bridgeadmin"),
		SecretKey: env("S3BRIDGE_TEST_S3_SECRET_KEY", "s3bridge-test-secret"),
		Region:    env("S3BRIDGE_TEST_S3_REGION", "us-east-1"),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.Endpoint+"/minio/health/live", nil)
	if err != nil {
		t.Fatalf("MinIO endpoint %q: %v", m.Endpoint, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = errors.New("health check: " + resp.Status)
		}
	}
	if err != nil {
		Unavailable(t, "MinIO at "+m.Endpoint, err)
	}
	return m
}

// Admin returns a plain SDK client with the root credentials, for test setup
// and assertions that must not go through the code under test.
func (m MinIO) Admin(t testing.TB) *s3.Client {
	t.Helper()
	// s3.New, not config.LoadDefaultConfig: tests change AWS_* variables and
	// the admin client must not follow them.
	return s3.New(s3.Options{
		Region:                     m.Region,
		BaseEndpoint:               aws.String(m.Endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(m.AccessKey, m.SecretKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// Bucket creates a fresh bucket for the test and, at cleanup, empties it
// (objects and unfinished multipart uploads) and deletes it.
func (m MinIO) Bucket(t testing.TB) string {
	t.Helper()
	admin := m.Admin(t)
	name := Name("s3b-")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	t.Cleanup(func() {
		// t.Context is already cancelled during cleanup.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := emptyBucket(ctx, admin, name); err != nil {
			t.Errorf("empty bucket %s: %v", name, err)
			return
		}
		if _, err := admin.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)}); err != nil {
			t.Errorf("delete bucket %s: %v", name, err)
		}
	})
	return name
}

func emptyBucket(ctx context.Context, admin *s3.Client, bucket string) error {
	objects := s3.NewListObjectsV2Paginator(admin, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for objects.HasMorePages() {
		page, err := objects.NextPage(ctx)
		if err != nil {
			return err
		}
		if len(page.Contents) == 0 {
			continue
		}
		ids := make([]types.ObjectIdentifier, len(page.Contents))
		for i, o := range page.Contents {
			ids[i] = types.ObjectIdentifier{Key: o.Key}
		}
		if _, err := admin.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(bucket),
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		}); err != nil {
			return err
		}
	}
	uploads := s3.NewListMultipartUploadsPaginator(admin, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	for uploads.HasMorePages() {
		page, err := uploads.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, u := range page.Uploads {
			if _, err := admin.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
				Bucket: aws.String(bucket), Key: u.Key, UploadId: u.UploadId,
			}); err != nil {
				return err
			}
		}
	}
	return nil
}
