package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/s3bridge/s3bridge/instance/bulk"
	"io"
	"strconv"
	"strings"

	"modernc.org/sqlite"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/statement"
)

var _ bulk.Sink = (*Instance)(nil)

// insertBatch is how many rows one INSERT carries: large batches cut the
// statement overhead, and 8 columns × 256 rows stays far below SQLite's
// limit on bound parameters.
const insertBatch = 256

// Begin implements bulk.Sink with batched prepared inserts in one
// transaction. Replace deletes the old rows in the same transaction: in WAL
// mode readers keep seeing them until it commits. Identifiers are quoted
// as in PostgreSQL, which is SQLite's rule too.
func (in *Instance) Begin(ctx context.Context, t bulk.Target) (bulk.Tx, error) {
	verb := "INSERT"
	switch t.Duplicates {
	case "REPLACE":
		verb = "INSERT OR REPLACE"
	case "IGNORE":
		verb = "INSERT OR IGNORE"
	}
	all, kinds, err := in.columns(ctx, t.Table)
	if err != nil {
		return nil, err
	}
	cols := all
	if len(t.Columns) > 0 {
		cols = t.Columns
		for _, c := range cols {
			if _, ok := kinds[strings.ToLower(c)]; !ok {
				return nil, fmt.Errorf("load: table %q has no column %q (columns: %s)", t.Table, c, strings.Join(all, ", "))
			}
		}
	}
	tx, err := in.DB().BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin load into %s: %w", t.Table, err)
	}
	table := statement.QuoteIdentPG(t.Table)
	if t.Replace {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("replace rows of %s: %w", t.Table, err)
		}
	}
	return &loadTx{in: in, tx: tx, t: t, all: all, cols: cols, kinds: kinds, into: verb + " INTO " + table}, nil
}

// columns returns the table's columns in order and each one's type
// affinity by lower-case name (SQLite's names are case-insensitive).
func (in *Instance) columns(ctx context.Context, table string) ([]string, map[string]byte, error) {
	rows, err := in.DB().QueryContext(ctx, `SELECT name, type FROM pragma_table_info(?)`, table)
	if err != nil {
		return nil, nil, fmt.Errorf("read columns of %s: %w", table, err)
	}
	defer rows.Close()
	kinds := map[string]byte{}
	var all []string
	for rows.Next() {
		var n, ty string
		if err := rows.Scan(&n, &ty); err != nil {
			return nil, nil, err
		}
		all = append(all, n)
		kinds[strings.ToLower(n)] = affinity(strings.ToUpper(ty))
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(all) == 0 {
		return nil, nil, fmt.Errorf("load: no table %q in this database", table)
	}
	return all, kinds, nil
}

// affinity follows SQLite's rules: 'i' integer, 'r' real/numeric, 't' other.
func affinity(ty string) byte {
	switch {
	case strings.Contains(ty, "INT"):
		return 'i'
	case strings.Contains(ty, "REAL"), strings.Contains(ty, "FLOA"), strings.Contains(ty, "DOUB"),
		strings.Contains(ty, "NUMERIC"), strings.Contains(ty, "DECIMAL"):
		return 'r'
	}
	return 't'
}

type loadTx struct {
	in    *Instance
	tx    *sql.Tx
	t     bulk.Target
	all   []string        // the table's columns
	cols  []string        // the load's columns, in field order
	kinds map[string]byte // affinity by lower-case column name
	into  string          // "INSERT … INTO table"
	// full inserts insertBatch rows into fullCols; a file whose header
	// orders the columns otherwise gets its own.
	full     *sql.Stmt
	fullCols string
}

// insert is the statements of one file's column list.
type insert struct {
	cols  []string
	kinds []byte
	full  *sql.Stmt // insertBatch rows
	one   string    // one row
	many  func(n int) string
}

func (l *loadTx) insert(ctx context.Context, cols []string) (*insert, error) {
	quoted := make([]string, len(cols))
	kinds := make([]byte, len(cols))
	for i, c := range cols {
		quoted[i], kinds[i] = statement.QuoteIdentPG(c), l.kinds[strings.ToLower(c)]
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	prefix := l.into + " (" + strings.Join(quoted, ", ") + ") VALUES "
	many := func(n int) string { return prefix + strings.TrimSuffix(strings.Repeat(row+",", n), ",") }
	if key := strings.Join(quoted, ","); l.full == nil || l.fullCols != key {
		if l.full != nil {
			l.full.Close()
			l.full = nil
		}
		full, err := l.tx.PrepareContext(ctx, many(insertBatch))
		if err != nil {
			return nil, fmt.Errorf("prepare insert into %s: %w", l.t.Table, err)
		}
		l.full, l.fullCols = full, key
	}
	return &insert{cols: cols, kinds: kinds, full: l.full, one: many(1), many: many}, nil
}

// Load inserts the file's rows in batches. With a header
// (bulk.Target.ByHeader) the header's names pick the columns, in its
// order. A batch SQLite refuses is retried row by row to find the rows at
// fault: each is skipped and reported with SkipBadRows, else the first
// fails the load naming its line.
func (l *loadTx) Load(ctx context.Context, f bulk.File, r io.Reader) (int64, error) {
	cols, r, _, err := l.t.FileColumns(r, l.cols, l.all)
	if err != nil {
		return 0, err
	}
	rows, err := bulk.NewRows(r, f.URI, l.t.Options, cols, l.t.SkipBadRows, l.t.OnBadRow)
	if err != nil {
		return 0, err
	}
	ins, err := l.insert(ctx, cols)
	if err != nil {
		return 0, err
	}
	b := &batch{args: make([]any, 0, insertBatch*len(cols))}
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		rec, err := rows.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
		if err := b.add(ins, rec, rows.Line()); err != nil {
			if !l.t.SkipBadRows {
				return n, err
			}
			l.bad(f, err)
			continue
		}
		if len(b.lines) == insertBatch {
			m, err := l.flush(ctx, f, ins, b)
			if n += m; err != nil {
				return n, err
			}
		}
	}
	m, err := l.flush(ctx, f, ins, b)
	return n + m, err
}

func (l *loadTx) bad(f bulk.File, err error) {
	if l.t.OnBadRow != nil {
		l.t.OnBadRow(f.URI, err)
	}
}

// batch is the rows of one INSERT and the source line of each.
type batch struct {
	args  []any
	lines []int
}

// add converts a record for its columns; a value a column can't hold
// leaves the batch as it was.
func (b *batch) add(ins *insert, rec []format.Value, line int) error {
	start := len(b.args)
	for i, v := range rec {
		a, err := value(v, ins.kinds[i], ins.cols[i], line)
		if err != nil {
			b.args = b.args[:start]
			return err
		}
		b.args = append(b.args, a)
	}
	b.lines = append(b.lines, line)
	return nil
}

// flush inserts the batch and empties it. When SQLite refuses it for a
// row's values (a constraint, a type), it has undone just that statement
// (the ABORT conflict resolution), so the rows are inserted again one by
// one to find the ones at fault.
func (l *loadTx) flush(ctx context.Context, f bulk.File, ins *insert, b *batch) (int64, error) {
	rows := len(b.lines)
	if rows == 0 {
		return 0, nil
	}
	defer func() { b.args, b.lines = b.args[:0], b.lines[:0] }()
	var err error
	if rows == insertBatch {
		_, err = ins.full.ExecContext(ctx, b.args...)
	} else {
		_, err = l.tx.ExecContext(ctx, ins.many(rows), b.args...)
	}
	switch {
	case err == nil:
		return int64(rows), nil
	case !rowError(err):
		return 0, fmt.Errorf("insert rows from line %d to %d: %w", b.lines[0], b.lines[rows-1], err)
	}
	var n int64
	w := len(ins.cols)
	for i, line := range b.lines {
		_, err := l.tx.ExecContext(ctx, ins.one, b.args[i*w:(i+1)*w]...)
		switch {
		case err == nil:
			n++
		case !rowError(err):
			return n, fmt.Errorf("insert the row of line %d: %w", line, err)
		case !l.t.SkipBadRows:
			return n, &format.Error{Line: line, Field: l.errColumn(err), Err: err}
		default:
			l.bad(f, &format.Error{Line: line, Field: l.errColumn(err), Err: err})
		}
	}
	return n, nil
}

// SQLite's primary result codes for a row's values: SQLITE_TOOBIG,
// SQLITE_CONSTRAINT, SQLITE_MISMATCH.
const (
	sqliteTooBig     = 18
	sqliteConstraint = 19
	sqliteMismatch   = 20
)

func rowError(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqliteTooBig, sqliteConstraint, sqliteMismatch:
		return true
	}
	return false
}

