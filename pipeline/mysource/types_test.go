package mysource

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/statement"
)

// everyType is a column of every type MariaDB pipelines take, with two
// values (typical, extreme; a third row is all NULL): pipeline/binlog's
// list, whose stream decoding its own tests check against the server.
var everyType = []struct{ name, def, v1, v2 string }{
	{"ti", "TINYINT", "42", "-128"},
	{"tiu", "TINYINT UNSIGNED", "200", "255"},
	{"si", "SMALLINT", "-1234", "-32768"},
	{"siu", "SMALLINT UNSIGNED", "60000", "65535"},
	{"mi", "MEDIUMINT", "123456", "-8388608"},
	{"miu", "MEDIUMINT UNSIGNED", "9000000", "16777215"},
	{"i", "INT NOT NULL", "-7", "-2147483648"},
	{"iu", "INT UNSIGNED", "3000000000", "4294967295"},
	{"bi", "BIGINT", "9223372036854775807", "-9223372036854775808"},
	{"biu", "BIGINT UNSIGNED", "9223372036854775808", "18446744073709551615"},
	{"d1", "DECIMAL(10,2)", "12345678.90", "-99999999.99"},
	{"d2", "DECIMAL(65,30)", "12345678901234567890123456789012345.123456789012345678901234567890", "-0.000000000000000000000000000001"},
	{"d3", "DECIMAL(18,9) UNSIGNED", "123456789.987654321", "0"},
	{"f", "FLOAT", "3.14159", "-3.4028234e38"},
	{"f2", "FLOAT", "0.123456789", "16777217"},
	{"dbl", "DOUBLE", "0.1", "1.7976931348623157e308"},
	{"dt", "DATE", "'2024-02-29'", "'0001-01-01'"},
	{"tm", "TIME", "'12:34:56'", "'-838:59:59'"},
	{"tm3", "TIME(3)", "'-00:00:00.5'", "'838:59:59.999'"},
	{"tm6", "TIME(6)", "'-01:00:00.000001'", "'23:59:59.999999'"},
	{"dtm", "DATETIME", "'2024-02-29 12:34:56'", "'9999-12-31 23:59:59'"},
	{"dtm1", "DATETIME(1)", "'2024-02-29 12:34:56.7'", "'1000-01-01 00:00:00.1'"},
	{"dtm6", "DATETIME(6)", "'2024-02-29 12:34:56.123456'", "'9999-12-31 23:59:59.999999'"},
	{"ts", "TIMESTAMP NULL", "'2024-02-29 12:34:56'", "'1970-01-01 00:00:01'"},
	{"ts2", "TIMESTAMP(2) NULL", "'2024-02-29 12:34:56.78'", "'2038-01-19 03:14:07.99'"},
	{"ts6", "TIMESTAMP(6) NULL", "'2001-02-03 04:05:06.000007'", "'2038-01-19 03:14:07.999999'"},
	{"yr", "YEAR", "2024", "2155"},
	{"c", "CHAR(10)", "'abc'", "'Ωμέγα€🙂'"},
	{"c255", "CHAR(255)", "'xxxxxé  '", "REPEAT('🙂', 255)"},
	{"vc", "VARCHAR(100)", "'hello, wörld  '", "''"},
	{"vlat", "VARCHAR(20) CHARACTER SET latin1", "'café €'", "'Ÿ‰ ¤'"},
	{"v16", "VARCHAR(10) CHARACTER SET utf16", "'Ωmega🙂'", "'x'"},
	{"vsj", "VARCHAR(10) CHARACTER SET sjis", "'日本語'", "'ｶﾀｶﾅ'"},
	{"varm", "VARCHAR(10) CHARACTER SET armscii8", "'abc'", "''"},
	{"bin", "BINARY(8)", "'ab'", "X'00FF00FF00FF00FF'"},
	{"vbin", "VARBINARY(300)", "X'00FF10'", "REPEAT(X'AB', 300)"},
	{"tt", "TINYTEXT", "'tiny'", "''"},
	{"tx", "TEXT", "'text ✓'", "REPEAT('t', 65535)"},
	{"mt", "MEDIUMTEXT", "'medium'", "REPEAT('m', 70000)"},
	{"lt", "LONGTEXT", "'long'", "REPEAT('ł', 100000)"},
	{"tb", "TINYBLOB", "X'01'", "X''"},
	{"bl", "BLOB", "X'0203'", "REPEAT(X'00', 1000)"},
	{"mb", "MEDIUMBLOB", "X'04'", "REPEAT(X'FE', 70000)"},
	{"lb", "LONGBLOB", "X'05'", "REPEAT(X'FF', 100000)"},
	{"e", "ENUM('a','b','ç','🙂')", "'ç'", "'🙂'"},
	{"s", "SET('x','y','z')", "'x,z'", "''"},
	{"b1", "BIT(1)", "b'1'", "b'0'"},
	{"b10", "BIT(10)", "b'1010101010'", "b'1111111111'"},
	{"b64", "BIT(64)", "b'1'", "X'FFFFFFFFFFFFFFFF'"},
	{"j", "JSON", `'{"a": [1, 2, "ü"]}'`, "'[]'"},
	{"g", "GEOMETRY", "ST_GeomFromText('LINESTRING(0 0, 1 1, 2 5)')", "ST_GeomFromText('POINT(1 2)')"},
	{"p", "POINT", "POINT(1.5, -2.25)", "POINT(0, 0)"},
}

