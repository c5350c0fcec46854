package postgres

import (
	"encoding/binary"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/s3bridge/s3bridge/tuple"
)

// show prints a decoded value: lists in brackets, NULL, text quoted.
func show(v tuple.Value) string {
	switch v.Kind {
	case tuple.Null:
		return "NULL"
	case tuple.List:
		parts := make([]string, len(v.List))
		for i, e := range v.List {
			parts[i] = show(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case tuple.Int:
		return strconv.FormatInt(v.Int, 10)
	}
	return "'" + string(v.Bytes) + "'"
}

// TestArrayText parses array_out's text form.
func TestArrayText(t *testing.T) {
	for _, tt := range []struct {
		depth int
		delim byte
		in    string
		want  string // "" for an error
	}{
		{1, ',', `{}`, `[]`},
		{1, ',', `{1.5,NULL,-2}`, `['1.5' NULL '-2']`},
		{1, ',', `{x,"y z","","NULL",null,"a\"b\\c"}`, `['x' 'y z' '' 'NULL' NULL 'a"b\c']`},
		{2, ',', `{{1,2},{3,NULL}}`, `[['1' '2'] ['3' NULL]]`},
		{2, ',', `[0:1][1:1]={{a},{b}}`, `[['a'] ['b']]`},
		{3, ',', `{{{1},{2}},{{3},{4}}}`, `[[['1'] ['2']] [['3'] ['4']]]`},
		{1, ';', `{(1,2),(0,0);(3,3),(1,1)}`, `['(1,2),(0,0)' '(3,3),(1,1)']`},
		{1, ',', `{{1,2}}`, ""},
		{2, ',', `{1,2}`, ""},
		{1, ',', `{1,2`, ""},
		{1, ',', `{"a}`, ""},
		{1, ',', `{1,,2}`, ""},
		{1, ',', `{1}x`, ""},
		{1, ',', `1,2`, ""},
	} {
		d := arrayType{depth: tt.depth, delim: tt.delim}.decoder(pgconn.FieldDescription{Format: pgx.TextFormatCode})
		v, err := d([]byte(tt.in))
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("%s: %s, want an error", tt.in, show(v))
		case tt.want != "" && err != nil:
			t.Errorf("%s: %v", tt.in, err)
		case tt.want != "" && show(v) != tt.want:
			t.Errorf("%s: %s, want %s", tt.in, show(v), tt.want)
		}
	}
}

// TestArrayBinary decodes array_send's binary form of int4[], one and two
// dimensions, NULLs and the empty array, and refuses other dimensions
// than the column's.
func TestArrayBinary(t *testing.T) {
	enc := func(dims []int, elems ...any) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(dims)))
		b = binary.BigEndian.AppendUint32(b, 1)
		b = binary.BigEndian.AppendUint32(b, int4OID)
		for _, d := range dims {
			b = binary.BigEndian.AppendUint32(b, uint32(d))
			b = binary.BigEndian.AppendUint32(b, 1)
		}
		for _, e := range elems {
			if e == nil {
				b = binary.BigEndian.AppendUint32(b, 0xffffffff)
				continue
			}
			b = binary.BigEndian.AppendUint32(b, 4)
			b = binary.BigEndian.AppendUint32(b, uint32(int32(e.(int))))
		}
		return b
	}
	f := pgconn.FieldDescription{Format: pgx.BinaryFormatCode}
	one := arrayType{elem: int4OID, depth: 1}.decoder(f)
	two := arrayType{elem: int4OID, depth: 2}.decoder(f)
	for _, tt := range []struct {
		d    func([]byte) (tuple.Value, error)
		in   []byte
		want string
	}{
		{one, enc(nil), "[]"},
		{one, enc([]int{3}, 1, nil, -3), "[1 NULL -3]"},
		{two, enc([]int{2, 3}, 1, 2, 3, 4, nil, 6), "[[1 2 3] [4 NULL 6]]"},
		{two, enc(nil), "[]"},
		{one, enc([]int{2, 1}, 1, 2), ""},
		{two, enc([]int{2}, 1, 2), ""},
		{one, enc([]int{3}, 1, 2), ""},
		{one, enc([]int{1}, 1)[:10], ""},
	} {
		v, err := tt.d(tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("%x: %s, want an error", tt.in, show(v))
		case tt.want != "" && (err != nil || show(v) != tt.want):
			t.Errorf("%x: %s, %v; want %s", tt.in, show(v), err, tt.want)
		}
	}
	if _, err := one(enc([]int{2, 2}, 1, 2, 3, 4)); err == nil || !strings.Contains(err.Error(), "2-dimensional") {
		t.Errorf("a 2-D array in a 1-D column: %v", err)
	}
}
