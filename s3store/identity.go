package s3store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// CallerARN asks STS GetCallerIdentity whose credentials cfg's are, at the
// STS endpoint the SDK resolves (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL,
// else AWS's), for the trust policy of a role the agent is to assume.
// S3-compatible servers' STS (MinIO) mostly lack the call and fail here.
func CallerARN(ctx context.Context, cfg Config) (string, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return "", err
	}
	awsCfg, err := loadAWSConfig(ctx, cfg)
	if err != nil {
		return "", err
	}
	if awsCfg.Credentials, err = credentials(cfg, awsCfg, ""); err != nil {
		return "", err
	}
	out, err := sts.NewFromConfig(awsCfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("sts: get caller identity: %w", err)
	}
	return aws.ToString(out.Arn), nil
}
