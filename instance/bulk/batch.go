package bulk

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/s3bridge/s3bridge/format"
)

// Limits of one batch of SkipBadRows' path: few enough rows that resending
// a batch without a bad row is cheap, few enough bytes that memory stays
// flat (a batch holds at least one row, however large).
const (
	batchRows  = 10000
	batchBytes = 4 << 20
)

// Batch is rows encoded for a database's bulk path, each with the source
// line where it started, sent as one unit and resent without the rows the
// database rejects. Its bytes are never changed once written: dropping a
// row makes a new Batch over the same bytes.
type Batch struct {
	buf  []byte
	rows []batchRow
}

type batchRow struct {
	start, end int // the row's bytes in buf
	src        int // source line
	lines      int // stream lines the row takes (line breaks in CSV values)
}

// Len is the number of rows in the batch.
func (b *Batch) Len() int { return len(b.rows) }

// Reader returns the batch's rows in order, for one send.
func (b *Batch) Reader() io.Reader { return &batchReader{buf: b.buf, rows: b.rows} }

// RowAtLine returns the index of the row on line n (1-based) of the batch
// as sent, counting lines as the database does (a row with line breaks in
// a CSV value takes several), or -1 when n is past the end.
func (b *Batch) RowAtLine(n int) int {
	line := 0
	for i, r := range b.rows {
		if line += r.lines; n <= line {
			return i
		}
	}
	return -1
}

func (b *Batch) add(enc Encoder, rec []format.Value, src int) {
	start := len(b.buf)
	b.buf = enc(b.buf, rec)
	n := 0
	for _, c := range b.buf[start:] {
		if c == '\n' {
			n++
		}
	}
	b.rows = append(b.rows, batchRow{start: start, end: len(b.buf), src: src, lines: n})
}

func (b *Batch) full() bool { return len(b.rows) >= batchRows || len(b.buf) >= batchBytes }

func (b *Batch) reset() { b.buf, b.rows = b.buf[:0], b.rows[:0] }

// without returns the batch minus the rows at the given indexes.
func (b *Batch) without(drop map[int]bool) *Batch {
	out := &Batch{buf: b.buf, rows: make([]batchRow, 0, len(b.rows))}
	for i, r := range b.rows {
		if !drop[i] {
			out.rows = append(out.rows, r)
		}
	}
	return out
}

func (b *Batch) halves() (*Batch, *Batch) {
	mid := len(b.rows) / 2
	return &Batch{buf: b.buf, rows: b.rows[:mid:mid]}, &Batch{buf: b.buf, rows: b.rows[mid:]}
}

type batchReader struct {
	buf  []byte
	rows []batchRow
	off  int // into rows[0]'s bytes
}

func (r *batchReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && len(r.rows) > 0 {
		row := r.rows[0]
		c := copy(p[n:], r.buf[row.start+r.off:row.end])
		n += c
		if r.off += c; row.start+r.off == row.end {
			r.rows, r.off = r.rows[1:], 0
		}
	}
	if n == 0 && len(r.rows) == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// Rejection is a row of a batch the database refused.
type Rejection struct {
	// Row is the row's index in the batch as sent; -1 when the database
	// refused a row without saying which (MariaDB's duplicate keys): the
	// batch is then split in halves until the row is alone.
	Row    int
	Column string // when the database names it
	Err    error  // the database's reason
}

// Sender sends one batch to the database inside a savepoint. When the
// database takes every row it releases the savepoint and returns the rows
// loaded. When it refuses rows for their values (a type, a length, a
// constraint) it rolls back to the savepoint, so nothing of the batch
// stays, and returns them. Any other error fails the load.
type Sender func(ctx context.Context, b *Batch) (loaded int64, rejected []Rejection, err error)

// SendSkipping is SkipBadRows' path: it sends rows in bounded batches
// through send, reports each row the database rejects, at its source line
// and with its column and reason, through the load's OnBadRow (rows that
// fail to parse are reported by Rows itself), resends the batch without
// them, and returns the rows loaded.
func SendSkipping(ctx context.Context, rows *Rows, enc Encoder, send Sender) (int64, error) {
	var b Batch
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		rec, err := rows.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return total, err
		}
		b.add(enc, rec, rows.Line())
		if b.full() {
			n, err := sendBatch(ctx, rows, &b, send)
			total += n
			if err != nil {
				return total, err
			}
			b.reset()
		}
	}
	if b.Len() == 0 {
		return total, nil
	}
	n, err := sendBatch(ctx, rows, &b, send)
	return total + n, err
}

// sendBatch sends b until the database takes what is left of it. Each try
// drops at least one row, so a batch is sent at most Len()+1 times.
func sendBatch(ctx context.Context, rows *Rows, b *Batch, send Sender) (int64, error) {
	for tries := b.Len() + 1; b.Len() > 0; tries-- {
		if tries == 0 {
			return 0, fmt.Errorf("rows from line %d: the database kept rejecting the batch", b.rows[0].src)
		}
		n, rejected, err := send(ctx, b)
		switch {
		case err != nil:
			return 0, err
		case len(rejected) == 0:
			return n, nil
		case rejected[0].Row < 0 && b.Len() == 1:
			rows.reject(b.rows[0].src, rejected[0].Column, rejected[0].Err)
			return 0, nil
		case rejected[0].Row < 0:
			lo, hi := b.halves()
			n, err := sendBatch(ctx, rows, lo, send)
			if err != nil {
				return n, err
			}
			m, err := sendBatch(ctx, rows, hi, send)
			return n + m, err
		}
		drop := make(map[int]bool, len(rejected))
		sort.Slice(rejected, func(i, j int) bool { return rejected[i].Row < rejected[j].Row })
		for _, r := range rejected {
			if r.Row >= b.Len() || drop[r.Row] {
				continue
			}
			drop[r.Row] = true
			rows.reject(b.rows[r.Row].src, r.Column, r.Err)
		}
		if len(drop) == 0 {
			return 0, fmt.Errorf("rows from line %d: the database rejected a row past the batch's end: %w", b.rows[0].src, rejected[0].Err)
		}
		b = b.without(drop)
	}
	return 0, nil
}

// SourceLine returns the source line of the row on line n of the batch as
// sent (see RowAtLine).
func (b *Batch) SourceLine(n int) (int, bool) {
	if i := b.RowAtLine(n); i >= 0 {
		return b.rows[i].src, true
	}
	return 0, false
}
