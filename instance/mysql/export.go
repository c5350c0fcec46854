package mysql

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/s3bridge/s3bridge/instance/bulk"
	"github.com/s3bridge/s3bridge/tuple"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/statement"
)

var (
	_ bulk.Source  = (*Instance)(nil)
	_ bulk.Waiters = (*Instance)(nil)
)

// Query implements bulk.Source: the query runs in a read-only
// transaction and streams over MariaDB's text protocol, row by row.
//
// MariaDB can't switch a session to another account the way PostgreSQL's
// SET ROLE does, so an export for q.Caller reads through a view defined
// for the occasion with DEFINER = the caller and SQL SECURITY DEFINER:
// MariaDB then checks every table, column and routine the query uses
// against the caller's privileges. A definer view doesn't carry the
// caller's active role, so when the account's own privileges fall short
// and the caller had a role active, the view is defined again for the role
// (privileges split between the account and the role in one query are
// refused). The view lives in the s3bridge schema for the length of the
// export. Creating it needs the SET USER privilege (SUPER before 10.5.2)
// on the agent's account; without it the export fails rather than run
// with the agent's own privileges. Views can't hold every query (user
// variables, a duplicated column name): alias or rewrite those.
func (in *Instance) Query(ctx context.Context, q bulk.Query, fn func(tuple.Rows) error) error {
	conn, err := in.DB().Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect to mysql %s: %w", in.Name(), err)
	}
	defer conn.Close()
	// The export's read-only transaction waits on S3 while parts upload:
	// the queue's idle limit (Dialect.TxSetup) must not end it.
	if _, err := conn.ExecContext(ctx, "SET SESSION idle_transaction_timeout = 0"); err != nil {
		return fmt.Errorf("set up the export's connection: %w", err)
	}
	definers, err := in.definers(ctx, conn, q)
	if err != nil {
		return err
	}
	if len(definers) == 0 {
		_, err := in.queryOnce(ctx, conn, q.SQL, q.Text, fn)
		return err
	}
	for i, definer := range definers {
		view, err := in.createView(ctx, conn, definer, q)
		if err != nil {
			return err
		}
		started, err := in.queryOnce(ctx, conn, "SELECT * FROM "+view, q.Text, fn)
		// On the pool, not conn: a cancel closes conn's connection.
		in.DB().ExecContext(context.WithoutCancel(ctx), "DROP VIEW IF EXISTS "+view)
		if err != nil && !started && errors.Is(err, s3bridge.ErrAccessDenied) && i+1 < len(definers) {
			continue
		}
		return err
	}
	return nil
}

// queryOnce runs query in a read-only transaction and reports whether fn
// got to see its rows; with text, SET values stay text instead of lists.
func (in *Instance) queryOnce(ctx context.Context, conn *sql.Conn, query string, text bool, fn func(tuple.Rows) error) (started bool, err error) {
	if _, err := conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
		return false, fmt.Errorf("begin read-only transaction: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	err = conn.Raw(func(dc any) error {
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("mysql driver can't run queries directly")
		}
		// No arguments: the text protocol, one statement only (the driver
		// doesn't enable multi-statements).
		rows, err := qc.QueryContext(ctx, query, nil)
		if err != nil {
			return queryErr(err)
		}
		defer rows.Close()
		started = true
		r := &myRows{rows: rows, dest: make([]driver.Value, len(rows.Columns())), text: text}
		r.cols = myColumns(rows)
		return fn(r)
	})
	return started, err
}

// definers lists the DEFINER clauses to try for q.Caller: the account,
// then its active role. None when there is no caller or the caller is the
// agent's own account.
func (in *Instance) definers(ctx context.Context, conn *sql.Conn, q bulk.Query) ([]string, error) {
	return in.definersFor(ctx, conn, q.Caller, q.CallerRole)
}

