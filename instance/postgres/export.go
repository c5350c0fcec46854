package postgres

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance/bulk"
	"github.com/s3bridge/s3bridge/instance/postgres/coltype"
	"github.com/s3bridge/s3bridge/tuple"
)

var (
	_ bulk.Source  = (*Instance)(nil)
	_ bulk.Copier  = (*Instance)(nil)
	_ bulk.Waiters = (*Instance)(nil)
)

// Connect opens a pgx connection of its own to the instance's database:
// exports need pgx's COPY TO and raw row values, which database/sql hides.
// The caller closes it.
func (in *Instance) Connect(ctx context.Context) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(in.connString)
	if err != nil {
		return nil, fmt.Errorf("postgres URL: %w", redactErr(err))
	}
	cfg.BuildFrontend = bufferedFrontend
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres %s/%s: %w", cfg.Host, cfg.Database, err)
	}
	return conn, nil
}

// sessionSettings are the caller's settings an export applies, so that
// unqualified names and dates mean what they meant in the caller's
// session; anything else in Query.Session is ignored.
var sessionSettings = []string{"search_path", "TimeZone", "DateStyle", "IntervalStyle"}

// exportTx runs fn in a read-only, repeatable-read transaction on a
// connection of its own (taken from the instance's pool), as q.Caller when set (SET LOCAL ROLE: the agent's
// role must be a member of the caller's), after checking with a Parse that
// q.SQL is a single statement.
func (in *Instance) exportTx(ctx context.Context, q bulk.Query, fn func(conn *pgx.Conn, sd *pgconn.StatementDescription) error) error {
	pc, err := in.bulkConn(ctx)
	if err != nil {
		return fmt.Errorf("connect for export: %w", err)
	}
	// A connection left in a transaction or broken is closed, not pooled.
	defer pc.Release()
	conn := pc.Conn()
	tx, err := bulkBegin(ctx, conn, "ISOLATION LEVEL REPEATABLE READ READ ONLY")
	if err != nil {
		return fmt.Errorf("begin read-only transaction: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := applyCaller(ctx, tx, q); err != nil {
		return err
	}
	// An extended-protocol Parse takes exactly one statement, so the query
	// can't end COPY's parenthesis or smuggle a second statement, whatever
	// the statement package's lexer made of it.
	sd, err := conn.Prepare(ctx, "", q.SQL)
	if err != nil {
		return queryErr(err)
	}
	if len(sd.Fields) == 0 {
		return fmt.Errorf("query: returns no columns; an export needs a SELECT")
	}
	if err := fn(conn, sd); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// queryErr makes PostgreSQL's permission errors satisfy
// s3bridge.ErrAccessDenied.
func queryErr(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42501" {
		return bulk.Denied(fmt.Errorf("query: %w", err))
	}
	return fmt.Errorf("query: %w", err)
}

// CopyTo implements bulk.Copier with COPY (query) TO STDOUT, through
// copyOut: PostgreSQL's CSV or text, one CopyData message per row, which
// pgconn writes to w one by one, or binary COPY that copyOut writes as
// that same CSV, a row per Write.
func (in *Instance) CopyTo(ctx context.Context, w io.Writer, q bulk.Query, options string) error {
	return in.exportTx(ctx, q, func(conn *pgx.Conn, sd *pgconn.StatementDescription) error {
		_, err := copyOut(ctx, conn, w, q.SQL, sd.Fields, options)
		return err
	})
}

// binaryOIDs are the types read in binary: fixed-size values decode
// faster than they parse, and exactly.
var binaryOIDs = pgx.QueryResultFormatsByOID{
	boolOID: 1, byteaOID: 1, int8OID: 1, int2OID: 1, int4OID: 1, float4OID: 1, float8OID: 1,
	dateOID: 1, timestampOID: 1, timestamptzOID: 1, timeOID: 1, uuidOID: 1,
}

// The OIDs pgDecoder reads in binary.
const (
	boolOID        = coltype.BoolOID
	byteaOID       = coltype.ByteaOID
	nameOID        = coltype.NameOID
	int8OID        = coltype.Int8OID
	int2OID        = coltype.Int2OID
	int4OID        = coltype.Int4OID
	textOID        = coltype.TextOID
	oidOID         = coltype.OIDOID
	jsonOID        = coltype.JSONOID
	float4OID      = coltype.Float4OID
	float8OID      = coltype.Float8OID
	bpcharOID      = coltype.BPCharOID
	varcharOID     = coltype.VarcharOID
	dateOID        = coltype.DateOID
	timeOID        = coltype.TimeOID
	timestampOID   = coltype.TimestampOID
	timestamptzOID = coltype.TimestampTZOID
	uuidOID        = coltype.UUIDOID
	jsonbOID       = coltype.JSONBOID
)

// Query implements bulk.Source. With q.Text every column comes in
// PostgreSQL's text form, exactly as COPY would print it.
func (in *Instance) Query(ctx context.Context, q bulk.Query, fn func(tuple.Rows) error) error {
	return in.exportTx(ctx, q, func(conn *pgx.Conn, sd *pgconn.StatementDescription) error {
		var formats any = pgx.QueryResultFormats{pgx.TextFormatCode}
		var arrays map[int]arrayType
		if !q.Text {
			var err error
			if arrays, err = arrayTypes(ctx, conn, sd.Fields); err != nil {
				return err
			}
			formats = resultFormats(arrays)
		}
		rows, err := conn.Query(ctx, q.SQL, pgx.QueryExecModeDescribeExec, formats)
		if err != nil {
			return queryErr(err)
		}
		defer rows.Close()
		r := &pgRows{rows: rows}
		for i, f := range rows.FieldDescriptions() {
			col, dec := pgColumn(f), pgDecoder(f)
			if a, ok := arrays[i]; ok {
				col, dec = a.column(f), a.decoder(f)
			}
			r.cols = append(r.cols, col)
			r.decode = append(r.decode, dec)
		}
		if err := fn(r); err != nil {
			return err
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return queryErr(err)
		}
		return nil
	})
}

type pgRows struct {
	rows   pgx.Rows
	cols   []tuple.Column
	decode []func([]byte) (tuple.Value, error)
}

func (r *pgRows) Columns() []tuple.Column { return r.cols }

func (r *pgRows) Next(row []tuple.Value) error {
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return queryErr(err)
		}
		return io.EOF
	}
	for i, b := range r.rows.RawValues() {
		if b == nil {
			row[i] = tuple.NullValue()
			continue
		}
		v, err := r.decode[i](b)
		if err != nil {
			return fmt.Errorf("column %s: %w", r.cols[i].Name, err)
		}
		row[i] = v
	}
	return nil
}

