package bulk

import (
	"context"
	"errors"
	"io"
)

// TableCopier is a Copier that can read a whole table in parallel: the
// table's pages are cut into ranges, each copied on a session of its own,
// every session under one snapshot, so that the ranges together hold
// exactly the rows one COPY of the table would, each once
// (instance/postgres, PostgreSQL 14+ for its TID range scans).
type TableCopier interface {
	// ScanTable takes a snapshot as q.Caller, with q.Session, and cuts
	// table (a name as a query would write it, checked by the caller to be
	// only an identifier, optionally schema-qualified) into ranges of about
	// pages pages each. It fails with ErrNoRanges when the server or the
	// relation can't be read so (an older server, a view, a partitioned or
	// inherited table): the caller then runs one COPY. The caller closes
	// the scan once every range is copied.
	ScanTable(ctx context.Context, q Query, table string, pages int64) (TableScan, error)
}

// ErrNoRanges says a table can't be read in ranges.
var ErrNoRanges = errors.New("the table can't be read in page ranges")

// TableScan is a snapshot of a table cut into ranges.
type TableScan interface {
	// Ranges is the number of ranges, at least 1.
	Ranges() int
	// CopyRange runs COPY of range i's rows TO STDOUT (options) on a
	// session of its own under the scan's snapshot and writes them to w,
	// one row per Write as Copier.CopyTo does. Calls for different ranges
	// may run concurrently.
	CopyRange(ctx context.Context, i int, w io.Writer, options string) error
	// Close ends the snapshot.
	Close() error
}
