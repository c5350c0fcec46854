// Package cdcjson writes a pipeline's changes as JSON Lines files: one
// file holds the changes of one table in one schema version, one JSON
// object per line with the fields of the Avro envelope
// (format/avro.SchemaJSON), in its order:
//
//	{"op":"u","before":{…}|null,"after":{…}|null,
//	 "source":{"lsn":…,"tx_id":…|null,"commit_ts":"…Z"|null,"database":"…",
//	           "schema":"…","table":"…","snapshot":false,"gtid":"0-1-42"|null,
//	           "file":"…"|null,"pos":…|null,"server_id":…|null},
//	 "ts_ms":…,"unchanged_toast_columns":["…"]}
//
// before and after have one member per column, named as in the .avsc,
// null for NULL. Values:
//
//	int32, int64                  number (all digits: a reader parsing numbers as
//	                              doubles loses those of 64-bit values beyond 2^53)
//	decimal (numeric(p,s))        string, exact, with s fractional digits: "-12.30"
//	numeric (numeric)             string, the text form incl. "NaN", "Infinity", "-Infinity"
//	float32, float64              number, shortest form that reads back the same value;
//	                              NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity"
//	bool                          true, false
//	string, enum, text            string
//	bytes (bytea)                 string, standard base64 with padding
//	date                          string "2024-02-29"
//	time                          string "13:14:15.123456" (always 6 fractional digits)
//	timestamp                     string "2024-02-29T13:14:15.123456", no zone: the wall clock
//	timestamptz                   string "2024-02-29T11:14:15.123456Z", UTC
//	uuid                          string, canonical
//	json (json, jsonb)            string: the JSON text (so JSON null and SQL NULL differ)
//	array of E                    array of E's values, null elements null; nested for arrays of arrays
//
// ±infinity dates and timestamps are the strings "infinity" and
// "-infinity"; years after 9999 are written with a "+" and more digits,
// years before 1 (year 0 is 1 BC) with a "-", as ISO 8601 extends them.
// source.lsn, source.tx_id, source.pos, source.server_id and ts_ms
// (milliseconds since 1970, UTC) are numbers; source.commit_ts is a
// timestamptz string. gtid, file, pos and server_id are a MariaDB/MySQL
// change's place in the binary log, null for other sources.
//
// Files are streamed: lines gather in a buffer of Options.BufferSize
// bytes, then go to the codec (none, gzip, or zstd with a 1 MiB window)
// and on to the underlying writer.
package cdcjson

import (
	"cmp"
	"fmt"
	"io"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/s3bridge/s3bridge/format/compress"
	"github.com/s3bridge/s3bridge/format/internal/envelope"
	"github.com/s3bridge/s3bridge/pipeline"
)

// Check returns the codec a JSON Lines file of codec c is written with:
// "" is null. Deflate writes gzip (deflate with gzip's header and
// checksum), the form every JSON Lines reader takes; snappy has no framing
// JSON readers agree on, so it is refused.
func Check(c pipeline.Codec) (pipeline.Codec, error) {
	c, err := pipeline.ParseCodec(string(c))
	switch {
	case err != nil:
		return "", err
	case c == "":
		return pipeline.CodecNull, nil
	case c == pipeline.CodecSnappy:
		return "", fmt.Errorf("JSON Lines files can't be snappy-compressed: no common reader takes snappy-framed text; use zstd (.jsonl.zst), deflate (gzip, .jsonl.gz) or null (.jsonl)")
	}
	return c, nil
}

// Ext returns the file name extension of files of codec c: ".jsonl",
// ".jsonl.gz" or ".jsonl.zst".
func Ext(c pipeline.Codec) string {
	switch c {
	case pipeline.CodecDeflate:
		return ".jsonl.gz"
	case pipeline.CodecZStd:
		return ".jsonl.zst"
	}
	return ".jsonl"
}