// pgColumn maps a result column's type OID (and modifier) to an export
// type, as coltype decides it. PostgreSQL describes a domain by its base
// type; an array field is mapped by arrayType.column instead.
func pgColumn(f pgconn.FieldDescription) tuple.Column {
	return columnOf(f.Name, coltype.Of(coltype.Source{OID: f.DataTypeOID, Typmod: f.TypeModifier}))
}

// tupleTypes spell coltype's logical types as export types. The kinds
// that stay text (text itself, enums, the other types) are text, and
// numeric without a precision is a decimal without one, which Parquet
// writes as text unless --numeric-as gives it a type.
var tupleTypes = [...]tuple.Type{
	coltype.Text: tuple.TypeText, coltype.String: tuple.TypeText, coltype.Enum: tuple.TypeText,
	coltype.Numeric: tuple.TypeDecimal, coltype.Int16: tuple.TypeInt16, coltype.Int32: tuple.TypeInt32,
	coltype.Int64: tuple.TypeInt64, coltype.Float32: tuple.TypeFloat32, coltype.Float64: tuple.TypeFloat64,
	coltype.Bool: tuple.TypeBool, coltype.Bytes: tuple.TypeBytes, coltype.Date: tuple.TypeDate,
	coltype.Time: tuple.TypeTime, coltype.Timestamp: tuple.TypeTimestamp, coltype.TimestampTZ: tuple.TypeTimestampTZ,
	coltype.UUID: tuple.TypeUUID, coltype.JSON: tuple.TypeJSON, coltype.Decimal: tuple.TypeDecimal,
}

// columnOf is the export column named name of logical type t.
func columnOf(name string, t coltype.Type) tuple.Column {
	c := tuple.Column{Name: name, Type: tupleTypes[t.Kind]}
	switch t.Kind {
	case coltype.Decimal, coltype.Timestamp, coltype.TimestampTZ:
		c.Precision, c.Scale = t.Precision, t.Scale
	}
	if t.Dims > 0 {
		return tuple.ListOf(name, c, t.Dims)
	}
	return c
}

