package s3store

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"

	"github.com/s3bridge/s3bridge"
)

// fakeConfig is a basic-auth Config for an httptest fake that retries
// without waiting.
func fakeConfig(endpoint string) Config {
	return Config{Endpoint: endpoint, Auth: AuthBasic, AccessKeyID: "AKIDFAKE", SecretAccessKey: "fake-secret", backoff: noWait}
}

func writeS3Error(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>fake</Message><RequestId>1</RequestId></Error>`, code)
}

func TestConfigRedactsSecrets(t *testing.T) {
	cfg := Config{Auth: AuthSession, AccessKeyID: "AKIDVISIBLE", SecretAccessKey: "SECRETVALUE", SessionToken: "TOKENVALUE"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "config", cfg)
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", cfg),
		"%+v":  fmt.Sprintf("%+v", cfg),
		"%#v":  fmt.Sprintf("%#v", cfg),
		"&%v":  fmt.Sprintf("%v", &cfg),
		"slog": logged.String(),
		"json": string(js),
	}
	for name, got := range outputs {
		if strings.Contains(got, "SECRETVALUE") || strings.Contains(got, "TOKENVALUE") {
			t.Errorf("%s leaks a secret: %s", name, got)
		}
	}
	if !strings.Contains(outputs["%v"], "AKIDVISIBLE") || !strings.Contains(outputs["slog"], "REDACTED") {
		t.Errorf("want the key ID shown and secrets marked REDACTED: %s / %s", outputs["%v"], outputs["slog"])
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // substring; "" = valid
	}{
		{"zero is the default chain", Config{}, ""},
		{"inferred basic", Config{AccessKeyID: "a", SecretAccessKey: "s"}, ""},
		{"basic without secret", Config{Auth: AuthBasic, AccessKeyID: "a"}, "secret access key"},
		{"session without token", Config{Auth: AuthSession, AccessKeyID: "a", SecretAccessKey: "SECRETVALUE"}, "session token"},
		{"inferred session", Config{AccessKeyID: "a", SecretAccessKey: "s", SessionToken: "t"}, ""},
		{"assume_role without ARN", Config{Auth: AuthAssumeRole}, "role ARN"},
		{"inferred assume_role", Config{RoleARN: "arn:aws:iam::123456789012:role/x"}, ""},
		{"assume_role with half a key", Config{RoleARN: "arn:aws:iam::1:role/x", AccessKeyID: "a"}, "both"},
		{"anonymous", Config{Auth: AuthAnonymous}, ""},
		{"unknown auth", Config{Auth: "kerberos"}, "unknown auth"},
		{"endpoint without scheme", Config{Endpoint: "127.0.0.1:9000"}, "not an http(s) URL"},
		{"small part size", Config{PartSize: 1 << 20}, "part size"},
		{"negative concurrency", Config{Concurrency: -1}, "concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want error containing %q", err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), "SECRETVALUE"):
				t.Errorf("Validate() leaks the secret: %v", err)
			}
		})
	}
}

func TestUsePathStyle(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		endpoint string
		forced   *bool
		want     bool
	}{
		{"", nil, false},
		{"https://s3.eu-west-1.amazonaws.com", nil, false},
		{"http://127.0.0.1:9000", nil, true},
		{"http://[::1]:9000", nil, true},
		{"http://localhost:9000", nil, true},
		{"http://minio.localhost", nil, true},
		{"https://minio.example.com", nil, false},
		{"https://minio.example.com", &yes, true},
		{"http://127.0.0.1:9000", &no, false},
	}
	for _, tt := range tests {
		if got := usePathStyle(tt.forced, tt.endpoint); got != tt.want {
			t.Errorf("usePathStyle(%v, %q) = %v, want %v", tt.forced, tt.endpoint, got, tt.want)
		}
	}
}

// TestEndpointFromEnv proves the SDK's AWS_ENDPOINT_URL_S3 and
// AWS_ENDPOINT_URL are used, that path style follows them, and that an
// explicit Endpoint wins.
func TestEndpointFromEnv(t *testing.T) {
	tests := []struct {
		name, envS3, envAll, explicit string
		wantEndpoint                  string
		wantPathStyle                 bool
	}{
		{"AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9999", "", "", "http://127.0.0.1:9999", true},
		{"AWS_ENDPOINT_URL", "", "http://localhost:9998", "", "http://localhost:9998", true},
		{"S3 over generic", "http://127.0.0.1:9999", "https://other.example.com", "", "http://127.0.0.1:9999", true},
		{"explicit wins", "http://127.0.0.1:9999", "", "https://s3.example.com", "https://s3.example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AWS_ENDPOINT_URL_S3", tt.envS3)
			t.Setenv("AWS_ENDPOINT_URL", tt.envAll)
			if tt.envS3 == "" {
				os.Unsetenv("AWS_ENDPOINT_URL_S3") // the SDK tests presence, not emptiness
			}
			if tt.envAll == "" {
				os.Unsetenv("AWS_ENDPOINT_URL")
			}
			c := newClient(t, Config{Endpoint: tt.explicit, Auth: AuthAnonymous})
			o := c.api.Options()
			if got := aws.ToString(o.BaseEndpoint); got != tt.wantEndpoint || o.UsePathStyle != tt.wantPathStyle {
				t.Errorf("endpoint %q path style %v, want %q %v", got, o.UsePathStyle, tt.wantEndpoint, tt.wantPathStyle)
			}
		})
	}
}

// TestRetry proves the retry policy against a fake S3: 5xx and SlowDown are
// retried up to RetryMaxAttempts (default 8), client errors are not.
func TestRetry(t *testing.T) {
	tests := []struct {
		name         string
		status       int
		code         string
		failures     int
		wantAttempts int32
		wantCode     string // "" = success
		wantIs       error
	}{
		{"503 SlowDown then success", 503, "SlowDown", 3, 4, "", nil},
		{"500 InternalError then success", 500, "InternalError", 2, 3, "", nil},
		{"SlowDown code retried whatever the status", 400, "SlowDown", 2, 3, "", nil},
		{"503 SlowDown until attempts run out", 503, "SlowDown", 100, DefaultRetryMaxAttempts, "SlowDown", nil},
		{"AccessDenied not retried", 403, "AccessDenied", 100, 1, "AccessDenied", ErrAccessDenied},
		{"NoSuchKey not retried", 404, "NoSuchKey", 100, 1, "NoSuchKey", s3bridge.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var gets atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.Method == http.MethodHead && r.URL.Path == "/bkt":
					w.Header().Set("X-Amz-Bucket-Region", "us-east-1")
				case r.Method == http.MethodGet && r.URL.Path == "/bkt/key":
					if int(gets.Add(1)) <= tt.failures {
						writeS3Error(w, tt.status, tt.code)
						return
					}
					w.Header().Set("ETag", `"abc"`)
					io.WriteString(w, "hello")
				default:
					writeS3Error(w, http.StatusNotImplemented, "NotImplemented")
				}
			}))
			defer srv.Close()
			c := newClient(t, fakeConfig(srv.URL))
			body, _, err := c.Open(t.Context(), "bkt", "key")
			if err == nil {
				got, _ := io.ReadAll(body)
				body.Close()
				if string(got) != "hello" {
					t.Errorf("body %q, want hello", got)
				}
			}
			if got := gets.Load(); got != tt.wantAttempts {
				t.Errorf("%d attempts, want %d", got, tt.wantAttempts)
			}
			var apiErr smithy.APIError
			switch {
			case tt.wantCode == "" && err != nil:
				t.Fatalf("Open: %v", err)
			case tt.wantCode != "" && (!errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.wantCode):
				t.Fatalf("Open = %v, want SDK error code %s", err, tt.wantCode)
			case tt.wantIs != nil && !errors.Is(err, tt.wantIs):
				t.Fatalf("Open = %v, want errors.Is %v", err, tt.wantIs)
			}
		})
	}
}

// TestBucketRegionDetection proves where the region comes from and that
// requests are then signed for it, with one detection per bucket.
func TestBucketRegionDetection(t *testing.T) {
	tests := []struct {
		name       string
		headStatus int
		headRegion string
		location   string // GetBucketLocation body; "" = AccessDenied
		want       string
		wantErr    error
	}{
		{"AWS redirect header", http.StatusMovedPermanently, "eu-central-1", "", "eu-central-1", nil},
		{"header on success", http.StatusOK, "ap-south-1", "", "ap-south-1", nil},
		{"header on forbidden", http.StatusForbidden, "sa-east-1", "", "sa-east-1", nil},
		{"GetBucketLocation EU", http.StatusOK, "", "EU", "eu-west-1", nil},
		{"GetBucketLocation null", http.StatusOK, "", "<null>", "us-east-1", nil},
		{"nothing allowed: configured region", http.StatusForbidden, "", "", "us-west-2", nil},
		{"no such bucket", http.StatusNotFound, "", "", "", s3bridge.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var heads atomic.Int32
			var mu sync.Mutex
			var objectAuth string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.Method == http.MethodHead && r.URL.Path == "/bkt":
					heads.Add(1)
					if tt.headRegion != "" {
						w.Header().Set("X-Amz-Bucket-Region", tt.headRegion)
					}
					w.WriteHeader(tt.headStatus)
				case r.Method == http.MethodGet && r.URL.Path == "/bkt" && r.URL.Query().Has("location"):
					switch tt.location {
					case "":
						writeS3Error(w, http.StatusForbidden, "AccessDenied")
					case "<null>":
						io.WriteString(w, `<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>`)
					default:
						fmt.Fprintf(w, `<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">%s</LocationConstraint>`, tt.location)
					}
				case r.Method == http.MethodHead && r.URL.Path == "/bkt/key":
					mu.Lock()
					objectAuth = r.Header.Get("Authorization")
					mu.Unlock()
					w.Header().Set("ETag", `"abc"`)
				default:
					writeS3Error(w, http.StatusNotImplemented, "NotImplemented")
				}
			}))
			defer srv.Close()
			cfg := fakeConfig(srv.URL)
			cfg.Region = "us-west-2"
			c := newClient(t, cfg)
			for range 2 {
				got, err := c.BucketRegion(t.Context(), "bkt")
				if got != tt.want || !errors.Is(err, tt.wantErr) {
					t.Fatalf("BucketRegion = %q, %v; want %q, %v", got, err, tt.want, tt.wantErr)
				}
			}
			if tt.wantErr != nil {
				return
			}
			if n := heads.Load(); n != 1 {
				t.Errorf("%d HeadBucket requests for two BucketRegion calls, want 1 (cached)", n)
			}
			if _, err := c.Stat(t.Context(), "bkt", "key"); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if scope := "/" + tt.want + "/s3/aws4_request"; !strings.Contains(objectAuth, scope) {
				t.Errorf("object request signed %q, want scope %s", objectAuth, scope)
			}
		})
	}
}

