// Package s3store is s3bridge's object store: one client for AWS S3 and any
// S3-compatible endpoint (MinIO, Ceph, ...) on aws-sdk-go-v2. It owns the
// auth methods, bucket regions, listing, streaming and parallel downloads,
// multipart uploads, and the s3:// and ARN URIs users type. SDK errors stop
// here: callers branch on s3bridge.ErrNotFound, s3bridge.ErrExists,
// ErrAccessDenied, ErrChanged and ErrNoCredentials, and can still errors.As
// the SDK error.
package s3store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
	"golang.org/x/sync/singleflight"
)

// Defaults for Config fields left zero.
const (
	DefaultRetryMaxAttempts = 8
	DefaultPartSize         = 16 << 20
	DefaultConcurrency      = 8
	// DefaultRegion is used when neither the configuration nor the bucket
	// tells the region.
	DefaultRegion = "us-east-1"

	// S3's multipart limits.
	minPartSize = 5 << 20
	maxPartSize = 5 << 30
	maxParts    = 10000
)

// Auth methods for Config.Auth.
const (
	AuthDefault    = "default"     // SDK chain: env, shared config and profiles, SSO, IMDS...
	AuthBasic      = "basic"       // static AccessKeyID and SecretAccessKey
	AuthSession    = "session"     // static key plus SessionToken
	AuthAnonymous  = "anonymous"   // unsigned requests
	AuthAssumeRole = "assume_role" // STS AssumeRole of RoleARN
)

// Config says which endpoint to reach and how to authenticate. Secrets are
// tagged json:"-" and redacted by String and LogValue so a logged or
// serialized Config never carries them.
type Config struct {
	// Endpoint is the S3 base URL. Empty means AWS_ENDPOINT_URL_S3, then
	// AWS_ENDPOINT_URL, then AWS itself (the SDK's resolution).
	Endpoint string
	// Region is the default region: the one used for buckets whose region
	// can't be detected, and for STS. Empty means the SDK's (AWS_REGION,
	// profile), then us-east-1.
	Region string
	// PathStyle forces path-style (true) or virtual-host (false) addressing;
	// nil picks path style for IP-address and localhost endpoints, where
	// bucket subdomains can't resolve.
	PathStyle *bool
	// Auth is one of the Auth* constants. Empty infers it: assume_role when
	// RoleARN is set, session when SessionToken is, basic when AccessKeyID
	// is, the default chain otherwise.
	Auth            string
	AccessKeyID     string
	SecretAccessKey string `json:"-"`
	SessionToken    string `json:"-"`
	// Profile selects a shared config profile (else AWS_PROFILE).
	Profile string
	// ProfileFile is the shared credentials file the profile is read from
	// (else AWS_SHARED_CREDENTIALS_FILE, then ~/.aws/credentials).
	ProfileFile string
	// RoleARN, ExternalID and RoleSessionName configure assume_role. The base
	// credentials are the static key when given, else the default chain.
	RoleARN         string
	ExternalID      string
	RoleSessionName string
	// RoleDuration is how long an assumed role's credentials last (zero:
	// STS's default, an hour); they are renewed before they expire.
	RoleDuration time.Duration
	// STSEndpoint is the STS base URL for assume_role. Empty means
	// AWS_ENDPOINT_URL_STS, else the S3 endpoint when it is not AWS's (MinIO
	// serves STS at its root), else AWS STS.
	STSEndpoint string
	// RetryMaxAttempts bounds the attempts of each request (default 8).
	RetryMaxAttempts int
	// PartSize is the multipart upload and parallel download part size
	// (default 16 MiB, at least 5 MiB). Uploads of known size grow it to stay
	// within S3's 10,000 parts.
	PartSize int64
	// Concurrency is the number of parts in flight per transfer (default 8).
	// An upload from a plain io.Reader buffers at most PartSize*Concurrency.
	Concurrency int
	// HTTPClient replaces the SDK's HTTP client (tests). AWS_CA_BUNDLE is not
	// applied to it.
	HTTPClient *http.Client `json:"-"`

	// backoff replaces the retry backoff; tests use it to retry without
	// waiting.
	backoff retry.BackoffDelayer
}

