package writer

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format/avro"
	"github.com/s3bridge/s3bridge/format/cdcjson"
	"github.com/s3bridge/s3bridge/format/cdcparquet"
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

// Format is the format of a pipeline's files (--format).
type Format string

// The formats. Every one carries the same record (see format/avro,
// format/cdcparquet and format/cdcjson); the .avsc describes them all.
const (
	// Avro is Avro Object Container Files, the schema embedded (the
	// default: "" means Avro).
	Avro Format = "avro"
	// Parquet is Parquet files, one row per record.
	Parquet Format = "parquet"
	// JSONL is JSON Lines, the whole file compressed by the codec.
	JSONL Format = "jsonl"
)

// Ext returns the extension, with its dot, of the data files of format f
// written with codec: ".avro", ".parquet", or for JSON Lines ".jsonl",
// ".jsonl.gz" or ".jsonl.zst".
func (f Format) Ext(codec pipeline.Codec) string {
	switch f {
	case Parquet:
		return ".parquet"
	case JSONL:
		c, _ := cdcjson.Check(codec)
		return cdcjson.Ext(c)
	}
	return ".avro"
}

// fileFormat is how one data file is written: its format and codec, as
// its key's extension says.
type fileFormat struct {
	format Format
	codec  pipeline.Codec
}

// formatOf returns the format of the data file key, by its extension:
// Layout gave it from Options.Format (and, for JSON Lines, the codec), so
// the key is the one place that says it. codec is Options.Codec.
func formatOf(key string, codec pipeline.Codec) (fileFormat, error) {
	switch {
	case strings.HasSuffix(key, ".avro"):
		return fileFormat{Avro, codec}, nil
	case strings.HasSuffix(key, ".parquet"):
		return fileFormat{Parquet, codec}, nil
	case strings.HasSuffix(key, ".jsonl"), strings.HasSuffix(key, ".jsonl.gz"), strings.HasSuffix(key, ".jsonl.zst"):
		c, err := cdcjson.Check(codec)
		if err != nil {
			return fileFormat{}, fmt.Errorf("data file %s: %w", key, err)
		}
		if !strings.HasSuffix(key, cdcjson.Ext(c)) {
			return fileFormat{}, fmt.Errorf("data file %s: codec %s writes %s files", key, c, cdcjson.Ext(c))
		}
		return fileFormat{JSONL, c}, nil
	}
	return fileFormat{}, fmt.Errorf("data file %s: no extension of a format (.avro, .parquet, .jsonl, .jsonl.gz, .jsonl.zst)", key)
}

func (ff fileFormat) contentType() string {
	switch ff.format {
	case Parquet:
		return "application/vnd.apache.parquet"
	case JSONL:
		// The key's extension says how it is compressed; no
		// Content-Encoding, which HTTP clients would undo on the way.
		switch ff.codec {
		case pipeline.CodecDeflate:
			return "application/gzip"
		case pipeline.CodecZStd:
			return "application/zstd"
		}
		return "application/jsonl"
	}
	return "application/avro"
}

// recordWriter writes one file's records: *avro.Writer, *cdcparquet.Writer
// and *cdcjson.Writer.
type recordWriter interface {
	// Append adds a change of the file's table and schema version.
	Append(c *pipeline.Change) error
	// Rows is the number of changes appended.
	Rows() int64
	// Written is the file's size so far, about.
	Written() int64
	// Close writes what is buffered and the file's end; it does not
	// close the underlying writer.
	Close() error
}

var (
	_ recordWriter = (*avro.Writer)(nil)
	_ recordWriter = (*cdcparquet.Writer)(nil)
	_ recordWriter = (*cdcjson.Writer)(nil)
)

// newRecordWriter starts a file of format ff on w. opts.BlockSize is also
// the JSON Lines buffer size; a Parquet row group is
// cdcparquet.DefaultRowGroupBytes.
func newRecordWriter(w io.Writer, ts *pipeline.TableSchema, ff fileFormat, opts avro.Options) (recordWriter, error) {
	switch ff.format {
	case Parquet:
		pw, err := cdcparquet.NewWriter(w, ts, cdcparquet.Options{Codec: ff.codec})
		if err != nil {
			return nil, err
		}
		return pw, nil
	case JSONL:
		jw, err := cdcjson.NewWriter(w, ts, cdcjson.Options{Codec: ff.codec, BufferSize: opts.BlockSize})
		if err != nil {
			return nil, err
		}
		return jw, nil
	}
	opts.Codec = ff.codec
	aw, err := avro.NewWriter(w, ts, opts)
	if err != nil {
		return nil, err
	}
	return aw, nil
}

// file is one data file being streamed into an upload: its record writer
// writes into a pipe whose other end an Upload reads, so memory holds one
// block (Avro), row group (Parquet) or buffer (JSON Lines) and the
// upload's part buffers, whatever the file's size.
type file struct {
	key    string
	schema *pipeline.TableSchema
	first  pipeline.LSN // commit LSN of the first transaction (changes), 0 for parts
	opened time.Time
	rw     recordWriter
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
//
// The file's format is its key's extension (formatOf); opts are the Avro
// options, whose codec and block size every format takes.
func openFile(ctx context.Context, store Store, bucket, key string, ts *pipeline.TableSchema, opts avro.Options, now time.Time) (*file, error) {
	ff, err := formatOf(key, opts.Codec)
	if err != nil {
		return nil, err
	}
	uctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	pr, pw := io.Pipe()
	f := &file{key: key, schema: ts, opened: now, pw: pw, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		_, err := store.Upload(uctx, bucket, key, pr, s3bridge.PutOptions{ContentType: ff.contentType()})
		if err != nil {
			f.err = fmt.Errorf("upload %s: %w", key, err)
		}
		// Unblock a writer still writing into a failed upload.
		pr.CloseWithError(cmpErr(err, io.ErrClosedPipe))
	}()
	rw, err := newRecordWriter(pw, ts, ff, opts)
	if err != nil {
		f.abort()
		return nil, err
	}
	f.rw = rw
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
	if err := f.rw.Append(c); err != nil {
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
	if err := f.rw.Close(); err != nil {
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

func (f *file) rows() int64 { return f.rw.Rows() }

func (f *file) size() int64 { return f.rw.Written() }
