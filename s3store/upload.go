package s3store

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3bridge/s3bridge"
)

// abortTimeout bounds the AbortMultipartUpload that runs after the caller's
// context is already cancelled.
const abortTimeout = time.Minute

// Upload stores r under key and returns only after S3 confirmed the write
// (PutObject or CompleteMultipartUpload), with the ETag and size (S3 doesn't
// return LastModified there; Stat has it). Input
// smaller than one part goes in a single PutObject; larger input goes in
// Concurrency parallel parts of PartSize. An io.ReaderAt that is also an
// io.Seeker (an *os.File) is uploaded from its current offset in sections
// read in place; any other reader is buffered, at most PartSize*Concurrency
// bytes. On any failure, including ctx cancellation, the multipart upload is
// aborted so no parts linger (billed, invisible) in the bucket.
func (c *Client) Upload(ctx context.Context, bucket, key string, r io.Reader, opts s3bridge.PutOptions) (s3bridge.Object, error) {
	target := uri(bucket, key)
	inRegion, err := c.inRegion(ctx, bucket)
	if err != nil {
		return s3bridge.Object{}, err
	}
	if opts.IfNoneMatch {
		// Fail before sending gigabytes; the conditional write at the end
		// still closes the race with a concurrent writer.
		exists, err := c.exists(ctx, bucket, key)
		if err != nil {
			return s3bridge.Object{}, err
		}
		if exists {
			return s3bridge.Object{}, fmt.Errorf("s3: upload %s: %w", target, s3bridge.ErrExists)
		}
	}
	u := &upload{c: c, bucket: bucket, key: key, target: target, opts: opts, inRegion: inRegion}
	if ra, base, size, ok := sectionSource(r); ok {
		return u.fromReaderAt(ctx, ra, base, size)
	}
	return u.fromStream(ctx, r)
}

// upload is one Upload call's state.
type upload struct {
	c        *Client
	bucket   string
	key      string
	target   string
	opts     s3bridge.PutOptions
	inRegion func(*s3.Options)

	mu   sync.Mutex
	done int64 // bytes confirmed, for Progress
}

// part is one part ready to send; release returns its buffer.
type part struct {
	number  int32
	body    io.ReadSeeker
	size    int64
	release func()
}

// sectionSource reports whether r can be read in place: an io.ReaderAt whose
// Seeker tells the remaining size (a pipe or terminal fails to seek).
func sectionSource(r io.Reader) (ra io.ReaderAt, base, size int64, ok bool) {
	ra, isAt := r.(io.ReaderAt)
	s, isSeeker := r.(io.Seeker)
	if !isAt || !isSeeker {
		return nil, 0, 0, false
	}
	base, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, 0, 0, false
	}
	end, err := s.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, 0, 0, false
	}
	if _, err := s.Seek(base, io.SeekStart); err != nil || end < base {
		return nil, 0, 0, false
	}
	return ra, base, end - base, true
}

func (u *upload) fromReaderAt(ctx context.Context, ra io.ReaderAt, base, size int64) (s3bridge.Object, error) {
	// Grow parts for big files to stay within S3's 10,000, rounded to MiB.
	partSize := max(u.c.partSize, ((size+maxParts-1)/maxParts+(1<<20)-1)&^((1<<20)-1))
	if size <= partSize {
		return u.put(ctx, io.NewSectionReader(ra, base, size), size)
	}
	var off int64
	var number int32
	next := func(context.Context) (part, error) {
		if off >= size {
			return part{}, io.EOF
		}
		n := min(partSize, size-off)
		number++
		p := part{number: number, body: io.NewSectionReader(ra, base+off, n), size: n, release: func() {}}
		off += n
		return p, nil
	}
	return u.multipart(ctx, next)
}

// headSize is what a stream upload holds before its input proves larger:
// a pipeline keeps a file's upload open per table it writes, most of them
// far smaller than a part, and each must not hold a part's memory.
const headSize = 256 << 10

