package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"github.com/s3bridge/s3bridge/instance/bulk"
	"github.com/s3bridge/s3bridge/tuple"
	"io"
	"strings"
	"time"

	sqlite "modernc.org/sqlite"
)

var _ bulk.Source = (*Instance)(nil)

// Query implements bulk.Source. SQLite has no users, so q.Caller is
// ignored; it has no read-only transaction either, so the query runs in a
// deferred transaction (one snapshot, writers not blocked in WAL mode)
// under an authorizer that lets SQLite compile nothing but reads: a write,
// a PRAGMA, ATTACH or a second statement smuggled into the text fails
// before it runs.
func (in *Instance) Query(ctx context.Context, q bulk.Query, fn func(tuple.Rows) error) error {
	conn, err := in.DB().Conn(ctx)
	if err != nil {
		return fmt.Errorf("open sqlite %s: %w", in.path, err)
	}
	defer conn.Close()
	// Not BeginTx: the DSN makes those BEGIN IMMEDIATE, which would lock
	// out writers for the whole export.
	if _, err := conn.ExecContext(ctx, "BEGIN DEFERRED"); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	return conn.Raw(func(dc any) error {
		auth, ok := dc.(sqlite.AuthorizerRegisterer)
		if !ok {
			return fmt.Errorf("sqlite driver has no authorizer")
		}
		if err := auth.RegisterAuthorizer(readOnly); err != nil {
			return fmt.Errorf("install read-only authorizer: %w", err)
		}
		// The connection goes back to the pool afterwards: lift it.
		defer auth.RegisterAuthorizer(nil)
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("sqlite driver can't run queries directly")
		}
		rows, err := qc.QueryContext(ctx, q.SQL, nil)
		if err != nil {
			return queryErr(err)
		}
		defer rows.Close()
		r := &liteRows{rows: rows, dest: make([]driver.Value, len(rows.Columns()))}
		r.cols = liteColumns(rows)
		return fn(r)
	})
}

// readOnly allows what a SELECT compiles to and nothing else.
func readOnly(action sqlite.AuthorizerActionCode, _, _, _, _ string) sqlite.AuthorizerReturnCode {
	switch action {
	case sqlite.AuthSelect, sqlite.AuthRead, sqlite.AuthFunction, sqlite.AuthRecursive:
		return sqlite.AuthorizerOK
	}
	return sqlite.AuthorizerDeny
}

func queryErr(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code() == 23 { // SQLITE_AUTH
		return bulk.Denied(fmt.Errorf("query: only a SELECT can be exported: %w", err))
	}
	return fmt.Errorf("query: %w", err)
}

type liteRows struct {
	rows driver.Rows
	cols []tuple.Column
	dest []driver.Value
	text [][]byte // per column, reused for string values
}

func (r *liteRows) Columns() []tuple.Column { return r.cols }

func (r *liteRows) Next(row []tuple.Value) error {
	if err := r.rows.Next(r.dest); err != nil {
		if err == io.EOF {
			return io.EOF
		}
		return queryErr(err)
	}
	if r.text == nil {
		r.text = make([][]byte, len(r.dest))
	}
	for i, v := range r.dest {
		switch v := v.(type) {
		case nil:
			row[i] = tuple.NullValue()
		case int64:
			row[i] = tuple.IntValue(v)
		case float64:
			row[i] = tuple.FloatValue(v)
		case bool:
			row[i] = tuple.BoolValue(v)
		case []byte:
			row[i] = tuple.BytesValue(v)
		case string:
			r.text[i] = append(r.text[i][:0], v...)
			row[i] = tuple.TextValue(r.text[i])
		case time.Time:
			row[i] = tuple.TimeValue(v)
		default:
			return fmt.Errorf("column %s: unexpected %T from the driver", r.cols[i].Name, v)
		}
	}
	return nil
}

// liteColumns maps declared types to export types by SQLite's affinity
// rules, plus the names that mean dates, times of day, booleans, decimals
// and JSON.
// Expressions have no declared type: their first value decides.
func liteColumns(rows driver.Rows) []tuple.Column {
	names := rows.Columns()
	cols := make([]tuple.Column, len(names))
	typed, _ := rows.(driver.RowsColumnTypeDatabaseTypeName)
	for i, n := range names {
		cols[i] = tuple.Column{Name: n, Type: tuple.TypeUnknown}
		if typed == nil {
			continue
		}
		decl := strings.ToUpper(typed.ColumnTypeDatabaseTypeName(i))
		switch {
		case decl == "":
		case strings.Contains(decl, "BOOL"):
			cols[i].Type = tuple.TypeBool
		case strings.Contains(decl, "INT"):
			cols[i].Type = tuple.TypeInt64
		case strings.Contains(decl, "CHAR"), strings.Contains(decl, "CLOB"), strings.Contains(decl, "TEXT"):
			cols[i].Type = tuple.TypeText
		case strings.Contains(decl, "BLOB"):
			cols[i].Type = tuple.TypeBytes
		case strings.Contains(decl, "REAL"), strings.Contains(decl, "FLOA"), strings.Contains(decl, "DOUB"):
			cols[i].Type = tuple.TypeFloat64
		case strings.Contains(decl, "JSON"):
			cols[i].Type = tuple.TypeJSON
		case decl == "DATE":
			cols[i].Type = tuple.TypeDate
		case decl == "TIME":
			cols[i].Type = tuple.TypeTime
		case strings.Contains(decl, "DATE"), strings.Contains(decl, "TIME"):
			cols[i].Type = tuple.TypeTimestamp
		default:
			// NUMERIC and DECIMAL affinity: integers or reals, value by
			// value; without a fixed scale the first value decides.
			cols[i].Type = tuple.TypeUnknown
		}
	}
	return cols
}