// errColumn finds the column in "NOT NULL constraint failed: t.name (1299)".
func (l *loadTx) errColumn(err error) string {
	_, rest, ok := strings.Cut(err.Error(), "constraint failed: "+l.t.Table+".")
	if !ok {
		return ""
	}
	for _, c := range l.all {
		if n := len(c); len(rest) >= n && strings.EqualFold(rest[:n], c) && (len(rest) == n || rest[n] == ' ') {
			return c
		}
	}
	return ""
}

// value converts a field for its column, refusing text that a numeric
// column can't hold: SQLite would store it silently as text.
func value(v format.Value, kind byte, col string, line int) (any, error) {
	if v.Null {
		return nil, nil
	}
	switch kind {
	case 'i':
		if x, err := strconv.ParseInt(strings.TrimSpace(v.S), 10, 64); err == nil {
			return x, nil
		}
		return nil, &format.Error{Line: line, Field: col, Err: fmt.Errorf("%q is not an integer", v.S)}
	case 'r':
		if x, err := strconv.ParseFloat(strings.TrimSpace(v.S), 64); err == nil {
			return x, nil
		}
		return nil, &format.Error{Line: line, Field: col, Err: fmt.Errorf("%q is not a number", v.S)}
	}
	return v.S, nil
}

func (l *loadTx) Record(ctx context.Context, h bulk.History) error {
	_, err := l.tx.ExecContext(ctx, `INSERT INTO "s3bridge_load_history" (task_id, load_prefix, file_name, etag, bytes_loaded, rows_loaded, load_timestamp) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		h.TaskID, h.LoadPrefix, h.FileName, h.ETag, h.Bytes, h.Rows, h.At)
	if err != nil {
		return fmt.Errorf("record load history: %w", err)
	}
	if h.Ledger != nil {
		for _, st := range l.in.LedgerStatements(*h.Ledger) {
			if _, err := l.tx.ExecContext(ctx, st.SQL, st.Args...); err != nil {
				return fmt.Errorf("record %s in the ledger of connector %s: %w", h.Ledger.Key, h.Ledger.Connector, err)
			}
		}
	}
	return nil
}

// Commit completes the task in the load's transaction (see bulk.Tx).
func (l *loadTx) Commit(ctx context.Context, res s3bridge.Result) error {
	if l.full != nil {
		l.full.Close()
	}
	if err := l.in.CompleteTx(ctx, l.tx, l.t.Claim, res); err != nil {
		l.tx.Rollback()
		return err
	}
	return l.tx.Commit()
}

func (l *loadTx) Rollback(ctx context.Context) error {
	if l.full != nil {
		l.full.Close()
	}
	return l.tx.Rollback()
}
