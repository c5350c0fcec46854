package avro

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	hamba "github.com/hamba/avro/v2"

	"github.com/s3bridge/s3bridge/pipeline"
)

// obj is a JSON object whose keys keep their order: Avro field order is the
// binary layout, and a stable .avsc is easier to diff between versions.
type obj []kv

type kv struct {
	k string
	v any
}

func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(p.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// fieldNames gives each column an Avro field name: Avro names match
// [A-Za-z_][A-Za-z0-9_]*, source names may hold anything, so other
// characters become '_', a leading digit gets a '_' prefix and a name taken
// by an earlier column gets "_2", "_3", … The source name stays in the
// field's "source_name" property.
func fieldNames(cols []pipeline.Column) []string {
	names := make([]string, len(cols))
	used := map[string]bool{}
	for i, c := range cols {
		n := avroName(c.Name)
		if used[n] {
			for k := 2; ; k++ {
				if cand := n + "_" + strconv.Itoa(k); !used[cand] {
					n = cand
					break
				}
			}
		}
		used[n] = true
		names[i] = n
	}
	return names
}

func avroName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	// Multi-byte UTF-8 characters became several '_'; that is fine, the
	// source name is kept beside it.
	if len(b) == 0 || b[0] >= '0' && b[0] <= '9' {
		b = append([]byte{'_'}, b...)
	}
	return string(b)
}

// avroType returns the Avro type of a (non-null) value of t.
func avroType(t pipeline.Type) (any, error) {
	switch t.Kind {
	case pipeline.KindInt32:
		return "int", nil
	case pipeline.KindInt64:
		return "long", nil
	case pipeline.KindDecimal:
		if t.Precision <= 0 || t.Scale < 0 || t.Scale > t.Precision {
			return nil, fmt.Errorf("decimal(%d,%d) is not an Avro decimal", t.Precision, t.Scale)
		}
		return obj{{"type", "bytes"}, {"logicalType", "decimal"}, {"precision", t.Precision}, {"scale", t.Scale}}, nil
	case pipeline.KindFloat32:
		return "float", nil
	case pipeline.KindFloat64:
		return "double", nil
	case pipeline.KindBool:
		return "boolean", nil
	case pipeline.KindBytes:
		return "bytes", nil
	case pipeline.KindDate:
		return obj{{"type", "int"}, {"logicalType", "date"}}, nil
	case pipeline.KindTime:
		return obj{{"type", "long"}, {"logicalType", "time-micros"}}, nil
	case pipeline.KindTimestamp:
		return obj{{"type", "long"}, {"logicalType", "local-timestamp-micros"}}, nil
	case pipeline.KindTimestampTZ:
		return obj{{"type", "long"}, {"logicalType", "timestamp-micros"}}, nil
	case pipeline.KindUUID:
		return obj{{"type", "string"}, {"logicalType", "uuid"}}, nil
	case pipeline.KindNumeric, pipeline.KindString, pipeline.KindJSON, pipeline.KindEnum, pipeline.KindText:
		return "string", nil
	case pipeline.KindArray:
		if t.Elem == nil {
			return nil, fmt.Errorf("array type %s: no element type", t.Name)
		}
		items, err := avroType(*t.Elem)
		if err != nil {
			return nil, err
		}
		// Array elements can be NULL at the source. A multi-dimensional
		// array is an array of arrays, whose items are nullable at every
		// level as a Parquet export's nested LIST elements are.
		return obj{{"type", "array"}, {"items", []any{"null", items}}}, nil
	}
	return nil, fmt.Errorf("unknown kind %v", t.Kind)
}

