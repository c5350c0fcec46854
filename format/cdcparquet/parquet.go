// Package cdcparquet writes a pipeline's changes as Parquet files: one
// file holds the changes of one table in one schema version, one row per
// change, with the fields of the Avro envelope (format/avro.SchemaJSON):
//
//	op        STRING, required: "r" | "c" | "u" | "d" | "t"
//	before    optional group: one optional field per column
//	after     optional group, the same fields
//	source    required group {lsn INT64, tx_id INT64 (null when unknown),
//	          commit_ts TIMESTAMP(MICROS, UTC) (null for snapshot reads),
//	          database, schema, table STRING, snapshot BOOLEAN,
//	          gtid, file STRING, pos, server_id INT64: a MariaDB/MySQL
//	          change's place in the binary log, null for other sources}
//	ts_ms     TIMESTAMP(MILLIS, UTC): when s3bridge wrote the change
//	unchanged_toast_columns  LIST of STRING (empty when none)
//
// The fields of before and after have the .avsc's names and the types of
// a Parquet export of the same columns (format/parquet):
//
//	int32 (smallint, integer)     INT32, INT(32)
//	int64 (bigint)                INT64, INT(64)
//	decimal (numeric(p,s))        DECIMAL(p,s) in INT32 (p ≤ 9), INT64 (p ≤ 18) or
//	                              FIXED_LEN_BYTE_ARRAY (p ≤ 38); above 38 digits STRING,
//	                              the exact text with s fractional digits
//	numeric (numeric)             STRING, the text form incl. NaN, Infinity, -Infinity
//	float32, float64              FLOAT, DOUBLE
//	bool                          BOOLEAN
//	string, enum, text            STRING
//	bytes (bytea)                 BYTE_ARRAY
//	date                          DATE
//	time                          TIME(MICROS), not adjusted to UTC
//	timestamp                     TIMESTAMP(MICROS), not adjusted to UTC
//	timestamptz                   TIMESTAMP(MICROS), adjusted to UTC
//	uuid                          FIXED_LEN_BYTE_ARRAY(16), UUID
//	json (json, jsonb)            BYTE_ARRAY, JSON
//	array of E                    LIST of optional E; an array of arrays a LIST of LISTs
//
// ±infinity dates and timestamps are the largest and smallest values
// (pipeline.TimeInfinity / TimeNegInfinity), as in the Avro files.
//
// Files are streamed: rows gather in a row group, which is written out
// when it reaches Options.RowGroupBytes, so a Writer holds at most one row
// group (compressed pages and the page being filled), never the file.
package cdcparquet

import (
	"cmp"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/klauspost/compress/s2"
	pq "github.com/parquet-go/parquet-go"
	pqcompress "github.com/parquet-go/parquet-go/compress"
	pformat "github.com/parquet-go/parquet-go/format"

	"github.com/s3bridge/s3bridge/format/avro"
	"github.com/s3bridge/s3bridge/format/internal/envelope"
	"github.com/s3bridge/s3bridge/pipeline"
)

// pageCodec is the pages' codec for c; "" is snappy, the default.
// Deflate is Parquet's GZIP codec: Parquet has no raw deflate, and GZIP is
// deflate with a header.
func pageCodec(c pipeline.Codec) (pqcompress.Codec, error) {
	c, err := pipeline.ParseCodec(string(c))
	switch {
	case err != nil:
		return nil, err
	case c == pipeline.CodecNull:
		return &pq.Uncompressed, nil
	case c == pipeline.CodecDeflate:
		return &pq.Gzip, nil
	case c == pipeline.CodecZStd:
		return &pq.Zstd, nil
	}
	return fastSnappy{}, nil
}

// DefaultRowGroupBytes is the row group size when Options leave it out:
// that of the export's Parquet files.
const DefaultRowGroupBytes = 16 << 20

// Options tune a Writer. The zero value is valid.
type Options struct {
	Codec pipeline.Codec // "" means snappy
	// RowGroupBytes is the size of the open row group (parquet-go's
	// measure: pages written so far plus values not yet in a page) at
	// which it is written out. It bounds the writer's memory. Default
	// DefaultRowGroupBytes.
	RowGroupBytes int64
	// Now stamps ts_ms; default time.Now.
	Now func() time.Time
}

// sizeEvery is how many rows pass between two measures of the open row
// group, which parquet-go sums over every column; in between, each row's
// values are counted roughly.
const sizeEvery = 256

// Writer writes one table's changes, all of one schema version, to one
// Parquet file. It is not safe for concurrent use.
type Writer struct {
	schema   *pipeline.TableSchema
	cols     []column // conversions, by table column
	leaves   int      // leaves of before (and of after)
	w        *pq.Writer
	out      envelope.Counter
	now      func() time.Time
	rg       int64 // Options.RowGroupBytes
	row      pq.Row
	rows     []pq.Row
	arena    arena
	n        int64
	since    int   // rows since the last measure
	measured int64 // w.Size() at the last measure
	guess    int64 // bytes of values added since
	start    int64 // w.Size() when the open row group began
	closed   bool
}

