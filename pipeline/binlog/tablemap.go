package binlog

import (
	"fmt"

	"github.com/s3bridge/s3bridge/mysqlproto"
)

// MariaDB's column-compressed types (CREATE TABLE … COMPRESSED).
const (
	typeVarcharCompressed byte = 141
	typeBlobCompressed    byte = 140
	// The fractional-seconds temporal types (MySQL 5.6's, MariaDB's by
	// default): mysqlproto lists the types a result set carries, which
	// never has these.
	typeTimestamp2 byte = 0x11
	typeDatetime2  byte = 0x12
	typeTime2      byte = 0x13
)

// Optional metadata field types of a TABLE_MAP event
// (binlog_row_metadata=MINIMAL or FULL).
const (
	metaSignedness            = 1
	metaDefaultCharset        = 2
	metaColumnCharset         = 3
	metaColumnName            = 4
	metaSetValues             = 5
	metaEnumValues            = 6
	metaGeometryType          = 7
	metaSimplePrimaryKey      = 8
	metaPrimaryKeyWithPrefix  = 9
	metaEnumSetDefaultCharset = 10
	metaEnumSetColumnCharset  = 11
)

// tableMap is a TABLE_MAP event: the table a table id stands for in the
// row events after it, with its columns' binlog types and metadata.
type tableMap struct {
	id              uint64
	database, table string
	columns         []columnMap
	// names: the server sent column names (binlog_row_metadata=FULL).
	names bool
	// key lists the primary key's columns, by index.
	key []int
	// fields lists the optional metadata fields sent, by type.
	fields []byte
}

// columnMap is what a TABLE_MAP says of one column.
type columnMap struct {
	typ byte // the binlog type; STRING for CHAR, BINARY, ENUM and SET
	// real is the type inside STRING (STRING, ENUM or SET), typ otherwise.
	real     byte
	meta     uint16
	nullable bool
	// From the optional metadata, when sent.
	name      string
	unsigned  bool
	collation uint32 // 0: none sent
	enum, set [][]byte
	geometry  uint64
}

// parseTableMap reads a TABLE_MAP event with a post-header of postLen
// bytes.
func parseTableMap(body []byte, postLen int) (*tableMap, error) {
	r := reader{b: body}
	tm := &tableMap{}
	if postLen == 6 {
		tm.id = uint64(r.u32())
	} else {
		tm.id = r.u48()
	}
	r.take(postLen - min(postLen, 6)) // flags
	tm.database = string(r.take(int(r.u8())))
	r.u8()
	tm.table = string(r.take(int(r.u8())))
	r.u8()
	n := r.lenenc()
	if n > uint64(len(r.b)) {
		return nil, fmt.Errorf("TABLE_MAP of %d columns in %d bytes: %w", n, len(body), errShort)
	}
	types := r.take(int(n))
	meta := reader{b: r.lenencBytes()}
	nulls := r.take(int(n+7) / 8)
	if err := r.err("TABLE_MAP"); err != nil {
		return nil, err
	}
	tm.columns = make([]columnMap, n)
	for i := range tm.columns {
		c := &tm.columns[i]
		c.typ, c.real = types[i], types[i]
		c.nullable = nulls[i/8]&(1<<(i%8)) != 0
		switch c.typ {
		case mysqlproto.TypeVarchar, mysqlproto.TypeVarString, mysqlproto.TypeBit, typeVarcharCompressed:
			c.meta = meta.u16()
		case mysqlproto.TypeNewDecimal, mysqlproto.TypeDecimal, mysqlproto.TypeString, mysqlproto.TypeEnum, mysqlproto.TypeSet:
			b := meta.take(2)
			if b != nil {
				c.meta = uint16(b[0])<<8 | uint16(b[1])
			}
		case mysqlproto.TypeBlob, mysqlproto.TypeTinyBlob, mysqlproto.TypeMediumBlob, mysqlproto.TypeLongBlob,
			mysqlproto.TypeFloat, mysqlproto.TypeDouble, mysqlproto.TypeGeometry, mysqlproto.TypeJSON,
			typeTime2, typeDatetime2, typeTimestamp2, typeBlobCompressed:
			c.meta = uint16(meta.u8())
		}
		if c.typ == mysqlproto.TypeString && c.meta >= 256 {
			c.real, c.meta = stringMeta(c.meta)
		}
	}
	if err := meta.err(fmt.Sprintf("TABLE_MAP of %s.%s column metadata", tm.database, tm.table)); err != nil {
		return nil, err
	}
	if err := tm.optional(r.rest()); err != nil {
		return nil, fmt.Errorf("TABLE_MAP of %s.%s optional metadata: %w", tm.database, tm.table, err)
	}
	return tm, nil
}

// stringMeta splits a STRING column's metadata into its real type and
// its length in bytes. A CHAR of more than 255 bytes keeps the length's
// top bits, XORed, in bits 4 and 5 of the type byte (MySQL bug #37426).
func stringMeta(meta uint16) (real byte, length uint16) {
	b0, b1 := byte(meta>>8), byte(meta)
	if b0&0x30 != 0x30 {
		return b0 | 0x30, uint16(b1) | uint16((b0&0x30)^0x30)<<4
	}
	return b0, uint16(b1)
}

