package mysource

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/binlog"
)

// infoColumn is what information_schema.COLUMNS says of a column.
type infoColumn struct {
	name, dataType, columnType string
	nullable, primary          bool
	precision, scale, fsp      int64
	charset                    string // "" for binary strings and non-strings
}

// columnType types a column exactly as pipeline/binlog types it from a
// TABLE_MAP with binlog_row_metadata=FULL (binlog's newColumn), so a
// snapshot's rows and the stream's changes have one schema version: the
// same Kind and the same Name.
func columnType(c infoColumn) (pipeline.Type, error) {
	unsigned := strings.Contains(c.columnType, "unsigned")
	sign := ""
	if unsigned {
		sign = " unsigned"
	}
	t := func(k pipeline.Kind, name string) pipeline.Type { return pipeline.Type{Kind: k, Name: name} }
	switch dt := c.dataType; dt {
	case "tinyint", "smallint", "mediumint":
		return t(pipeline.KindInt32, dt+sign), nil
	case "int":
		if unsigned {
			return t(pipeline.KindInt64, "int unsigned"), nil
		}
		return t(pipeline.KindInt32, "int"), nil
	case "bigint":
		if unsigned {
			return pipeline.Type{Kind: pipeline.KindDecimal, Precision: 20, Name: "bigint unsigned"}, nil
		}
		return t(pipeline.KindInt64, "bigint"), nil
	case "float":
		return t(pipeline.KindFloat32, "float"+sign), nil
	case "double":
		return t(pipeline.KindFloat64, "double"+sign), nil
	case "decimal":
		p, s := int(c.precision), int(c.scale)
		return pipeline.Type{Kind: pipeline.KindDecimal, Precision: p, Scale: s, Name: fmt.Sprintf("decimal(%d,%d)%s", p, s, sign)}, nil
	case "year":
		return t(pipeline.KindInt32, "year"), nil
	case "date":
		return t(pipeline.KindDate, "date"), nil
	case "time":
		return t(pipeline.KindTime, fspName(dt, c)), nil
	case "datetime":
		return t(pipeline.KindTimestamp, fspName(dt, c)), nil
	case "timestamp":
		return t(pipeline.KindTimestampTZ, fspName(dt, c)), nil
	case "bit":
		if c.precision == 1 {
			return t(pipeline.KindBool, "bit(1)"), nil
		}
		return t(pipeline.KindBytes, fmt.Sprintf("bit(%d)", c.precision)), nil
	case "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection":
		return t(pipeline.KindBytes, dt), nil
	case "enum":
		return t(pipeline.KindEnum, "enum"), nil
	case "set":
		return t(pipeline.KindText, "set"), nil
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
		if c.charset != "" && binlog.TextCharset(c.charset) {
			return t(pipeline.KindString, dt), nil
		}
		// A charset the stream doesn't convert: its bytes, named as
		// the binary type of the same size.
		return t(pipeline.KindBytes, binaryName[dt]), nil
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return t(pipeline.KindBytes, dt), nil
	}
	return pipeline.Type{}, fmt.Errorf("type %s is not supported by MariaDB pipelines", c.columnType)
}

var binaryName = map[string]string{"char": "binary", "varchar": "varbinary", "tinytext": "tinyblob",
	"text": "blob", "mediumtext": "mediumblob", "longtext": "longblob"}

// fspName names a temporal type with its fractional digits, "time(3)",
// as the stream does. A column in the format before MariaDB 10.3
// (mysql56_temporal_format=OFF when it was made; COLUMN_TYPE says
// "/* mariadb-5.3 */") has its digits in no TABLE_MAP: no digits.
func fspName(name string, c infoColumn) string {
	if c.fsp > 0 && !strings.Contains(c.columnType, "mariadb-5.3") {
		return fmt.Sprintf("%s(%d)", name, c.fsp)
	}
	return name
}

// rawBytes reports the columns a snapshot selects as CAST(… AS BINARY):
// the text in a charset the stream doesn't convert, whose bytes the stream
// carries as they are stored (and, harmlessly, the binary strings).
func rawBytes(t pipeline.Type) bool {
	if t.Kind != pipeline.KindBytes {
		return false
	}
	switch t.Name {
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return true
	}
	return false
}

