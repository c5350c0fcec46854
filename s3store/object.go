package s3store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3bridge/s3bridge"
)

func uri(bucket, key string) string { return s3bridge.Location{Bucket: bucket, Key: key}.String() }

// BucketRegion returns the bucket's region, detected once and cached (and
// asked once by callers that ask at the same time): from
// HeadBucket (S3 reports it even when it refuses the request), else
// GetBucketLocation (MinIO reports it only there), else the configured
// region. A missing bucket is an error satisfying s3bridge.ErrNotFound.
func (c *Client) BucketRegion(ctx context.Context, bucket string) (string, error) {
	if r, ok := c.regions.Load(bucket); ok {
		return r.(string), nil
	}
	if err := s3bridge.ValidateBucket(bucket); err != nil {
		return "", wrapErr("bucket region", "s3://"+bucket, err, onRead)
	}
	region, err := c.shared(ctx, "region "+bucket, func(ctx context.Context) (string, error) {
		if r, ok := c.regions.Load(bucket); ok {
			return r.(string), nil // detected by a call that just ended
		}
		region, err := c.detectRegion(ctx, bucket)
		if err != nil {
			return "", err
		}
		c.regions.Store(bucket, region)
		c.log.Debug("s3 bucket region", "bucket", bucket, "region", region)
		return region, nil
	})
	if err != nil {
		return "", wrapErr("bucket region", "s3://"+bucket, err, onRead)
	}
	return region, nil
}

func (c *Client) detectRegion(ctx context.Context, bucket string) (string, error) {
	inDefault := func(o *s3.Options) { o.Region = c.defaultRegion }
	out, err := c.api.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}, inDefault)
	if err == nil && aws.ToString(out.BucketRegion) != "" {
		return *out.BucketRegion, nil
	}
	if err != nil {
		var respErr *awshttp.ResponseError
		if !errors.As(err, &respErr) || respErr.HTTPStatusCode() == 0 {
			// No answer from the server (the SDK reports send errors as
			// status 0): don't cache a guess.
			return "", err
		}
		if r := respErr.Response.Header.Get("X-Amz-Bucket-Region"); r != "" {
			return r, nil
		}
		if respErr.HTTPStatusCode() == http.StatusNotFound {
			return "", err
		}
		if s := respErr.HTTPStatusCode(); s >= 500 && s != http.StatusNotImplemented {
			// The server is failing even after the SDK's retries:
			// GetBucketLocation would fail alike, and a guess cached now
			// would pin a wrong region for the client's lifetime.
			return "", err
		}
	}
	loc, err := c.api.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String(bucket)}, inDefault)
	if err != nil {
		// Not allowed to ask (anonymous, least-privilege roles): the
		// configured region is the best answer left.
		return c.defaultRegion, nil
	}
	switch r := string(loc.LocationConstraint); r {
	case "":
		return "us-east-1", nil // S3 reports us-east-1 as null
	case "EU":
		return "eu-west-1", nil
	default:
		return r, nil
	}
}

// inRegion returns the per-request option that signs for the bucket's
// region.
func (c *Client) inRegion(ctx context.Context, bucket string) (func(*s3.Options), error) {
	region, err := c.BucketRegion(ctx, bucket)
	if err != nil {
		return nil, err
	}
	return func(o *s3.Options) { o.Region = region }, nil
}

// List returns the objects under prefix and, when delimiter is set, the
// common prefixes one level down, following ListObjectsV2 pagination to the
// end. A missing bucket satisfies s3bridge.ErrNotFound; an empty prefix is
// not an error.
func (c *Client) List(ctx context.Context, bucket, prefix, delimiter string) ([]s3bridge.Object, []string, error) {
	inRegion, err := c.inRegion(ctx, bucket)
	if err != nil {
		return nil, nil, err
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}
	if delimiter != "" {
		in.Delimiter = aws.String(delimiter)
	}
	if c.listPageSize > 0 {
		in.MaxKeys = aws.Int32(c.listPageSize)
	}
	var objects []s3bridge.Object
	var prefixes []string
	pages := s3.NewListObjectsV2Paginator(c.api, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx, inRegion)
		if err != nil {
			return nil, nil, wrapErr("list", uri(bucket, prefix), err, onRead)
		}
		for _, o := range page.Contents {
			objects = append(objects, s3bridge.Object{
				Key:          aws.ToString(o.Key),
				Size:         aws.ToInt64(o.Size),
				ETag:         aws.ToString(o.ETag),
				LastModified: aws.ToTime(o.LastModified),
				StorageClass: string(o.StorageClass),
			})
		}
		for _, p := range page.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(p.Prefix))
		}
	}
	return objects, prefixes, nil
}