// NewWriter returns a Writer for changes of schema ts writing to w. Nothing
// is written before the first row group is; the caller owns w and closes
// it after Close.
func NewWriter(w io.Writer, ts *pipeline.TableSchema, opts Options) (*Writer, error) {
	codec, err := pageCodec(opts.Codec)
	if err != nil {
		return nil, err
	}
	names, err := envelope.FieldNames(ts)
	if err != nil {
		return nil, err
	}
	avsc, err := avro.SchemaJSON(ts)
	if err != nil {
		return nil, err
	}
	cw := &Writer{schema: ts, cols: make([]column, len(ts.Columns)), leaves: len(ts.Columns),
		now: opts.Now, rg: cmp.Or(opts.RowGroupBytes, DefaultRowGroupBytes)}
	if cw.now == nil {
		cw.now = time.Now
	}
	cw.out.W = w
	value := make(group, len(ts.Columns))
	for i, c := range ts.Columns {
		node, col, err := columnNode(c.Type, &cw.arena)
		if err != nil {
			return nil, fmt.Errorf("parquet schema of %s column %s: %w", ts.QualifiedName(), c.Name, err)
		}
		value[i] = field{Node: pq.Optional(node), name: names[i]}
		cw.cols[i] = col
	}
	source := group{
		{pq.Int(64), "lsn"},
		{pq.Optional(pq.Int(64)), "tx_id"},
		{pq.Optional(pq.TimestampAdjusted(pq.Microsecond, true)), "commit_ts"},
		{pq.String(), "database"},
		{pq.String(), "schema"},
		{pq.String(), "table"},
		{pq.Leaf(pq.BooleanType), "snapshot"},
		{pq.Optional(pq.String()), "gtid"},
		{pq.Optional(pq.String()), "file"},
		{pq.Optional(pq.Int(64)), "pos"},
		{pq.Optional(pq.Int(64)), "server_id"},
	}
	root := group{
		{pq.String(), "op"},
		{pq.Optional(value), "before"},
		{pq.Optional(value), "after"},
		{source, "source"},
		{pq.TimestampAdjusted(pq.Millisecond, true), "ts_ms"},
		{pq.List(pq.String()), "unchanged_toast_columns"},
	}
	cw.w = pq.NewWriter(&cw.out, pq.NewSchema("s3bridge_change", root),
		pq.Compression(codec), pq.CreatedBy("s3bridge", "pipeline", ""),
		pq.KeyValueMetadata("s3bridge.table", ts.QualifiedName()),
		pq.KeyValueMetadata("s3bridge.schema_version", strconv.Itoa(ts.Version)),
		// The .avsc, so a file describes itself as an Avro file does; not
		// under parquet-avro's key, whose readers would take it for this
		// file's layout.
		pq.KeyValueMetadata("s3bridge.avsc", string(avsc)))
	cw.rows = make([]pq.Row, 1)
	return cw, nil
}

// Append adds one change. The change must be of the writer's table and
// schema version; anything else is an error and nothing is written.
func (w *Writer) Append(c *pipeline.Change) error {
	if w.closed {
		return fmt.Errorf("append to closed parquet file of %s", w.schema.QualifiedName())
	}
	if err := envelope.Check(w.schema, c, "parquet file"); err != nil {
		return err
	}
	w.arena.reset()
	row, size, err := w.appendChange(w.row[:0], c)
	w.row = row
	if err != nil {
		return fmt.Errorf("encode %s change at %s: %w", w.schema.QualifiedName(), c.Source.LSN, err)
	}
	w.rows[0] = row
	if _, err := w.w.WriteRows(w.rows); err != nil {
		return fmt.Errorf("write parquet file of %s: %w", w.schema.QualifiedName(), err)
	}
	w.n++
	w.guess += size
	if w.since++; w.since < sizeEvery && w.measured+w.guess-w.start < w.rg {
		return nil
	}
	w.since, w.guess, w.measured = 0, 0, w.w.Size()
	if w.measured-w.start >= w.rg {
		if err := w.w.Flush(); err != nil {
			return fmt.Errorf("write parquet file of %s: flush a row group: %w", w.schema.QualifiedName(), err)
		}
		w.measured = w.w.Size()
		w.start = w.measured
	}
	return nil
}

