package s3store

import (
	"context"
	"errors"
	"fmt"
	"github.com/s3bridge/s3bridge"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const (
	// maxResumes bounds reconnects that made less than resumeProgress bytes
	// of progress each, so a dead server fails the read instead of looping,
	// while a long read over a flaky link keeps going.
	maxResumes     = 5
	resumeProgress = 1 << 20
)

// Open streams the object. When the connection breaks mid-body (a reset or
// truncated response, not ctx), the reader reconnects with a Range request
// from the byte reached, pinned to the first response's ETag (and version)
// with If-Match, so a changed object fails with ErrChanged instead of mixing
// two versions. The caller must Close the reader.
func (c *Client) Open(ctx context.Context, bucket, key string) (io.ReadCloser, s3bridge.Object, error) {
	inRegion, err := c.inRegion(ctx, bucket)
	if err != nil {
		return nil, s3bridge.Object{}, err
	}
	out, err := c.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}, inRegion)
	if err != nil {
		return nil, s3bridge.Object{}, wrapErr("get object", uri(bucket, key), err, onRead)
	}
	obj := s3bridge.Object{
		Key:          key,
		Size:         aws.ToInt64(out.ContentLength),
		ETag:         aws.ToString(out.ETag),
		LastModified: aws.ToTime(out.LastModified),
		VersionID:    aws.ToString(out.VersionId),
	}
	return &resumeReader{c: c, ctx: ctx, bucket: bucket, obj: obj, inRegion: inRegion, body: out.Body}, obj, nil
}

// resumeReader is the body of Open.
type resumeReader struct {
	c        *Client
	ctx      context.Context // Open's: a read is part of that call's work
	bucket   string
	obj      s3bridge.Object
	inRegion func(*s3.Options)
	body     io.ReadCloser
	off      int64 // bytes returned so far
	resumes  int   // consecutive reconnects without resumeProgress
	lastOff  int64 // off at the last reconnect
	err      error // sticky error once the reader gave up
}

func (r *resumeReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for {
		n, err := r.body.Read(p)
		r.off += int64(n)
		switch {
		case err == io.EOF && r.off < r.obj.Size:
			err = io.ErrUnexpectedEOF // the server closed early
		case err != nil && r.off == r.obj.Size:
			err = io.EOF // broke after the last byte: nothing left to resume
		}
		if err == nil || err == io.EOF {
			return n, err
		}
		if rerr := r.resume(err); rerr != nil {
			r.err = rerr
			return n, rerr
		}
		if n > 0 {
			return n, nil
		}
	}
}

// resume replaces the broken body with a ranged GET from r.off, or returns
// the error to give up with.
func (r *resumeReader) resume(cause error) error {
	target := uri(r.bucket, r.obj.Key)
	if r.ctx.Err() != nil {
		return fmt.Errorf("s3: read %s: %w", target, r.ctx.Err())
	}
	if r.off-r.lastOff >= resumeProgress {
		r.resumes = 0
	}
	if r.resumes >= maxResumes {
		return markTransient(fmt.Errorf("s3: read %s at byte %d: gave up after %d reconnects: %w", target, r.off, r.resumes, cause))
	}
	r.resumes++
	r.lastOff = r.off
	r.body.Close()
	r.body = io.NopCloser(eofReader{}) // until replaced, so Close stays safe
	in := &s3.GetObjectInput{
		Bucket:  aws.String(r.bucket),
		Key:     aws.String(r.obj.Key),
		Range:   aws.String(fmt.Sprintf("bytes=%d-", r.off)),
		IfMatch: aws.String(r.obj.ETag),
	}
	if r.obj.VersionID != "" {
		in.VersionId = aws.String(r.obj.VersionID)
	}
	r.c.log.Info("s3 read broke, resuming", "object", target, "offset", r.off, "resume", r.resumes, "cause", cause)
	out, err := r.c.api.GetObject(r.ctx, in, r.inRegion)
	if err != nil {
		return wrapErr("resume get object", target, err, onRead)
	}
	r.body = out.Body
	return nil
}

func (r *resumeReader) Close() error {
	if r.err == nil {
		r.err = errors.New("s3: read after close")
	}
	return r.body.Close()
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