// SchemaJSON returns the Avro schema of the records of one table and schema
// version, indented: the text embedded in every file of that version and
// written beside them as the .avsc.
//
// The record is the envelope
//
//	op      string: "r" | "c" | "u" | "d" | "t"
//	before  null | Value
//	after   null | Value
//	source  Source {lsn long, tx_id null|long, commit_ts null|timestamp-micros,
//	        database, schema, table string, snapshot boolean,
//	        gtid null|string, file null|string, pos null|long,
//	        server_id null|long}: the last four a MariaDB/MySQL change's
//	        place in the binary log (pipeline.BinlogPosition), null for
//	        other sources
//	ts_ms   timestamp-millis: when s3bridge wrote the record
//	unchanged_toast_columns  array<string>: columns of after whose value is
//	        unchanged and not carried (their field is null)
//
// where Value has one field per column, every one of them null | T with
// default null (a delete's key-only before image leaves the others null, and
// a field added by a later version reads as null from older files, so each
// version reads the files of earlier versions). Every field carries
// "source_name" and "source_type" properties with the source's column and
// type names. Names: namespace "s3bridge.<database>.<schema>.<table>",
// records Envelope, Value and Source.
func SchemaJSON(ts *pipeline.TableSchema) ([]byte, error) {
	names := fieldNames(ts.Columns)
	fields := make([]any, len(ts.Columns))
	for i, c := range ts.Columns {
		at, err := avroType(c.Type)
		if err != nil {
			return nil, fmt.Errorf("avro schema of %s column %s: %w", ts.QualifiedName(), c.Name, err)
		}
		fields[i] = obj{{"name", names[i]}, {"type", []any{"null", at}}, {"default", nil},
			{"source_name", c.Name}, {"source_type", c.Type.Name}}
	}
	value := obj{{"type", "record"}, {"name", "Value"}, {"fields", fields}}
	source := obj{{"type", "record"}, {"name", "Source"}, {"fields", []any{
		obj{{"name", "lsn"}, {"type", "long"}},
		obj{{"name", "tx_id"}, {"type", []any{"null", "long"}}, {"default", nil}},
		obj{{"name", "commit_ts"}, {"type", []any{"null", obj{{"type", "long"}, {"logicalType", "timestamp-micros"}}}}, {"default", nil}},
		obj{{"name", "database"}, {"type", "string"}},
		obj{{"name", "schema"}, {"type", "string"}},
		obj{{"name", "table"}, {"type", "string"}},
		obj{{"name", "snapshot"}, {"type", "boolean"}},
		// A MariaDB/MySQL change's place in the binary log; null for
		// other sources. Last and with defaults, so a reader of this
		// schema reads the files of older ones.
		obj{{"name", "gtid"}, {"type", []any{"null", "string"}}, {"default", nil}},
		obj{{"name", "file"}, {"type", []any{"null", "string"}}, {"default", nil}},
		obj{{"name", "pos"}, {"type", []any{"null", "long"}}, {"default", nil}},
		obj{{"name", "server_id"}, {"type", []any{"null", "long"}}, {"default", nil}},
	}}}
	env := obj{
		{"type", "record"},
		{"name", "Envelope"},
		{"namespace", "s3bridge." + avroName(ts.Database) + "." + avroName(ts.Schema) + "." + avroName(ts.Table)},
		{"s3bridge_schema_version", ts.Version},
		{"fields", []any{
			obj{{"name", "op"}, {"type", "string"}},
			obj{{"name", "before"}, {"type", []any{"null", value}}, {"default", nil}},
			obj{{"name", "after"}, {"type", []any{"null", "Value"}}, {"default", nil}},
			obj{{"name", "source"}, {"type", source}},
			obj{{"name", "ts_ms"}, {"type", obj{{"type", "long"}, {"logicalType", "timestamp-millis"}}}},
			obj{{"name", "unchanged_toast_columns"}, {"type", obj{{"type", "array"}, {"items", "string"}}}, {"default", []any{}}},
		}},
	}
	b, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("avro schema of %s: %w", ts.QualifiedName(), err)
	}
	return append(b, '\n'), nil
}

// Schema returns the parsed Avro schema of SchemaJSON.
func Schema(ts *pipeline.TableSchema) (hamba.Schema, []byte, error) {
	js, err := SchemaJSON(ts)
	if err != nil {
		return nil, nil, err
	}
	// A private cache: named types of two versions of one table share names,
	// and the default global cache would keep the first one it saw.
	s, err := hamba.ParseBytesWithCache(js, "", &hamba.SchemaCache{})
	if err != nil {
		return nil, nil, fmt.Errorf("parse avro schema of %s: %w", ts.QualifiedName(), err)
	}
	return s, js, nil
}