// Stat returns the object's metadata; a missing object or bucket satisfies
// s3bridge.ErrNotFound.
func (c *Client) Stat(ctx context.Context, bucket, key string) (s3bridge.Object, error) {
	inRegion, err := c.inRegion(ctx, bucket)
	if err != nil {
		return s3bridge.Object{}, err
	}
	out, err := c.api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}, inRegion)
	if err != nil {
		return s3bridge.Object{}, wrapErr("stat", uri(bucket, key), err, onRead)
	}
	return s3bridge.Object{
		Key:          key,
		Size:         aws.ToInt64(out.ContentLength),
		ETag:         aws.ToString(out.ETag),
		LastModified: aws.ToTime(out.LastModified),
		VersionID:    aws.ToString(out.VersionId),
		StorageClass: string(out.StorageClass),
		Metadata:     out.Metadata,
	}, nil
}

// AbortUploads aborts the incomplete multipart uploads under prefix that
// were initiated before initiatedBefore and whose key match accepts (nil:
// every key), following ListMultipartUploads pagination, and returns how
// many it aborted. It is for a writer taking over from a killed one, which
// could not abort its own: uploads initiated since are a live writer's and
// are left alone. An upload gone meanwhile counts as done.
func (c *Client) AbortUploads(ctx context.Context, bucket, prefix string, initiatedBefore time.Time, match func(key string) bool) (int, error) {
	inRegion, err := c.inRegion(ctx, bucket)
	if err != nil {
		return 0, err
	}
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}
	if !c.onAWS {
		// MinIO takes a non-empty Prefix here for an exact key, and so
		// lists nothing under a folder: list them all and filter below.
		in.Prefix = nil
	}
	n := 0
	for {
		page, err := c.api.ListMultipartUploads(ctx, in, inRegion)
		if err != nil {
			return n, wrapErr("list multipart uploads", uri(bucket, prefix), err, onRead)
		}
		for _, u := range page.Uploads {
			key := aws.ToString(u.Key)
			if !strings.HasPrefix(key, prefix) || !aws.ToTime(u.Initiated).Before(initiatedBefore) || (match != nil && !match(key)) {
				continue
			}
			_, err := c.api.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
				Bucket: aws.String(bucket), Key: aws.String(key), UploadId: u.UploadId,
			}, inRegion)
			var missing *types.NoSuchUpload
			if err != nil && !errors.As(err, &missing) {
				return n, wrapErr("abort multipart upload", uri(bucket, key), err, onWrite)
			}
			n++
		}
		if !aws.ToBool(page.IsTruncated) {
			return n, nil
		}
		in.KeyMarker, in.UploadIdMarker = page.NextKeyMarker, page.NextUploadIdMarker
	}
}

// Delete removes the object. Deleting a missing key succeeds, as in S3, so
// retries are idempotent.
func (c *Client) Delete(ctx context.Context, bucket, key string) error {
	inRegion, err := c.inRegion(ctx, bucket)
	if err != nil {
		return err
	}
	if _, err := c.api.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}, inRegion); err != nil {
		return wrapErr("delete", uri(bucket, key), err, onRead)
	}
	return nil
}

// exists reports whether the key exists, for the early If-None-Match check.
func (c *Client) exists(ctx context.Context, bucket, key string) (bool, error) {
	_, err := c.Stat(ctx, bucket, key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, s3bridge.ErrNotFound):
		return false, nil
	default:
		return false, err
	}
}

// Credentials resolves the client's credentials now (for assume_role, an STS
// AssumeRole call), so a role STS refuses is reported up front with STS's
// reason instead of at the first transfer.
func (c *Client) Credentials(ctx context.Context) error {
	if c.creds == nil {
		return nil
	}
	if _, err := c.creds.Retrieve(ctx); err != nil {
		return fmt.Errorf("s3: resolve credentials: %w", err)
	}
	return nil
}

var _ s3bridge.UploadAborter = (*Client)(nil)
