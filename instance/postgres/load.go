package postgres

import (
	"context"
	"errors"
	"fmt"
	"github.com/s3bridge/s3bridge/instance/bulk"
	"io"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/statement"
)

var _ bulk.Sink = (*Instance)(nil)

// Begin implements bulk.Sink on a connection of its own, taken from the
// instance's pool for the load's transaction.
// Replace deletes the old rows in the same transaction (not TRUNCATE, which
// would lock readers out): they stay visible until the new ones commit.
func (in *Instance) Begin(ctx context.Context, t bulk.Target) (bulk.Tx, error) {
	// A session that ends under the load reads as s3bridge.ErrConnectionLost.
	tx, err := in.begin(ctx, t)
	if err != nil {
		return nil, bulk.MarkLost(err, connLost)
	}
	return bulk.LostConnection(tx, connLost), nil
}

func (in *Instance) begin(ctx context.Context, t bulk.Target) (bulk.Tx, error) {
	if t.Duplicates != "" {
		return nil, fmt.Errorf("load: %s (on duplicate keys) has no COPY equivalent on PostgreSQL; load into a staging table and INSERT … ON CONFLICT", t.Duplicates)
	}
	pc, err := in.bulkConn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect for load: %w", err)
	}
	conn := pc.Conn()
	fail := func(err error) (bulk.Tx, error) {
		pc.Release()
		return nil, err
	}
	table, relname, all, err := resolveTable(ctx, conn, t.Schema, t.Table)
	if err != nil {
		return fail(err)
	}
	cols, err := pickColumns(t.Table, all, t.Columns)
	if err != nil {
		return fail(err)
	}
	tx, err := bulkBegin(ctx, conn, "")
	if err != nil {
		return fail(fmt.Errorf("begin load into %s: %w", t.Table, err))
	}
	if t.Replace {
		if _, err := tx.Exec(ctx, "DELETE FROM "+table); err != nil {
			tx.Rollback(ctx)
			return fail(fmt.Errorf("replace rows of %s: %w", t.Table, err))
		}
	}
	return &loadTx{in: in, pc: pc, conn: conn, tx: tx, t: t, table: table, relname: relname, all: all, cols: cols}, nil
}

// resolveTable finds the table as written, else as PostgreSQL folds an
// unquoted name (lower case), and returns its quoted name, its bare name
// (as COPY's error context writes it) and its columns.
func resolveTable(ctx context.Context, conn *pgx.Conn, schema, table string) (string, string, []string, error) {
	for _, name := range []string{table, strings.ToLower(table)} {
		var cols []string
		rows, err := conn.Query(ctx, `SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relname = $1 AND ($2 = '' OR n.nspname = $2) AND ($2 <> '' OR pg_table_is_visible(c.oid))
			AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum`, name, schema)
		if err != nil {
			return "", "", nil, fmt.Errorf("read columns of %s: %w", table, err)
		}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				return "", "", nil, err
			}
			cols = append(cols, c)
		}
		if err := rows.Err(); err != nil {
			return "", "", nil, err
		}
		if len(cols) > 0 {
			id := pgx.Identifier{name}
			if schema != "" {
				id = pgx.Identifier{schema, name}
			}
			return id.Sanitize(), name, cols, nil
		}
	}
	return "", "", nil, fmt.Errorf("load: no table %q in this database", table)
}

// pickColumns maps the wanted names to the table's, case-insensitively as
// MySQL would, refusing names the table lacks.
func pickColumns(table string, all, want []string) ([]string, error) {
	if len(want) == 0 {
		return all, nil
	}
	out := make([]string, len(want))
	for i, w := range want {
		found := ""
		for _, c := range all {
			if c == w || (found == "" && strings.EqualFold(c, w)) {
				found = c
			}
		}
		if found == "" {
			return nil, fmt.Errorf("load: table %q has no column %q (columns: %s)", table, w, strings.Join(all, ", "))
		}
		out[i] = found
	}
	return out, nil
}

type loadTx struct {
	in      *Instance
	pc      *pgxpool.Conn // released, to the pool or closed, when the load ends
	conn    *pgx.Conn
	tx      pgx.Tx
	t       bulk.Target
	table   string   // quoted
	relname string   // bare, as COPY's error context names it
	all     []string // the table's columns
	cols    []string // the load's columns, in field order
}

