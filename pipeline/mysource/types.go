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

// columnType types a column as pipeline/binlog types it from a TABLE_MAP
// with binlog_row_metadata=FULL: both describe it as a binlog.ColumnType
// and take its PipelineType, so a snapshot's rows and the stream's changes
// have one schema version.
func columnType(c infoColumn) (pipeline.Type, error) {
	// The stream refuses a compressed column (its TABLE_MAP type is
	// MariaDB's own, whose values it can't decode): refused here too, a
	// snapshot fails before its rows are copied instead of the stream at
	// the table's first change.
	if strings.HasSuffix(c.columnType, " compressed*/") {
		return pipeline.Type{}, &binlog.UnsupportedTypeError{Err: fmt.Errorf("type %s: compressed columns (CREATE TABLE … COMPRESSED) are not supported", c.columnType)}
	}
	ct := binlog.ColumnType{
		Base:      c.dataType,
		Unsigned:  strings.Contains(c.columnType, "unsigned"),
		Precision: int(c.precision),
		Scale:     int(c.scale),
		Charset:   c.charset,
	}
	// A column in the format before MariaDB 10.3 (mysql56_temporal_format
	// =OFF when it was made; COLUMN_TYPE says "/* mariadb-5.3 */") has its
	// fractional digits in no TABLE_MAP: none.
	if !strings.Contains(c.columnType, "mariadb-5.3") {
		ct.FSP = int(c.fsp)
	}
	t, ok := ct.PipelineType()
	if !ok {
		return pipeline.Type{}, &binlog.UnsupportedTypeError{Err: fmt.Errorf("type %s is not supported by MariaDB pipelines", c.columnType)}
	}
	return t, nil
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
		if binlog.IsGeometry(t.Name) {
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