func (u *upload) fromStream(ctx context.Context, r io.Reader) (s3bridge.Object, error) {
	head := make([]byte, headSize)
	n, err := fill(ctx, r, head)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return u.put(ctx, bytes.NewReader(head[:n]), int64(n))
	case err != nil:
		return s3bridge.Object{}, fmt.Errorf("s3: upload %s: read input: %w", u.target, err)
	}
	pool := newBufferPool(u.c.concurrency, u.c.partSize)
	first, err := pool.get(ctx)
	if err != nil {
		return s3bridge.Object{}, fmt.Errorf("s3: upload %s: %w", u.target, err)
	}
	copy(first, head)
	m, err := fill(ctx, r, first[n:])
	n += m
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return u.put(ctx, bytes.NewReader(first[:n]), int64(n))
	case err != nil:
		return s3bridge.Object{}, fmt.Errorf("s3: upload %s: read input: %w", u.target, err)
	}
	pending := &part{number: 1, body: bytes.NewReader(first), size: int64(n), release: func() { pool.put(first) }}
	rest := u.chunks(r, pool, 1)
	next := func(ctx context.Context) (part, error) {
		if pending != nil {
			p := *pending
			pending = nil
			return p, nil
		}
		return rest(ctx)
	}
	return u.multipart(ctx, next)
}

// put stores small input in one PutObject.
func (u *upload) put(ctx context.Context, body io.ReadSeeker, size int64) (s3bridge.Object, error) {
	in := &s3.PutObjectInput{
		Bucket:        aws.String(u.bucket),
		Key:           aws.String(u.key),
		Body:          body,
		ContentLength: aws.Int64(size),
	}
	if u.opts.ContentType != "" {
		in.ContentType = aws.String(u.opts.ContentType)
	}
	if len(u.opts.Metadata) > 0 {
		in.Metadata = u.opts.Metadata
	}
	if u.opts.IfNoneMatch {
		in.IfNoneMatch = aws.String("*")
	}
	out, err := u.c.api.PutObject(ctx, in, u.inRegion, u.c.payloadSigning)
	if err != nil {
		return s3bridge.Object{}, wrapErr("put object", u.target, err, onWrite)
	}
	u.confirmed(size)
	return s3bridge.Object{Key: u.key, Size: size, ETag: aws.ToString(out.ETag), VersionID: aws.ToString(out.VersionId)}, nil
}

func (u *upload) confirmed(n int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.done += n
	if u.opts.Progress != nil {
		u.opts.Progress(u.done)
	}
}

// multipart creates a multipart upload, sends the parts next yields with
// Concurrency workers, and completes it; on any failure it aborts it.
func (u *upload) multipart(ctx context.Context, next func(context.Context) (part, error)) (s3bridge.Object, error) {
	created, err := u.c.api.CreateMultipartUpload(ctx, u.createInput(), u.inRegion)
	if err != nil {
		return s3bridge.Object{}, wrapErr("create multipart upload", u.target, err, onWrite)
	}
	uploadID := aws.ToString(created.UploadId)
	completed, size, err := u.sendParts(ctx, uploadID, next)
	if err == nil {
		var obj s3bridge.Object
		if obj, err = u.complete(ctx, uploadID, completed, size); err == nil {
			return obj, nil
		}
	}
	u.abort(ctx, uploadID)
	return s3bridge.Object{}, err
}

// createInput is the CreateMultipartUpload request for the upload's key,
// carrying its content type and metadata.
func (u *upload) createInput() *s3.CreateMultipartUploadInput {
	in := &s3.CreateMultipartUploadInput{Bucket: aws.String(u.bucket), Key: aws.String(u.key)}
	if u.opts.ContentType != "" {
		in.ContentType = aws.String(u.opts.ContentType)
	}
	if len(u.opts.Metadata) > 0 {
		in.Metadata = u.opts.Metadata
	}
	return in
}

