package export

import (
	"io"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/tuple"
)

func TestParseNumericAs(t *testing.T) {
	for in, want := range map[string]Decimal{"decimal(38,9)": {38, 9}, "NUMERIC( 10 , 0 )": {10, 0}, "decimal(1,1)": {1, 1}} {
		if got, err := ParseNumericAs(in); err != nil || got != want {
			t.Errorf("ParseNumericAs(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "decimal", "decimal(39,2)", "decimal(0,0)", "decimal(5,6)", "decimal(5,-1)", "decimal(10)", "float(10,2)", "decimal(10,2"} {
		if _, err := ParseNumericAs(bad); err == nil {
			t.Errorf("ParseNumericAs(%q) accepted it", bad)
		}
	}
}

// TestRoundDecimal: half away from zero, as PostgreSQL's numeric(P,S)
// cast rounds; too many integer digits and non-numbers refused.
func TestRoundDecimal(t *testing.T) {
	d := Decimal{5, 2}
	for in, want := range map[string]string{
		"1.005": "1.01", "-1.005": "-1.01", "1.004": "1.00", "999.994": "999.99", "0.001": "0.00", "-0.001": "0.00",
		"42": "42.00", "-0": "0.00", ".5": "0.50", "007.1": "7.10", "99.999": "100.00", "+3.14159": "3.14",
		"999.995": "", "1000": "", "NaN": "", "Infinity": "", "1e5": "", "": "", "-": "", "1.2.3": "",
	} {
		got, err := roundDecimal(nil, in, d)
		if (err != nil) != (want == "") || (err == nil && string(got) != want) {
			t.Errorf("roundDecimal(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if got, err := roundDecimal(nil, "2.5", Decimal{1, 0}); err != nil || string(got) != "3" {
		t.Errorf("roundDecimal(2.5, decimal(1,0)) = %q, %v", got, err)
	}
}

type fakeRows struct {
	cols []tuple.Column
	rows [][]tuple.Value
}

func (f *fakeRows) Columns() []tuple.Column { return f.cols }
func (f *fakeRows) Next(row []tuple.Value) error {
	if len(f.rows) == 0 {
		return io.EOF
	}
	copy(row, f.rows[0])
	f.rows = f.rows[1:]
	return nil
}

// TestNumericRows: only decimals Parquet can't store as declared change
// type, lists of them included, and their values are rounded.
func TestNumericRows(t *testing.T) {
	l := func(v ...tuple.Value) tuple.Value { return tuple.ListValue(v) }
	src := &fakeRows{
		cols: []tuple.Column{{Name: "n", Type: tuple.TypeDecimal}, {Name: "k", Type: tuple.TypeDecimal, Precision: 10, Scale: 2},
			tuple.ListOf("a", tuple.Column{Type: tuple.TypeDecimal, Precision: 65, Scale: 30}, 1), {Name: "t", Type: tuple.TypeText}},
		rows: [][]tuple.Value{
			{tuple.StringValue("3.14159"), tuple.StringValue("1.5"), l(tuple.StringValue("-0.125"), tuple.NullValue(), tuple.IntValue(7)), tuple.StringValue("x")},
			{tuple.StringValue("123456789"), tuple.NullValue(), tuple.NullValue(), tuple.NullValue()},
		},
	}
	r := withNumericAs(src, Decimal{10, 2})
	cols := r.Columns()
	if cols[0].Precision != 10 || cols[0].Scale != 2 || cols[1] != src.cols[1] || cols[2].Elem.Precision != 10 || cols[3] != src.cols[3] {
		t.Errorf("columns %+v", cols)
	}
	if src.cols[2].Elem.Precision != 65 {
		t.Error("the source's columns changed")
	}
	row := make([]tuple.Value, 4)
	if err := r.Next(row); err != nil {
		t.Fatal(err)
	}
	got := []string{string(row[0].Bytes), string(row[1].Bytes), string(row[2].List[0].Bytes), string(row[2].List[2].Bytes), string(row[3].Bytes)}
	if want := []string{"3.14", "1.5", "-0.13", "7.00", "x"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("row %q, want %q", got, want)
	}
	if err := r.Next(row); err == nil || !strings.Contains(err.Error(), "column n") {
		t.Errorf("123456789 in decimal(10,2): %v", err)
	}
}
