package s3store

import (
	"context"
	"errors"
)

// shared runs fn for key unless a call for key is already running, in
// which case it waits for that call's answer: a bucket's region or public
// verdict is asked of S3 once however many callers want it at the same
// moment (a CLI warming its client up while the task's runner starts).
// The call runs under the first caller's ctx; a caller whose own ctx is
// still alive when that ctx ended the call runs fn again itself, and a
// caller whose ctx ends first stops waiting.
func (c *Client) shared(ctx context.Context, key string, fn func(context.Context) (string, error)) (string, error) {
	ch := c.flights.DoChan(key, func() (any, error) { return fn(ctx) })
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case r := <-ch:
		if r.Err != nil && ctx.Err() == nil && (errors.Is(r.Err, context.Canceled) || errors.Is(r.Err, context.DeadlineExceeded)) {
			return fn(ctx)
		}
		v, _ := r.Val.(string)
		return v, r.Err
	}
}
