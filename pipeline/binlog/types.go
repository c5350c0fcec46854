package binlog

import (
	"errors"
	"fmt"

	"github.com/s3bridge/s3bridge/mysqlproto"
	"github.com/s3bridge/s3bridge/pipeline"
)

// ErrNoColumnNames means a TABLE_MAP event came without column names:
// the server logs them only with binlog_row_metadata=FULL, and without
// them (and the signedness and charsets that come with them) a row can't
// be decoded into named, typed values.
var ErrNoColumnNames = errors.New("TABLE_MAP has no column names: set binlog_row_metadata=FULL on the server")

// column is a column's decoder: its binlog type and metadata, and the
// pipeline type its values have.
type column struct {
	typ, real byte
	meta      uint16
	unsigned  bool
	// text converts a character column's bytes; nil for binary strings.
	text text
	// utf8: the charset is UTF-8 (or ASCII), whose valid bytes are
	// taken as they are (see utf8Text).
	utf8 bool
	// labels are an ENUM's or SET's labels, as UTF-8.
	labels []string
	ptype  pipeline.Type
}

// Collations maps a collation id to its charset's name ("utf8mb4",
// "latin1", "binary"): information_schema.COLLATIONS of the server.
type Collations map[uint32]string

// newColumn makes a column's decoder: its ColumnType from the TABLE_MAP,
// typed by PipelineType (as a snapshot types it from information_schema),
// and what decoding its values needs besides. Two choices are the
// decoder's own: a zero or partly zero DATE, DATETIME or TIMESTAMP
// ('0000-00-00', which no calendar has) is nil, and MySQL's binary JSON
// and compressed columns are refused.
func newColumn(cm *columnMap, collations Collations) (column, error) {
	c := column{typ: cm.typ, real: cm.real, meta: cm.meta, unsigned: cm.unsigned}
	ct := ColumnType{Unsigned: cm.unsigned}
	switch cm.typ {
	case mysqlproto.TypeTiny:
		ct.Base = "tinyint"
	case mysqlproto.TypeShort:
		ct.Base = "smallint"
	case mysqlproto.TypeInt24:
		ct.Base = "mediumint"
	case mysqlproto.TypeLong:
		ct.Base = "int"
	case mysqlproto.TypeLongLong:
		ct.Base = "bigint"
	case mysqlproto.TypeFloat:
		ct.Base = "float"
	case mysqlproto.TypeDouble:
		ct.Base = "double"
	case mysqlproto.TypeNewDecimal:
		ct.Base, ct.Precision, ct.Scale = "decimal", int(cm.meta>>8), int(cm.meta&0xff)
	case mysqlproto.TypeYear:
		ct.Base = "year"
	case mysqlproto.TypeDate, mysqlproto.TypeNewDate:
		ct.Base = "date"
	case typeTime2, mysqlproto.TypeTime:
		ct.Base, ct.FSP = "time", fsp(cm)
	case typeDatetime2, mysqlproto.TypeDatetime:
		ct.Base, ct.FSP = "datetime", fsp(cm)
	case typeTimestamp2, mysqlproto.TypeTimestamp:
		ct.Base, ct.FSP = "timestamp", fsp(cm)
	case mysqlproto.TypeBit:
		ct.Base, ct.Precision = "bit", int(cm.meta>>8)*8+int(cm.meta&0xff)
	case mysqlproto.TypeGeometry:
		ct.Base = geometryName(cm.geometry)
	case mysqlproto.TypeJSON:
		return c, &UnsupportedTypeError{errors.New("MySQL's binary JSON is not supported yet")}
	case mysqlproto.TypeNull:
		ct.Base = "null"
	case mysqlproto.TypeVarchar, mysqlproto.TypeVarString, mysqlproto.TypeString,
		mysqlproto.TypeBlob, mysqlproto.TypeTinyBlob, mysqlproto.TypeMediumBlob, mysqlproto.TypeLongBlob:
		if err := c.stringType(cm, collations, &ct); err != nil {
			return c, err
		}
	case typeVarcharCompressed, typeBlobCompressed:
		return c, &UnsupportedTypeError{errors.New("compressed columns (CREATE TABLE … COMPRESSED) are not supported")}
	default:
		return c, &UnsupportedTypeError{fmt.Errorf("binlog column type %d is not supported", cm.typ)}
	}
	pt, ok := ct.PipelineType()
	if !ok {
		return c, &UnsupportedTypeError{fmt.Errorf("binlog column type %d (%s) is not supported", cm.typ, ct.Base)}
	}
	c.ptype = pt
	if pt.Kind == pipeline.KindString {
		// PipelineType took the charset for text: textOf converts it.
		c.text, _ = textOf(ct.Charset)
		c.utf8 = isUTF8(ct.Charset)
	}
	return c, nil
}