// numeric reports the columns the signedness bitmap has a bit for: the
// numbers, and YEAR (MariaDB's is a TINYINT underneath).
func (c *columnMap) numeric() bool {
	switch c.typ {
	case mysqlproto.TypeYear, mysqlproto.TypeTiny, mysqlproto.TypeShort, mysqlproto.TypeInt24, mysqlproto.TypeLong, mysqlproto.TypeLongLong,
		mysqlproto.TypeFloat, mysqlproto.TypeDouble, mysqlproto.TypeNewDecimal, mysqlproto.TypeDecimal:
		return true
	}
	return false
}

// enumOrSet reports an ENUM or SET column.
func (c *columnMap) enumOrSet() bool {
	return c.real == mysqlproto.TypeEnum || c.real == mysqlproto.TypeSet
}

// character reports the columns the charset fields have a collation
// for: strings and blobs, not ENUM and SET (which have fields of their
// own), and GEOMETRY, whose values MariaDB keeps as binary strings (where
// MySQL leaves it out). BIT has none.
func (c *columnMap) character() bool {
	switch c.typ {
	case mysqlproto.TypeVarchar, mysqlproto.TypeVarString, mysqlproto.TypeBlob, mysqlproto.TypeTinyBlob,
		mysqlproto.TypeMediumBlob, mysqlproto.TypeLongBlob, mysqlproto.TypeGeometry, typeVarcharCompressed, typeBlobCompressed:
		return true
	case mysqlproto.TypeString:
		return !c.enumOrSet()
	}
	return false
}

// optional reads the optional metadata fields (type, length, value).
func (tm *tableMap) optional(b []byte) error {
	r := reader{b: b}
	for len(r.b) > 0 && !r.bad {
		typ := r.u8()
		f := reader{b: r.lenencBytes()}
		if r.bad {
			break
		}
		tm.fields = append(tm.fields, typ)
		var err error
		switch typ {
		case metaSignedness:
			tm.signedness(f.rest())
		case metaDefaultCharset:
			err = tm.defaultCharset(&f, (*columnMap).character)
		case metaColumnCharset:
			err = tm.columnCharset(&f, (*columnMap).character)
		case metaEnumSetDefaultCharset:
			err = tm.defaultCharset(&f, (*columnMap).enumOrSet)
		case metaEnumSetColumnCharset:
			err = tm.columnCharset(&f, (*columnMap).enumOrSet)
		case metaColumnName:
			for i := range tm.columns {
				tm.columns[i].name = string(f.lenencBytes())
			}
			tm.names = !f.bad
		case metaSetValues, metaEnumValues:
			tm.labels(&f, typ == metaSetValues)
		case metaGeometryType:
			for i := range tm.columns {
				if tm.columns[i].typ == mysqlproto.TypeGeometry {
					tm.columns[i].geometry = f.lenenc()
				}
			}
		case metaSimplePrimaryKey:
			for len(f.b) > 0 && !f.bad {
				tm.key = append(tm.key, int(f.lenenc()))
			}
		case metaPrimaryKeyWithPrefix:
			for len(f.b) > 0 && !f.bad {
				tm.key = append(tm.key, int(f.lenenc()))
				f.lenenc() // the prefix length
			}
		}
		if err == nil {
			err = f.err(fmt.Sprintf("field %d", typ))
		}
		if err != nil {
			return err
		}
	}
	for _, k := range tm.key {
		if k < 0 || k >= len(tm.columns) {
			return fmt.Errorf("primary key column %d of %d", k, len(tm.columns))
		}
	}
	return r.err("fields")
}

// signedness reads a bitmap with a bit per numeric column, most
// significant first; a set bit is UNSIGNED.
func (tm *tableMap) signedness(bits []byte) {
	j := 0
	for i := range tm.columns {
		c := &tm.columns[i]
		if !c.numeric() {
			continue
		}
		if j/8 < len(bits) {
			c.unsigned = bits[j/8]&(0x80>>(j%8)) != 0
		}
		j++
	}
}

// defaultCharset reads a default collation and the exceptions, pairs of
// (index among the columns of, collation).
func (tm *tableMap) defaultCharset(f *reader, of func(*columnMap) bool) error {
	def := uint32(f.lenenc())
	var cols []*columnMap
	for i := range tm.columns {
		if of(&tm.columns[i]) {
			tm.columns[i].collation = def
			cols = append(cols, &tm.columns[i])
		}
	}
	for len(f.b) > 0 && !f.bad {
		i, coll := f.lenenc(), uint32(f.lenenc())
		if i >= uint64(len(cols)) {
			return fmt.Errorf("collation of column %d of %d", i, len(cols))
		}
		cols[i].collation = coll
	}
	return nil
}

// columnCharset reads a collation per column of.
func (tm *tableMap) columnCharset(f *reader, of func(*columnMap) bool) error {
	for i := range tm.columns {
		if of(&tm.columns[i]) {
			tm.columns[i].collation = uint32(f.lenenc())
		}
	}
	return nil
}

// labels reads the labels of every SET (or ENUM) column.
func (tm *tableMap) labels(f *reader, set bool) {
	for i := range tm.columns {
		c := &tm.columns[i]
		if c.real != mysqlproto.TypeSet && c.real != mysqlproto.TypeEnum || (c.real == mysqlproto.TypeSet) != set {
			continue
		}
		n := f.lenenc()
		if n > uint64(len(f.b)) {
			f.bad = true
			return
		}
		labels := make([][]byte, n)
		for j := range labels {
			labels[j] = f.lenencBytes()
		}
		if set {
			c.set = labels
		} else {
			c.enum = labels
		}
	}
}
