package coltype

import (
	"fmt"
	"testing"
)

// TestOf: the logical type of each kind of PostgreSQL column.
func TestOf(t *testing.T) {
	tm := func(p, s int) int32 { return int32(p<<16|(s&0x7ff)) + 4 }
	show := func(t Type) string {
		s := t.Kind.String()
		switch t.Kind {
		case Decimal:
			s = fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale)
		case Timestamp, TimestampTZ:
			s = fmt.Sprintf("%s(%d)", s, t.Scale)
		}
		for range t.Dims {
			s = "list<" + s + ">"
		}
		return s
	}
	for _, tt := range []struct {
		src  Source
		want string
	}{
		{Source{OID: Int2OID, Typmod: -1}, "int16"},
		{Source{OID: Int4OID, Typmod: -1}, "int32"},
		{Source{OID: Int8OID, Typmod: -1}, "int64"},
		{Source{OID: OIDOID, Typmod: -1}, "int64"},
		{Source{OID: Float4OID, Typmod: -1}, "float32"},
		{Source{OID: Float8OID, Typmod: -1}, "float64"},
		{Source{OID: BoolOID, Typmod: -1}, "bool"},
		{Source{OID: TextOID, Typmod: -1}, "string"},
		{Source{OID: VarcharOID, Typmod: 14}, "string"},
		{Source{OID: BPCharOID, Typmod: 7}, "string"},
		{Source{OID: NameOID, Typmod: -1}, "string"},
		{Source{OID: ByteaOID, Typmod: -1}, "bytes"},
		{Source{OID: DateOID, Typmod: -1}, "date"},
		{Source{OID: TimeOID, Typmod: -1}, "time"},
		{Source{OID: TimestampOID, Typmod: -1}, "timestamp(-1)"},
		{Source{OID: TimestampTZOID, Typmod: 3}, "timestamptz(3)"},
		{Source{OID: UUIDOID, Typmod: -1}, "uuid"},
		{Source{OID: JSONOID, Typmod: -1}, "json"},
		{Source{OID: JSONBOID, Typmod: -1}, "json"},
		{Source{OID: NumericOID, Typmod: -1}, "numeric"},
		{Source{OID: NumericOID, Typmod: tm(10, 2)}, "decimal(10,2)"},
		{Source{OID: NumericOID, Typmod: tm(1000, 1000)}, "decimal(1000,1000)"},
		{Source{OID: NumericOID, Typmod: tm(5, -2)}, "numeric"}, // PostgreSQL 15: no decimal has a negative scale
		{Source{OID: NumericOID, Typmod: tm(2, 5)}, "numeric"},  // nor a scale above its precision
		{Source{OID: 1186, Typmod: -1}, "text"},                 // interval
		{Source{OID: 869, Typmod: -1}, "text"},                  // inet
		{Source{OID: 3904, Typmod: -1}, "text"},                 // int4range
		{Source{OID: 1266, Typmod: -1}, "text"},                 // timetz
		{Source{OID: 99999, Typmod: -1, Enum: true}, "enum"},
		{Source{OID: Int4OID, Typmod: -1, Array: true}, "list<int32>"},
		{Source{OID: Int4OID, Typmod: -1, Array: true, Dims: 1}, "list<int32>"},
		{Source{OID: Int4OID, Typmod: -1, Array: true, Dims: 2}, "list<list<int32>>"},
		{Source{OID: TextOID, Typmod: -1, Array: true, Dims: 3}, "list<list<list<string>>>"},
		{Source{OID: NumericOID, Typmod: tm(10, 2), Array: true}, "list<decimal(10,2)>"},
		{Source{OID: NumericOID, Typmod: -1, Array: true}, "list<numeric>"},
		{Source{OID: 99999, Typmod: -1, Enum: true, Array: true}, "list<enum>"},
		{Source{OID: 1186, Typmod: -1, Array: true}, "list<text>"},
	} {
		if got := show(Of(tt.src)); got != tt.want {
			t.Errorf("Of(%+v) = %s, want %s", tt.src, got, tt.want)
		}
	}
}