// appendChange appends the values of c's row, in leaf order, and returns
// a rough size of them.
func (w *Writer) appendChange(row pq.Row, c *pipeline.Change) (pq.Row, int64, error) {
	size := int64(0)
	row = append(row, pq.ByteArrayValue(w.arena.text(c.Op.String())).Level(0, 0, 0))
	var err error
	for k, img := range []pipeline.Row{c.Before, c.After} {
		base := 1 + k*w.leaves
		if img == nil {
			for i := range w.leaves {
				row = append(row, pq.NullValue().Level(0, 0, base+i))
			}
			continue
		}
		for i, v := range img {
			col := &w.cols[i]
			n := len(row)
			if row, err = col.appendValue(row, base+i, v, 0, 1, 0); err != nil {
				return row, 0, fmt.Errorf("%s column %s: %w", []string{"before", "after"}[k], w.schema.Columns[i].Name, err)
			}
			size += int64(len(row)-n) * 8
			for _, pv := range row[n:] {
				if k := pv.Kind(); !pv.IsNull() && (k == pq.ByteArray || k == pq.FixedLenByteArray) {
					size += int64(len(pv.ByteArray()))
				}
			}
		}
	}
	s := c.Source
	base := 1 + 2*w.leaves
	row = append(row, pq.Int64Value(int64(s.LSN)).Level(0, 0, base))
	if s.TxID == 0 {
		row = append(row, pq.NullValue().Level(0, 0, base+1))
	} else {
		row = append(row, pq.Int64Value(s.TxID).Level(0, 1, base+1))
	}
	if s.CommitTime.IsZero() {
		row = append(row, pq.NullValue().Level(0, 0, base+2))
	} else {
		row = append(row, pq.Int64Value(s.CommitTime.UnixMicro()).Level(0, 1, base+2))
	}
	for i, str := range []string{s.Database, s.Schema, s.Table} {
		row = append(row, pq.ByteArrayValue(w.arena.text(str)).Level(0, 0, base+3+i))
	}
	row = append(row, pq.BooleanValue(s.Snapshot).Level(0, 0, base+6))
	row = w.appendBinlog(row, s.Binlog, base+7)
	row = append(row, pq.Int64Value(w.now().UnixMilli()).Level(0, 0, base+11))
	toast := base + 12
	if len(c.UnchangedToast) == 0 {
		row = append(row, pq.NullValue().Level(0, 0, toast))
	}
	for i, name := range c.UnchangedToast {
		row = append(row, pq.ByteArrayValue(w.arena.text(name)).Level(min(i, 1), 1, toast))
	}
	return row, size + 64, nil
}

// appendBinlog appends source's gtid, file, pos and server_id, the
// leaves from col on: each null when p is nil, gtid and file when empty,
// server_id when 0.
func (w *Writer) appendBinlog(row pq.Row, p *pipeline.BinlogPosition, col int) pq.Row {
	if p == nil {
		for i := range 4 {
			row = append(row, pq.NullValue().Level(0, 0, col+i))
		}
		return row
	}
	for i, str := range []string{p.GTID, p.File} {
		if str == "" {
			row = append(row, pq.NullValue().Level(0, 0, col+i))
		} else {
			row = append(row, pq.ByteArrayValue(w.arena.text(str)).Level(0, 1, col+i))
		}
	}
	if p.File == "" {
		row = append(row, pq.NullValue().Level(0, 0, col+2))
	} else {
		row = append(row, pq.Int64Value(int64(p.Pos)).Level(0, 1, col+2))
	}
	if p.ServerID == 0 {
		return append(row, pq.NullValue().Level(0, 0, col+3))
	}
	return append(row, pq.Int64Value(int64(p.ServerID)).Level(0, 1, col+3))
}

// Rows returns the number of changes appended.
func (w *Writer) Rows() int64 { return w.n }

// Written returns the file's size so far: the bytes handed to the
// underlying writer plus the open row group, as parquet-go measured it at
// most a few hundred rows ago and estimated since. A file closed at this
// size is about that large.
func (w *Writer) Written() int64 { return max(w.out.N, w.measured+w.guess) }

// Close writes the open row group and the footer. It does not close the
// underlying writer. A file without rows is still a valid Parquet file.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if err := w.w.Close(); err != nil {
		return fmt.Errorf("close parquet file of %s: %w", w.schema.QualifiedName(), err)
	}
	return nil
}

// fastSnappy is Parquet's SNAPPY codec with the fast encoder, as the
// export's writer has it (format/parquet): parquet-go's uses the slower
// "better" encoder for files a few percent smaller. The output is
// standard snappy.
type fastSnappy struct{}

func (fastSnappy) String() string                             { return "SNAPPY" }
func (fastSnappy) CompressionCodec() pformat.CompressionCodec { return pformat.Snappy }
func (fastSnappy) Encode(dst, src []byte) ([]byte, error)     { return s2.EncodeSnappy(dst[:0], src), nil }
func (fastSnappy) Decode(dst, src []byte) ([]byte, error)     { return s2.Decode(dst[:0], src) }
