package s3store

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/smithy-go/logging"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestNoCredentialsFound: with nothing in the environment, no shared files
// and an instance metadata service that has no role (here a fake one that
// answers 404, which also makes the SDK warn "falling back to IMDSv1"),
// the error says first that no credentials were found and how to give
// some, not "no EC2 IMDS role found" under the SDK's layers; and the SDK
// logs nothing of its own.
func TestNoCredentialsFound(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	var asked atomic.Int32
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.NotFound(w, r)
	}))
	defer imds.Close()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
		"AWS_ACCESS_KEY": "", "AWS_SECRET_KEY": "",
		"AWS_PROFILE": "", "AWS_DEFAULT_PROFILE": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"), "AWS_CONFIG_FILE": filepath.Join(dir, "config"),
		"AWS_EC2_METADATA_DISABLED": "", "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.URL,
		"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_S3": "",
	} {
		t.Setenv(k, v)
	}
	cfg := Config{Endpoint: m.Endpoint, Region: m.Region, Auth: AuthDefault, RetryMaxAttempts: 1}

	awsCfg, err := loadAWSConfig(t.Context(), cfg.withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := awsCfg.Logger.(logging.Nop); !ok {
		t.Errorf("the SDK's logger is %T, want logging.Nop: it writes to stderr ahead of our errors", awsCfg.Logger)
	}

	c := newClient(t, cfg)
	tests := []struct {
		name string
		do   func() error
		want string // the error's start
	}{
		{"request", func() error { _, err := c.BucketRegion(t.Context(), bucket); return err },
			noCredentials + ": s3: bucket region s3://" + bucket + ": failed to refresh cached credentials, no EC2 IMDS role found"},
		{"Credentials", func() error { return c.Credentials(t.Context()) },
			"s3: resolve credentials: " + noCredentials + ": failed to refresh cached credentials"},
	}
	for _, tt := range tests {
		err := tt.do()
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: got %v\nwant it to start %q", tt.name, err, tt.want)
		}
		if !errors.Is(err, ErrNoCredentials) {
			t.Errorf("%s: %v is not ErrNoCredentials", tt.name, err)
		}
		if strings.Contains(err.Error(), "get identity") {
			t.Errorf("%s: %v still carries the SDK's layers", tt.name, err)
		}
	}
	if asked.Load() == 0 {
		t.Error("the fake instance metadata service was never asked: the test didn't reach the default chain's last resort")
	}

	// Keys that are found but wrong are not "no credentials".
	wrong := minioConfig(m)
	wrong.SecretAccessKey = "s3b-wrong-secret"
	if _, _, err := newClient(t, wrong).List(t.Context(), bucket, "", ""); err == nil || errors.Is(err, ErrNoCredentials) {
		t.Errorf("wrong secret: %v, want an error that is not ErrNoCredentials", err)
	}
}
