// Package avro writes a pipeline's changes as Avro Object Container
// Files: one file holds the changes of one table in one schema version, with
// the schema (SchemaJSON) embedded. Files are streamed: the writer holds one
// block of records at a time, never the file.
//
// Type mapping (pipeline.Kind → Avro; every column field is null | T):
//
//	int32 (smallint, integer)     int
//	int64 (bigint)                long
//	decimal (numeric(p,s))        bytes, logicalType decimal, precision p, scale s
//	numeric (numeric)             string, the text form incl. NaN, Infinity, -Infinity
//	float32, float64              float, double
//	bool                          boolean
//	string (text, varchar, char)  string
//	bytes (bytea)                 bytes
//	date                          int, logicalType date (days since 1970-01-01)
//	time                          long, logicalType time-micros
//	timestamp                     long, logicalType local-timestamp-micros
//	timestamptz                   long, logicalType timestamp-micros (UTC)
//	uuid                          string, logicalType uuid
//	json (json, jsonb)            string
//	enum                          string (the label)
//	array of E                    array, items null | E
//	text (anything else)          string, the source's text form
//
// ±infinity dates and timestamps are written as the largest/smallest value
// (pipeline.TimeInfinity / TimeNegInfinity).
package avro

import (
	"cmp"
	"fmt"
	"io"
	"time"

	hamba "github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/ocf"

	"github.com/s3bridge/s3bridge/pipeline"
)

// ocfCodec is the container file's block codec for c; "" is snappy, the
// default. zstd is written as Avro's "zstandard".
func ocfCodec(c pipeline.Codec) (ocf.CodecName, error) {
	c, err := pipeline.ParseCodec(string(c))
	switch {
	case err != nil:
		return "", err
	case c == "", c == pipeline.CodecSnappy:
		return ocf.Snappy, nil
	case c == pipeline.CodecDeflate:
		return ocf.Deflate, nil
	case c == pipeline.CodecZStd:
		return ocf.ZStandard, nil
	}
	return ocf.Null, nil
}

// Options tune a Writer. The zero value is valid.
type Options struct {
	Codec pipeline.Codec // "" means snappy
	// BlockSize is the uncompressed size at which a block is compressed and
	// written out; it bounds the writer's memory. Default 1 MiB.
	BlockSize int
	// Sync is the file's sync marker; zero means random. A caller that wants
	// a rewritten file to match byte for byte passes a fixed one.
	Sync [16]byte
	// Now stamps ts_ms; default time.Now.
	Now func() time.Time
}

// Writer writes one table's changes, all of one schema version, to one
// container file. It is not safe for concurrent use.
type Writer struct {
	schema *pipeline.TableSchema
	enc    *ocf.Encoder
	out    *countingWriter
	now    func() time.Time
	buf    []byte
	rows   int64
	closed bool
}

// NewWriter writes the file header to w and returns a Writer for changes of
// schema ts. w receives whole blocks as they fill; the caller owns w and
// closes it after Close.
func NewWriter(w io.Writer, ts *pipeline.TableSchema, opts Options) (*Writer, error) {
	codec, err := ocfCodec(opts.Codec)
	if err != nil {
		return nil, err
	}
	schema, js, err := Schema(ts)
	if err != nil {
		return nil, err
	}
	// The counting wrapper also keeps ocf from treating an *os.File that
	// already holds data as a file to append to.
	out := &countingWriter{w: w}
	encOpts := []ocf.EncoderFunc{
		ocf.WithCodec(codec),
		// Blocks are cut by size only, so memory is bounded whatever the rows.
		ocf.WithBlockLength(0),
		ocf.WithBlockSize(cmp.Or(opts.BlockSize, 1<<20)),
		ocf.WithEncoderSchemaCache(&hamba.SchemaCache{}),
		// Embed exactly the text of the .avsc, properties included.
		ocf.WithSchemaMarshaler(func(hamba.Schema) ([]byte, error) { return js, nil }),
	}
	if opts.Sync != ([16]byte{}) {
		encOpts = append(encOpts, ocf.WithSyncBlock(opts.Sync))
	}
	enc, err := ocf.NewEncoderWithSchema(schema, out, encOpts...)
	if err != nil {
		return nil, fmt.Errorf("avro file of %s v%d: %w", ts.QualifiedName(), ts.Version, err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Writer{schema: ts, enc: enc, out: out, now: now}, nil
}

// Append adds one change. The change must be of the writer's table and
// schema version; anything else is an error and nothing is written.
func (w *Writer) Append(c *pipeline.Change) error {
	if w.closed {
		return fmt.Errorf("append to closed avro file of %s", w.schema.QualifiedName())
	}
	// A stream's changes share their version's *TableSchema: comparing
	// the names and shapes of each was a tenth of an append.
	if c.Schema != w.schema {
		if err := w.sameSchema(c.Schema); err != nil {
			return err
		}
	}
	b, err := appendEnvelope(w.buf[:0], c, w.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("encode %s change at %s: %w", w.schema.QualifiedName(), c.Source.LSN, err)
	}
	w.buf = b
	if _, err := w.enc.Write(b); err != nil {
		return fmt.Errorf("write avro file of %s: %w", w.schema.QualifiedName(), err)
	}
	w.rows++
	return nil
}

func (w *Writer) sameSchema(ts *pipeline.TableSchema) error {
	if ts == nil || ts.QualifiedName() != w.schema.QualifiedName() || ts.Version != w.schema.Version {
		return fmt.Errorf("append to avro file of %s v%d: change is of another table or version", w.schema.QualifiedName(), w.schema.Version)
	}
	if !ts.SameShape(w.schema) {
		return fmt.Errorf("append to avro file of %s v%d: change's schema has another shape under the same version", w.schema.QualifiedName(), w.schema.Version)
	}
	return nil
}

// Rows returns the number of changes appended.
func (w *Writer) Rows() int64 { return w.rows }

// Written returns the bytes handed to the underlying writer so far: the
// file's size minus the block still being filled.
func (w *Writer) Written() int64 { return w.out.n }

// Close writes the last block and releases the codec. It does not close the
// underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if err := w.enc.Close(); err != nil {
		return fmt.Errorf("close avro file of %s: %w", w.schema.QualifiedName(), err)
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
