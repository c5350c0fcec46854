package format

import (
	"io"

	"github.com/s3bridge/s3bridge/tuple"
)

// A RowWriter encodes typed rows (a query's result) as files of one
// format: format/delimited (csv, text), format/jsonl and format/parquet
// have one each. It writes any number of files one after another, each
// between a Begin and an End, so an export can cut its result into parts
// without splitting a row; Write and Buffered are called in between.
type RowWriter interface {
	// Begin starts a file on w, writing its header if it has one.
	Begin(w io.Writer) error
	// Write adds a row, one value per column. The slice and its bytes are
	// the caller's again when Write returns.
	Write(row []tuple.Value) error
	// Buffered is what the writer holds that has not reached w yet
	// (Parquet's open row group), so that the caller can count it towards
	// the file's size.
	Buffered() int64
	// End finishes the file: Parquet's last row group and footer. It does
	// not close w.
	End() error
}
