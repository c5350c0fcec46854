package export

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/s3store"
)

// writeBuffer batches encoded rows before they go through the compressor
// and the pipe, so a row costs no more than a copy.
const writeBuffer = 256 << 10

// parts writes an export's files one after the other. Each part streams
// through an io.Pipe into its own Upload, so memory stays flat whatever the
// result's size: the encoder blocks while S3 catches up.
type parts struct {
	store     ObjectStore
	guard     Guard
	bucket    string
	names     names
	overwrite bool
	compress  string
	content   string // Content-Type
	progress  func(done int64)

	cur  *part
	done []s3store.Object // completed parts, in order
	// unsure are keys whose upload failed or was aborted: S3 may still
	// have stored one (a response lost to a cancel), so a cleanup deletes
	// them too.
	unsure []string

	mu        sync.Mutex
	confirmed int64 // bytes of completed parts S3 confirmed
}

// part is one file being written.
type part struct {
	key    string
	pw     *io.PipeWriter
	buf    *bufio.Writer
	comp   io.WriteCloser // nil when not compressing
	top    int64          // bytes the encoder wrote
	bottom countWriter    // bytes that reached the pipe
	result chan uploadResult
}

type uploadResult struct {
	obj s3store.Object
	err error
}

func (p *part) Write(b []byte) (int, error) {
	n, err := p.buf.Write(b)
	p.top += int64(n)
	return n, err
}

// size is the part's size so far: exact for plain output, and what the
// compressor has emitted for compressed output (it holds back at most its
// block).
func (p *part) size() int64 {
	if p.comp != nil {
		return p.bottom.n
	}
	return p.top
}

// open starts part number len(done), after checking the instance's policy
// allows writing it.
func (ps *parts) open(ctx context.Context) (*part, error) {
	key := ps.names.part(len(ps.done))
	if err := ps.guard.Allow("s3:PutObject", objectARN(ps.bucket, key), nil); err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	p := &part{key: key, pw: pw, result: make(chan uploadResult, 1)}
	p.bottom.w = pw
	var under io.Writer = &p.bottom
	switch ps.compress {
	case CompressGzip:
		p.comp = gzip.NewWriter(under)
	case CompressZstd:
		// One encoder goroutine: the database, not the compressor, should be
		// the bottleneck, and memory stays small.
		z, err := zstd.NewWriter(under, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		p.comp = z
	}
	if p.comp != nil {
		under = p.comp
	}
	p.buf = bufio.NewWriterSize(under, writeBuffer)
	base := ps.confirmedBytes()
	go func() {
		obj, err := ps.store.Upload(ctx, ps.bucket, key, pr, s3store.PutOptions{
			ContentType: ps.content,
			IfNoneMatch: !ps.overwrite,
			Progress:    func(n int64) { ps.progress(base + n) },
		})
		if err == nil {
			err = errUploadEnded // the producer must not write past the end
		} else {
			err = byServer("s3:PutObject", objectARN(ps.bucket, key), err)
		}
		pr.CloseWithError(err)
		if errors.Is(err, errUploadEnded) {
			err = nil
		}
		p.result <- uploadResult{obj, err}
	}()
	ps.cur = p
	return p, nil
}

var errUploadEnded = errors.New("upload already ended")

// close finishes the current part and waits until S3 confirmed it.
func (ps *parts) close() (s3store.Object, error) {
	p := ps.cur
	ps.cur = nil
	err := p.buf.Flush()
	if err == nil && p.comp != nil {
		err = p.comp.Close()
	}
	if err != nil {
		p.pw.CloseWithError(err)
		res := <-p.result
		ps.unsure = append(ps.unsure, p.key)
		return s3store.Object{}, cmpErr(res.err, err)
	}
	p.pw.Close()
	res := <-p.result
	if res.err != nil {
		ps.unsure = append(ps.unsure, p.key)
		return s3store.Object{}, res.err
	}
	ps.done = append(ps.done, res.obj)
	ps.mu.Lock()
	ps.confirmed += res.obj.Size
	ps.mu.Unlock()
	return res.obj, nil
}

// abort stops the current part, if any: its upload fails with cause, which
// makes s3store abort the multipart upload, and abort returns once it has.
func (ps *parts) abort(cause error) {
	if p := ps.cur; p != nil {
		ps.cur = nil
		p.pw.CloseWithError(cause)
		<-p.result
		ps.unsure = append(ps.unsure, p.key)
	}
}

func (ps *parts) confirmedBytes() int64 {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.confirmed
}

// remove deletes the unsure parts and, unless keepDone, the completed ones
// (after a failure), even when ctx is cancelled: a cancelled export must
// not leave them behind. It returns how many completed parts it deleted
// and the first error.
func (ps *parts) remove(ctx context.Context, keepDone bool) (int, error) {
	ctx = context.WithoutCancel(ctx)
	var first error
	n := 0
	keys := slices.Clone(ps.unsure)
	for _, o := range ps.done {
		if !keepDone {
			keys = append(keys, o.Key)
		}
	}
	for i, key := range keys {
		err := ps.guard.Allow("s3:DeleteObject", objectARN(ps.bucket, key), nil)
		if err == nil {
			err = ps.store.Delete(ctx, ps.bucket, key)
		}
		if err != nil {
			if first == nil {
				first = fmt.Errorf("delete %s: %w", s3store.Location{Bucket: ps.bucket, Key: key}, err)
			}
			continue
		}
		if i >= len(ps.unsure) {
			n++
		}
	}
	return n, first
}

// cmpErr prefers the upload's error, which says what S3 answered, over the
// producer's.
func cmpErr(upload, local error) error {
	if upload != nil && !errors.Is(upload, local) {
		return upload
	}
	return local
}

func objectARN(bucket, key string) string { return "arn:aws:s3:::" + bucket + "/" + key }

// byServer names the action and resource when the S3 server itself denied
// a request, so its AccessDenied reads like s3bridge's own denials.
func byServer(action, resource string, err error) error {
	if errors.Is(err, s3bridge.ErrAccessDenied) {
		return fmt.Errorf("%s on %s: denied by the S3 server: %w", action, resource, err)
	}
	return err
}