// sendParts uploads every part next yields and returns them in order with
// the total size, or the first error.
func (u *upload) sendParts(ctx context.Context, uploadID string, next func(context.Context) (part, error)) ([]types.CompletedPart, int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var firstErr error
	var completed []types.CompletedPart
	var size int64
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
	}
	parts := make(chan part)
	var wg sync.WaitGroup
	for range u.c.concurrency {
		wg.Go(func() {
			for p := range parts {
				etag, err := u.sendPart(ctx, uploadID, p)
				p.release()
				if err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				completed = append(completed, types.CompletedPart{PartNumber: aws.Int32(p.number), ETag: aws.String(etag)})
				size += p.size
				mu.Unlock()
				u.confirmed(p.size)
			}
		})
	}
	u.feed(ctx, parts, next, fail)
	close(parts)
	wg.Wait()
	if firstErr != nil {
		return nil, 0, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("s3: upload %s: %w", u.target, err)
	}
	slices.SortFunc(completed, func(a, b types.CompletedPart) int { return cmp.Compare(*a.PartNumber, *b.PartNumber) })
	return completed, size, nil
}

// feed hands parts to the workers until next is exhausted, fails, or ctx
// ends.
func (u *upload) feed(ctx context.Context, parts chan<- part, next func(context.Context) (part, error), fail func(error)) {
	for {
		p, err := next(ctx)
		if err == io.EOF {
			return
		}
		if err != nil {
			if ctx.Err() == nil {
				fail(fmt.Errorf("s3: upload %s: %w", u.target, err))
			}
			return
		}
		select {
		case parts <- p:
		case <-ctx.Done():
			p.release()
			return
		}
	}
}

func (u *upload) sendPart(ctx context.Context, uploadID string, p part) (string, error) {
	out, err := u.c.api.UploadPart(ctx, &s3.UploadPartInput{
		Bucket:        aws.String(u.bucket),
		Key:           aws.String(u.key),
		UploadId:      aws.String(uploadID),
		PartNumber:    aws.Int32(p.number),
		Body:          p.body,
		ContentLength: aws.Int64(p.size),
	}, u.inRegion, u.c.payloadSigning)
	if err != nil {
		return "", wrapErr(fmt.Sprintf("upload part %d of", p.number), u.target, err, onWrite)
	}
	return aws.ToString(out.ETag), nil
}

func (u *upload) complete(ctx context.Context, uploadID string, parts []types.CompletedPart, size int64) (s3bridge.Object, error) {
	in := &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(u.bucket),
		Key:             aws.String(u.key),
		UploadId:        aws.String(uploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	}
	if u.opts.IfNoneMatch {
		in.IfNoneMatch = aws.String("*")
	}
	out, err := u.c.api.CompleteMultipartUpload(ctx, in, u.inRegion)
	if err != nil {
		return s3bridge.Object{}, wrapErr("complete multipart upload", u.target, err, onWrite)
	}
	return s3bridge.Object{Key: u.key, Size: size, ETag: aws.ToString(out.ETag), VersionID: aws.ToString(out.VersionId)}, nil
}

// abort runs even when ctx is cancelled: the parts would otherwise stay in
// the bucket, billed and invisible to listings.
func (u *upload) abort(ctx context.Context, uploadID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	_, err := u.c.api.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket:   aws.String(u.bucket),
		Key:      aws.String(u.key),
		UploadId: aws.String(uploadID),
	}, u.inRegion)
	if err != nil {
		u.c.log.Error("s3 abort multipart upload", "object", u.target, "upload_id", uploadID, "err", err)
	}
}

// payloadSigning sends bodies as UNSIGNED-PAYLOAD over TLS, which already
// protects them, instead of hashing every byte once more before sending.
// Plain HTTP keeps the signed SHA-256 so the server checks the body.
func (c *Client) payloadSigning(o *s3.Options) {
	if c.tls {
		o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	}
}

// bufferPool hands out at most n part buffers, allocated on first use, so a
// small upload never allocates PartSize*Concurrency.
type bufferPool struct {
	free chan []byte
	mu   sync.Mutex
	made int
	n    int
	size int64
}

func newBufferPool(n int, size int64) *bufferPool {
	return &bufferPool{free: make(chan []byte, n), n: n, size: size}
}

func (b *bufferPool) get(ctx context.Context) ([]byte, error) {
	select {
	case buf := <-b.free:
		return buf, nil
	default:
	}
	b.mu.Lock()
	if b.made < b.n {
		b.made++
		b.mu.Unlock()
		return make([]byte, b.size), nil
	}
	b.mu.Unlock()
	select {
	case buf := <-b.free:
		return buf, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *bufferPool) put(buf []byte) { b.free <- buf[:cap(buf)] }
