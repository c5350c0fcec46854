package s3store

import (
	"context"
	"fmt"
	"github.com/s3bridge/s3bridge"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// copyBufferSize is each download worker's copy buffer: large enough that a
// file WriterAt sees few, large writes.
const copyBufferSize = 1 << 20

// Download writes the object into w with parallel ranged GETs of PartSize,
// Concurrency at a time, every range pinned to the ETag first seen so a
// concurrent overwrite fails with ErrChanged instead of mixing versions. A
// part whose connection breaks mid-body resumes from the byte reached.
// w gets parallel WriteAt calls on disjoint ranges, as io.WriterAt allows.
// progress, if not nil, gets the running total of bytes written, from one
// goroutine at a time. On error, w may hold part of the object.
func (c *Client) Download(ctx context.Context, bucket, key string, w io.WriterAt, progress func(n int64)) (s3bridge.Object, error) {
	obj, err := c.Stat(ctx, bucket, key)
	if err != nil {
		return s3bridge.Object{}, err
	}
	inRegion, err := c.inRegion(ctx, bucket)
	if err != nil {
		return s3bridge.Object{}, err
	}
	var mu sync.Mutex
	var written int64
	report := func(n int64) {
		mu.Lock()
		defer mu.Unlock()
		written += n
		if progress != nil {
			progress(written)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var failOnce sync.Once
	var firstErr error
	fail := func(err error) {
		failOnce.Do(func() { firstErr = err; cancel() })
	}

	starts := make(chan int64)
	var wg sync.WaitGroup
	workers := min(int64(c.concurrency), (obj.Size+c.partSize-1)/c.partSize)
	for range workers {
		wg.Go(func() {
			buf := make([]byte, copyBufferSize)
			for start := range starts {
				end := min(start+c.partSize, obj.Size) - 1
				if err := c.downloadRange(ctx, bucket, obj, start, end, w, buf, report, inRegion); err != nil {
					fail(err)
				}
			}
		})
	}
feed:
	for start := int64(0); start < obj.Size; start += c.partSize {
		select {
		case starts <- start:
		case <-ctx.Done():
			break feed
		}
	}
	close(starts)
	wg.Wait()
	if firstErr != nil {
		return s3bridge.Object{}, firstErr
	}
	if ctx.Err() != nil {
		return s3bridge.Object{}, fmt.Errorf("s3: download %s: %w", uri(bucket, key), context.Cause(ctx))
	}
	return obj, nil
}

// downloadRange fetches bytes [start, end] into w, resuming a broken body
// from the byte reached. The SDK retries failed requests; this retries what
// the SDK can't see, a body that breaks after the response began.
func (c *Client) downloadRange(ctx context.Context, bucket string, obj s3bridge.Object, start, end int64, w io.WriterAt, buf []byte, report func(int64), inRegion func(*s3.Options)) error {
	target := uri(bucket, obj.Key)
	off, lastOff, resumes := start, start, 0
	for {
		if ctx.Err() != nil {
			return nil // the caller reports why the download stopped
		}
		in := &s3.GetObjectInput{
			Bucket:  aws.String(bucket),
			Key:     aws.String(obj.Key),
			Range:   aws.String(fmt.Sprintf("bytes=%d-%d", off, end)),
			IfMatch: aws.String(obj.ETag),
		}
		if obj.VersionID != "" {
			in.VersionId = aws.String(obj.VersionID)
		}
		out, err := c.api.GetObject(ctx, in, inRegion)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return wrapErr("get object", fmt.Sprintf("%s bytes %d-%d", target, off, end), err, onRead)
		}
		pw := &partWriter{w: w, off: off, report: report}
		_, err = io.CopyBuffer(pw, io.LimitReader(out.Body, end+1-off), buf)
		out.Body.Close()
		off = pw.off
		if off > end {
			return nil
		}
		if pw.err != nil {
			return fmt.Errorf("s3: download %s: write at %d: %w", target, off, pw.err)
		}
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		if off-lastOff >= resumeProgress {
			resumes = 0
		}
		if resumes >= maxResumes {
			return markTransient(fmt.Errorf("s3: download %s at byte %d: gave up after %d reconnects: %w", target, off, resumes, err))
		}
		resumes++
		lastOff = off
		c.log.Info("s3 download part broke, resuming", "object", target, "offset", off, "resume", resumes, "cause", err)
	}
}

// partWriter writes sequentially into a WriterAt from an offset, reporting
// progress as it goes. It keeps a write error apart from read errors so a
// full disk isn't retried as a broken connection.
type partWriter struct {
	w      io.WriterAt
	off    int64
	report func(int64)
	err    error
}

func (p *partWriter) Write(b []byte) (int, error) {
	n, err := p.w.WriteAt(b, p.off)
	p.off += int64(n)
	p.report(int64(n))
	if err != nil {
		p.err = err
	}
	return n, err
}
