package pgsource

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/pipeline"
)

// TestDecodeText feeds the text forms pgoutput writes (with the session
// settings connectReplication fixes) through the value decoder.
func TestDecodeText(t *testing.T) {
	d := newValueDecoder(map[string]byte{"box": ';'})
	typ := func(k pipeline.Kind) pipeline.Type { return pipeline.Type{Kind: k} }
	arr := func(k pipeline.Kind) pipeline.Type {
		return pipeline.Type{Kind: pipeline.KindArray, Elem: &pipeline.Type{Kind: k}}
	}
	nested := func(t pipeline.Type) pipeline.Type { return pipeline.Type{Kind: pipeline.KindArray, Elem: &t} }
	tests := []struct {
		typ  pipeline.Type
		in   string
		want any
	}{
		{typ(pipeline.KindInt32), "-2147483648", int32(-2147483648)},
		{typ(pipeline.KindFloat32), "NaN", "NaN"},
		{typ(pipeline.KindFloat64), "-Infinity", "-Inf"},
		{typ(pipeline.KindBool), "f", false},
		{typ(pipeline.KindBytes), `\x`, []byte{}},
		{typ(pipeline.KindBytes), `\xdeadBEEF`, []byte{0xde, 0xad, 0xbe, 0xef}},
		{typ(pipeline.KindTime), "24:00:00", 24 * time.Hour},
		{typ(pipeline.KindDate), "0044-03-15 BC", time.Date(-43, 3, 15, 0, 0, 0, 0, time.UTC)},
		{typ(pipeline.KindTimestamp), "1969-12-31 23:59:59.999999", time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC)},
		{typ(pipeline.KindTimestampTZ), "2024-06-01 12:00:00+05:30", time.Date(2024, 6, 1, 6, 30, 0, 0, time.UTC)},
		{typ(pipeline.KindTimestampTZ), "-infinity", pipeline.TimeNegInfinity},
		{typ(pipeline.KindNumeric), "-0.000", "-0.000"},
		{arr(pipeline.KindBytes), `{"\\x01",NULL}`, []any{[]byte{1}, nil}},
		{arr(pipeline.KindString), `{"a\"b","",NULL,"NULL"}`, []any{`a"b`, "", nil, "NULL"}},
		{arr(pipeline.KindInt64), `[0:1]={7,8}`, []any{int64(7), int64(8)}},
		{pipeline.Type{Kind: pipeline.KindArray, Elem: &pipeline.Type{Kind: pipeline.KindText, Name: "box"}},
			`{(1,2),(0,0);NULL}`, []any{"(1,2),(0,0)", nil}},
		// Multi-dimensional arrays nest; a value with other dimensions
		// than its column's is merged or wrapped to fit.
		{nested(arr(pipeline.KindInt32)), `{{1,2},{3,NULL}}`, []any{[]any{int32(1), int32(2)}, []any{int32(3), nil}}},
		{nested(arr(pipeline.KindInt32)), `{}`, []any{}},
		{nested(nested(arr(pipeline.KindString))), `{{{a}},{{"b c"}}}`, []any{[]any{[]any{"a"}}, []any{[]any{"b c"}}}},
		{arr(pipeline.KindInt32), `{{1,2},{3,4}}`, []any{int32(1), int32(2), int32(3), int32(4)}},
		{nested(arr(pipeline.KindInt32)), `{{{1},{2}},{{3},{4}}}`, []any{[]any{int32(1)}, []any{int32(2)}, []any{int32(3)}, []any{int32(4)}}},
		{nested(arr(pipeline.KindInt32)), `{1,NULL}`, []any{[]any{int32(1), nil}}},
	}
	for _, tt := range tests {
		got, err := d.decode(tt.typ, []byte(tt.in))
		if err != nil {
			t.Errorf("decode %s %q: %v", tt.typ, tt.in, err)
			continue
		}
		if f, ok := got.(float32); ok {
			got = reflect.ValueOf(float64(f)).Interface()
		}
		switch w := tt.want.(type) {
		case string:
			if s, ok := got.(string); ok {
				if s != w {
					t.Errorf("decode %q = %q", tt.in, s)
				}
				continue
			}
			if g := fmtFloat(got); g != w {
				t.Errorf("decode %q = %v, want %s", tt.in, got, w)
			}
		default:
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decode %s %q = %#v, want %#v", tt.typ, tt.in, got, tt.want)
			}
		}
	}
	for _, bad := range []struct {
		typ pipeline.Type
		in  string
	}{{typ(pipeline.KindDecimal), "NaN"}, {typ(pipeline.KindInt32), "2147483648"}, {typ(pipeline.KindBool), "x"},
		{arr(pipeline.KindInt32), "{1,x}"}, {arr(pipeline.KindInt32), "{1,2"}, {nested(arr(pipeline.KindInt32)), "{{1},2}"}} {
		if _, err := d.decode(bad.typ, []byte(bad.in)); err == nil {
			t.Errorf("decode %s %q succeeded", bad.typ, bad.in)
		}
	}
}

func fmtFloat(v any) string {
	f, _ := v.(float64)
	switch {
	case f != f:
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return "not special"
}
