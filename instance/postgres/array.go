package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/s3bridge/s3bridge/instance/postgres/coltype"
	"github.com/s3bridge/s3bridge/tuple"
)

// arrayType is what an export needs to know of an array column: its
// element type (a domain's base type), its number of dimensions and the
// element type's delimiter in the text form (a comma for all but box).
type arrayType struct {
	oid, elem uint32
	// typmod is an element domain's modifier for its base type (a
	// domain over numeric(10,2)), nil when the element isn't a domain.
	typmod *int32
	depth  int
	delim  byte
}

// binaryElems are the element types whose binary form pgDecoder reads:
// arrays of them come in binary, any other array as text, parsed here.
var binaryElems = map[uint32]bool{
	boolOID: true, byteaOID: true, int2OID: true, int4OID: true, int8OID: true, oidOID: true, float4OID: true, float8OID: true,
	dateOID: true, timestampOID: true, timestamptzOID: true, timeOID: true, uuidOID: true,
	textOID: true, varcharOID: true, bpcharOID: true, nameOID: true, jsonOID: true, jsonbOID: true,
}

// arrayTypes finds the result's array columns, by field index. An array
// type doesn't say how many dimensions its values have, so a column read
// from a table takes the dimensions it was declared with (int[][] is 2,
// as pg_attribute.attndims has it) and any other one (an expression, a
// view's column) is 1. Elements of a domain type are typed as its base
// type, as PostgreSQL describes a domain column and as pipelines type
// them. The catalog is asked only when a column's type may be an array:
// one pgx doesn't know (enums, user types) or an array type.
func arrayTypes(ctx context.Context, conn *pgx.Conn, fields []pgconn.FieldDescription) (map[int]arrayType, error) {
	var typs, rels []uint32
	var atts []int16
	ask := false
	for _, f := range fields {
		t, known := conn.TypeMap().TypeForOID(f.DataTypeOID)
		if !known {
			ask = true
		} else if _, isArray := t.Codec.(*pgtype.ArrayCodec); isArray {
			ask = true
		}
		typs, rels, atts = append(typs, f.DataTypeOID), append(rels, f.TableOID), append(atts, int16(f.TableAttributeNumber))
	}
	if !ask {
		return nil, nil
	}
	// Names qualified: the caller's search_path applies.
	rows, err := conn.Query(ctx, `SELECT f.i, b.oid, b.typmod, e.typdelim::pg_catalog.text, coalesce(a.attndims, 0)::pg_catalog.int4
		FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.oid[]), pg_catalog.unnest($2::pg_catalog.oid[]),
			pg_catalog.unnest($3::pg_catalog.int2[])) WITH ORDINALITY AS f(typ, rel, att, i)
		JOIN pg_catalog.pg_type t ON t.oid = f.typ AND t.typcategory = 'A' AND t.typelem <> 0 AND t.typlen = -1
		JOIN pg_catalog.pg_type e ON e.oid = t.typelem
		CROSS JOIN LATERAL (WITH RECURSIVE d(oid, typmod, n) AS (
				SELECT e.oid, -1, 0
				UNION ALL SELECT bt.typbasetype, bt.typtypmod, d.n + 1
				FROM d JOIN pg_catalog.pg_type bt ON bt.oid = d.oid AND bt.typtype = 'd' WHERE d.n < 8)
			SELECT d.oid, CASE WHEN d.n > 0 THEN d.typmod END AS typmod FROM d ORDER BY d.n DESC LIMIT 1) AS b
		LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = f.rel AND a.attnum = f.att AND f.att > 0`, typs, rels, atts)
	if err != nil {
		return nil, fmt.Errorf("look up the result's array types: %w", err)
	}
	arrays := map[int]arrayType{}
	var i int
	var a arrayType
	var delim string
	_, err = pgx.ForEachRow(rows, []any{&i, &a.elem, &a.typmod, &delim, &a.depth}, func() error {
		if i--; i < 0 || i >= len(fields) { // ORDINALITY counts from 1
			return fmt.Errorf("column %d of %d", i+1, len(fields))
		}
		a.oid, a.delim = fields[i].DataTypeOID, ','
		// The dimensions an export writes are coltype's decision.
		a.depth = coltype.Of(coltype.Source{OID: a.elem, Array: true, Dims: a.depth}).Dims
		if len(delim) == 1 {
			a.delim = delim[0]
		}
		arrays[i] = a
		a.typmod = nil // a fresh one for the next row
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up the result's array types: %w", err)
	}
	return arrays, nil
}

// resultFormats asks for the scalar types pgDecoder reads in binary and
// for arrays of them.
func resultFormats(arrays map[int]arrayType) pgx.QueryResultFormatsByOID {
	if len(arrays) == 0 {
		return binaryOIDs
	}
	formats := maps.Clone(binaryOIDs)
	for _, a := range arrays {
		if binaryElems[a.elem] {
			// Every column of one array type has the same element type.
			formats[a.oid] = pgx.BinaryFormatCode
		}
	}
	return formats
}

// column is the list column an array field maps to: its elements typed as
// a column of the element type would be (the array's type modifier is
// theirs: numeric(10,2)[]), nested depth times.
func (a arrayType) column(f pgconn.FieldDescription) tuple.Column {
	typmod := f.TypeModifier
	if a.typmod != nil {
		typmod = *a.typmod
	}
	return columnOf(f.Name, coltype.Of(coltype.Source{OID: a.elem, Typmod: typmod, Array: true, Dims: a.depth}))
}

// decoder reads an array field's values as lists, from the binary form
// the field was asked in when its elements have one pgDecoder reads, else
// from the text form.
func (a arrayType) decoder(f pgconn.FieldDescription) func([]byte) (tuple.Value, error) {
	d := &arrayDecoder{depth: a.depth, levels: make([][]tuple.Value, a.depth),
		parser: coltype.ArrayParser{Depth: a.depth, Delim: a.delim}}
	if f.Format == pgx.BinaryFormatCode {
		d.elem = pgDecoder(pgconn.FieldDescription{DataTypeOID: a.elem, Format: pgx.BinaryFormatCode})
		return d.binary
	}
	return d.text
}

// arrayDecoder turns one array column's values into lists. Its buffers
// are reused from row to row, as tuple.Rows allows: levels[0] holds the
// elements, levels[k] the lists k levels up.
type arrayDecoder struct {
	depth  int
	elem   func([]byte) (tuple.Value, error)
	levels [][]tuple.Value
	parser coltype.ArrayParser // the text form's
}

// errDims is a value with other dimensions than its column's: PostgreSQL
// doesn't enforce the declared ones, but a Parquet list's depth is fixed.
func (d *arrayDecoder) errDims(n int) error {
	return fmt.Errorf("a %d-dimensional array in a column exported as %d-dimensional: declare the column with its dimensions "+
		"(int[][] for two) or export it as text (col::text)", n, d.depth)
}

// binary decodes array_send's form: the number of dimensions, a flag,
// the element type, each dimension's length and lower bound, then each
// element as a length (-1 for NULL) and its bytes, last dimension fastest.
func (d *arrayDecoder) binary(b []byte) (tuple.Value, error) {
	if len(b) < 12 {
		return tuple.Value{}, fmt.Errorf("binary array of %d bytes", len(b))
	}
	ndim := int(int32(binary.BigEndian.Uint32(b)))
	b = b[12:]
	if ndim == 0 {
		return tuple.ListValue(d.levels[0][:0]), nil
	}
	if ndim != d.depth {
		return tuple.Value{}, d.errDims(ndim)
	}
	if len(b) < 8*ndim {
		return tuple.Value{}, fmt.Errorf("binary array truncated in its dimensions")
	}
	dims := make([]int, ndim)
	total := 1
	for i := range dims {
		dims[i] = int(int32(binary.BigEndian.Uint32(b[8*i:])))
		total *= dims[i]
	}
	b = b[8*ndim:]
	elems := d.levels[0][:0]
	for range total {
		if len(b) < 4 {
			return tuple.Value{}, fmt.Errorf("binary array truncated in its elements")
		}
		n := int32(binary.BigEndian.Uint32(b))
		b = b[4:]
		if n < 0 {
			elems = append(elems, tuple.NullValue())
			continue
		}
		if int(n) > len(b) {
			return tuple.Value{}, fmt.Errorf("binary array truncated in its elements")
		}
		v, err := d.elem(b[:n])
		if err != nil {
			return tuple.Value{}, fmt.Errorf("element %d: %w", len(elems)+1, err)
		}
		elems, b = append(elems, v), b[n:]
	}
	d.levels[0] = elems
	// Group the elements by the last dimension, those lists by the one
	// before, up to the first.
	for k := 1; k < ndim; k++ {
		n := dims[ndim-k]
		lists := d.levels[k][:0]
		for i := 0; i < len(elems); i += n {
			lists = append(lists, tuple.ListValue(elems[i:i+n]))
		}
		d.levels[k], elems = lists, lists
	}
	return tuple.ListValue(elems), nil
}

// text parses array_out's form; elements stay in their text form.
func (d *arrayDecoder) text(b []byte) (tuple.Value, error) {
	v, err := d.parser.Parse(b)
	var de *coltype.DimsError
	if errors.As(err, &de) {
		return tuple.Value{}, fmt.Errorf("array %.40q: %w", b, d.errDims(de.Got))
	}
	return v, err
}
