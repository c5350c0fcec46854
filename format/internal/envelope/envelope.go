// Package envelope holds what the pipeline's Parquet (format/cdcparquet)
// and JSON Lines (format/cdcjson) writers share with its Avro files
// (format/avro): the field names of the .avsc, the checks every writer
// makes on a change, and the exact conversions of decimals, dates and
// UUIDs.
package envelope

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"time"

	"github.com/s3bridge/s3bridge/format/avro"
	"github.com/s3bridge/s3bridge/pipeline"
)

// FieldNames returns the names the .avsc of ts (avro.SchemaJSON) gives
// its columns, in column order: every format names the fields of before
// and after alike, so the .avsc describes the files of every format. It
// also fails where the .avsc would (a type no file can hold).
func FieldNames(ts *pipeline.TableSchema) ([]string, error) {
	js, err := avro.SchemaJSON(ts)
	if err != nil {
		return nil, err
	}
	var env struct {
		Fields []struct {
			Name string          `json:"name"`
			Type json.RawMessage `json:"type"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(js, &env); err != nil {
		return nil, fmt.Errorf("field names of %s: %w", ts.QualifiedName(), err)
	}
	for _, f := range env.Fields {
		if f.Name != "before" {
			continue
		}
		// before is ["null", {record Value}].
		var union []json.RawMessage
		var value struct {
			Fields []struct {
				Name string `json:"name"`
			} `json:"fields"`
		}
		if err := json.Unmarshal(f.Type, &union); err != nil || len(union) != 2 {
			return nil, fmt.Errorf("field names of %s: before is no union of null and a record", ts.QualifiedName())
		}
		if err := json.Unmarshal(union[1], &value); err != nil || len(value.Fields) != len(ts.Columns) {
			return nil, fmt.Errorf("field names of %s: the Value record has %d fields for %d columns", ts.QualifiedName(), len(value.Fields), len(ts.Columns))
		}
		names := make([]string, len(value.Fields))
		for i, v := range value.Fields {
			names[i] = v.Name
		}
		return names, nil
	}
	return nil, fmt.Errorf("field names of %s: the schema has no before field", ts.QualifiedName())
}

// Check reports a change a file of schema ts can't take: another table or
// version, another shape under the same version, an invalid op, or images
// with the wrong number of values. what names the file in the error.
func Check(ts *pipeline.TableSchema, c *pipeline.Change, what string) error {
	if err := SameSchema(ts, c.Schema, what); err != nil {
		return err
	}
	if !c.Op.Valid() {
		return fmt.Errorf("append to %s of %s: invalid op %q", what, ts.QualifiedName(), c.Op)
	}
	for _, img := range []pipeline.Row{c.Before, c.After} {
		if img != nil && len(img) != len(ts.Columns) {
			return fmt.Errorf("append to %s of %s: a row of %d values, schema v%d has %d columns", what, ts.QualifiedName(), len(img), ts.Version, len(ts.Columns))
		}
	}
	return nil
}

// SameSchema reports a change's schema other that a file of schema ts
// can't take: another table or version, or another shape under the same
// version. what names the file in the error.
func SameSchema(ts, other *pipeline.TableSchema, what string) error {
	if other == nil || other.QualifiedName() != ts.QualifiedName() || other.Version != ts.Version {
		return fmt.Errorf("append to %s of %s v%d: change is of another table or version", what, ts.QualifiedName(), ts.Version)
	}
	if !other.SameShape(ts) {
		return fmt.Errorf("append to %s of %s v%d: change's schema has another shape under the same version", what, ts.QualifiedName(), ts.Version)
	}
	return nil
}

// Counter counts the bytes written through it: a file's size so far.
type Counter struct {
	W io.Writer
	N int64
}

func (c *Counter) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.N += int64(n)
	return n, err
}

var ten = big.NewInt(10)

// Unscaled returns x·10^scale, which must be an integer: a value with more
// fractional digits would be silently rounded, so it is an error instead.
func Unscaled(x *big.Rat, scale int) (*big.Int, error) {
	n := new(big.Int).Exp(ten, big.NewInt(int64(scale)), nil)
	n.Mul(n, x.Num())
	q, r := new(big.Int).QuoRem(n, x.Denom(), new(big.Int))
	if r.Sign() != 0 {
		return nil, fmt.Errorf("decimal %s has more than %d fractional digits", x.FloatString(scale+4), scale)
	}
	return q, nil
}

// DecimalText returns x with exactly scale fractional digits ("-12.30"),
// or an error when that would round it.
func DecimalText(b []byte, x *big.Rat, scale int) ([]byte, error) {
	u, err := Unscaled(x, scale)
	if err != nil {
		return b, err
	}
	if u.Sign() < 0 {
		b = append(b, '-')
		u.Neg(u)
	}
	digits := u.Text(10)
	if scale == 0 {
		return append(b, digits...), nil
	}
	for len(digits) <= scale {
		digits = "0" + digits
	}
	cut := len(digits) - scale
	b = append(b, digits[:cut]...)
	b = append(b, '.')
	return append(b, digits[cut:]...), nil
}

// Days returns the day of t (a KindDate value) as days since 1970-01-01,
// floored, as Avro's and Parquet's DATE count them.
func Days(t time.Time) (int32, error) {
	s := t.Unix()
	days := s / 86400
	if s%86400 != 0 && s < 0 {
		days--
	}
	if days > math.MaxInt32 || days < math.MinInt32 {
		return 0, fmt.Errorf("date %v out of the DATE range", t)
	}
	return int32(days), nil
}

// UUID decodes the canonical 8-4-4-4-12 form into dst (16 bytes).
func UUID(dst []byte, s string) error {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return fmt.Errorf("%.40q is not a UUID in 8-4-4-4-12 form", s)
	}
	j := 0
	for _, part := range [...]string{s[0:8], s[9:13], s[14:18], s[19:23], s[24:36]} {
		n, err := hex.Decode(dst[j:], []byte(part))
		if err != nil {
			return fmt.Errorf("%.40q is not a UUID: %w", s, err)
		}
		j += n
	}
	return nil
}