// withDefaults fills zero fields and infers Auth.
func (c Config) withDefaults() Config {
	c.RetryMaxAttempts = cmp.Or(c.RetryMaxAttempts, DefaultRetryMaxAttempts)
	c.PartSize = cmp.Or(c.PartSize, DefaultPartSize)
	c.Concurrency = cmp.Or(c.Concurrency, DefaultConcurrency)
	if c.Auth == "" {
		switch {
		case c.RoleARN != "":
			c.Auth = AuthAssumeRole
		case c.SessionToken != "":
			c.Auth = AuthSession
		case c.AccessKeyID != "":
			c.Auth = AuthBasic
		default:
			c.Auth = AuthDefault
		}
	}
	return c
}

// Validate reports the first thing wrong with the configuration. Messages
// never include secret values.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch c.Auth {
	case AuthDefault, AuthAnonymous:
	case AuthBasic:
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return errors.New("s3: auth basic needs an access key ID and a secret access key")
		}
	case AuthSession:
		if c.AccessKeyID == "" || c.SecretAccessKey == "" || c.SessionToken == "" {
			return errors.New("s3: auth session needs an access key ID, a secret access key and a session token")
		}
	case AuthAssumeRole:
		if !strings.HasPrefix(c.RoleARN, "arn:") {
			return fmt.Errorf("s3: auth assume_role needs a role ARN, got %q", c.RoleARN)
		}
		if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
			return errors.New("s3: auth assume_role: give both access key ID and secret access key, or neither for the default chain")
		}
	default:
		return fmt.Errorf("s3: unknown auth method %q (want default, basic, session, anonymous or assume_role)", c.Auth)
	}
	for name, u := range map[string]string{"endpoint": c.Endpoint, "STS endpoint": c.STSEndpoint} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("s3: %s %q is not an http(s) URL", name, u)
		}
	}
	if c.PartSize < minPartSize || c.PartSize > maxPartSize {
		return fmt.Errorf("s3: part size %d outside S3's limits [5 MiB, 5 GiB]", c.PartSize)
	}
	if c.Concurrency < 1 || c.RetryMaxAttempts < 1 {
		return errors.New("s3: concurrency and retry max attempts must be at least 1")
	}
	return nil
}

// String describes the configuration with secrets redacted.
func (c Config) String() string {
	return fmt.Sprintf("s3store.Config{Endpoint:%q Region:%q Auth:%q AccessKeyID:%q SecretAccessKey:%s SessionToken:%s Profile:%q RoleARN:%q}",
		c.Endpoint, c.Region, c.Auth, c.AccessKeyID, redact(c.SecretAccessKey), redact(c.SessionToken), c.Profile, c.RoleARN)
}

// GoString keeps %#v from printing secrets.
func (c Config) GoString() string { return c.String() }

// LogValue makes slog print the configuration with secrets redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("endpoint", c.Endpoint),
		slog.String("region", c.Region),
		slog.String("auth", c.Auth),
		slog.String("access_key_id", c.AccessKeyID),
		slog.String("secret_access_key", redact(c.SecretAccessKey)),
		slog.String("session_token", redact(c.SessionToken)),
		slog.String("profile", c.Profile),
		slog.String("role_arn", c.RoleARN),
	)
}

func redact(s string) string {
	if s == "" {
		return `""`
	}
	return "REDACTED"
}

// Client is an S3 client bound to one endpoint and credentials. It is safe
// for concurrent use.
type Client struct {
	api           *s3.Client
	log           *slog.Logger
	partSize      int64
	concurrency   int
	defaultRegion string
	regions       sync.Map // bucket name -> region string
	tls           bool     // endpoint is https: bodies may go unsigned
	listPageSize  int32    // 0 = S3's 1000; tests lower it to prove pagination
	creds         aws.CredentialsProvider
	anon          *s3.Client         // unsigned, to tell public buckets
	public        sync.Map           // bucket name -> publicEntry
	flights       singleflight.Group // regions and public checks being asked (shared)
	onAWS         bool               // AWS S3 itself, whose GetBucketPolicyStatus is authoritative
}

