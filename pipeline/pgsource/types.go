package pgsource

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/s3bridge/s3bridge/instance/postgres/coltype"
	"github.com/s3bridge/s3bridge/pipeline"
)

// kinds spell coltype's logical types, which exports use too, as the
// pipeline's kinds. Avro has no 16-bit integer: smallint is an int32.
var kinds = [...]pipeline.Kind{
	coltype.Text: pipeline.KindText, coltype.String: pipeline.KindString, coltype.Enum: pipeline.KindEnum,
	coltype.Numeric: pipeline.KindNumeric, coltype.Int16: pipeline.KindInt32, coltype.Int32: pipeline.KindInt32,
	coltype.Int64: pipeline.KindInt64, coltype.Float32: pipeline.KindFloat32, coltype.Float64: pipeline.KindFloat64,
	coltype.Bool: pipeline.KindBool, coltype.Bytes: pipeline.KindBytes, coltype.Date: pipeline.KindDate,
	coltype.Time: pipeline.KindTime, coltype.Timestamp: pipeline.KindTimestamp,
	coltype.TimestampTZ: pipeline.KindTimestampTZ, coltype.UUID: pipeline.KindUUID, coltype.JSON: pipeline.KindJSON,
	coltype.Decimal: pipeline.KindDecimal,
}

// pipelineType is the pipeline type of logical type t. name is the
// source's name of the type (of the array type, for an array), leaf that
// of an array's elements: every level of a multi-dimensional array is
// called by the array type's name, as PostgreSQL does.
func pipelineType(t coltype.Type, name, leaf string) pipeline.Type {
	if t.Dims == 0 {
		leaf = name
	}
	pt := pipeline.Type{Kind: kinds[t.Kind], Name: leaf}
	if t.Kind == coltype.Decimal {
		pt.Precision, pt.Scale = t.Precision, t.Scale
	}
	for range t.Dims {
		e := pt
		pt = pipeline.Type{Kind: pipeline.KindArray, Elem: &e, Name: name}
	}
	return pt
}

// catalogType is a row of pg_type.
type catalogType struct {
	name, namespace string
	typtype         byte // b base, e enum, d domain, …
	category        byte // A for arrays
	elem, base      uint32
	baseTypmod      int32
	delim           byte // typdelim: between an array's elements
}

// qualified is the type's name, schema-qualified outside pg_catalog.
func (ct catalogType) qualified() string {
	if ct.namespace == "pg_catalog" {
		return ct.name
	}
	return ct.namespace + "." + ct.name
}

// typeResolver maps a column's type OID, typmod and declared dimensions to
// a pipeline.Type, asking pg_type (over an ordinary connection: the
// replication one is busy streaming) for what coltype needs to know, and
// caching the answers.
type typeResolver struct {
	conn  func(ctx context.Context) (*pgconn.PgConn, error)
	cache map[uint32]catalogType
	// delims holds the element delimiter of the array types resolved
	// whose delimiter isn't a comma (box[]), by the element type's name:
	// the value decoder reads it.
	delims map[string]byte
}

func newTypeResolver(conn func(ctx context.Context) (*pgconn.PgConn, error)) *typeResolver {
	return &typeResolver{conn: conn, cache: map[uint32]catalogType{}, delims: map[string]byte{}}
}

// resolve returns the type of a column of type oid with modifier typmod,
// declared with dims array dimensions (pg_attribute.attndims).
func (r *typeResolver) resolve(ctx context.Context, oid uint32, typmod int32, dims int) (pipeline.Type, error) {
	ct, err := r.lookup(ctx, oid)
	if err != nil {
		return pipeline.Type{}, err
	}
	name := typeName(ct, oid, typmod)
	base, typmod, bt, err := r.base(ctx, oid, typmod)
	if err != nil {
		return pipeline.Type{}, err
	}
	src := coltype.Source{OID: base, Typmod: typmod, Enum: bt.typtype == 'e'}
	leaf := name
	if bt.category == 'A' && bt.elem != 0 {
		// An array column's typmod is its element's.
		et, err := r.lookup(ctx, bt.elem)
		if err != nil {
			return pipeline.Type{}, err
		}
		leaf = typeName(et, bt.elem, typmod)
		if et.delim != ',' && et.delim != 0 {
			r.delims[leaf] = et.delim
		}
		ebase, etypmod, ebt, err := r.base(ctx, bt.elem, typmod)
		if err != nil {
			return pipeline.Type{}, err
		}
		src = coltype.Source{OID: ebase, Typmod: etypmod, Enum: ebt.typtype == 'e', Array: true, Dims: dims}
	}
	return pipelineType(coltype.Of(src), name, leaf), nil
}