// definersFor lists the DEFINER clauses to try for caller (user@host): the
// account, then role when the account holds it (the procedure that
// recorded the caller checked the account; the role is checked here again
// against mysql.roles_mapping so that no other role can be named). None
// when there is no caller or the caller is the agent's own account.
func (in *Instance) definersFor(ctx context.Context, conn *sql.Conn, caller, role string) ([]string, error) {
	if caller == "" {
		return nil, nil
	}
	var self string
	if err := conn.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&self); err != nil {
		return nil, fmt.Errorf("read the agent's account: %w", err)
	}
	if self == caller {
		return nil, nil
	}
	at := strings.LastIndexByte(caller, '@')
	if at < 0 {
		return nil, fmt.Errorf("caller %q: want user@host", caller)
	}
	user, host := caller[:at], caller[at+1:]
	ds := []string{statement.QuoteLiteralMySQL(user) + "@" + statement.QuoteLiteralMySQL(host)}
	if role != "" {
		var n int
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM mysql.roles_mapping WHERE User = ? AND Host = ? AND Role = ?",
			user, host, role).Scan(&n); err != nil {
			return nil, fmt.Errorf("check that %s holds role %s: %w", caller, role, err)
		}
		if n == 0 {
			return nil, fmt.Errorf("%w: %s does not hold role %s", s3bridge.ErrAccessDenied, caller, role)
		}
		ds = append(ds, statement.QuoteLiteralMySQL(role))
	}
	return ds, nil
}

// createView defines the view the query runs through as definer and
// returns its quoted name.
func (in *Instance) createView(ctx context.Context, conn *sql.Conn, definer string, q bulk.Query) (string, error) {
	b := make([]byte, 8)
	rand.Read(b)
	view := quote(in.schema) + "." + quote("_export_"+hex.EncodeToString(b))
	_, err := conn.ExecContext(ctx, "CREATE DEFINER = "+definer+" SQL SECURITY DEFINER VIEW "+view+" AS "+q.SQL)
	if err != nil {
		var me *mysql.MySQLError
		if errors.As(err, &me) && (me.Number == 1227 || me.Number == 1044) {
			return "", bulk.Denied(fmt.Errorf("run the export with the privileges of %s: the agent's account needs SET USER to define a view for it: %w", q.Caller, err))
		}
		return "", queryErr(err)
	}
	return view, nil
}

// queryErr makes MariaDB's permission errors satisfy
// s3bridge.ErrAccessDenied: a table (1142) or column (1143) denied, or a
// view whose definer lacks rights (1356).
func queryErr(err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1142, 1143, 1356, 1370:
			return bulk.Denied(fmt.Errorf("query: %w", err))
		}
	}
	return fmt.Errorf("query: %w", withState(err))
}

type myRows struct {
	rows  driver.Rows
	cols  []tuple.Column
	dest  []driver.Value
	text  bool            // SET values as text, not lists
	buf   [][]byte        // per column, for values converted to text
	lists [][]tuple.Value // per column, for SET values' members
}

func (r *myRows) scratch(i int) []byte {
	if r.buf == nil {
		r.buf = make([][]byte, len(r.dest))
	}
	r.buf[i] = r.buf[i][:0]
	return r.buf[i]
}

func (r *myRows) Columns() []tuple.Column { return r.cols }

func (r *myRows) Next(row []tuple.Value) error {
	if err := r.rows.Next(r.dest); err != nil {
		if err == io.EOF {
			return io.EOF
		}
		return queryErr(err)
	}
	for i, v := range r.dest {
		switch v := v.(type) {
		case nil:
			row[i] = tuple.NullValue()
		case []byte:
			switch {
			case r.cols[i].Type == tuple.TypeBytes:
				row[i] = tuple.BytesValue(v)
			case r.cols[i].Type == tuple.TypeList && !r.text:
				row[i] = r.members(i, v)
			default:
				row[i] = tuple.TextValue(v)
			}
		case time.Time:
			row[i] = tuple.TimeValue(v)
		case int64:
			row[i] = tuple.IntValue(v)
		case uint64:
			// The driver parses integers of the text protocol itself;
			// BIGINT UNSIGNED past int64 is kept as its digits.
			if v > math.MaxInt64 {
				row[i] = tuple.TextValue(strconv.AppendUint(r.scratch(i), v, 10))
			} else {
				row[i] = tuple.IntValue(int64(v))
			}
		case float64:
			row[i] = tuple.FloatValue(v)
		case float32:
			row[i] = tuple.FloatValue(float64(v))
		case string:
			row[i] = tuple.StringValue(v)
		default:
			return fmt.Errorf("column %s: unexpected %T from the driver", r.cols[i].Name, v)
		}
	}
	return nil
}

