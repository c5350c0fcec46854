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

// The types' pipeline kinds and names. Choices where MariaDB's types and
// the pipeline's kinds don't line up one to one:
//   - BIGINT UNSIGNED is a KindDecimal(20,0) (*big.Rat): every value up to
//     2⁶⁴-1, exact and typed as a number; INT UNSIGNED is a KindInt64 and
//     the smaller integers, signed or not, KindInt32.
//   - TIME is a KindTime, a time.Duration; MariaDB's TIME is an interval
//     of -838:59:59 to 838:59:59, so a value may be negative or past 24h.
//   - YEAR is a KindInt32 (0 for the year 0000).
//   - BIT(1) is a KindBool, a wider BIT a KindBytes, big-endian.
//   - SET is a KindText: its labels joined by commas, as SELECT shows it.
//   - GEOMETRY is a KindBytes of the value's WKB (the SRID MariaDB keeps
//     before it is dropped).
//   - MariaDB's JSON is a LONGTEXT with a check: the binlog can't tell it
//     from one, so it is a KindString.
//   - A zero or partly zero DATE, DATETIME or TIMESTAMP ('0000-00-00',
//     which no calendar has) is nil.
//   - Text in a charset this package can't convert is a KindBytes.
func newColumn(cm *columnMap, collations Collations) (column, error) {
	c := column{typ: cm.typ, real: cm.real, meta: cm.meta, unsigned: cm.unsigned}
	sign := ""
	if cm.unsigned {
		sign = " unsigned"
	}
	t := func(k pipeline.Kind, name string) pipeline.Type { return pipeline.Type{Kind: k, Name: name} }
	switch cm.typ {
	case mysqlproto.TypeTiny:
		c.ptype = t(pipeline.KindInt32, "tinyint"+sign)
	case mysqlproto.TypeShort:
		c.ptype = t(pipeline.KindInt32, "smallint"+sign)
	case mysqlproto.TypeInt24:
		c.ptype = t(pipeline.KindInt32, "mediumint"+sign)
	case mysqlproto.TypeLong:
		c.ptype = t(pipeline.KindInt32, "int"+sign)
		if cm.unsigned {
			c.ptype.Kind = pipeline.KindInt64
		}
	case mysqlproto.TypeLongLong:
		c.ptype = t(pipeline.KindInt64, "bigint"+sign)
		if cm.unsigned {
			c.ptype = pipeline.Type{Kind: pipeline.KindDecimal, Precision: 20, Name: "bigint unsigned"}
		}
	case mysqlproto.TypeFloat:
		c.ptype = t(pipeline.KindFloat32, "float"+sign)
	case mysqlproto.TypeDouble:
		c.ptype = t(pipeline.KindFloat64, "double"+sign)
	case mysqlproto.TypeNewDecimal:
		p, s := int(cm.meta>>8), int(cm.meta&0xff)
		c.ptype = pipeline.Type{Kind: pipeline.KindDecimal, Precision: p, Scale: s, Name: fmt.Sprintf("decimal(%d,%d)%s", p, s, sign)}
	case mysqlproto.TypeYear:
		c.ptype = t(pipeline.KindInt32, "year")
	case mysqlproto.TypeDate, mysqlproto.TypeNewDate:
		c.ptype = t(pipeline.KindDate, "date")
	case typeTime2, mysqlproto.TypeTime:
		c.ptype = t(pipeline.KindTime, fsp("time", cm))
	case typeDatetime2, mysqlproto.TypeDatetime:
		c.ptype = t(pipeline.KindTimestamp, fsp("datetime", cm))
	case typeTimestamp2, mysqlproto.TypeTimestamp:
		c.ptype = t(pipeline.KindTimestampTZ, fsp("timestamp", cm))
	case mysqlproto.TypeBit:
		bits := int(cm.meta>>8)*8 + int(cm.meta&0xff)
		c.ptype = t(pipeline.KindBytes, fmt.Sprintf("bit(%d)", bits))
		if bits == 1 {
			c.ptype.Kind = pipeline.KindBool
		}
	case mysqlproto.TypeGeometry:
		c.ptype = t(pipeline.KindBytes, geometryName(cm.geometry))
	case mysqlproto.TypeJSON:
		return c, fmt.Errorf("MySQL's binary JSON is not supported yet")
	case mysqlproto.TypeNull:
		c.ptype = t(pipeline.KindText, "null")
	case mysqlproto.TypeVarchar, mysqlproto.TypeVarString, mysqlproto.TypeString,
		mysqlproto.TypeBlob, mysqlproto.TypeTinyBlob, mysqlproto.TypeMediumBlob, mysqlproto.TypeLongBlob:
		return c, c.stringType(cm, collations)
	case typeVarcharCompressed, typeBlobCompressed:
		return c, fmt.Errorf("compressed columns (CREATE TABLE … COMPRESSED) are not supported")
	default:
		return c, fmt.Errorf("binlog column type %d is not supported", cm.typ)
	}
	return c, nil
}

// stringType types the character and binary string columns, ENUM and
// SET.
func (c *column) stringType(cm *columnMap, collations Collations) error {
	charset := "binary"
	if cm.collation != 0 && cm.collation != collationBinary {
		cs, ok := collations[cm.collation]
		if !ok {
			return fmt.Errorf("collation %d is unknown to the server", cm.collation)
		}
		charset = cs
	}
	conv, isText := textOf(charset)
	switch cm.real {
	case mysqlproto.TypeEnum, mysqlproto.TypeSet:
		labels := cm.enum
		kind, name := pipeline.KindEnum, "enum"
		if cm.real == mysqlproto.TypeSet {
			labels, kind, name = cm.set, pipeline.KindText, "set"
		}
		if labels == nil {
			return fmt.Errorf("%s column without its labels", name)
		}
		c.labels = make([]string, len(labels))
		for i, l := range labels {
			if isText {
				c.labels[i] = conv(l)
			} else {
				c.labels[i] = utf8Text(l)
			}
		}
		c.ptype = pipeline.Type{Kind: kind, Name: name}
		return nil
	}
	var name string
	switch cm.typ {
	case mysqlproto.TypeVarchar, mysqlproto.TypeVarString:
		name = "varchar"
		if !isText {
			name = "varbinary"
		}
	case mysqlproto.TypeString:
		name = "char"
		if !isText {
			name = "binary"
		}
	default:
		sizes := [...]string{1: "tiny", 2: "", 3: "medium", 4: "long"}
		if cm.meta < 1 || cm.meta > 4 {
			return fmt.Errorf("blob with %d length bytes", cm.meta)
		}
		name = sizes[cm.meta] + "text"
		if !isText {
			name = sizes[cm.meta] + "blob"
		}
	}
	if !isText {
		c.ptype = pipeline.Type{Kind: pipeline.KindBytes, Name: name}
		return nil
	}
	c.text, c.utf8 = conv, isUTF8(charset)
	c.ptype = pipeline.Type{Kind: pipeline.KindString, Name: name}
	return nil
}

// fsp names a temporal type with its fractional digits: "datetime(6)".
func fsp(name string, cm *columnMap) string {
	switch cm.typ {
	case typeTime2, typeDatetime2, typeTimestamp2:
		if cm.meta > 0 {
			return fmt.Sprintf("%s(%d)", name, cm.meta)
		}
	}
	return name
}

func geometryName(t uint64) string {
	names := [...]string{"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection"}
	if t < uint64(len(names)) {
		return names[t]
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
