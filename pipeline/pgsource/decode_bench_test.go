package pgsource

import (
	"encoding/binary"
	"math/big"
	"reflect"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/pipeline"
)

// benchSchema is bench/pipeline.sh's narrow table: 8 columns of mixed types.
func benchSchema() *pipeline.TableSchema {
	col := func(name string, k pipeline.Kind, tn string) pipeline.Column {
		return pipeline.Column{Name: name, Type: pipeline.Type{Kind: k, Name: tn}, Nullable: true}
	}
	amount := col("amount", pipeline.KindDecimal, "numeric(12,2)")
	amount.Type.Precision, amount.Type.Scale = 12, 2
	return &pipeline.TableSchema{Database: "db", Schema: "public", Table: "big", Version: 1, Columns: []pipeline.Column{
		col("id", pipeline.KindInt64, "int8"), col("name", pipeline.KindString, "text"), amount,
		col("qty", pipeline.KindInt32, "int4"), col("ts", pipeline.KindTimestamp, "timestamp"),
		col("flag", pipeline.KindBool, "bool"), col("score", pipeline.KindFloat64, "float8"),
		col("note", pipeline.KindString, "text"),
	}}
}

// tupleBytes encodes a pgoutput TupleData: a nil value is a NULL ('n'),
// "\x00u" an unchanged TOAST value ('u'), anything else text ('t').
func tupleBytes(vals ...*string) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(vals)))
	for _, v := range vals {
		switch {
		case v == nil:
			b = append(b, 'n')
		case *v == "\x00u":
			b = append(b, 'u')
		default:
			b = append(b, 't')
			b = binary.BigEndian.AppendUint32(b, uint32(len(*v)))
			b = append(b, *v...)
		}
	}
	return b
}

// message encodes a pgoutput Insert ('I'), Update ('U') or Delete ('D') of
// relation rel: parts are the tuple kinds ('N', 'K', 'O') each followed by
// its tuple.
func message(typ byte, rel uint32, parts ...any) []byte {
	b := binary.BigEndian.AppendUint32([]byte{typ}, rel)
	for _, p := range parts {
		switch p := p.(type) {
		case byte:
			b = append(b, p)
		case []byte:
			b = append(b, p...)
		}
	}
	return b
}

func strs(vals ...string) []*string {
	out := make([]*string, len(vals))
	for i := range vals {
		out[i] = &vals[i]
	}
	return out
}

// benchDecoder is a decoder that knows relation 16384 as benchSchema, inside
// a transaction.
func benchDecoder(tb testing.TB) *decoder {
	tb.Helper()
	d := newDecoder("db", newTypeResolver(nil), nil)
	d.relations[16384] = &relation{schema: benchSchema()}
	begin := []byte{'B'}
	begin = binary.BigEndian.AppendUint64(begin, 0x16B374D848)
	begin = binary.BigEndian.AppendUint64(begin, 0)
	begin = binary.BigEndian.AppendUint32(begin, 1234)
	if _, ok, err := d.decode(tb.Context(), 0x16B374D000, begin); err != nil || !ok {
		tb.Fatalf("begin: %t, %v", ok, err)
	}
	return d
}

// BenchmarkDecodeInsert decodes a pgoutput Insert of bench/pipeline.sh's
// 8-column rows into a Change: the stream's per-row work before the writer.
func BenchmarkDecodeInsert(b *testing.B) {
	d := benchDecoder(b)
	msg := message('I', 16384, byte('N'), tupleBytes(strs("123456", "name 123456", "234.56", "456",
		"2026-01-02 10:17:36", "t", "61728", "e10adc3949ba59abbe56e057f20f883e")...))
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		ev, ok, err := d.decode(ctx, 0x16B374D100, msg)
		if err != nil || !ok || ev.Change == nil {
			b.Fatalf("decode: %t, %v", ok, err)
		}
	}
}

