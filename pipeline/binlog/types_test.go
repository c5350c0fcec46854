package binlog

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/pipeline"
)

// typeCol is a column of every MariaDB type, with two values (typical,
// extreme; a third row is all NULL) and the SQL expression that gives its
// value as text the test compares with (server side, independent of this
// package's decoding).
type typeCol struct {
	name, def string
	v1, v2    string // SQL literals
	sel       string // the oracle expression; %s is the column
}

var everyType = []typeCol{
	{"ti", "TINYINT", "42", "-128", "%s"},
	{"tiu", "TINYINT UNSIGNED", "200", "255", "%s"},
	{"si", "SMALLINT", "-1234", "-32768", "%s"},
	{"siu", "SMALLINT UNSIGNED", "60000", "65535", "%s"},
	{"mi", "MEDIUMINT", "123456", "-8388608", "%s"},
	{"miu", "MEDIUMINT UNSIGNED", "9000000", "16777215", "%s"},
	{"i", "INT", "-7", "-2147483648", "%s"},
	{"iu", "INT UNSIGNED", "3000000000", "4294967295", "%s"},
	{"bi", "BIGINT", "9223372036854775807", "-9223372036854775808", "%s"},
	{"biu", "BIGINT UNSIGNED", "9223372036854775808", "18446744073709551615", "%s"},
	{"d1", "DECIMAL(10,2)", "12345678.90", "-99999999.99", "%s"},
	{"d2", "DECIMAL(65,30)", "12345678901234567890123456789012345.123456789012345678901234567890", "-0.000000000000000000000000000001", "%s"},
	{"d3", "DECIMAL(18,9) UNSIGNED", "123456789.987654321", "0", "%s"},
	{"d4", "DECIMAL(5,0)", "-5", "99999", "%s"},
	{"d5", "DECIMAL(20,10)", "-1234567890.0123456789", "0.0000000001", "%s"},
	{"f", "FLOAT", "3.14159", "-3.4028234e38", "CAST(%s AS DOUBLE)"},
	{"dbl", "DOUBLE", "0.1", "1.7976931348623157e308", "%s"},
	{"dt", "DATE", "'2024-02-29'", "'0001-01-01'", "%s"},
	{"tm", "TIME", "'12:34:56'", "'-838:59:59'", "CAST(TIME_TO_SEC(%s)*1000000 AS SIGNED)"},
	{"tm3", "TIME(3)", "'-00:00:00.5'", "'838:59:59.999'", "CAST(TIME_TO_SEC(%s)*1000000 AS SIGNED)"},
	{"tm6", "TIME(6)", "'-01:00:00.000001'", "'23:59:59.999999'", "CAST(TIME_TO_SEC(%s)*1000000 AS SIGNED)"},
	{"dtm", "DATETIME", "'2024-02-29 12:34:56'", "'9999-12-31 23:59:59'", "CAST(CAST(%s AS DATETIME(6)) AS CHAR)"},
	{"dtm1", "DATETIME(1)", "'2024-02-29 12:34:56.7'", "'1000-01-01 00:00:00.1'", "CAST(CAST(%s AS DATETIME(6)) AS CHAR)"},
	{"dtm4", "DATETIME(4)", "'2024-02-29 12:34:56.1234'", "'9999-12-31 23:59:59.9999'", "CAST(CAST(%s AS DATETIME(6)) AS CHAR)"},
	{"dtm6", "DATETIME(6)", "'2024-02-29 12:34:56.123456'", "'9999-12-31 23:59:59.999999'", "CAST(CAST(%s AS DATETIME(6)) AS CHAR)"},
	{"ts", "TIMESTAMP NULL", "'2024-02-29 12:34:56'", "'1970-01-01 00:00:01'", "CAST(UNIX_TIMESTAMP(%s)*1000000 AS SIGNED)"},
	{"ts2", "TIMESTAMP(2) NULL", "'2024-02-29 12:34:56.78'", "'2038-01-19 03:14:07.99'", "CAST(UNIX_TIMESTAMP(%s)*1000000 AS SIGNED)"},
	{"ts6", "TIMESTAMP(6) NULL", "'2001-02-03 04:05:06.000007'", "'2038-01-19 03:14:07.999999'", "CAST(UNIX_TIMESTAMP(%s)*1000000 AS SIGNED)"},
	{"yr", "YEAR", "2024", "2155", "CAST(%s AS UNSIGNED)"},
	{"c", "CHAR(10)", "'abc'", "'Ωμέγα€🙂'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"c255", "CHAR(255)", "'xxxxxé'", "REPEAT('🙂', 255)", "HEX(CONVERT(%s USING utf8mb4))"},
	{"vc", "VARCHAR(100)", "'hello, wörld'", "''", "HEX(CONVERT(%s USING utf8mb4))"},
	{"vcl", "VARCHAR(1000)", "REPEAT('ß', 1000)", "'short'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"vlat", "VARCHAR(20) CHARACTER SET latin1", "'café €'", "'Ÿ‰ ¤'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"v16", "VARCHAR(10) CHARACTER SET utf16", "'Ωmega🙂'", "'x'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"vsj", "VARCHAR(10) CHARACTER SET sjis", "'日本語'", "'ｶﾀｶﾅ'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"bin", "BINARY(8)", "'ab'", "X'00FF00FF00FF00FF'", "HEX(%s)"},
	{"vbin", "VARBINARY(300)", "X'00FF10'", "REPEAT(X'AB', 300)", "HEX(%s)"},
	{"tt", "TINYTEXT", "'tiny'", "''", "HEX(CONVERT(%s USING utf8mb4))"},
	{"tx", "TEXT", "'text ✓'", "REPEAT('t', 65535)", "HEX(CONVERT(%s USING utf8mb4))"},
	{"mt", "MEDIUMTEXT", "'medium'", "REPEAT('m', 70000)", "HEX(CONVERT(%s USING utf8mb4))"},
	{"lt", "LONGTEXT", "'long'", "REPEAT('ł', 100000)", "HEX(CONVERT(%s USING utf8mb4))"},
	{"tb", "TINYBLOB", "X'01'", "X''", "HEX(%s)"},
	{"bl", "BLOB", "X'0203'", "REPEAT(X'00', 1000)", "HEX(%s)"},
	{"mb", "MEDIUMBLOB", "X'04'", "REPEAT(X'FE', 70000)", "HEX(%s)"},
	{"lb", "LONGBLOB", "X'05'", "REPEAT(X'FF', 100000)", "HEX(%s)"},
	{"e", "ENUM('a','b','ç','🙂')", "'ç'", "'🙂'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"s", "SET('x','y','z')", "'x,z'", "''", "HEX(CONVERT(%s USING utf8mb4))"},
	{"b1", "BIT(1)", "b'1'", "b'0'", "CAST(%s AS UNSIGNED)"},
	{"b10", "BIT(10)", "b'1010101010'", "b'1111111111'", "CAST(%s AS UNSIGNED)"},
	{"b64", "BIT(64)", "b'1'", "X'FFFFFFFFFFFFFFFF'", "CAST(%s AS UNSIGNED)"},
	{"j", "JSON", `'{"a": [1, 2, "ü"]}'`, "'[]'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"g", "GEOMETRY", "ST_GeomFromText('LINESTRING(0 0, 1 1, 2 5)')", "ST_GeomFromText('POINT(1 2)')", "HEX(ST_AsBinary(%s))"},
	{"p", "POINT", "POINT(1.5, -2.25)", "POINT(0, 0)", "HEX(ST_AsBinary(%s))"},
}

// createTable creates a table of cols and an INT primary key id.
func createTable(table string, cols []typeCol) string {
	defs := []string{"`id` INT PRIMARY KEY"}
	for _, c := range cols {
		defs = append(defs, "`"+c.name+"` "+c.def)
	}
	return "CREATE TABLE `" + table + "` (" + strings.Join(defs, ", ") + ") DEFAULT CHARSET=utf8mb4"
}

// insertRows inserts rows 1 (typical values), 2 (extremes) and 3 (NULLs)
// in one statement.
func insertRows(table string, cols []typeCol) string {
	names := []string{"`id`"}
	r1, r2, r3 := []string{"1"}, []string{"2"}, []string{"3"}
	for _, c := range cols {
		names = append(names, "`"+c.name+"`")
		r1, r2, r3 = append(r1, c.v1), append(r2, c.v2), append(r3, "NULL")
	}
	return "INSERT INTO `" + table + "` (" + strings.Join(names, ", ") + ") VALUES (" + strings.Join(r1, ", ") + "), (" +
		strings.Join(r2, ", ") + "), (" + strings.Join(r3, ", ") + ")"
}

// oracle returns the server's text of every row of table, by id: the
// value of each column's sel expression, nil for NULL.
func oracle(t *testing.T, db *sql.DB, table string, cols []typeCol) map[string][]*string {
	t.Helper()
	sels := []string{"CAST(`id` AS CHAR)"}
	for _, c := range cols {
		sels = append(sels, fmt.Sprintf(c.sel, "`"+c.name+"`"))
	}
	rows, err := db.QueryContext(t.Context(), "SELECT "+strings.Join(sels, ", ")+" FROM `"+table+"` ORDER BY `id`")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]*string{}
	for rows.Next() {
		vals := make([]sql.NullString, len(sels))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		texts := make([]*string, len(vals))
		for i, v := range vals {
			if v.Valid {
				texts[i] = &v.String
			}
		}
		out[vals[0].String] = texts
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// textOfValue formats a decoded value the way the column's oracle expression
// does, to compare with it.
func textOfValue(v any, c pipeline.Column) (string, error) {
	switch x := v.(type) {
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case *big.Rat:
		return x.FloatString(c.Type.Scale), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 64), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case bool:
		if x {
			return "1", nil
		}
		return "0", nil
	case time.Duration:
		return strconv.FormatInt(x.Microseconds(), 10), nil
	case time.Time:
		switch c.Type.Kind {
		case pipeline.KindDate:
			return x.Format("2006-01-02"), nil
		case pipeline.KindTimestamp:
			return x.Format("2006-01-02 15:04:05.000000"), nil
		case pipeline.KindTimestampTZ:
			return strconv.FormatInt(x.UnixMicro(), 10), nil
		}
	case string:
		return strings.ToUpper(hex.EncodeToString([]byte(x))), nil
	case []byte:
		if strings.HasPrefix(c.Type.Name, "bit(") {
			var n [8]byte
			copy(n[8-len(x):], x)
			return strconv.FormatUint(binary.BigEndian.Uint64(n[:]), 10), nil
		}
		return strings.ToUpper(hex.EncodeToString(x)), nil
	}
	return "", fmt.Errorf("value %#v of kind %s", v, c.Type.Kind)
}

// normalize makes a server's text comparable with textOfValue's: floats are
// compared as values (the server's shortest form and Go's may differ in
// spelling).
func normalize(s string, c pipeline.Column) string {
	if c.Type.Kind == pipeline.KindFloat32 || c.Type.Kind == pipeline.KindFloat64 {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return strconv.FormatFloat(f, 'g', -1, 64)
		}
	}
	return s
}

// compareRow checks a decoded row image against the server's texts of
// the same row (want[0] is the id, then one per column of cols).
func compareRow(t *testing.T, what string, ts *pipeline.TableSchema, got pipeline.Row, want []*string, cols []typeCol) {
	t.Helper()
	if len(got) != len(cols)+1 {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(cols)+1)
	}
	for i, c := range cols {
		col := ts.Columns[i+1]
		if col.Name != c.name {
			t.Fatalf("%s: column %d is %s, want %s", what, i+1, col.Name, c.name)
		}
		w := want[i+1]
		v := got[i+1]
		switch {
		case w == nil && v == nil:
			continue
		case w == nil:
			t.Errorf("%s %s (%s): got %#v, want NULL", what, c.name, col.Type.Name, v)
			continue
		case v == nil:
			t.Errorf("%s %s (%s): got NULL, want %s", what, c.name, col.Type.Name, short(*w))
			continue
		}
		s, err := textOfValue(v, col)
		if err != nil {
			t.Errorf("%s %s (%s): %v", what, c.name, col.Type.Name, err)
			continue
		}
		if s != normalize(*w, col) {
			t.Errorf("%s %s (%s): got %s, server says %s", what, c.name, col.Type.Name, short(s), short(*w))
		}
	}
}

func short(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%s…(%d bytes)", s[:80], len(s))
	}
	return s
}

