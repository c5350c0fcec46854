package pgsource

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/s3bridge/s3bridge/pipeline"
)

// builtin maps the OIDs of built-in scalar types to their kind. Any other
// OID (arrays, enums, domains, extension types) is looked up in pg_type.
var builtin = map[uint32]pipeline.Type{
	pgtype.Int2OID:        {Kind: pipeline.KindInt32, Name: "int2"},
	pgtype.Int4OID:        {Kind: pipeline.KindInt32, Name: "int4"},
	pgtype.Int8OID:        {Kind: pipeline.KindInt64, Name: "int8"},
	pgtype.Float4OID:      {Kind: pipeline.KindFloat32, Name: "float4"},
	pgtype.Float8OID:      {Kind: pipeline.KindFloat64, Name: "float8"},
	pgtype.BoolOID:        {Kind: pipeline.KindBool, Name: "bool"},
	pgtype.TextOID:        {Kind: pipeline.KindString, Name: "text"},
	pgtype.VarcharOID:     {Kind: pipeline.KindString, Name: "varchar"},
	pgtype.BPCharOID:      {Kind: pipeline.KindString, Name: "bpchar"},
	pgtype.NameOID:        {Kind: pipeline.KindString, Name: "name"},
	pgtype.ByteaOID:       {Kind: pipeline.KindBytes, Name: "bytea"},
	pgtype.DateOID:        {Kind: pipeline.KindDate, Name: "date"},
	pgtype.TimeOID:        {Kind: pipeline.KindTime, Name: "time"},
	pgtype.TimestampOID:   {Kind: pipeline.KindTimestamp, Name: "timestamp"},
	pgtype.TimestamptzOID: {Kind: pipeline.KindTimestampTZ, Name: "timestamptz"},
	pgtype.UUIDOID:        {Kind: pipeline.KindUUID, Name: "uuid"},
	pgtype.JSONOID:        {Kind: pipeline.KindJSON, Name: "json"},
	pgtype.JSONBOID:       {Kind: pipeline.KindJSON, Name: "jsonb"},
	pgtype.NumericOID:     {Kind: pipeline.KindNumeric, Name: "numeric"},
}

// numericType applies a numeric typmod: numeric(p,s) is an exact decimal,
// numeric without one (or with a negative scale, PostgreSQL 15+, which Avro
// decimals can't express) keeps its text form.
func numericType(typmod int32) pipeline.Type {
	if typmod < 4 {
		return builtin[pgtype.NumericOID]
	}
	m := typmod - 4
	p := int(m>>16) & 0xffff
	s := int((m&0x7ff)^1024) - 1024 // 11-bit signed scale
	name := fmt.Sprintf("numeric(%d,%d)", p, s)
	if s < 0 || s > p || p == 0 {
		return pipeline.Type{Kind: pipeline.KindNumeric, Name: name}
	}
	return pipeline.Type{Kind: pipeline.KindDecimal, Precision: p, Scale: s, Name: name}
}

// catalogType is a row of pg_type.
type catalogType struct {
	name, namespace string
	typtype         byte // b base, e enum, d domain, …
	category        byte // A for arrays
	elem, base      uint32
	baseTypmod      int32
}

// typeResolver maps a column's type OID and typmod to a pipeline.Type,
// asking pg_type (over an ordinary connection: the replication one is busy
// streaming) for what isn't built in, and caching the answers.
type typeResolver struct {
	conn  func(ctx context.Context) (*pgconn.PgConn, error)
	cache map[uint32]catalogType
}

func (r *typeResolver) resolve(ctx context.Context, oid uint32, typmod int32) (pipeline.Type, error) {
	return r.resolveDepth(ctx, oid, typmod, 0)
}

func (r *typeResolver) resolveDepth(ctx context.Context, oid uint32, typmod int32, depth int) (pipeline.Type, error) {
	if depth > 8 {
		return pipeline.Type{}, fmt.Errorf("type %d: domains nested too deep", oid)
	}
	if oid == pgtype.NumericOID {
		return numericType(typmod), nil
	}
	if t, ok := builtin[oid]; ok {
		return t, nil
	}
	ct, err := r.lookup(ctx, oid)
	if err != nil {
		return pipeline.Type{}, err
	}
	qualified := ct.namespace + "." + ct.name
	if ct.namespace == "pg_catalog" {
		qualified = ct.name
	}
	switch {
	case ct.typtype == 'e':
		return pipeline.Type{Kind: pipeline.KindEnum, Name: qualified}, nil
	case ct.typtype == 'd':
		// A domain is its base type (with the domain's own typmod).
		t, err := r.resolveDepth(ctx, ct.base, ct.baseTypmod, depth+1)
		if err != nil {
			return t, err
		}
		t.Name = qualified
		return t, nil
	case ct.category == 'A' && ct.elem != 0:
		// An array column's typmod is its element's typmod.
		et, err := r.resolveDepth(ctx, ct.elem, typmod, depth+1)
		if err != nil {
			return et, err
		}
		if et.Kind == pipeline.KindArray {
			et = pipeline.Type{Kind: pipeline.KindText, Name: et.Name}
		}
		return pipeline.Type{Kind: pipeline.KindArray, Elem: &et, Name: qualified}, nil
	}
	return pipeline.Type{Kind: pipeline.KindText, Name: qualified}, nil
}

func (r *typeResolver) lookup(ctx context.Context, oid uint32) (catalogType, error) {
	if ct, ok := r.cache[oid]; ok {
		return ct, nil
	}
	conn, err := r.conn(ctx)
	if err != nil {
		return catalogType{}, err
	}
	sql := `SELECT t.typname, n.nspname, t.typtype, t.typcategory, t.typelem, t.typbasetype, t.typtypmod
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
		elem: uint32(elem), base: uint32(base), baseTypmod: int32(tm)}
	r.cache[oid] = ct
	return ct, nil
}
