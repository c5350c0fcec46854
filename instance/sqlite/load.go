package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
	"github.com/s3bridge/s3bridge/load"
)

var _ load.Sink = (*Instance)(nil)

// insertBatch is how many rows one INSERT carries: large batches cut the
// statement overhead, and 8 columns × 256 rows stays far below SQLite's
// limit on bound parameters.
const insertBatch = 256

// Begin implements load.Sink with batched prepared inserts in one
// transaction. Replace deletes the old rows in the same transaction: in WAL
// mode readers keep seeing them until it commits.
func (in *Instance) Begin(ctx context.Context, t load.Target) (load.Tx, error) {
	verb := "INSERT"
	switch t.Duplicates {
	case "REPLACE":
		verb = "INSERT OR REPLACE"
	case "IGNORE":
		verb = "INSERT OR IGNORE"
	}
	cols, kinds, err := in.columns(ctx, t.Table, t.Columns)
	if err != nil {
		return nil, err
	}
	tx, err := in.DB().BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin load into %s: %w", t.Table, err)
	}
	table := sqlstore.QuoteIdent(t.Table, '"')
	if t.Replace {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("replace rows of %s: %w", t.Table, err)
		}
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = sqlstore.QuoteIdent(c, '"')
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	prefix := verb + " INTO " + table + " (" + strings.Join(quoted, ", ") + ") VALUES "
	return &loadTx{tx: tx, t: t, cols: cols, kinds: kinds, prefix: prefix, row: row}, nil
}

// columns returns the target columns (all, in order, when none are given)
// and each one's type affinity, refusing names the table lacks.
func (in *Instance) columns(ctx context.Context, table string, want []string) ([]string, []byte, error) {
	rows, err := in.DB().QueryContext(ctx, `SELECT name, type FROM pragma_table_info(?)`, table)
	if err != nil {
		return nil, nil, fmt.Errorf("read columns of %s: %w", table, err)
	}
	defer rows.Close()
	types := map[string]string{}
	var all []string
	for rows.Next() {
		var n, ty string
		if err := rows.Scan(&n, &ty); err != nil {
			return nil, nil, err
		}
		all = append(all, n)
		types[strings.ToLower(n)] = strings.ToUpper(ty)
	}
	if len(all) == 0 {
		return nil, nil, fmt.Errorf("load: no table %q in this database", table)
	}
	if len(want) == 0 {
		want = all
	}
	kinds := make([]byte, len(want))
	for i, c := range want {
		ty, ok := types[strings.ToLower(c)]
		if !ok {
			return nil, nil, fmt.Errorf("load: table %q has no column %q (columns: %s)", table, c, strings.Join(all, ", "))
		}
		kinds[i] = affinity(ty)
	}
	return want, kinds, nil
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
	tx     *sql.Tx
	t      load.Target
	cols   []string
	kinds  []byte
	prefix string
	row    string
	full   *sql.Stmt
}

func (l *loadTx) Load(ctx context.Context, f load.File, r io.Reader) (int64, error) {
	rows, err := load.NewRows(r, f.URI, l.t.Options, l.cols, l.t.SkipBadRows, l.t.OnBadRow)
	if err != nil {
		return 0, err
	}
	if l.full == nil {
		q := l.prefix + strings.TrimSuffix(strings.Repeat(l.row+",", insertBatch), ",")
		if l.full, err = l.tx.PrepareContext(ctx, q); err != nil {
			return 0, fmt.Errorf("prepare insert into %s: %w", l.t.Table, err)
		}
	}
	args := make([]any, 0, insertBatch*len(l.cols))
	var n, pending int64
	for {
		rec, err := rows.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
		for i, v := range rec {
			a, err := l.value(v, i, rows.Line())
			if err != nil {
				return n, err
			}
			args = append(args, a)
		}
		if pending++; pending == insertBatch {
			if _, err := l.full.ExecContext(ctx, args...); err != nil {
				return n, fmt.Errorf("insert rows ending at line %d: %w", rows.Line(), err)
			}
			n, pending, args = n+pending, 0, args[:0]
		}
	}
	if pending > 0 {
		q := l.prefix + strings.TrimSuffix(strings.Repeat(l.row+",", int(pending)), ",")
		if _, err := l.tx.ExecContext(ctx, q, args...); err != nil {
			return n, fmt.Errorf("insert rows ending at line %d: %w", rows.Line(), err)
		}
		n += pending
	}
	return n, nil
}

// value converts a field for its column, refusing text that a numeric
// column can't hold: SQLite would store it silently as text.
func (l *loadTx) value(v format.Value, i, line int) (any, error) {
	if v.Null {
		return nil, nil
	}
	switch l.kinds[i] {
	case 'i':
		if x, err := strconv.ParseInt(strings.TrimSpace(v.S), 10, 64); err == nil {
			return x, nil
		}
		return nil, &format.Error{Line: line, Field: l.cols[i], Err: fmt.Errorf("%q is not an integer", v.S)}
	case 'r':
		if x, err := strconv.ParseFloat(strings.TrimSpace(v.S), 64); err == nil {
			return x, nil
		}
		return nil, &format.Error{Line: line, Field: l.cols[i], Err: fmt.Errorf("%q is not a number", v.S)}
	}
	return v.S, nil
}

func (l *loadTx) Record(ctx context.Context, h load.History) error {
	_, err := l.tx.ExecContext(ctx, `INSERT INTO "s3bridge_load_history" (task_id, load_prefix, file_name, etag, bytes_loaded, rows_loaded, load_timestamp) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		h.TaskID, h.LoadPrefix, h.FileName, h.ETag, h.Bytes, h.Rows, h.At)
	if err != nil {
		return fmt.Errorf("record load history: %w", err)
	}
	return nil
}

func (l *loadTx) Commit(ctx context.Context) error {
	if l.full != nil {
		l.full.Close()
	}
	return l.tx.Commit()
}

func (l *loadTx) Rollback(ctx context.Context) error {
	if l.full != nil {
		l.full.Close()
	}
	return l.tx.Rollback()
}