// New builds a client. It makes no request: credentials and bucket regions
// are resolved on first use.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	awsCfg, err := loadAWSConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	// Resolve the S3 endpoint the way the SDK will (explicit, else env) so
	// path style and the STS default see the same one.
	endpoint := cfg.Endpoint
	probe := s3.NewFromConfig(awsCfg)
	if endpoint == "" && probe.Options().BaseEndpoint != nil {
		endpoint = *probe.Options().BaseEndpoint
	}
	awsCfg.Credentials, err = credentials(cfg, awsCfg, endpoint)
	if err != nil {
		return nil, err
	}
	opts := func(o *s3.Options) {
		if endpoint != "" {
			// Set here, not on aws.Config: the SDK lets AWS_ENDPOINT_URL_S3
			// override aws.Config.BaseEndpoint, and an explicit Endpoint wins.
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.UsePathStyle = usePathStyle(cfg.PathStyle, endpoint)
	}
	api := s3.NewFromConfig(awsCfg, opts)
	anonCfg := awsCfg.Copy()
	anonCfg.Credentials = aws.AnonymousCredentials{}
	// The anonymous probes retry as every request does: one 503 or reset
	// on a probe must not fail the transfer that asked (AccessDenied, the
	// usual answer, is not retried).
	anon := s3.NewFromConfig(anonCfg, opts)
	log.Debug("s3 client", "config", cfg, "resolved_endpoint", endpoint, "region", awsCfg.Region)
	return &Client{
		api:           api,
		log:           log,
		partSize:      cfg.PartSize,
		concurrency:   cfg.Concurrency,
		defaultRegion: awsCfg.Region,
		tls:           endpoint == "" || strings.HasPrefix(strings.ToLower(endpoint), "https://"),
		creds:         awsCfg.Credentials,
		anon:          anon,
		onAWS:         endpoint == "" || isAWS(endpoint),
	}, nil
}

// loadAWSConfig runs the SDK's config loading (env, shared files, profiles,
// AWS_CA_BUNDLE) with our retry, checksum and transport settings.
func loadAWSConfig(ctx context.Context, cfg Config) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return newRetryer(cfg) }),
		// S3-compatible servers often reject the SDK's default CRC trailers;
		// send and check checksums only where S3 requires them.
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
		// The SDK's logger writes to stderr ("WARN falling back to IMDSv1")
		// ahead of our own error, which already says what went wrong; the
		// client's log is ours (the slog.Logger New takes).
		config.WithLogger(logging.Nop{}),
	}
	if cfg.HTTPClient == nil {
		// A BuildableClient, so the SDK can still add AWS_CA_BUNDLE to it;
		// enough idle connections that parallel parts reuse them.
		opts = append(opts, config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConnsPerHost = max(2*cfg.Concurrency, awshttp.DefaultHTTPTransportMaxIdleConnsPerHost)
		})))
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.ProfileFile != "" {
		opts = append(opts, config.WithSharedCredentialsFiles([]string{cfg.ProfileFile}))
	}
	if cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cfg.Profile))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("s3: load AWS configuration: %w", err)
	}
	awsCfg.Credentials = lastResort(awsCfg.Credentials)
	if cfg.HTTPClient != nil {
		awsCfg.HTTPClient = cfg.HTTPClient
	}
	awsCfg.Region = cmp.Or(awsCfg.Region, DefaultRegion)
	return awsCfg, nil
}

// newRetryer is the SDK's standard retryer (exponential backoff with jitter;
// retries 5xx, connection errors, and throttling codes including S3's
// SlowDown) with more attempts than the SDK's 3, because a transfer task
// failing on a brief throttle costs far more than waiting.
func newRetryer(cfg Config) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = cfg.RetryMaxAttempts
		// An unreachable endpoint should fail in seconds, not minutes:
		// cap each wait (the SDK's default cap is 20s).
		o.MaxBackoff = 5 * time.Second
		// The client-wide retry quota would fail a long transfer outright
		// during a throttling burst; each request is already bounded by
		// MaxAttempts and backs off.
		o.RateLimiter = ratelimit.None
		if cfg.backoff != nil {
			o.Backoff = cfg.backoff
		}
	})
}

// usePathStyle decides addressing: bucket.host only works where DNS can
// resolve bucket subdomains, which is never the case for IP addresses and
// localhost.
func usePathStyle(forced *bool, endpoint string) bool {
	if forced != nil {
		return *forced
	}
	if endpoint == "" {
		return false
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	host := u.Hostname()
	return net.ParseIP(host) != nil || host == "localhost" || strings.HasSuffix(host, ".localhost")
}