// wantTypes are the pipeline types of the test columns (by name).
var wantTypes = map[string]pipeline.Type{
	"ti": {Kind: pipeline.KindInt32, Name: "tinyint"}, "tiu": {Kind: pipeline.KindInt32, Name: "tinyint unsigned"},
	"mi": {Kind: pipeline.KindInt32, Name: "mediumint"}, "iu": {Kind: pipeline.KindInt64, Name: "int unsigned"},
	"bi":  {Kind: pipeline.KindInt64, Name: "bigint"},
	"biu": {Kind: pipeline.KindDecimal, Precision: 20, Name: "bigint unsigned"},
	"d2":  {Kind: pipeline.KindDecimal, Precision: 65, Scale: 30, Name: "decimal(65,30)"},
	"d3":  {Kind: pipeline.KindDecimal, Precision: 18, Scale: 9, Name: "decimal(18,9) unsigned"},
	"f":   {Kind: pipeline.KindFloat32, Name: "float"}, "dt": {Kind: pipeline.KindDate, Name: "date"},
	"tm": {Kind: pipeline.KindTime, Name: "time"}, "tm3": {Kind: pipeline.KindTime, Name: "time(3)"},
	"dtm6": {Kind: pipeline.KindTimestamp, Name: "datetime(6)"}, "ts2": {Kind: pipeline.KindTimestampTZ, Name: "timestamp(2)"},
	"yr": {Kind: pipeline.KindInt32, Name: "year"}, "c": {Kind: pipeline.KindString, Name: "char"},
	"c255": {Kind: pipeline.KindString, Name: "char"}, "vcl": {Kind: pipeline.KindString, Name: "varchar"},
	"vlat": {Kind: pipeline.KindString, Name: "varchar"}, "bin": {Kind: pipeline.KindBytes, Name: "binary"},
	"vbin": {Kind: pipeline.KindBytes, Name: "varbinary"}, "tt": {Kind: pipeline.KindString, Name: "tinytext"},
	"lt": {Kind: pipeline.KindString, Name: "longtext"}, "mb": {Kind: pipeline.KindBytes, Name: "mediumblob"},
	"e": {Kind: pipeline.KindEnum, Name: "enum"}, "s": {Kind: pipeline.KindText, Name: "set"},
	"b1": {Kind: pipeline.KindBool, Name: "bit(1)"}, "b10": {Kind: pipeline.KindBytes, Name: "bit(10)"},
	"j": {Kind: pipeline.KindString, Name: "longtext"}, "g": {Kind: pipeline.KindBytes, Name: "geometry"},
	"p": {Kind: pipeline.KindBytes, Name: "point"},
}