// Options tune a Writer. The zero value is valid.
type Options struct {
	Codec pipeline.Codec // "" means null
	// BufferSize is how many bytes of lines gather before they go to the
	// codec; it bounds the writer's memory with the codec's own. Default
	// 1 MiB.
	BufferSize int
	// Now stamps ts_ms; default time.Now.
	Now func() time.Time
}

// Writer writes one table's changes, all of one schema version, to one
// JSON Lines file. It is not safe for concurrent use.
type Writer struct {
	schema *pipeline.TableSchema
	names  []string
	out    *envelope.Counter
	zw     io.WriteCloser // nil for null
	dst    io.Writer      // zw, or out
	now    func() time.Time
	buf    []byte
	size   int
	rows   int64
	closed bool
}

// NewWriter returns a Writer for changes of schema ts writing to w. The
// caller owns w and closes it after Close.
func NewWriter(w io.Writer, ts *pipeline.TableSchema, opts Options) (*Writer, error) {
	codec, err := Check(opts.Codec)
	if err != nil {
		return nil, err
	}
	names, err := envelope.FieldNames(ts)
	if err != nil {
		return nil, err
	}
	out := &envelope.Counter{W: w}
	jw := &Writer{schema: ts, names: names, out: out, dst: out, now: opts.Now, size: cmp.Or(opts.BufferSize, 1<<20)}
	if jw.now == nil {
		jw.now = time.Now
	}
	switch codec {
	case pipeline.CodecDeflate:
		jw.zw, err = compress.NewWriter(out, compress.Gzip, 0)
	case pipeline.CodecZStd:
		// A 1 MiB window: a pipeline has a file open per table being
		// written, and the default window costs 18 MiB of memory a file
		// against about 2.5 MiB, for little better compression of lines
		// that mostly repeat their neighbours.
		jw.zw, err = zstd.NewWriter(out, zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20), zstd.WithLowerEncoderMem(true))
	}
	if err != nil {
		return nil, fmt.Errorf("JSON Lines file of %s: %w", ts.QualifiedName(), err)
	}
	if jw.zw != nil {
		jw.dst = jw.zw
	}
	return jw, nil
}

// Append adds one change as one line. The change must be of the writer's
// table and schema version; anything else is an error and nothing is
// written.
func (w *Writer) Append(c *pipeline.Change) error {
	if w.closed {
		return fmt.Errorf("append to closed JSON Lines file of %s", w.schema.QualifiedName())
	}
	if err := envelope.Check(w.schema, c, "JSON Lines file"); err != nil {
		return err
	}
	n := len(w.buf)
	b, err := w.appendChange(w.buf, c, w.now().UnixMilli())
	if err != nil {
		w.buf = b[:n]
		return fmt.Errorf("encode %s change at %s: %w", w.schema.QualifiedName(), c.Source.LSN, err)
	}
	w.buf = append(b, '\n')
	w.rows++
	if len(w.buf) >= w.size {
		return w.flush()
	}
	return nil
}

func (w *Writer) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if _, err := w.dst.Write(w.buf); err != nil {
		return fmt.Errorf("write JSON Lines file of %s: %w", w.schema.QualifiedName(), err)
	}
	if cap(w.buf) > 2*w.size {
		w.buf = nil // a huge line grew it: let it go
	}
	w.buf = w.buf[:0]
	return nil
}

// Rows returns the number of changes appended.
func (w *Writer) Rows() int64 { return w.rows }

// Written returns the bytes handed to the underlying writer so far: the
// file's size minus the lines still buffered (and, compressed, what the
// codec holds).
func (w *Writer) Written() int64 { return w.out.N }

// Close writes the buffered lines and the codec's trailer. It does not
// close the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.flush()
	if w.zw != nil {
		// Closed even after a failed write: it releases the codec.
		if zerr := w.zw.Close(); zerr != nil && err == nil {
			err = fmt.Errorf("close JSON Lines file of %s: %w", w.schema.QualifiedName(), zerr)
		}
	}
	return err
}