// stringType describes the character and binary string columns, ENUM and
// SET, and converts an ENUM's or SET's labels to UTF-8.
func (c *column) stringType(cm *columnMap, collations Collations, ct *ColumnType) error {
	charset := "binary"
	if cm.collation != 0 && cm.collation != collationBinary {
		cs, ok := collations[cm.collation]
		if !ok {
			return fmt.Errorf("collation %d is unknown to the server", cm.collation)
		}
		charset = cs
	}
	ct.Charset = charset
	switch cm.real {
	case mysqlproto.TypeEnum, mysqlproto.TypeSet:
		labels := cm.enum
		ct.Base = "enum"
		if cm.real == mysqlproto.TypeSet {
			labels, ct.Base = cm.set, "set"
		}
		if labels == nil {
			return fmt.Errorf("%s column without its labels", ct.Base)
		}
		conv, isText := textOf(charset)
		c.labels = make([]string, len(labels))
		for i, l := range labels {
			if isText {
				c.labels[i] = conv(l)
			} else {
				c.labels[i] = utf8Text(l)
			}
		}
		return nil
	}
	// The text name: PipelineType names a binary (or unconverted) one
	// by its binary twin.
	switch cm.typ {
	case mysqlproto.TypeVarchar, mysqlproto.TypeVarString:
		ct.Base = "varchar"
	case mysqlproto.TypeString:
		ct.Base = "char"
	default:
		sizes := [...]string{1: "tiny", 2: "", 3: "medium", 4: "long"}
		if cm.meta < 1 || cm.meta > 4 {
			return fmt.Errorf("blob with %d length bytes", cm.meta)
		}
		ct.Base = sizes[cm.meta] + "text"
	}
	return nil
}

// fsp is a temporal column's fractional digits: none in the format
// before MariaDB 10.3 (TIME, DATETIME, TIMESTAMP rather than TIME2 …).
func fsp(cm *columnMap) int {
	switch cm.typ {
	case typeTime2, typeDatetime2, typeTimestamp2:
		return int(cm.meta)
	}
	return 0
}

// geometryName names a TABLE_MAP's geometry type code.
func geometryName(t uint64) string {
	if t < uint64(len(geometryTypes)) {
		return geometryTypes[t]
	}
	return "geometry"
}

// table is what the rows of a table id are decoded with: the columns'
// decoders and the schema version their values conform to.
type table struct {
	id      uint64
	columns []column
	schema  *pipeline.TableSchema
	// body is the TABLE_MAP event's body the table was made from: the
	// same body again (the next statement on the table) reuses it.
	body []byte
}

// newTable makes the decoders of a TABLE_MAP and its schema's shape (its
// version is for pipeline.Versions to give). database is the pipeline's
// name for the server.
func newTable(tm *tableMap, database string, collations Collations) (*table, pipeline.TableSchema, error) {
	shape := pipeline.TableSchema{Database: database, Schema: tm.database, Table: tm.table}
	if !tm.names {
		return nil, shape, fmt.Errorf("table %s.%s: %w", tm.database, tm.table, ErrNoColumnNames)
	}
	tb := &table{id: tm.id, columns: make([]column, len(tm.columns))}
	shape.Columns = make([]pipeline.Column, len(tm.columns))
	for i := range tm.columns {
		cm := &tm.columns[i]
		c, err := newColumn(cm, collations)
		if err != nil {
			return nil, shape, fmt.Errorf("table %s.%s column %s: %w", tm.database, tm.table, cm.name, err)
		}
		tb.columns[i] = c
		shape.Columns[i] = pipeline.Column{Name: cm.name, Type: c.ptype, Nullable: cm.nullable}
	}
	for _, k := range tm.key {
		shape.Columns[k].Key = true
	}
	return tb, shape, nil
}
