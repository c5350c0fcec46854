package binlog

import (
	"fmt"
	"slices"

	"github.com/s3bridge/s3bridge/pipeline"
)

// ColumnType is a MariaDB column's type as both of its descriptions tell
// it: a TABLE_MAP event's type code and metadata (binlog_row_metadata=FULL)
// and information_schema.COLUMNS. The stream (newColumn) and a snapshot
// (pipeline/mysource) each build one and type the column with
// PipelineType, so a table's rows and its changes have one schema version.
type ColumnType struct {
	// Base is the type's name without its parameters, as
	// information_schema's DATA_TYPE spells it: "tinyint", "decimal",
	// "datetime", "varchar", "longblob", "point", "enum". A character type
	// may be named by its text name with Charset "binary" for its binary
	// one ("varchar" for "varbinary"): the binlog can't tell them apart
	// but by their charset.
	Base     string
	Unsigned bool
	// Precision and Scale are a DECIMAL's digits; Precision is also a
	// BIT's width in bits.
	Precision, Scale int
	// FSP is a TIME's, DATETIME's or TIMESTAMP's fractional digits: 0
	// for a column in the format before MariaDB 10.3, whose digits no
	// TABLE_MAP carries.
	FSP int
	// Charset is a character type's charset (MariaDB's name); "" or
	// "binary" for a binary string.
	Charset string
}

// UnsupportedTypeError is a column of a type pipelines don't take. A new
// run reads the same table the same way, so it needs a person: the column
// altered, or the table left out of the pipeline.
type UnsupportedTypeError struct{ Err error }

func (e *UnsupportedTypeError) Error() string { return e.Err.Error() }
func (e *UnsupportedTypeError) Unwrap() error { return e.Err }

// geometryTypes are the spatial types, in the order of the TABLE_MAP's
// geometry type codes (MariaDB's Field::geometry_type).
var geometryTypes = [...]string{"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection"}

// IsGeometry reports whether name (a pipeline.Type's Name of a MariaDB
// column) is a spatial type, whose values MariaDB keeps as a 4-byte SRID
// then WKB and the stream carries as the WKB.
func IsGeometry(name string) bool {
	return slices.Contains(geometryTypes[:], name)
}

// binaryNames are the binary strings of the same sizes as the character
// ones: the type of a character column whose charset the stream doesn't
// convert (or that is binary).
var binaryNames = map[string]string{"char": "binary", "varchar": "varbinary", "tinytext": "tinyblob",
	"text": "blob", "mediumtext": "mediumblob", "longtext": "longblob"}

// PipelineType returns the pipeline's type of a column of type c; false
// when the pipelines don't take c.Base. The choices where MariaDB's types
// and the pipeline's kinds don't line up one to one:
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
//   - MariaDB's JSON is a LONGTEXT with a check: neither the binlog nor
//     DATA_TYPE tells it from one, so it is a KindString.
//   - Text in a charset the stream can't convert (see TextCharset) is a
//     KindBytes named as the binary type of the same size.
func (c ColumnType) PipelineType() (pipeline.Type, bool) {
	t := func(k pipeline.Kind, name string) (pipeline.Type, bool) {
		return pipeline.Type{Kind: k, Name: name}, true
	}
	sign := ""
	if c.Unsigned {
		sign = " unsigned"
	}
	switch b := c.Base; b {
	case "tinyint", "smallint", "mediumint":
		return t(pipeline.KindInt32, b+sign)
	case "int":
		if c.Unsigned {
			return t(pipeline.KindInt64, "int unsigned")
		}
		return t(pipeline.KindInt32, "int")
	case "bigint":
		if c.Unsigned {
			return pipeline.Type{Kind: pipeline.KindDecimal, Precision: 20, Name: "bigint unsigned"}, true
		}
		return t(pipeline.KindInt64, "bigint")
	case "float":
		return t(pipeline.KindFloat32, "float"+sign)
	case "double":
		return t(pipeline.KindFloat64, "double"+sign)
	case "decimal":
		name := fmt.Sprintf("decimal(%d,%d)%s", c.Precision, c.Scale, sign)
		return pipeline.Type{Kind: pipeline.KindDecimal, Precision: c.Precision, Scale: c.Scale, Name: name}, true
	case "year":
		return t(pipeline.KindInt32, "year")
	case "date":
		return t(pipeline.KindDate, "date")
	case "time":
		return t(pipeline.KindTime, c.withFSP())
	case "datetime":
		return t(pipeline.KindTimestamp, c.withFSP())
	case "timestamp":
		return t(pipeline.KindTimestampTZ, c.withFSP())
	case "bit":
		if c.Precision == 1 {
			return t(pipeline.KindBool, "bit(1)")
		}
		return t(pipeline.KindBytes, fmt.Sprintf("bit(%d)", c.Precision))
	case "enum":
		return t(pipeline.KindEnum, "enum")
	case "set":
		return t(pipeline.KindText, "set")
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		if TextCharset(c.Charset) {
			return t(pipeline.KindString, b)
		}
		return t(pipeline.KindBytes, binaryNames[b])
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return t(pipeline.KindBytes, b)
	case "null":
		// A TABLE_MAP's MYSQL_TYPE_NULL; no table has such a column.
		return t(pipeline.KindText, "null")
	}
	if IsGeometry(c.Base) {
		return t(pipeline.KindBytes, c.Base)
	}
	return pipeline.Type{}, false
}

// withFSP names a temporal type with its fractional digits: "time(3)".
func (c ColumnType) withFSP() string {
	if c.FSP > 0 {
		return fmt.Sprintf("%s(%d)", c.Base, c.FSP)
	}
	return c.Base
}
