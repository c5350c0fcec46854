package export

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/s3bridge/s3bridge/tuple"
)

// Decimal is a DECIMAL(Precision, Scale) that Parquet can store: 1 to 38
// digits, Scale of them after the point.
type Decimal struct {
	Precision, Scale int
}

func (d Decimal) String() string { return fmt.Sprintf("decimal(%d,%d)", d.Precision, d.Scale) }

// ParseNumericAs reads NumericAs: decimal(P,S) or numeric(P,S), with P
// from 1 to 38 and S from 0 to P.
func ParseNumericAs(s string) (Decimal, error) {
	t := strings.ToLower(strings.Join(strings.Fields(s), ""))
	body, ok := strings.CutPrefix(t, "decimal(")
	if !ok {
		body, ok = strings.CutPrefix(t, "numeric(")
	}
	body, closed := strings.CutSuffix(body, ")")
	p, sc, comma := strings.Cut(body, ",")
	var d Decimal
	var err1, err2 error
	d.Precision, err1 = strconv.Atoi(p)
	d.Scale, err2 = strconv.Atoi(sc)
	if !ok || !closed || !comma || err1 != nil || err2 != nil || d.Precision < 1 || d.Precision > 38 || d.Scale < 0 || d.Scale > d.Precision {
		return Decimal{}, fmt.Errorf("numeric-as %q: want decimal(P,S) with P from 1 to 38 and S from 0 to P, e.g. decimal(38,9)", s)
	}
	return d, nil
}

// fits reports whether Parquet stores a decimal column as it is declared.
func fits(c tuple.Column) bool {
	return c.Precision >= 1 && c.Precision <= 38 && c.Scale >= 0 && c.Scale <= c.Precision
}

// numericRows gives the decimal columns Parquet can't store as declared
// (PostgreSQL's unconstrained numeric, MariaDB's DECIMAL(65,30)), lists of
// them included, the type d, and rounds their values to d's scale half
// away from zero, as PostgreSQL's cast to numeric(P,S) does. A value with
// more integer digits than d holds, NaN or an infinity fails the export,
// naming the column (and the caller the row).
type numericRows struct {
	tuple.Rows
	d     Decimal
	cols  []tuple.Column
	fixed []int  // indexes of the columns changed
	buf   []byte // the row's rounded values
}

func withNumericAs(r tuple.Rows, d Decimal) tuple.Rows {
	n := &numericRows{Rows: r, d: d}
	for i, c := range r.Columns() {
		leaf, depth := c.Leaf()
		if leaf.Type == tuple.TypeDecimal && !fits(leaf) {
			leaf.Precision, leaf.Scale = d.Precision, d.Scale
			c = tuple.ListOf(c.Name, leaf, depth)
			n.fixed = append(n.fixed, i)
		}
		n.cols = append(n.cols, c)
	}
	if len(n.fixed) == 0 {
		return r
	}
	return n
}

func (n *numericRows) Columns() []tuple.Column { return n.cols }

func (n *numericRows) Next(row []tuple.Value) error {
	if err := n.Rows.Next(row); err != nil {
		return err
	}
	n.buf = n.buf[:0]
	for _, i := range n.fixed {
		if err := n.round(&row[i]); err != nil {
			return fmt.Errorf("column %s: %w (numeric-as %s)", n.cols[i].Name, err, n.d)
		}
	}
	return nil
}

// round replaces v, or each number in v when it is a list, by its value
// rounded to the scale, in n.buf.
func (n *numericRows) round(v *tuple.Value) error {
	var s string
	switch v.Kind {
	case tuple.Null:
		return nil
	case tuple.List:
		for i := range v.List {
			if err := n.round(&v.List[i]); err != nil {
				return err
			}
		}
		return nil
	case tuple.Text:
		s = string(v.Bytes)
	case tuple.Int:
		s = strconv.FormatInt(v.Int, 10)
	case tuple.Float:
		s = strconv.FormatFloat(v.Float, 'f', -1, 64)
	default:
		return fmt.Errorf("a value of kind %d is not a number", v.Kind)
	}
	start := len(n.buf)
	var err error
	if n.buf, err = roundDecimal(n.buf, s, n.d); err != nil {
		return err
	}
	// n.buf may move as it grows; values already pointing into it keep
	// the old array, which nothing writes to again.
	*v = tuple.TextValue(n.buf[start:len(n.buf):len(n.buf)])
	return nil
}

// roundDecimal appends s, a decimal number in plain notation, rounded to
// d.Scale places half away from zero, and fails when its integer part has
// more than d.Precision-d.Scale digits.
func roundDecimal(dst []byte, s string, d Decimal) ([]byte, error) {
	neg := strings.HasPrefix(s, "-")
	intPart, frac, _ := strings.Cut(strings.TrimLeft(s, "+-"), ".")
	if intPart == "" && frac == "" || strings.Trim(intPart+frac, "0123456789") != "" {
		return dst, fmt.Errorf("%q is not a decimal number", s)
	}
	digits := []byte(intPart + frac)
	keep := len(intPart) + d.Scale
	for len(digits) < keep {
		digits = append(digits, '0')
	}
	up := len(digits) > keep && digits[keep] >= '5'
	digits = digits[:keep]
	if up {
		i := len(digits) - 1
		for ; i >= 0 && digits[i] == '9'; i-- {
			digits[i] = '0'
		}
		if i >= 0 {
			digits[i]++
		} else {
			digits = append([]byte{'1'}, digits...)
		}
	}
	whole := strings.TrimLeft(string(digits[:len(digits)-d.Scale]), "0")
	if len(whole) > d.Precision-d.Scale {
		return dst, fmt.Errorf("%s has %d integer digits, more than decimal(%d,%d) holds", s, len(whole), d.Precision, d.Scale)
	}
	fracDigits := digits[len(digits)-d.Scale:]
	if neg && (whole != "" || strings.Trim(string(fracDigits), "0") != "") {
		dst = append(dst, '-')
	}
	if whole == "" {
		whole = "0"
	}
	dst = append(dst, whole...)
	if d.Scale > 0 {
		dst = append(append(dst, '.'), fracDigits...)
	}
	return dst, nil
}
