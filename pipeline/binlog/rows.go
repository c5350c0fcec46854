package binlog

import (
	"fmt"

	"github.com/s3bridge/s3bridge/pipeline"
)

// rowsFlagStmtEnd marks a statement's last rows event; with table id
// 0xFFFFFF it asks the reader to free its table maps.
const rowsFlagStmtEnd = 0x0001

// rowsEvent is a WRITE, UPDATE or DELETE rows event, v1 (MariaDB's) or v2
// (MySQL's), before its rows are decoded.
type rowsEvent struct {
	op      pipeline.Op
	tableID uint64
	flags   uint16
	columns int
	// present says which columns the rows carry (binlog_row_image MINIMAL
	// or NOBLOB leaves some out); after is the after image's for UPDATE.
	present, after []byte
	rows           []byte
}

func rowsOp(t EventType) (pipeline.Op, bool) {
	switch t {
	case WriteRowsEventV1, WriteRowsEventV2:
		return pipeline.OpCreate, true
	case UpdateRowsEventV1, UpdateRowsEventV2:
		return pipeline.OpUpdate, true
	case DeleteRowsEventV1, DeleteRowsEventV2:
		return pipeline.OpDelete, true
	}
	return 0, false
}

// parseRows reads a rows event of type t with a post-header of postLen
// bytes.
func parseRows(t EventType, body []byte, postLen int) (rowsEvent, error) {
	op, _ := rowsOp(t)
	ev := rowsEvent{op: op}
	r := reader{b: body}
	if postLen == 6 {
		ev.tableID = uint64(r.u32())
	} else {
		ev.tableID = r.u48()
	}
	ev.flags = r.u16()
	if t >= WriteRowsEventV2 && t <= DeleteRowsEventV2 {
		extra := int(r.u16()) // its own two bytes included
		r.take(extra - min(extra, 2))
	}
	n := r.lenenc()
	if n > 1<<16 {
		return ev, fmt.Errorf("%s event of %d columns", t, n)
	}
	ev.columns = int(n)
	ev.present = r.take(bitmapLen(ev.columns))
	ev.after = ev.present
	if op == pipeline.OpUpdate {
		ev.after = r.take(bitmapLen(ev.columns))
	}
	ev.rows = r.rest()
	return ev, r.err(t.String())
}

func bitmapLen(n int) int { return (n + 7) / 8 }

func bit(bm []byte, i int) bool { return bm[i/8]&(1<<(i%8)) != 0 }

// presentCount is the number of columns of n a present bitmap has.
func presentCount(present []byte, n int) int {
	k := 0
	for i := range n {
		if bit(present, i) {
			k++
		}
	}
	return k
}

// row decodes one row image of the columns present from b: a NULL bitmap
// with a bit per present column, then the values of those not NULL. n is
// presentCount(present, len(tb.columns)), the same for every row of an
// event. dst has a value per column of the table; the columns not
// present are left nil and listed in missing. It returns the bytes after
// the image. The values are carved from a.
func (tb *table) row(dst pipeline.Row, present []byte, n int, b []byte, missing []int, a *arena) ([]byte, []int, error) {
	nb := bitmapLen(n)
	if len(b) < nb {
		return nil, missing, errValue
	}
	nulls := b[:nb]
	b = b[nb:]
	all := n == len(tb.columns)
	j := 0
	for i := range tb.columns {
		if !all && !bit(present, i) {
			missing = append(missing, i)
			continue
		}
		isNull := nulls[j>>3]&(1<<(j&7)) != 0
		j++
		if isNull {
			continue
		}
		c := &tb.columns[i]
		v, size, err := c.value(b, a)
		if err != nil {
			return nil, missing, fmt.Errorf("column %s (%s): %w", tb.schema.Columns[i].Name, c.ptype.Name, err)
		}
		dst[i] = v
		b = b[size:]
	}
	return b, missing, nil
}