// typeName is the name files give a type: its qualified name, with the
// precision and scale of a numeric.
func typeName(ct catalogType, oid uint32, typmod int32) string {
	if p, s, ok := coltype.NumericTypmod(typmod); ok && oid == coltype.NumericOID {
		return fmt.Sprintf("numeric(%d,%d)", p, s)
	}
	return ct.qualified()
}

// base follows a domain to its base type, with the domain's typmod for
// it, and returns it with its catalog row.
func (r *typeResolver) base(ctx context.Context, oid uint32, typmod int32) (uint32, int32, catalogType, error) {
	for range 8 {
		ct, err := r.lookup(ctx, oid)
		if err != nil || ct.typtype != 'd' {
			return oid, typmod, ct, err
		}
		oid, typmod = ct.base, ct.baseTypmod
	}
	return 0, 0, catalogType{}, fmt.Errorf("type %d: domains nested too deep", oid)
}

func (r *typeResolver) lookup(ctx context.Context, oid uint32) (catalogType, error) {
	if ct, ok := r.cache[oid]; ok {
		return ct, nil
	}
	conn, err := r.conn(ctx)
	if err != nil {
		return catalogType{}, err
	}
	sql := `SELECT t.typname, n.nspname, t.typtype, t.typcategory, t.typelem, t.typbasetype, t.typtypmod, t.typdelim
		FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
		WHERE t.oid = ` + strconv.FormatUint(uint64(oid), 10)
	res, err := conn.Exec(ctx, sql).ReadAll()
	if err != nil {
		return catalogType{}, fmt.Errorf("look up type %d: %w", oid, err)
	}
	if len(res) != 1 || len(res[0].Rows) != 1 {
		// Dropped since the change was written: its values are text.
		ct := catalogType{name: "oid" + strconv.FormatUint(uint64(oid), 10), namespace: "pg_catalog", typtype: 'b'}
		r.cache[oid] = ct
		return ct, nil
	}
	row := res[0].Rows[0]
	elem, _ := strconv.ParseUint(string(row[4]), 10, 32)
	base, _ := strconv.ParseUint(string(row[5]), 10, 32)
	tm, _ := strconv.ParseInt(string(row[6]), 10, 32)
	ct := catalogType{name: string(row[0]), namespace: string(row[1]), typtype: row[2][0], category: row[3][0],
		elem: uint32(elem), base: uint32(base), baseTypmod: int32(tm), delim: row[7][0]}
	r.cache[oid] = ct
	return ct, nil
}

// dims returns the declared array dimensions (pg_attribute.attndims) of
// the columns of relation relid, by name. The catalog's current state
// stands for the one the stream is at, as it does for the types.
func (r *typeResolver) dims(ctx context.Context, relid uint32) (map[string]int, error) {
	conn, err := r.conn(ctx)
	if err != nil {
		return nil, err
	}
	res, err := conn.Exec(ctx, `SELECT attname, attndims FROM pg_catalog.pg_attribute
		WHERE attrelid = `+strconv.FormatUint(uint64(relid), 10)+` AND attnum > 0 AND NOT attisdropped`).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("look up the array dimensions of relation %d: %w", relid, err)
	}
	out := map[string]int{}
	for _, rs := range res {
		for _, row := range rs.Rows {
			n, _ := strconv.Atoi(string(row[1]))
			out[string(row[0])] = n
		}
	}
	return out, nil
}