// TestSnapshotMatchesStream reads the same rows of every type from the
// stream and from a snapshot: one schema version (the same shape, the
// same key), and every value the same, of the same Go type.
func TestSnapshotMatchesStream(t *testing.T) {
	defs := []string{"`id` INT PRIMARY KEY"}
	names := []string{"`id`"}
	r1, r2, r3 := []string{"1"}, []string{"2"}, []string{"3"}
	for _, c := range everyType {
		defs = append(defs, "`"+c.name+"` "+c.def)
		names = append(names, "`"+c.name+"`")
		v3 := "NULL"
		if strings.Contains(c.def, "NOT NULL") {
			v3 = "0"
		}
		r1, r2, r3 = append(r1, c.v1), append(r2, c.v2), append(r3, v3)
	}
	e := newEnv(t, "CREATE TABLE `t` ("+strings.Join(defs, ", ")+") DEFAULT CHARSET=utf8mb4")
	s := e.source("t")
	st := stream(t, s, StreamOptions{})
	e.exec("INSERT INTO `t` (" + strings.Join(names, ", ") + ") VALUES (" + strings.Join(r1, ", ") + "), (" +
		strings.Join(r2, ", ") + "), (" + strings.Join(r3, ", ") + ")")
	streamed, _ := changes(t, st, 3)

	_, sn := snapshotOf(t, s)
	ts := schemaOf(t, sn, e.table("t"))
	if ss := streamed[0].Schema; !ss.SameShape(ts) {
		t.Fatalf("snapshot shape differs from the stream's: %s\nsnapshot %+v\nstream   %+v", ss.Diff(ts), ts.Columns, ss.Columns)
	}
	for i, c := range ts.Columns {
		if c.Key != streamed[0].Schema.Columns[i].Key {
			t.Errorf("column %s: key %t in the snapshot, %t in the stream", c.Name, c.Key, streamed[0].Schema.Columns[i].Key)
		}
	}
	rows := readAll(t, sn, ts)
	slices.SortFunc(rows, func(a, b pipeline.Row) int { return int(a[0].(int32) - b[0].(int32)) })
	if len(rows) != 3 {
		t.Fatalf("%d snapshot rows, want 3", len(rows))
	}
	for i, row := range rows {
		want := streamed[i].After
		for j, v := range row {
			if !sameValue(v, want[j]) {
				t.Errorf("row %d column %s (%s): snapshot %s, stream %s", i+1, ts.Columns[j].Name, ts.Columns[j].Type.Name, show(v), show(want[j]))
			}
		}
	}
}

func show(v any) string {
	s := fmt.Sprintf("%T %v", v, v)
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

// TestKeyFlags: the snapshot marks as Key the columns the stream does —
// the primary key, a unique key of NOT NULL columns standing in for one
// (InnoDB's clustered index), none for a table without either.
func TestKeyFlags(t *testing.T) {
	e := newEnv(t,
		"CREATE TABLE `pk` (`a` INT, `b` VARCHAR(5), `c` INT, PRIMARY KEY (`b`, `a`))",
		"CREATE TABLE `uniq` (`u` INT NOT NULL, `v` INT, UNIQUE KEY (`u`))",
		"CREATE TABLE `nullable` (`u` INT, `v` INT, UNIQUE KEY (`u`))",
		"CREATE TABLE `nokey` (`a` INT, `b` INT)")
	tables := []string{"pk", "uniq", "nullable", "nokey"}
	s := e.source(tables...)
	st := stream(t, s, StreamOptions{})
	e.exec("INSERT INTO `pk` VALUES (1, 'x', 2)")
	for _, name := range tables[1:] {
		e.exec("INSERT INTO " + statement.QuoteIdentMySQL(name) + " VALUES (1, 2)")
	}
	streamed, _ := changes(t, st, len(tables))
	_, sn := snapshotOf(t, s)
	for _, c := range streamed {
		ts := schemaOf(t, sn, e.table(c.Source.Table))
		var got, want []string
		for i, col := range ts.Columns {
			if col.Key {
				got = append(got, col.Name)
			}
			if c.Schema.Columns[i].Key {
				want = append(want, c.Schema.Columns[i].Name)
			}
		}
		if !slices.Equal(got, want) || !ts.SameShape(c.Schema) {
			t.Errorf("%s: key %v in the snapshot, %v in the stream", c.Source.Table, got, want)
		}
	}
}