// TestDecodeRowMessages decodes hand-made Insert, Update and Delete messages
// of every tuple form pgoutput sends: the values, NULLs, unchanged TOAST
// columns filled from an old image or listed, and key-only old images.
func TestDecodeRowMessages(t *testing.T) {
	ts := time.Date(2026, 1, 2, 10, 17, 36, 0, time.UTC)
	full := strs("7", "seven", "1.50", "3", "2026-01-02 10:17:36", "f", "0.25", "note")
	toast := strs("7", "seven", "1.50", "3", "2026-01-02 10:17:36", "f", "0.25", "\x00u")
	key := []*string{full[0], nil, nil, nil, nil, nil, nil, nil}
	wantFull := pipeline.Row{int64(7), "seven", rat("1.5"), int32(3), ts, false, 0.25, "note"}
	tests := []struct {
		name          string
		msg           []byte
		op            pipeline.Op
		before, after pipeline.Row
		unchanged     []string
	}{
		{"insert", message('I', 16384, byte('N'), tupleBytes(full...)), pipeline.OpCreate, nil, wantFull, nil},
		{"update", message('U', 16384, byte('N'), tupleBytes(full...)), pipeline.OpUpdate, nil, wantFull, nil},
		{"update with key", message('U', 16384, byte('K'), tupleBytes(key...), byte('N'), tupleBytes(full...)),
			pipeline.OpUpdate, pipeline.Row{int64(7), nil, nil, nil, nil, nil, nil, nil}, wantFull, nil},
		{"update full identity fills TOAST", message('U', 16384, byte('O'), tupleBytes(full...), byte('N'), tupleBytes(toast...)),
			pipeline.OpUpdate, wantFull, wantFull, nil},
		{"update unchanged TOAST", message('U', 16384, byte('N'), tupleBytes(toast...)), pipeline.OpUpdate, nil,
			pipeline.Row{int64(7), "seven", rat("1.5"), int32(3), ts, false, 0.25, nil}, []string{"note"}},
		{"delete by key", message('D', 16384, byte('K'), tupleBytes(key...)), pipeline.OpDelete,
			pipeline.Row{int64(7), nil, nil, nil, nil, nil, nil, nil}, nil, nil},
		{"delete full", message('D', 16384, byte('O'), tupleBytes(full...)), pipeline.OpDelete, wantFull, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := benchDecoder(t)
			ev, ok, err := d.decode(t.Context(), 0x16B374D100, tt.msg)
			if err != nil || !ok || ev.Change == nil {
				t.Fatalf("decode: %t, %v", ok, err)
			}
			c := ev.Change
			if c.Op != tt.op || c.Schema != d.relations[16384].schema || c.Source.LSN != 0x16B374D848 || c.Source.TxID != 1234 {
				t.Errorf("change %c of %p at %s tx %d", c.Op, c.Schema, c.Source.LSN, c.Source.TxID)
			}
			checkRow(t, "before", c.Before, tt.before)
			checkRow(t, "after", c.After, tt.after)
			if len(c.UnchangedToast) != len(tt.unchanged) || (len(tt.unchanged) > 0 && c.UnchangedToast[0] != tt.unchanged[0]) {
				t.Errorf("unchanged TOAST %v, want %v", c.UnchangedToast, tt.unchanged)
			}
		})
	}
	bad := map[string][]byte{
		"unknown relation": message('I', 99, byte('N'), tupleBytes(full...)),
		"short tuple":      message('I', 16384, byte('N'), tupleBytes(full[:7]...)),
		"truncated value":  message('I', 16384, byte('N'), tupleBytes(full...)[:40]),
		"no new tuple":     message('I', 16384, byte('K'), tupleBytes(key...)),
		"binary value":     message('I', 16384, byte('N'), append(tupleBytes(full[:7]...)[:0:0], 0, 8, 'b', 0, 0, 0, 1, '7')),
		"bad integer":      message('I', 16384, byte('N'), tupleBytes(strs("x", "a", "1", "1", "2026-01-02 10:17:36", "t", "1", "n")...)),
		"truncated header": {'I', 0, 0},
	}
	for name, msg := range bad {
		d := benchDecoder(t)
		if _, _, err := d.decode(t.Context(), 0x16B374D100, msg); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func checkRow(t *testing.T, what string, got, want pipeline.Row) {
	t.Helper()
	if (got == nil) != (want == nil) || !reflect.DeepEqual(norm(got), norm(want)) {
		t.Errorf("%s %v, want %v", what, norm(got), norm(want))
	}
}

func rat(s string) *big.Rat {
	r, _ := new(big.Rat).SetString(s)
	return r
}

// FuzzDecodeRowMessage feeds the hand parser of Insert, Update and Delete
// messages arbitrary bytes: it may refuse them, never panic, and what it
// accepts has rows of the relation's width.
func FuzzDecodeRowMessage(f *testing.F) {
	full := tupleBytes(strs("7", "seven", "1.50", "3", "2026-01-02 10:17:36", "f", "0.25", "note")...)
	f.Add(message('I', 16384, byte('N'), full))
	f.Add(message('U', 16384, byte('O'), full, byte('N'), full))
	f.Add(message('D', 16384, byte('K'), full))
	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) == 0 || (msg[0] != 'I' && msg[0] != 'U' && msg[0] != 'D') {
			return
		}
		d := benchDecoder(t)
		ev, ok, err := d.decode(t.Context(), 0x16B374D100, msg)
		if err != nil || !ok {
			return
		}
		for _, r := range []pipeline.Row{ev.Change.Before, ev.Change.After} {
			if r != nil && len(r) != 8 {
				t.Errorf("row of %d values from %x", len(r), msg)
			}
		}
	})
}
