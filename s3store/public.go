package s3store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// publicTTL is how long a bucket's public-access verdict is reused.
const publicTTL = 5 * time.Minute

// Public reports whether anyone without credentials may list the bucket,
// read its objects or write to it: RDS refuses such buckets for file
// transfer, and so do we. PublicReason says why.
func (c *Client) Public(ctx context.Context, bucket string) (bool, error) {
	why, err := c.PublicReason(ctx, bucket)
	return why != "", err
}

// PublicReason returns why anyone without credentials may use the bucket,
// such as `anyone may read objects (bucket policy statement "Open")`, or ""
// when no one may. It asks, in order:
//
//   - GetPublicAccessBlock: with RestrictPublicBuckets set, S3 ignores the
//     policy's public grants, so only the anonymous probes below count;
//   - GetBucketPolicyStatus: IsPublic true is public; on AWS itself false is
//     final for the policy, elsewhere (MinIO answers false for any policy)
//     the policy is read as below;
//   - GetBucketPolicy, with the client's credentials: an Allow statement for
//     an anonymous principal (Principal "*", {"AWS":"*"}, or NotPrincipal)
//     of s3:GetObject, s3:ListBucket or s3:PutObject, without a condition
//     that pins the caller (source IP, VPC, account, ARN...), is public. A
//     server that refuses or lacks the call leaves the probes to decide;
//   - anonymous requests: a ListObjectsV2 that succeeds, and a GetObject of
//     a key that doesn't exist answered NoSuchKey rather than AccessDenied
//     (covering ACLs and servers without policy APIs).
//
// Off AWS the five requests go out at once and their answers are weighed
// in the order above, so a cold check costs one round trip instead of
// five; on AWS they go one at a time, as the verdict needs them, so a
// least-privilege role sees no call it is not granted.
//
// The reason holds no secret. The answer is cached for a few minutes per
// bucket, and callers asking at the same time share one check; errors are
// not cached.
func (c *Client) PublicReason(ctx context.Context, bucket string) (string, error) {
	if why, ok := c.publicCached(bucket); ok {
		return why, nil
	}
	// Callers asking at the same time share one check.
	return c.shared(ctx, "public "+bucket, func(ctx context.Context) (string, error) {
		if why, ok := c.publicCached(bucket); ok {
			return why, nil // checked by a call that just ended
		}
		return c.publicReason(ctx, bucket)
	})
}

// publicCached is the bucket's verdict if one younger than publicTTL is
// cached.
func (c *Client) publicCached(bucket string) (string, bool) {
	if v, ok := c.public.Load(bucket); ok {
		if e := v.(publicEntry); time.Since(e.at) < publicTTL {
			return e.reason, true
		}
	}
	return "", false
}

// publicReason is PublicReason's check, its answer cached.
func (c *Client) publicReason(ctx context.Context, bucket string) (string, error) {
	inRegion, err := c.inRegion(ctx, bucket)
	if err != nil {
		return "", err
	}
	ask := c.publicAsk(ctx, bucket, inRegion)
	if !c.onAWS {
		var wg sync.WaitGroup
		defer wg.Wait() // every request has ended when PublicReason returns
		ask = ask.ahead(&wg)
	}
	why := ""
	if !c.restrictsPublic(bucket, ask) {
		if why, err = c.policyExposure(bucket, ask); err != nil {
			return "", err
		}
	}
	if why == "" {
		if why, err = c.anonymousExposure(bucket, ask); err != nil {
			return "", err
		}
	}
	c.public.Store(bucket, publicEntry{reason: why, at: time.Now()})
	return why, nil
}

type publicEntry struct {
	reason string
	at     time.Time
}

// publicAsk makes the requests PublicReason weighs, each asked at most
// once.
type publicAsk struct {
	block  func() (*s3.GetPublicAccessBlockOutput, error)
	status func() (*s3.GetBucketPolicyStatusOutput, error)
	policy func() (*s3.GetBucketPolicyOutput, error)
	list   func() (*s3.ListObjectsV2Output, error) // anonymous
	get    func() (*s3.GetObjectOutput, error)     // anonymous, of probeKey; the body is closed
	// probeKey is a key that doesn't exist: a server that lets anyone
	// read answers NoSuchKey, one that doesn't answers AccessDenied first.
	probeKey string
}

func (c *Client) publicAsk(ctx context.Context, bucket string, inRegion func(*s3.Options)) publicAsk {
	b := aws.String(bucket)
	key := ".s3bridge-public-probe-" + randomHex()
	return publicAsk{
		block: func() (*s3.GetPublicAccessBlockOutput, error) {
			return c.api.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b}, inRegion)
		},
		status: func() (*s3.GetBucketPolicyStatusOutput, error) {
			return c.api.GetBucketPolicyStatus(ctx, &s3.GetBucketPolicyStatusInput{Bucket: b}, inRegion)
		},
		policy: func() (*s3.GetBucketPolicyOutput, error) {
			return c.api.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b}, inRegion)
		},
		list: func() (*s3.ListObjectsV2Output, error) {
			return c.anon.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: b, MaxKeys: aws.Int32(1)}, inRegion)
		},
		get: func() (*s3.GetObjectOutput, error) {
			out, err := c.anon.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String(key)}, inRegion)
			if err == nil {
				out.Body.Close()
			}
			return out, err
		},
		probeKey: key,
	}
}

