package writer

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format/avro"
	"github.com/s3bridge/s3bridge/pipeline"
)

// Store is the object store a Writer writes to; *s3store.Client satisfies it.
type Store interface {
	// Upload stores r under key and returns only once S3 confirmed the
	// write; on any failure, ctx's included, nothing is stored.
	Upload(ctx context.Context, bucket, key string, r io.Reader, opts s3bridge.PutOptions) (s3bridge.Object, error)
	// List returns the objects under prefix and, with a delimiter, the
	// common prefixes one level down.
	List(ctx context.Context, bucket, prefix, delimiter string) ([]s3bridge.Object, []string, error)
	// Delete removes an object; a missing one is no error.
	Delete(ctx context.Context, bucket, key string) error
	// Open streams an object; a missing one satisfies s3bridge.ErrNotFound.
	Open(ctx context.Context, bucket, key string) (io.ReadCloser, s3bridge.Object, error)
}

// file is one Avro file being streamed into an upload: the Avro writer
// writes into a pipe whose other end an Upload reads, so memory holds one
// block and the upload's part buffers, whatever the file's size.
type file struct {
	key    string
	schema *pipeline.TableSchema
	first  pipeline.LSN // commit LSN of the first transaction (changes), 0 for parts
	opened time.Time
	aw     *avro.Writer
	pw     *io.PipeWriter
	cancel context.CancelFunc
	done   chan struct{} // closed when the upload returned
	err    error         // the upload's error, set before done is closed
	closed bool
}

// openFile starts the upload of key and writes the file's header. The
// upload runs in its own goroutine, with a context that outlives ctx's
// cancellation (a clean stop still completes the files it closes) and
// ends with abort.
func openFile(ctx context.Context, store Store, bucket, key string, ts *pipeline.TableSchema, opts avro.Options, now time.Time) (*file, error) {
	uctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	pr, pw := io.Pipe()
	f := &file{key: key, schema: ts, opened: now, pw: pw, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		_, err := store.Upload(uctx, bucket, key, pr, s3bridge.PutOptions{ContentType: "application/avro"})
		if err != nil {
			f.err = fmt.Errorf("upload %s: %w", key, err)
		}
		// Unblock a writer still writing into a failed upload.
		pr.CloseWithError(cmpErr(err, io.ErrClosedPipe))
	}()
	aw, err := avro.NewWriter(pw, ts, opts)
	if err != nil {
		f.abort()
		return nil, err
	}
	f.aw = aw
	return f, nil
}

func cmpErr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// append adds a change; an error here means the upload failed or the change
// doesn't fit the file.
func (f *file) append(c *pipeline.Change) error {
	if err := f.aw.Append(c); err != nil {
		return f.failure(err)
	}
	return nil
}

// failure prefers the upload's own error to the pipe's "closed" one.
func (f *file) failure(err error) error {
	select {
	case <-f.done:
		if f.err != nil {
			return f.err
		}
	default:
	}
	return fmt.Errorf("write %s: %w", f.key, err)
}

// close writes the file's last block and ends its input: the upload
// completes in the background; wait tells when S3 confirmed it.
func (f *file) close() error {
	if f.closed {
		return nil
	}
	f.closed = true
	if err := f.aw.Close(); err != nil {
		f.abort()
		return f.failure(err)
	}
	return f.pw.Close()
}

// wait waits for the upload to be confirmed.
func (f *file) wait(ctx context.Context) error {
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// abort cancels the upload (nothing is stored) and waits for its goroutine.
func (f *file) abort() {
	f.closed = true
	f.pw.CloseWithError(errAborted)
	f.cancel()
	<-f.done
}

var errAborted = fmt.Errorf("file aborted")

func (f *file) rows() int64 { return f.aw.Rows() }

func (f *file) size() int64 { return f.aw.Written() }