// Load streams the file into COPY … FROM STDIN: as is when PostgreSQL can
// parse the format itself, else decoded and re-encoded as CSV on the fly.
// With a header (bulk.Target.ByHeader) the header's names pick the columns,
// in its order; PostgreSQL still skips the header line itself, so its line
// numbers are the file's. SkipBadRows sends the rows in batches, each in a
// savepoint (bulk.SendSkipping).
func (l *loadTx) Load(ctx context.Context, f bulk.File, r io.Reader) (int64, error) {
	cols, r, _, err := l.t.FileColumns(r, l.cols, l.all)
	if err != nil {
		return 0, err
	}
	colList := quoteColumns(cols)
	opts, native := copyOptions(l.t.Options, colList)
	if native && !l.t.SkipBadRows {
		return l.copy(ctx, r, l.copySQL(colList, opts), cols, func(n int) (int, bool) { return n, true })
	}
	rows, err := bulk.NewRows(r, f.URI, l.t.Options, cols, l.t.SkipBadRows, l.t.OnBadRow)
	if err != nil {
		return 0, err
	}
	sql := l.copySQL(colList, "FORMAT csv")
	if l.t.SkipBadRows {
		return bulk.SendSkipping(ctx, rows, format.CSVRow, func(ctx context.Context, b *bulk.Batch) (int64, []bulk.Rejection, error) {
			return l.sendBatch(ctx, b, sql, cols)
		})
	}
	stream := bulk.Pipe(rows, format.CSVRow)
	defer stream.Close()
	n, err := l.copy(ctx, stream, sql, cols, stream.SourceLine)
	if serr := stream.Err(); err != nil && serr != nil {
		return n, serr
	}
	return n, err
}

func (l *loadTx) copySQL(colList, opts string) string {
	return "COPY " + l.table + " (" + colList + ") FROM STDIN WITH (" + opts + ")"
}

func quoteColumns(cols []string) string {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(quoted, ", ")
}

// copy runs one COPY; line maps the line of the COPY stream PostgreSQL
// names in an error to the file's.
func (l *loadTx) copy(ctx context.Context, r io.Reader, sql string, cols []string, line func(int) (int, bool)) (int64, error) {
	tag, err := l.conn.PgConn().CopyFrom(ctx, r, sql)
	if err != nil {
		return 0, l.copyError(err, cols, line)
	}
	return tag.RowsAffected(), nil
}