func checkSchema(t *testing.T, ts *pipeline.TableSchema, cols []typeCol) {
	t.Helper()
	if len(ts.Columns) != len(cols)+1 || !ts.Columns[0].Key || ts.Columns[0].Nullable || ts.Columns[0].Name != "id" {
		t.Fatalf("schema %+v", ts)
	}
	for _, c := range ts.Columns[1:] {
		if !c.Nullable || c.Key {
			t.Errorf("column %s: nullable %v, key %v", c.Name, c.Nullable, c.Key)
		}
		// wantTypes names everyType's columns: other tables reuse names.
		if w, ok := wantTypes[c.Name]; ok && &cols[0] == &everyType[0] && !c.Type.Equal(w) {
			t.Errorf("column %s: type %+v, want %+v", c.Name, c.Type, w)
		}
	}
}

// interleaved puts the columns the optional metadata counts in separate
// lists (numeric ones for signedness, character ones for charsets, ENUM
// and SET for theirs) among the others, so a column counted in the wrong
// list shifts the ones after it.
var interleaved = []typeCol{
	{"yr", "YEAR", "1999", "1901", "CAST(%s AS UNSIGNED)"},
	{"u", "INT UNSIGNED", "4000000000", "0", "%s"},
	{"g", "GEOMETRY", "POINT(3, 4)", "ST_GeomFromText('POLYGON((0 0, 1 0, 1 1, 0 0))')", "HEX(ST_AsBinary(%s))"},
	{"el", "ENUM('ä','b') CHARACTER SET latin1", "'ä'", "'b'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"s1", "VARCHAR(5) CHARACTER SET latin1", "'é'", "'ü'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"b", "BIT(3)", "b'101'", "b'0'", "CAST(%s AS UNSIGNED)"},
	{"setl", "SET('ö','o') CHARACTER SET latin1", "'ö,o'", "'o'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"s2", "VARCHAR(5)", "'🙂'", "''", "HEX(CONVERT(%s USING utf8mb4))"},
	{"d", "DECIMAL(5,2) UNSIGNED", "999.99", "0.01", "%s"},
	{"bl", "BLOB", "X'AA'", "X''", "HEX(%s)"},
	{"dt", "DATETIME(3)", "'2020-01-02 03:04:05.678'", "'2020-01-02 03:04:05'", "CAST(CAST(%s AS DATETIME(6)) AS CHAR)"},
	{"s3", "CHAR(3) CHARACTER SET sjis", "'ｱ'", "'漢'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"si", "SMALLINT", "-1", "32767", "%s"},
	{"eu", "ENUM('x','ÿ')", "'ÿ'", "'x'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"tiu", "TINYINT UNSIGNED", "255", "0", "%s"},
	{"tx", "TEXT CHARACTER SET utf16", "'Ω'", "'z'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"fu", "DOUBLE UNSIGNED", "2.5", "0", "%s"},
	{"bi", "BIGINT", "-1", "1", "%s"},
}

// distinct gives each character column a charset of its own, which the
// server logs as a list of collations (COLUMN_CHARSET) rather than a
// default with exceptions.
var distinct = []typeCol{
	{"a", "VARCHAR(5) CHARACTER SET latin1", "'à'", "''", "HEX(CONVERT(%s USING utf8mb4))"},
	{"b", "VARCHAR(5) CHARACTER SET utf16le", "'б'", "'x'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"c", "CHAR(5) CHARACTER SET cp1251", "'ж'", "'y'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"d", "TEXT CHARACTER SET ascii", "'ascii'", "''", "HEX(CONVERT(%s USING utf8mb4))"},
	{"e", "VARCHAR(5) CHARACTER SET utf8mb3 COLLATE utf8mb3_bin", "'ē'", "'z'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"f", "VARCHAR(5) CHARACTER SET utf8mb4 COLLATE utf8mb4_uca1400_ai_ci", "'🙂'", "'q'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"g", "VARBINARY(5)", "X'00'", "X''", "HEX(%s)"},
	{"h", "CHAR(4) CHARACTER SET euckr", "'한'", "'k'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"i", "VARCHAR(4) CHARACTER SET big5", "'中'", "'b'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"j", "VARCHAR(4) CHARACTER SET gbk", "'汉'", "'g'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"k", "VARCHAR(4) CHARACTER SET utf32", "'𝄞'", "'u'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"l", "VARCHAR(4) CHARACTER SET koi8r", "'ы'", "'r'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"m", "VARCHAR(4) CHARACTER SET ucs2", "'ŵ'", "'w'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"n", "VARCHAR(4) CHARACTER SET latin2", "'ł'", "'l'", "HEX(CONVERT(%s USING utf8mb4))"},
}

// mostly has one charset but for one column, which the server logs as a
// default charset with an exception.
var mostly = []typeCol{
	{"a", "VARCHAR(5)", "'à'", "''", "HEX(CONVERT(%s USING utf8mb4))"},
	{"b", "TEXT", "'б'", "'x'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"n", "INT", "1", "2", "%s"},
	{"c", "CHAR(5) CHARACTER SET latin1", "'ç'", "'y'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"d", "VARCHAR(5)", "'🙂'", "''", "HEX(CONVERT(%s USING utf8mb4))"},
	{"e", "ENUM('é', 'f')", "'é'", "'f'", "HEX(CONVERT(%s USING utf8mb4))"},
	{"f", "CHAR(5)", "'ŋ'", "'q'", "HEX(CONVERT(%s USING utf8mb4))"},
}

// TestCompressedColumns: a table with MariaDB's compressed columns (BLOB
// COMPRESSED is type 140, VARCHAR COMPRESSED 141) doesn't stop a stream
// that doesn't capture it, and one that does fails naming the reason.
func TestCompressedColumns(t *testing.T) {
	// One compressed column a table: the two types' metadata differ in
	// length (1 and 2 bytes), which a table holding both would hide.
	e := newEnv(t,
		"CREATE TABLE z (id INT PRIMARY KEY, b BLOB COMPRESSED)",
		"CREATE TABLE y (id INT PRIMARY KEY, v VARCHAR(300) COMPRESSED)",
		"CREATE TABLE t (id INT PRIMARY KEY)")
	st := e.stream(StreamOptions{Include: func(db, table string) bool { return db == e.name && table == "t" }})
	e.exec("INSERT INTO z VALUES (1, REPEAT('x', 1000))")
	e.exec("INSERT INTO y VALUES (1, 'short')")
	e.exec("INSERT INTO t VALUES (7)")
	cs, _ := changes(t, st, 1)
	if cs[0].Source.Table != "t" || cs[0].After[0] != int32(7) {
		t.Fatalf("got %s %v; want t's row 7", cs[0].Source.Table, cs[0].After)
	}

	all := e.stream(StreamOptions{})
	e.exec("INSERT INTO z VALUES (2, 'y')")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for {
		tx, _, err := pipeline.ReadTx(ctx, all)
		if err != nil {
			if !strings.Contains(err.Error(), "compressed columns") {
				t.Fatalf("got %v; want the compressed columns refused", err)
			}
			break
		}
		if len(tx.Changes) > 0 {
			t.Fatalf("z's compressed row was decoded: %v", tx.Changes[0].After)
		}
	}
}
