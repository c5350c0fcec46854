package binlog

import (
	"testing"

	"github.com/s3bridge/s3bridge/pipeline"
)

// TestPipelineType: the one mapping the stream and a snapshot type their
// columns with. TestEveryType and mysource's TestSnapshotMatchesStream
// check that both describe live columns alike.
func TestPipelineType(t *testing.T) {
	typ := func(k pipeline.Kind, name string) pipeline.Type { return pipeline.Type{Kind: k, Name: name} }
	for _, tc := range []struct {
		ct   ColumnType
		want pipeline.Type
	}{
		{ColumnType{Base: "tinyint"}, typ(pipeline.KindInt32, "tinyint")},
		{ColumnType{Base: "tinyint", Unsigned: true}, typ(pipeline.KindInt32, "tinyint unsigned")},
		{ColumnType{Base: "smallint"}, typ(pipeline.KindInt32, "smallint")},
		{ColumnType{Base: "smallint", Unsigned: true}, typ(pipeline.KindInt32, "smallint unsigned")},
		{ColumnType{Base: "mediumint"}, typ(pipeline.KindInt32, "mediumint")},
		{ColumnType{Base: "mediumint", Unsigned: true}, typ(pipeline.KindInt32, "mediumint unsigned")},
		{ColumnType{Base: "int"}, typ(pipeline.KindInt32, "int")},
		{ColumnType{Base: "int", Unsigned: true}, typ(pipeline.KindInt64, "int unsigned")},
		{ColumnType{Base: "bigint"}, typ(pipeline.KindInt64, "bigint")},
		{ColumnType{Base: "bigint", Unsigned: true}, pipeline.Type{Kind: pipeline.KindDecimal, Precision: 20, Name: "bigint unsigned"}},
		{ColumnType{Base: "float"}, typ(pipeline.KindFloat32, "float")},
		{ColumnType{Base: "float", Unsigned: true}, typ(pipeline.KindFloat32, "float unsigned")},
		{ColumnType{Base: "double"}, typ(pipeline.KindFloat64, "double")},
		{ColumnType{Base: "double", Unsigned: true}, typ(pipeline.KindFloat64, "double unsigned")},
		{ColumnType{Base: "decimal", Precision: 10, Scale: 2}, pipeline.Type{Kind: pipeline.KindDecimal, Precision: 10, Scale: 2, Name: "decimal(10,2)"}},
		{ColumnType{Base: "decimal", Precision: 18, Scale: 9, Unsigned: true},
			pipeline.Type{Kind: pipeline.KindDecimal, Precision: 18, Scale: 9, Name: "decimal(18,9) unsigned"}},
		{ColumnType{Base: "decimal", Precision: 65, Scale: 30}, pipeline.Type{Kind: pipeline.KindDecimal, Precision: 65, Scale: 30, Name: "decimal(65,30)"}},
		{ColumnType{Base: "decimal", Precision: 5}, pipeline.Type{Kind: pipeline.KindDecimal, Precision: 5, Name: "decimal(5,0)"}},
		// YEAR carries a signedness bit in the binlog, never a sign.
		{ColumnType{Base: "year", Unsigned: true}, typ(pipeline.KindInt32, "year")},
		{ColumnType{Base: "date"}, typ(pipeline.KindDate, "date")},
		{ColumnType{Base: "time"}, typ(pipeline.KindTime, "time")},
		{ColumnType{Base: "time", FSP: 3}, typ(pipeline.KindTime, "time(3)")},
		{ColumnType{Base: "datetime"}, typ(pipeline.KindTimestamp, "datetime")},
		{ColumnType{Base: "datetime", FSP: 6}, typ(pipeline.KindTimestamp, "datetime(6)")},
		{ColumnType{Base: "timestamp"}, typ(pipeline.KindTimestampTZ, "timestamp")},
		{ColumnType{Base: "timestamp", FSP: 1}, typ(pipeline.KindTimestampTZ, "timestamp(1)")},
		{ColumnType{Base: "bit", Precision: 1}, typ(pipeline.KindBool, "bit(1)")},
		{ColumnType{Base: "bit", Precision: 2}, typ(pipeline.KindBytes, "bit(2)")},
		{ColumnType{Base: "bit", Precision: 64}, typ(pipeline.KindBytes, "bit(64)")},
		{ColumnType{Base: "enum", Charset: "utf8mb4"}, typ(pipeline.KindEnum, "enum")},
		{ColumnType{Base: "enum", Charset: "armscii8"}, typ(pipeline.KindEnum, "enum")},
		{ColumnType{Base: "set", Charset: "latin1"}, typ(pipeline.KindText, "set")},
		{ColumnType{Base: "char", Charset: "utf8mb4"}, typ(pipeline.KindString, "char")},
		{ColumnType{Base: "varchar", Charset: "latin1"}, typ(pipeline.KindString, "varchar")},
		{ColumnType{Base: "varchar", Charset: "sjis"}, typ(pipeline.KindString, "varchar")},
		{ColumnType{Base: "tinytext", Charset: "utf16"}, typ(pipeline.KindString, "tinytext")},
		{ColumnType{Base: "longtext", Charset: "utf8mb3"}, typ(pipeline.KindString, "longtext")},
		// A charset the stream doesn't convert, or none: the binary twin.
		{ColumnType{Base: "varchar", Charset: "armscii8"}, typ(pipeline.KindBytes, "varbinary")},
		{ColumnType{Base: "char", Charset: "binary"}, typ(pipeline.KindBytes, "binary")},
		{ColumnType{Base: "varchar", Charset: "binary"}, typ(pipeline.KindBytes, "varbinary")},
		{ColumnType{Base: "tinytext", Charset: "binary"}, typ(pipeline.KindBytes, "tinyblob")},
		{ColumnType{Base: "text", Charset: "binary"}, typ(pipeline.KindBytes, "blob")},
		{ColumnType{Base: "mediumtext", Charset: "binary"}, typ(pipeline.KindBytes, "mediumblob")},
		{ColumnType{Base: "longtext"}, typ(pipeline.KindBytes, "longblob")},
		// information_schema names the binary strings themselves.
		{ColumnType{Base: "binary"}, typ(pipeline.KindBytes, "binary")},
		{ColumnType{Base: "varbinary"}, typ(pipeline.KindBytes, "varbinary")},
		{ColumnType{Base: "tinyblob"}, typ(pipeline.KindBytes, "tinyblob")},
		{ColumnType{Base: "blob"}, typ(pipeline.KindBytes, "blob")},
		{ColumnType{Base: "mediumblob"}, typ(pipeline.KindBytes, "mediumblob")},
		{ColumnType{Base: "longblob"}, typ(pipeline.KindBytes, "longblob")},
		{ColumnType{Base: "geometry"}, typ(pipeline.KindBytes, "geometry")},
		{ColumnType{Base: "point"}, typ(pipeline.KindBytes, "point")},
		{ColumnType{Base: "linestring"}, typ(pipeline.KindBytes, "linestring")},
		{ColumnType{Base: "polygon"}, typ(pipeline.KindBytes, "polygon")},
		{ColumnType{Base: "multipoint"}, typ(pipeline.KindBytes, "multipoint")},
		{ColumnType{Base: "multilinestring"}, typ(pipeline.KindBytes, "multilinestring")},
		{ColumnType{Base: "multipolygon"}, typ(pipeline.KindBytes, "multipolygon")},
		{ColumnType{Base: "geometrycollection"}, typ(pipeline.KindBytes, "geometrycollection")},
		{ColumnType{Base: "null"}, typ(pipeline.KindText, "null")},
	} {
		got, ok := tc.ct.PipelineType()
		if !ok || !got.Equal(tc.want) {
			t.Errorf("%+v: got %+v, %t; want %+v", tc.ct, got, ok, tc.want)
		}
	}
	for _, base := range []string{"", "uuid", "inet4", "inet6", "json", "vector"} {
		if got, ok := (ColumnType{Base: base}).PipelineType(); ok {
			t.Errorf("%q: got %+v, want not supported", base, got)
		}
	}
}

func TestIsGeometry(t *testing.T) {
	for i := range uint64(len(geometryTypes)) + 1 {
		if name := geometryName(i); !IsGeometry(name) {
			t.Errorf("geometryName(%d) = %q: not IsGeometry", i, name)
		}
	}
	for _, name := range []string{"", "blob", "varbinary", "bit(1)", "points"} {
		if IsGeometry(name) {
			t.Errorf("IsGeometry(%q)", name)
		}
	}
}
