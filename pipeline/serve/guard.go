package serve

import (
	"context"
	"io"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/pipeline/writer"
)

// Guarded is store under the instance's own S3 policy, as loads, exports
// and transfers are: each request is allowed by guard first (nil guard:
// S3's policies alone decide).
func Guarded(store writer.Store, guard s3bridge.Guard) writer.Store {
	if guard == nil {
		return store
	}
	return guarded{store, guard}
}

type guarded struct {
	writer.Store
	guard s3bridge.Guard
}

func (g guarded) Upload(ctx context.Context, bucket, key string, r io.Reader, opts s3bridge.PutOptions) (s3bridge.Object, error) {
	if err := g.guard.Allow("s3:PutObject", s3bridge.Location{Bucket: bucket, Key: key}.ARN(), nil); err != nil {
		return s3bridge.Object{}, err
	}
	return g.Store.Upload(ctx, bucket, key, r, opts)
}

func (g guarded) List(ctx context.Context, bucket, prefix, delimiter string) ([]s3bridge.Object, []string, error) {
	cond := map[string][]string{"s3:prefix": {prefix}}
	if delimiter != "" {
		cond["s3:delimiter"] = []string{delimiter}
	}
	if err := g.guard.Allow("s3:ListBucket", s3bridge.Location{Bucket: bucket}.ARN(), cond); err != nil {
		return nil, nil, err
	}
	return g.Store.List(ctx, bucket, prefix, delimiter)
}

func (g guarded) Delete(ctx context.Context, bucket, key string) error {
	if err := g.guard.Allow("s3:DeleteObject", s3bridge.Location{Bucket: bucket, Key: key}.ARN(), nil); err != nil {
		return err
	}
	return g.Store.Delete(ctx, bucket, key)
}

func (g guarded) Open(ctx context.Context, bucket, key string) (io.ReadCloser, s3bridge.Object, error) {
	if err := g.guard.Allow("s3:GetObject", s3bridge.Location{Bucket: bucket, Key: key}.ARN(), nil); err != nil {
		return nil, s3bridge.Object{}, err
	}
	return g.Store.Open(ctx, bucket, key)
}
