package s3store

import (
	"cmp"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// credentials returns the provider for cfg.Auth. awsCfg.Credentials already
// holds the SDK default chain (with cfg.Profile applied); endpoint is the
// resolved S3 endpoint, the STS fallback for S3-compatible servers.
func credentials(cfg Config, awsCfg aws.Config, endpoint string) (aws.CredentialsProvider, error) {
	switch cfg.Auth {
	case AuthBasic:
		return awscreds.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, ""), nil
	case AuthSession:
		return awscreds.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken), nil
	case AuthAnonymous:
		return aws.AnonymousCredentials{}, nil
	case AuthAssumeRole:
		return assumeRole(cfg, awsCfg, endpoint), nil
	default:
		return awsCfg.Credentials, nil
	}
}

// assumeRole returns cached STS AssumeRole credentials, refreshed by the
// cache before they expire.
func assumeRole(cfg Config, awsCfg aws.Config, endpoint string) aws.CredentialsProvider {
	base := awsCfg.Copy()
	if cfg.AccessKeyID != "" {
		base.Credentials = awscreds.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)
	}
	stsEndpoint := cfg.STSEndpoint
	if _, set := os.LookupEnv("AWS_ENDPOINT_URL_STS"); stsEndpoint == "" && !set && !isAWS(endpoint) {
		// An S3-compatible server (MinIO) serves STS at its S3 endpoint;
		// AWS_ENDPOINT_URL_STS, when set, is left to the SDK, and an AWS S3
		// endpoint is no STS endpoint.
		stsEndpoint = endpoint
	}
	client := sts.NewFromConfig(base, func(o *sts.Options) {
		if stsEndpoint != "" {
			o.BaseEndpoint = aws.String(stsEndpoint)
		}
	})
	provider := stscreds.NewAssumeRoleProvider(client, cfg.RoleARN, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = cmp.Or(cfg.RoleSessionName, "s3bridge")
		if cfg.ExternalID != "" {
			o.ExternalID = aws.String(cfg.ExternalID)
		}
		if cfg.RoleDuration > 0 {
			o.Duration = cfg.RoleDuration
		}
	})
	return aws.NewCredentialsCache(provider)
}

// isAWS reports whether an endpoint URL is AWS's own.
func isAWS(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return strings.HasSuffix(h, ".amazonaws.com") || strings.HasSuffix(h, ".amazonaws.com.cn")
}