// sendBatch is load.Sender for COPY: the batch goes in in a savepoint, and
// a row PostgreSQL refuses for its value or a constraint is returned, with
// the savepoint rolled back, at the line COPY's error context names.
func (l *loadTx) sendBatch(ctx context.Context, b *bulk.Batch, sql string, cols []string) (int64, []bulk.Rejection, error) {
	if _, err := l.conn.Exec(ctx, "SAVEPOINT s3bridge_batch"); err != nil {
		return 0, nil, fmt.Errorf("savepoint before a batch: %w", err)
	}
	tag, err := l.conn.PgConn().CopyFrom(ctx, b.Reader(), sql)
	if err == nil {
		if _, err := l.conn.Exec(ctx, "RELEASE SAVEPOINT s3bridge_batch"); err != nil {
			return 0, nil, fmt.Errorf("release the savepoint of a batch: %w", err)
		}
		return tag.RowsAffected(), nil, nil
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || !rowError(pe.Code) {
		return 0, nil, l.copyError(err, cols, b.SourceLine)
	}
	if _, err := l.conn.Exec(ctx, "ROLLBACK TO SAVEPOINT s3bridge_batch"); err != nil {
		return 0, nil, fmt.Errorf("roll back a rejected batch: %w", err)
	}
	rej := bulk.Rejection{Row: -1, Column: pe.ColumnName, Err: pgReason{pe}}
	if n, col, ok := l.where(pe, cols); ok {
		rej.Row, rej.Column = b.RowAtLine(n), col
	}
	return 0, []bulk.Rejection{rej}, nil
}

// rowError reports whether an error is about one row's values: a data
// exception (class 22: type, length, range, encoding) or an integrity
// constraint violation (class 23). Anything else fails the load even when
// bad rows are skipped.
func rowError(code string) bool {
	return strings.HasPrefix(code, "22") || strings.HasPrefix(code, "23")
}

// pgReason is a PostgreSQL error as a bad row's reason.
type pgReason struct{ *pgconn.PgError }

func (e pgReason) Error() string { return e.Message + " (SQLSTATE " + e.Code + ")" }
func (e pgReason) Unwrap() error { return e.PgError }

// copyError keeps the decoder's positioned error when it is the cause, and
// otherwise names the file's line (line maps COPY's) and the column.
func (l *loadTx) copyError(err error, cols []string, line func(int) (int, bool)) error {
	var fe *format.Error
	if errors.As(err, &fe) {
		return fe
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	n, col, ok := l.where(pe, cols)
	if !ok {
		if pe.Where != "" {
			return fmt.Errorf("%s: %w", pe.Where, pgReason{pe})
		}
		return pgReason{pe}
	}
	src, known := line(n)
	if !known {
		return fmt.Errorf("line %d of the re-encoded COPY stream (its line in the file is no longer known): %w", n, pgReason{pe})
	}
	return &format.Error{Line: src, Field: col, Err: pgReason{pe}}
}

// where reads the line of the COPY stream, and the column when named, out
// of PostgreSQL's error context: "COPY t, line 3, column id: …" (a value),
// "COPY t, line 5: …" (a constraint; the column, if any, is in ColumnName).
func (l *loadTx) where(pe *pgconn.PgError, cols []string) (line int, column string, ok bool) {
	for _, w := range strings.Split(pe.Where, "\n") {
		rest, found := strings.CutPrefix(w, "COPY "+l.relname+", line ")
		if !found {
			continue
		}
		digits := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
		n, err := strconv.Atoi(rest[:digits])
		if err != nil {
			continue
		}
		column = pe.ColumnName
		if named, found := strings.CutPrefix(rest[digits:], ", column "); found {
			for _, c := range cols {
				if named == c || strings.HasPrefix(named, c+": ") {
					column = c
				}
			}
		}
		return n, column, true
	}
	return 0, "", false
}

// copyOptions maps format options to COPY's when PostgreSQL parses the
// format natively; native is false when it can't express them.
func copyOptions(o format.Options, colList string) (string, bool) {
	f := strings.ToLower(o.Format)
	if (f != "csv" && f != "text" && f != "tsv") || o.LinesStartingBy != "" ||
		(o.LinesTerminatedBy != "" && o.LinesTerminatedBy != "\n") || o.IgnoreLines > 1 || o.LazyQuotes {
		return "", false
	}
	var parts []string
	delim := o.FieldsTerminatedBy
	if f == "csv" {
		parts = append(parts, "FORMAT csv")
		if delim == "" {
			delim = ","
		}
		quote := o.FieldsEnclosedBy
		if quote == "" {
			quote = `"`
		}
		if len(quote) != 1 || len(o.FieldsEscapedBy) > 1 {
			return "", false
		}
		parts = append(parts, "QUOTE "+statement.QuoteLiteralPG(quote))
		if o.FieldsEscapedBy != "" {
			parts = append(parts, "ESCAPE "+statement.QuoteLiteralPG(o.FieldsEscapedBy))
		}
		if o.NullString != "" {
			parts = append(parts, "NULL "+statement.QuoteLiteralPG(o.NullString))
		} else if !o.NullEmpty {
			// MySQL and the decoder read an empty field as an empty
			// string; COPY's default would make it NULL.
			parts = append(parts, "FORCE_NOT_NULL ("+colList+")")
		}
	} else {
		if o.FieldsEnclosedBy != "" || o.NoEscape || (o.FieldsEscapedBy != "" && o.FieldsEscapedBy != `\`) {
			return "", false
		}
		parts = append(parts, "FORMAT text")
		if delim == "" {
			delim = "\t"
		}
		if o.NullString != "" {
			parts = append(parts, "NULL "+statement.QuoteLiteralPG(o.NullString))
		}
	}
	if len(delim) != 1 {
		return "", false
	}
	parts = append(parts, "DELIMITER "+statement.QuoteLiteralPG(delim))
	if o.Header || o.IgnoreLines == 1 {
		parts = append(parts, "HEADER true")
	}
	switch strings.ToLower(o.Charset) {
	case "", "utf8", "utf8mb4", "utf-8":
	case "latin1", "windows-1252", "cp1252":
		parts = append(parts, "ENCODING "+statement.QuoteLiteralPG("WIN1252"))
	case "iso-8859-1":
		parts = append(parts, "ENCODING "+statement.QuoteLiteralPG("LATIN1"))
	default:
		return "", false
	}
	return strings.Join(parts, ", "), true
}

func (l *loadTx) Record(ctx context.Context, h bulk.History) error {
	_, err := l.tx.Exec(ctx, `INSERT INTO `+pgx.Identifier{l.in.schema}.Sanitize()+`.load_history
		(task_id, load_prefix, file_name, etag, bytes_loaded, rows_loaded, load_timestamp) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		h.TaskID, h.LoadPrefix, h.FileName, h.ETag, h.Bytes, h.Rows, h.At)
	if err != nil {
		return fmt.Errorf("record load history: %w", err)
	}
	if h.Ledger != nil {
		for _, st := range l.in.LedgerStatements(*h.Ledger) {
			if _, err := l.tx.Exec(ctx, st.SQL, st.Args...); err != nil {
				return fmt.Errorf("record %s in the ledger of connector %s: %w", h.Ledger.Key, h.Ledger.Connector, err)
			}
		}
	}
	return nil
}

// Commit completes the task in the load's transaction (see bulk.Tx).
func (l *loadTx) Commit(ctx context.Context, res s3bridge.Result) error {
	// A connection left in a transaction or broken is closed, not pooled.
	defer l.pc.Release()
	if c := l.t.Claim; c.TaskID != 0 {
		q, args := l.in.CompleteStatement(c, res)
		tag, err := l.tx.Exec(ctx, q, args...)
		if err == nil && tag.RowsAffected() == 0 {
			err = fmt.Errorf("complete task %d (attempt %d of agent %s): %w", c.TaskID, c.Attempt, c.Agent, s3bridge.ErrLeaseLost)
		}
		if err == nil && res.Info != "" {
			q, args := l.in.OutcomeStatement(c.TaskID, s3bridge.Success, res)
			if _, err = l.tx.Exec(ctx, q, args...); err != nil {
				err = fmt.Errorf("log the outcome of task %d: %w", c.TaskID, err)
			}
		}
		if err != nil {
			l.tx.Rollback(context.WithoutCancel(ctx))
			return err
		}
	}
	return l.tx.Commit(ctx)
}

func (l *loadTx) Rollback(ctx context.Context) error {
	// A connection left in a transaction or broken is closed, not pooled.
	defer l.pc.Release()
	return l.tx.Rollback(ctx)
}