// ahead starts every request of a now, each in a goroutine of wg, and
// returns the asks that wait for their answers.
func (a publicAsk) ahead(wg *sync.WaitGroup) publicAsk {
	return publicAsk{block: started(wg, a.block), status: started(wg, a.status), policy: started(wg, a.policy),
		list: started(wg, a.list), get: started(wg, a.get), probeKey: a.probeKey}
}

// started runs f in a goroutine of wg and returns a function that waits
// for its result.
func started[T any](wg *sync.WaitGroup, f func() (T, error)) func() (T, error) {
	var (
		v    T
		err  error
		done = make(chan struct{})
	)
	wg.Go(func() {
		defer close(done)
		v, err = f()
	})
	return func() (T, error) {
		<-done
		return v, err
	}
}

// restrictsPublic reports whether the bucket's PublicAccessBlock has S3
// ignore public policy grants. Any failure to tell (servers without the
// call, no permission to ask) reads as no block: the policy is then
// examined, which can only make the verdict stricter.
func (c *Client) restrictsPublic(bucket string, ask publicAsk) bool {
	out, err := ask.block()
	if err != nil {
		c.log.Debug("s3 public access block unknown", "bucket", bucket, "err", err)
		return false
	}
	return out.PublicAccessBlockConfiguration != nil && aws.ToBool(out.PublicAccessBlockConfiguration.RestrictPublicBuckets)
}

// policyExposure is the bucket policy's part of PublicReason.
func (c *Client) policyExposure(bucket string, ask publicAsk) (string, error) {
	status, err := ask.status()
	switch {
	case err == nil && status.PolicyStatus != nil:
		if !aws.ToBool(status.PolicyStatus.IsPublic) && c.onAWS {
			return "", nil
		}
		if aws.ToBool(status.PolicyStatus.IsPublic) {
			// Name the statement if we can read the policy; S3's verdict
			// stands either way.
			if why, err := c.policyGrant(bucket, ask); err == nil && why != "" {
				return why, nil
			}
			return "the bucket policy is public (S3's GetBucketPolicyStatus)", nil
		}
	case err != nil && noAnswer(err):
		return "", wrapErr("check public access of", "s3://"+bucket, err, onRead)
	case err != nil:
		c.log.Debug("s3 bucket policy status unknown", "bucket", bucket, "err", err)
	}
	return c.policyGrant(bucket, ask)
}

// policyGrant reads the bucket policy and returns why it is public, or ""
// when it is not, there is none, or the server won't say.
func (c *Client) policyGrant(bucket string, ask publicAsk) (string, error) {
	out, err := ask.policy()
	if err != nil {
		if apiCode(err) == "NoSuchBucketPolicy" {
			return "", nil
		}
		if unsupported(err) {
			// Not allowed to read the policy, or no policies at all: the
			// anonymous probes decide.
			c.log.Debug("s3 bucket policy unreadable", "bucket", bucket, "err", err)
			return "", nil
		}
		return "", wrapErr("read the bucket policy of", "s3://"+bucket, err, onRead)
	}
	why, err := publicGrant([]byte(aws.ToString(out.Policy)))
	if err != nil {
		return "", fmt.Errorf("s3: read the bucket policy of s3://%s: %w", bucket, err)
	}
	return why, nil
}

// anonymousExposure asks the bucket without credentials.
func (c *Client) anonymousExposure(bucket string, ask publicAsk) (string, error) {
	_, err := ask.list()
	if err == nil {
		return "anyone may list the bucket (an anonymous ListObjectsV2 succeeded)", nil
	}
	if !errors.Is(interpret(err, onRead), ErrAccessDenied) {
		return "", wrapErr("check public access of", "s3://"+bucket, err, onRead)
	}
	_, err = ask.get()
	switch {
	case err == nil:
		return "anyone may read objects (an anonymous GetObject succeeded)", nil
	case apiCode(err) == "NoSuchKey":
		return "anyone may read objects (an anonymous GetObject of a missing key got NoSuchKey, not AccessDenied)", nil
	case errors.Is(interpret(err, onRead), ErrAccessDenied):
		return "", nil
	}
	return "", wrapErr("check public access of", uri(bucket, ask.probeKey), err, onRead)
}

func randomHex() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// apiCode is S3's error code, or "".
func apiCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// noAnswer reports errors where the server said nothing: a cancelled
// context or no HTTP response at all (the SDK reports send errors as
// status 0).
func noAnswer(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var respErr *awshttp.ResponseError
	return !errors.As(err, &respErr) || respErr.HTTPStatusCode() == 0
}

// unsupported reports a server's answer that it won't or can't serve a
// policy call: denied, not implemented, or not a method it knows.
func unsupported(err error) bool {
	if noAnswer(err) {
		return false
	}
	switch apiCode(err) {
	case "AccessDenied", "NotImplemented", "MethodNotAllowed":
		return true
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) {
		switch respErr.HTTPStatusCode() {
		case http.StatusForbidden, http.StatusNotImplemented, http.StatusMethodNotAllowed:
			return true
		}
	}
	return false
}