// members splits a SET value, a,c, into a list of its members (which
// can't hold a comma); the empty set is an empty list.
func (r *myRows) members(i int, v []byte) tuple.Value {
	if r.lists == nil {
		r.lists = make([][]tuple.Value, len(r.dest))
	}
	list := r.lists[i][:0]
	for len(v) > 0 {
		m, rest, _ := bytes.Cut(v, []byte{','})
		list, v = append(list, tuple.TextValue(m)), rest
	}
	r.lists[i] = list
	return tuple.ListValue(list)
}

// myColumns maps the driver's column types to export types. MariaDB's
// JSON is a LONGTEXT with a CHECK, which its protocol describes as text
// (only with the extended metadata the driver doesn't ask for does it say
// json): MariaDB's JSON columns are text, MySQL's JSON.
func myColumns(rows driver.Rows) []tuple.Column {
	names := rows.Columns()
	cols := make([]tuple.Column, len(names))
	typed, _ := rows.(driver.RowsColumnTypeDatabaseTypeName)
	ps, _ := rows.(driver.RowsColumnTypePrecisionScale)
	for i, n := range names {
		cols[i] = tuple.Column{Name: n}
		if typed == nil {
			continue
		}
		t := typed.ColumnTypeDatabaseTypeName(i)
		switch t {
		case "TINYINT":
			cols[i].Type = tuple.TypeInt8
		case "SMALLINT", "YEAR":
			cols[i].Type = tuple.TypeInt16
		case "MEDIUMINT", "INT":
			cols[i].Type = tuple.TypeInt32
		case "BIGINT":
			cols[i].Type = tuple.TypeInt64
		case "UNSIGNED TINYINT":
			cols[i].Type = tuple.TypeUint8
		case "UNSIGNED SMALLINT":
			cols[i].Type = tuple.TypeUint16
		case "UNSIGNED MEDIUMINT", "UNSIGNED INT":
			cols[i].Type = tuple.TypeUint32
		case "UNSIGNED BIGINT":
			cols[i].Type = tuple.TypeUint64
		case "FLOAT":
			cols[i].Type = tuple.TypeFloat32
		case "DOUBLE":
			cols[i].Type = tuple.TypeFloat64
		case "DECIMAL":
			cols[i].Type = tuple.TypeDecimal
		case "DATE":
			cols[i].Type = tuple.TypeDate
		case "DATETIME":
			cols[i].Type = tuple.TypeTimestamp
		case "TIMESTAMP":
			// Stored as UTC and shown in the session's zone, which s3bridge
			// sets to UTC: an instant.
			cols[i].Type = tuple.TypeTimestampTZ
		case "JSON":
			cols[i].Type = tuple.TypeJSON
		case "TIME":
			cols[i].Type = tuple.TypeTime
		case "SET":
			cols[i] = tuple.ListOf(n, tuple.Column{Type: tuple.TypeText}, 1)
		case "BINARY", "VARBINARY", "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "GEOMETRY", "BIT":
			cols[i].Type = tuple.TypeBytes
		}
		if ps == nil {
			continue
		}
		if p, s, ok := ps.ColumnTypePrecisionScale(i); ok {
			switch cols[i].Type {
			case tuple.TypeDecimal:
				cols[i].Precision, cols[i].Scale = int(p), int(s)
			case tuple.TypeTimestamp, tuple.TypeTimestampTZ:
				cols[i].Scale = int(s)
			}
		}
	}
	return cols
}

// WaiterAge implements bulk.Waiters: select_into_outfile_s3 records a
// heartbeat in export_waits while it waits.
func (in *Instance) WaiterAge(ctx context.Context, id int64) (time.Duration, error) {
	var us int64
	err := in.DB().QueryRowContext(ctx, "SELECT TIMESTAMPDIFF(MICROSECOND, seen_at, UTC_TIMESTAMP(6)) FROM "+
		quote(in.schema)+".`export_waits` WHERE task_id = ?", id).Scan(&us)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("no SQL call waits for task %d: %w", id, s3bridge.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("read the heartbeat of task %d's caller: %w", id, err)
	}
	return time.Duration(us) * time.Microsecond, nil
}