// TestCABundle proves AWS_CA_BUNDLE is honoured for https endpoints (a
// server trusted only through the bundle), and that bodies go as
// UNSIGNED-PAYLOAD over TLS. It sets the environment, so it isn't parallel.
func TestCABundle(t *testing.T) {
	var mu sync.Mutex
	var payloadHash string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodHead && r.URL.Path == "/bkt":
			w.Header().Set("X-Amz-Bucket-Region", "us-east-1")
		case r.Method == http.MethodPut && r.URL.Path == "/bkt/key":
			mu.Lock()
			payloadHash = r.Header.Get("X-Amz-Content-Sha256")
			mu.Unlock()
			io.Copy(io.Discard, r.Body)
			w.Header().Set("ETag", `"abc"`)
		default:
			writeS3Error(w, http.StatusNotImplemented, "NotImplemented")
		}
	}))
	defer srv.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("trusted through the bundle", func(t *testing.T) {
		t.Setenv("AWS_CA_BUNDLE", bundle)
		c := newClient(t, fakeConfig(srv.URL))
		obj, err := c.Upload(t.Context(), "bkt", "key", strings.NewReader("hello"), s3bridge.PutOptions{})
		if err != nil || obj.ETag != `"abc"` || obj.Size != 5 {
			t.Fatalf("Upload over https = %+v, %v", obj, err)
		}
		mu.Lock()
		defer mu.Unlock()
		if payloadHash != "UNSIGNED-PAYLOAD" {
			t.Errorf("x-amz-content-sha256 %q over TLS, want UNSIGNED-PAYLOAD", payloadHash)
		}
	})
	t.Run("refused without it", func(t *testing.T) {
		system := "/etc/ssl/certs/ca-certificates.crt"
		if _, err := os.Stat(system); err != nil {
			testenv.Unavailable(t, "the system CA bundle", err)
		}
		t.Setenv("AWS_CA_BUNDLE", system)
		cfg := fakeConfig(srv.URL)
		cfg.RetryMaxAttempts = 1
		c := newClient(t, cfg)
		_, err := c.BucketRegion(t.Context(), "bkt")
		var verr *tls.CertificateVerificationError
		if !errors.As(err, &verr) {
			t.Fatalf("BucketRegion against an untrusted server = %v, want a certificate verification error", err)
		}
	})
}
