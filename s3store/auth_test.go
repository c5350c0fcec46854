package s3store

import (
	"errors"
	"fmt"
	"github.com/s3bridge/s3bridge"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

const testRoleARN = "arn:aws:iam::123456789012:role/s3bridge-test"

// roundTrip proves a client can write, stat, read and delete in bucket.
func roundTrip(t *testing.T, c *Client, bucket string) {
	t.Helper()
	ctx := t.Context()
	want := "auth round trip " + t.Name()
	key := "rt/" + t.Name() // parallel subtests share the bucket
	if _, err := c.Upload(ctx, bucket, key, strings.NewReader(want), s3bridge.PutOptions{}); err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if obj, err := c.Stat(ctx, bucket, key); err != nil || obj.Size != int64(len(want)) {
		t.Fatalf("Stat = %+v, %v", obj, err)
	}
	body, _, err := c.Open(ctx, bucket, key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	got, err := io.ReadAll(body)
	body.Close()
	if err != nil || string(got) != want {
		t.Fatalf("read %q, %v; want %q", got, err, want)
	}
	if err := c.Delete(ctx, bucket, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
}

// sessionCredentials gets temporary credentials from MinIO's STS with the
// root user, the way an operator would hand s3bridge a session token.
func sessionCredentials(t *testing.T, m testenv.MinIO) aws.Credentials {
	t.Helper()
	client := sts.New(sts.Options{
		Region:       m.Region,
		BaseEndpoint: aws.String(m.Endpoint),
		Credentials:  awscreds.NewStaticCredentialsProvider(m.AccessKey, m.SecretKey, ""),
	})
	out, err := client.AssumeRole(t.Context(), &sts.AssumeRoleInput{
		RoleArn:         aws.String(testRoleARN),
		RoleSessionName: aws.String("s3bridge-test"),
	})
	if err != nil {
		t.Fatalf("MinIO STS AssumeRole: %v", err)
	}
	return aws.Credentials{
		AccessKeyID:     aws.ToString(out.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(out.Credentials.SecretAccessKey),
		SessionToken:    aws.ToString(out.Credentials.SessionToken),
	}
}

// TestAuthStatic covers the auth methods configured in Config alone.
func TestAuthStatic(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	session := sessionCredentials(t, m)
	tests := []struct {
		name    string
		cfg     func(Config) Config
		wantErr error // nil = round trip works
	}{
		{"basic", func(c Config) Config { return c }, nil},
		{"basic inferred", func(c Config) Config { c.Auth = ""; return c }, nil},
		{"basic wrong secret", func(c Config) Config { c.SecretAccessKey = "wrong-secret"; return c }, ErrAccessDenied},
		{"basic unknown key", func(c Config) Config { c.AccessKeyID = "NOSUCHKEY"; return c }, ErrAccessDenied},
		{"session", func(c Config) Config {
			c.Auth, c.AccessKeyID, c.SecretAccessKey, c.SessionToken = AuthSession, session.AccessKeyID, session.SecretAccessKey, session.SessionToken
			return c
		}, nil},
		{"session with a bad token", func(c Config) Config {
			c.Auth, c.AccessKeyID, c.SecretAccessKey, c.SessionToken = AuthSession, session.AccessKeyID, session.SecretAccessKey, "not-a-token"
			return c
		}, ErrAccessDenied},
		{"assume_role from static base credentials", func(c Config) Config {
			c.Auth, c.RoleARN, c.RoleSessionName = AuthAssumeRole, testRoleARN, "s3bridge-test"
			return c
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := tt.cfg(minioConfig(m))
			cfg.RetryMaxAttempts = 2
			c := newClient(t, cfg)
			if tt.wantErr == nil {
				roundTrip(t, c, bucket)
				return
			}
			_, err := c.Upload(t.Context(), bucket, "denied.txt", strings.NewReader("x"), s3bridge.PutOptions{})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Upload = %v, want %v", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), cfg.SecretAccessKey) {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

// TestAssumeRoleUsesSTS proves assume_role credentials come from STS: with
// STS unreachable the same base credentials get nowhere.
func TestAssumeRoleUsesSTS(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	cfg := minioConfig(m)
	cfg.Auth, cfg.RoleARN = AuthAssumeRole, testRoleARN
	cfg.STSEndpoint = "http://127.0.0.1:1" // nothing listens on port 1
	cfg.RetryMaxAttempts = 1
	c := newClient(t, cfg)
	_, err := c.Stat(t.Context(), bucket, "any")
	if err == nil || !strings.Contains(err.Error(), "AssumeRole") {
		t.Fatalf("Stat with STS down = %v, want an AssumeRole error", err)
	}
}

// TestAuthAnonymous proves unsigned requests: reading a bucket whose policy
// allows anonymous GetObject works, writing is AccessDenied, and a private
// bucket refuses reads.
func TestAuthAnonymous(t *testing.T) {
	m := testenv.S3(t)
	admin := m.Admin(t)
	public, private := m.Bucket(t), m.Bucket(t)
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/*"]}]}`, public)
	if _, err := admin.PutBucketPolicy(t.Context(), &s3.PutBucketPolicyInput{Bucket: aws.String(public), Policy: aws.String(policy)}); err != nil {
		t.Fatalf("put bucket policy: %v", err)
	}
	adminPut(t, admin, public, "open.txt", []byte("anyone may read"))
	adminPut(t, admin, private, "closed.txt", []byte("secret"))

	c := newClient(t, Config{Endpoint: m.Endpoint, Auth: AuthAnonymous, RetryMaxAttempts: 2})
	body, obj, err := c.Open(t.Context(), public, "open.txt")
	if err != nil {
		t.Fatalf("anonymous Open of a public object: %v", err)
	}
	got, _ := io.ReadAll(body)
	body.Close()
	if string(got) != "anyone may read" || obj.Size != int64(len(got)) {
		t.Errorf("read %q (size %d)", got, obj.Size)
	}
	if _, err := c.Upload(t.Context(), public, "graffiti.txt", strings.NewReader("x"), s3bridge.PutOptions{}); !errors.Is(err, ErrAccessDenied) {
		t.Errorf("anonymous Upload = %v, want ErrAccessDenied", err)
	}
	if _, _, err := c.Open(t.Context(), private, "closed.txt"); !errors.Is(err, ErrAccessDenied) {
		t.Errorf("anonymous Open of a private object = %v, want ErrAccessDenied", err)
	}
}

// isolateAWSEnv points the SDK's shared files at empty temp paths and
// clears AWS_* credentials, so the default chain sees only what a test sets.
func isolateAWSEnv(t *testing.T) string {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_STS", "AWS_ROLE_ARN"} {
		t.Setenv(k, "")
		os.Unsetenv(k) // restored by t.Setenv's cleanup
	}
	return dir
}

// TestAuthDefaultChain covers the SDK default chain: environment variables
// and shared-file profiles (AWS_PROFILE and Config.Profile), with the
// endpoint from the environment or profile. It sets the environment, so it
// isn't parallel.
func TestAuthDefaultChain(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	writeProfile := func(t *testing.T, dir string) {
		creds := fmt.Sprintf("[s3b-test]\naws_access_key_id = %s\naws_secret_access_key = %s\n", m.AccessKey, m.SecretKey)
		conf := fmt.Sprintf("[profile s3b-test]\nregion = %s\nendpoint_url = %s\n", m.Region, m.Endpoint)
		if err := os.WriteFile(filepath.Join(dir, "credentials"), []byte(creds), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config"), []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) Config
	}{
		{"environment keys and AWS_ENDPOINT_URL_S3", func(t *testing.T, dir string) Config {
			t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey)
			t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey)
			t.Setenv("AWS_ENDPOINT_URL_S3", m.Endpoint)
			return Config{}
		}},
		{"AWS_PROFILE with endpoint_url", func(t *testing.T, dir string) Config {
			writeProfile(t, dir)
			t.Setenv("AWS_PROFILE", "s3b-test")
			return Config{Auth: AuthDefault}
		}},
		{"Config.Profile", func(t *testing.T, dir string) Config {
			writeProfile(t, dir)
			return Config{Auth: AuthDefault, Profile: "s3b-test", Endpoint: m.Endpoint}
		}},
		{"assume_role from the default chain", func(t *testing.T, dir string) Config {
			t.Setenv("AWS_ACCESS_KEY_ID", m.AccessKey)
			t.Setenv("AWS_SECRET_ACCESS_KEY", m.SecretKey)
			return Config{Endpoint: m.Endpoint, RoleARN: testRoleARN}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.setup(t, isolateAWSEnv(t))
			roundTrip(t, newClient(t, cfg), bucket)
		})
	}
}

// TestPlainHTTPWithCABundle proves a custom CA bundle (as set in this
// environment) doesn't break plain-HTTP endpoints.
func TestPlainHTTPWithCABundle(t *testing.T) {
	m := testenv.S3(t)
	if !strings.HasPrefix(m.Endpoint, "http://") {
		testenv.Unavailable(t, "a plain-HTTP MinIO", fmt.Errorf("endpoint is %s", m.Endpoint))
	}
	system := "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(system); err != nil {
		testenv.Unavailable(t, "the system CA bundle", err)
	}
	t.Setenv("AWS_CA_BUNDLE", system)
	roundTrip(t, newClient(t, minioConfig(m)), m.Bucket(t))
}