func pgDecoder(f pgconn.FieldDescription) func([]byte) (tuple.Value, error) {
	text := func(b []byte) (tuple.Value, error) { return tuple.TextValue(b), nil }
	if f.Format != pgx.BinaryFormatCode {
		return text
	}
	switch f.DataTypeOID {
	case boolOID:
		return fixed(1, func(b []byte) tuple.Value { return tuple.BoolValue(b[0] != 0) })
	case byteaOID:
		return func(b []byte) (tuple.Value, error) { return tuple.BytesValue(b), nil }
	case int2OID:
		return fixed(2, func(b []byte) tuple.Value { return tuple.IntValue(int64(int16(binary.BigEndian.Uint16(b)))) })
	case int4OID:
		return fixed(4, func(b []byte) tuple.Value { return tuple.IntValue(int64(int32(binary.BigEndian.Uint32(b)))) })
	case int8OID:
		return fixed(8, func(b []byte) tuple.Value { return tuple.IntValue(int64(binary.BigEndian.Uint64(b))) })
	case float4OID:
		return fixed(4, func(b []byte) tuple.Value {
			return tuple.FloatValue(float64(math.Float32frombits(binary.BigEndian.Uint32(b))))
		})
	case float8OID:
		return fixed(8, func(b []byte) tuple.Value {
			return tuple.FloatValue(math.Float64frombits(binary.BigEndian.Uint64(b)))
		})
	case dateOID:
		return fixed(4, pgDate)
	case timestampOID, timestamptzOID:
		return fixed(8, pgTimestamp)
	case timeOID:
		// Microseconds since midnight, as tuple.TypeTime holds them.
		return fixed(8, func(b []byte) tuple.Value { return tuple.IntValue(int64(binary.BigEndian.Uint64(b))) })
	case uuidOID:
		return fixed(16, tuple.BytesValue)
	case oidOID:
		return fixed(4, func(b []byte) tuple.Value { return tuple.IntValue(int64(binary.BigEndian.Uint32(b))) })
	case jsonbOID:
		// A version byte, 1, before the text.
		return func(b []byte) (tuple.Value, error) {
			if len(b) == 0 || b[0] != 1 {
				return tuple.Value{}, fmt.Errorf("jsonb in binary of an unknown version")
			}
			return tuple.TextValue(b[1:]), nil
		}
	}
	// The binary form of text, varchar, char, name and json is their text.
	return text
}

// fixed checks a binary value's size before decoding it.
func fixed(n int, decode func([]byte) tuple.Value) func([]byte) (tuple.Value, error) {
	return func(b []byte) (tuple.Value, error) {
		if len(b) != n {
			return tuple.Value{}, fmt.Errorf("binary value of %d bytes, want %d", len(b), n)
		}
		return decode(b), nil
	}
}

// pgEpoch is PostgreSQL's zero date, 2000-01-01, in Unix seconds.
const pgEpoch = 946684800

// pgDate decodes days since 2000-01-01; ±infinity stay words, which only
// text formats can hold.
func pgDate(b []byte) tuple.Value {
	switch d := int32(binary.BigEndian.Uint32(b)); d {
	case math.MaxInt32:
		return tuple.StringValue("infinity")
	case math.MinInt32:
		return tuple.StringValue("-infinity")
	default:
		return tuple.TimeValue(time.Unix(pgEpoch+int64(d)*86400, 0))
	}
}

// pgTimestamp decodes microseconds since 2000-01-01 (UTC for timestamptz,
// the wall clock for timestamp).
func pgTimestamp(b []byte) tuple.Value {
	switch us := int64(binary.BigEndian.Uint64(b)); us {
	case math.MaxInt64:
		return tuple.StringValue("infinity")
	case math.MinInt64:
		return tuple.StringValue("-infinity")
	default:
		return tuple.TimeValue(time.UnixMicro(pgEpoch*1_000_000 + us))
	}
}

// WaiterAge implements bulk.Waiters: query_export_to_s3 records a
// heartbeat in export_waits while it waits.
func (in *Instance) WaiterAge(ctx context.Context, id int64) (time.Duration, error) {
	var secs float64
	err := in.DB().QueryRowContext(ctx, `SELECT extract(epoch FROM clock_timestamp() - seen_at)::float8 FROM `+
		pgx.Identifier{in.schema, "export_waits"}.Sanitize()+` WHERE task_id = $1`, id).Scan(&secs)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("no SQL call waits for task %d: %w", id, s3bridge.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("read the heartbeat of task %d's caller: %w", id, err)
	}
	return time.Duration(secs * float64(time.Second)), nil
}
