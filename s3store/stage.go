package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/partpipe"
)

// Staged is an upload whose bytes S3 holds but does not show: the object
// appears, replacing any old one at its key, only when Commit succeeds, and
// Abort discards it. Writers of several objects that must replace old ones
// together (an export over an earlier export) stage them all first, so a
// failure before the commits leaves the old objects whole.
//
// A process that dies between Stage and Commit leaves an incomplete
// multipart upload, invisible to readers, which AbortMultipartUpload or the
// bucket's lifecycle rule for incomplete uploads removes.
type Staged struct {
	u     *upload
	id    string
	parts []types.CompletedPart
	size  int64
}

// Stage streams r into a multipart upload of key and returns once S3 holds
// every byte, without completing it. Even input smaller than one part goes
// through a multipart upload (one part, which may be short or empty). Memory
// stays at most PartSize*Concurrency, as for Upload. With opts.IfNoneMatch
// it fails up front if the key exists, and Commit fails if one appeared
// meanwhile. On failure nothing is left behind.
func (c *Client) Stage(ctx context.Context, bucket, key string, r io.Reader, opts s3bridge.PutOptions) (s3bridge.StagedObject, error) {
	target := uri(bucket, key)
	inRegion, err := c.inRegion(ctx, bucket)
	if err != nil {
		return nil, err
	}
	if opts.IfNoneMatch {
		exists, err := c.exists(ctx, bucket, key)
		if err != nil {
			return nil, err
		}
		if exists {
			return nil, fmt.Errorf("s3: upload %s: %w", target, s3bridge.ErrExists)
		}
	}
	u := &upload{c: c, bucket: bucket, key: key, target: target, opts: opts, inRegion: inRegion}
	// Created even when ctx ends meanwhile, then aborted: a create whose
	// response a cancel cut off would leave an upload no one knows of.
	createCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	created, err := c.api.CreateMultipartUpload(createCtx, u.createInput(), inRegion)
	cancel()
	if err != nil {
		return nil, wrapErr("create multipart upload", target, err, onWrite)
	}
	id := aws.ToString(created.UploadId)
	if err := ctx.Err(); err != nil {
		u.abort(ctx, id)
		return nil, fmt.Errorf("s3: upload %s: %w", target, err)
	}
	parts, size, err := u.sendParts(ctx, id, u.chunks(r, newBufferPool(u.c.concurrency, u.c.partSize), 0))
	if err != nil {
		u.abort(ctx, id)
		return nil, err
	}
	return &Staged{u: u, id: id, parts: parts, size: size}, nil
}

// chunks cuts r into parts of PartSize from pool, numbered after the
// sent parts already taken; with none sent, the first part is sent even
// when r is empty, since a multipart upload needs one.
func (u *upload) chunks(r io.Reader, pool *bufferPool, sent int32) func(context.Context) (part, error) {
	number := sent
	ended := false
	return func(ctx context.Context) (part, error) {
		if ended {
			return part{}, io.EOF
		}
		buf, err := pool.get(ctx)
		if err != nil {
			return part{}, err
		}
		n, err := fill(ctx, r, buf)
		if errors.Is(err, errGivenUp) {
			// buf stays with the writer, out of the pool: the upload
			// ends here.
			return part{}, err
		}
		switch {
		case err == io.EOF && number > 0:
			pool.put(buf)
			return part{}, io.EOF
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			ended = true
		case err != nil:
			pool.put(buf)
			return part{}, fmt.Errorf("read input: %w", err)
		}
		if number == maxParts {
			pool.put(buf)
			return part{}, fmt.Errorf("input exceeds %d parts of %d bytes: raise the part size", maxParts, u.c.partSize)
		}
		number++
		return part{number: number, body: bytes.NewReader(buf[:n]), size: int64(n), release: func() { pool.put(buf) }}, nil
	}
}

// errGivenUp marks a fill that ended while the writer held the buffer.
var errGivenUp = errors.New("input ended while filling a part")

// fill reads a whole part into buf, as io.ReadFull does. A partpipe reader
// has its writer write into buf itself, saving a copy of every byte; if
// ctx ends first, the writer may still hold buf, and the error wraps
// errGivenUp so that buf is not reused.
func fill(ctx context.Context, r io.Reader, buf []byte) (int, error) {
	pr, ok := r.(*partpipe.Reader)
	if !ok {
		return io.ReadFull(r, buf)
	}
	n, err := pr.Fill(ctx, buf)
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF && n == 0:
		return 0, io.EOF
	case err == io.EOF:
		return n, io.ErrUnexpectedEOF
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return 0, fmt.Errorf("%w: %w", errGivenUp, err)
	default:
		return 0, err
	}
}

// Key is the staged object's key.
func (s *Staged) Key() string { return s.u.key }

// Size is the staged object's size in bytes.
func (s *Staged) Size() int64 { return s.size }

// Commit completes the upload: the object appears, with its ETag in the
// result. On failure the upload is aborted; when the failure is a lost
// response, S3 may still have made the object visible.
func (s *Staged) Commit(ctx context.Context) (s3bridge.Object, error) {
	obj, err := s.u.complete(ctx, s.id, s.parts, s.size)
	if err != nil {
		s.u.abort(ctx, s.id)
	}
	return obj, err
}

// Abort discards the upload, even when ctx is cancelled.
func (s *Staged) Abort(ctx context.Context) { s.u.abort(ctx, s.id) }