// isGeometry reports the spatial types, whose values MariaDB keeps as a
// 4-byte SRID then WKB; the stream carries the WKB.
func isGeometry(t pipeline.Type) bool {
	switch t.Name {
	case "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection":
		return true
	}
	return false
}

// value converts a value of the binary protocol (go-sql-driver/mysql with
// parseTime off: int64, float32, float64, or the server's text as []byte;
// nil for NULL) to t's Go type, the value the stream would have decoded.
func value(t pipeline.Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t.Kind {
	case pipeline.KindInt32:
		n, err := integer(v)
		return int32(n), err
	case pipeline.KindInt64:
		return integer(v)
	case pipeline.KindFloat32:
		switch x := v.(type) {
		case float32:
			return x, nil
		case float64:
			return float32(x), nil
		}
	case pipeline.KindFloat64:
		switch x := v.(type) {
		case float64:
			return x, nil
		case float32:
			return float64(x), nil
		}
	case pipeline.KindDecimal:
		r, ok := new(big.Rat).SetString(text(v))
		if !ok {
			return nil, fmt.Errorf("decimal %q", text(v))
		}
		return r, nil
	case pipeline.KindDate, pipeline.KindTimestamp, pipeline.KindTimestampTZ:
		return parseDateTime(text(v))
	case pipeline.KindTime:
		return parseTime(text(v))
	case pipeline.KindBool:
		b, ok := v.([]byte)
		if !ok || len(b) == 0 {
			return nil, fmt.Errorf("bit(1) value %v", v)
		}
		return b[0] != 0, nil
	case pipeline.KindBytes:
		b, ok := v.([]byte)
		if !ok {
			return nil, fmt.Errorf("%s value of type %T", t.Name, v)
		}
		if isGeometry(t) {
			if len(b) < 4 {
				return nil, fmt.Errorf("geometry of %d bytes: no SRID", len(b))
			}
			return b[4:], nil
		}
		return b, nil
	case pipeline.KindString, pipeline.KindEnum, pipeline.KindText:
		s := text(v)
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "\uFFFD")
		}
		return s, nil
	}
	return nil, fmt.Errorf("%s value of type %T", t.Name, v)
}

func text(v any) string {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	}
	return fmt.Sprint(v)
}

func integer(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case []byte:
		return strconv.ParseInt(string(x), 10, 64)
	}
	return 0, fmt.Errorf("integer value of type %T", v)
}

// parseDateTime reads "YYYY-MM-DD" and "YYYY-MM-DD hh:mm:ss[.ffffff]" (a
// DATETIME's wall clock, or a TIMESTAMP in the session's UTC) as a time in
// UTC. A date no calendar has (the zero date, a zero month or day) is nil,
// as in the stream.
func parseDateTime(s string) (any, error) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return nil, fmt.Errorf("date %q", s)
	}
	y, err1 := strconv.Atoi(s[:4])
	m, err2 := strconv.Atoi(s[5:7])
	d, err3 := strconv.Atoi(s[8:10])
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, fmt.Errorf("date %q", s)
	}
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return nil, nil
	}
	day := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if len(s) == 10 {
		return day, nil
	}
	if s[10] != ' ' {
		return nil, fmt.Errorf("datetime %q", s)
	}
	clock, err := parseTime(s[11:])
	if err != nil {
		return nil, fmt.Errorf("datetime %q: %w", s, err)
	}
	return day.Add(clock.(time.Duration)), nil
}

// parseTime reads "[-]h…h:mm:ss[.f…]" as a time.Duration.
func parseTime(s string) (any, error) {
	neg := strings.HasPrefix(s, "-")
	rest := strings.TrimPrefix(s, "-")
	parts := strings.Split(rest, ":")
	if len(parts) != 3 {
		return nil, fmt.Errorf("time %q", s)
	}
	secs, frac, _ := strings.Cut(parts[2], ".")
	h, err1 := strconv.ParseInt(parts[0], 10, 64)
	m, err2 := strconv.ParseInt(parts[1], 10, 64)
	sec, err3 := strconv.ParseInt(secs, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || len(frac) > 6 {
		return nil, fmt.Errorf("time %q", s)
	}
	var us int64
	if frac != "" {
		f, err := strconv.ParseInt((frac + "000000")[:6], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("time %q", s)
		}
		us = f
	}
	d := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second + time.Duration(us)*time.Microsecond
	if neg {
		d = -d
	}
	return d, nil
}
