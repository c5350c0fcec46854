package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/load"
)

var _ load.Sink = (*Instance)(nil)

// Begin implements load.Sink on a dedicated connection and transaction.
// Replace deletes the old rows in the same transaction (not TRUNCATE, which
// would lock readers out): they stay visible until the new ones commit.
func (in *Instance) Begin(ctx context.Context, t load.Target) (load.Tx, error) {
	if t.Duplicates != "" {
		return nil, fmt.Errorf("load: %s (on duplicate keys) has no COPY equivalent on PostgreSQL; load into a staging table and INSERT … ON CONFLICT", t.Duplicates)
	}
	conn, err := pgx.Connect(ctx, in.connString)
	if err != nil {
		return nil, fmt.Errorf("connect for load: %w", err)
	}
	fail := func(err error) (load.Tx, error) {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	table, all, err := resolveTable(ctx, conn, t.Schema, t.Table)
	if err != nil {
		return fail(err)
	}
	cols, err := pickColumns(t.Table, all, t.Columns)
	if err != nil {
		return fail(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fail(fmt.Errorf("begin load into %s: %w", t.Table, err))
	}
	if t.Replace {
		if _, err := tx.Exec(ctx, "DELETE FROM "+table); err != nil {
			tx.Rollback(ctx)
			return fail(fmt.Errorf("replace rows of %s: %w", t.Table, err))
		}
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	return &loadTx{in: in, conn: conn, tx: tx, t: t, table: table, cols: cols, colList: strings.Join(quoted, ", ")}, nil
}

// resolveTable finds the table as written, else as PostgreSQL folds an
// unquoted name (lower case), and returns its quoted name and columns.
func resolveTable(ctx context.Context, conn *pgx.Conn, schema, table string) (string, []string, error) {
	for _, name := range []string{table, strings.ToLower(table)} {
		var cols []string
		rows, err := conn.Query(ctx, `SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relname = $1 AND ($2 = '' OR n.nspname = $2) AND ($2 <> '' OR pg_table_is_visible(c.oid))
			AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum`, name, schema)
		if err != nil {
			return "", nil, fmt.Errorf("read columns of %s: %w", table, err)
		}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				return "", nil, err
			}
			cols = append(cols, c)
		}
		if err := rows.Err(); err != nil {
			return "", nil, err
		}
		if len(cols) > 0 {
			id := pgx.Identifier{name}
			if schema != "" {
				id = pgx.Identifier{schema, name}
			}
			return id.Sanitize(), cols, nil
		}
	}
	return "", nil, fmt.Errorf("load: no table %q in this database", table)
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
	conn    *pgx.Conn
	tx      pgx.Tx
	t       load.Target
	table   string
	cols    []string
	colList string
}

// Load streams the file into COPY … FROM STDIN: as is when PostgreSQL can
// parse the format itself, else decoded and re-encoded as CSV on the fly.
func (l *loadTx) Load(ctx context.Context, f load.File, r io.Reader) (int64, error) {
	opts, native := copyOptions(l.t.Options, l.colList)
	if !native || l.t.SkipBadRows {
		rows, err := load.NewRows(r, f.URI, l.t.Options, l.cols, l.t.SkipBadRows, l.t.OnBadRow)
		if err != nil {
			return 0, err
		}
		pipe := load.Pipe(rows, load.CSV)
		defer pipe.Close()
		r, opts = pipe, "FORMAT csv"
	}
	sql := "COPY " + l.table + " (" + l.colList + ") FROM STDIN WITH (" + opts + ")"
	tag, err := l.conn.PgConn().CopyFrom(ctx, r, sql)
	if err != nil {
		return 0, copyError(err)
	}
	return tag.RowsAffected(), nil
}

// copyError keeps the decoder's positioned error when it is the cause, and
// otherwise names PostgreSQL's line and column (its CONTEXT).
func copyError(err error) error {
	var fe *format.Error
	if errors.As(err, &fe) {
		return fe
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		where := strings.TrimPrefix(pe.Where, "COPY ")
		if where != "" {
			return fmt.Errorf("%s: %s (SQLSTATE %s)", where, pe.Message, pe.Code)
		}
		return fmt.Errorf("%s (SQLSTATE %s)", pe.Message, pe.Code)
	}
	return err
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
	lit := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
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
		parts = append(parts, "QUOTE "+lit(quote))
		if o.FieldsEscapedBy != "" {
			parts = append(parts, "ESCAPE "+lit(o.FieldsEscapedBy))
		}
		if o.NullString != "" {
			parts = append(parts, "NULL "+lit(o.NullString))
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
			parts = append(parts, "NULL "+lit(o.NullString))
		}
	}
	if len(delim) != 1 {
		return "", false
	}
	parts = append(parts, "DELIMITER "+lit(delim))
	if o.Header || o.IgnoreLines == 1 {
		parts = append(parts, "HEADER true")
	}
	switch strings.ToLower(o.Charset) {
	case "", "utf8", "utf8mb4", "utf-8":
	case "latin1", "windows-1252", "cp1252":
		parts = append(parts, "ENCODING 'WIN1252'")
	case "iso-8859-1":
		parts = append(parts, "ENCODING 'LATIN1'")
	default:
		return "", false
	}
	return strings.Join(parts, ", "), true
}

func (l *loadTx) Record(ctx context.Context, h load.History) error {
	_, err := l.tx.Exec(ctx, `INSERT INTO `+pgx.Identifier{l.in.schema}.Sanitize()+`.load_history
		(task_id, load_prefix, file_name, etag, bytes_loaded, rows_loaded, load_timestamp) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		h.TaskID, h.LoadPrefix, h.FileName, h.ETag, h.Bytes, h.Rows, h.At)
	if err != nil {
		return fmt.Errorf("record load history: %w", err)
	}
	return nil
}

func (l *loadTx) Commit(ctx context.Context) error {
	defer l.conn.Close(context.WithoutCancel(ctx))
	return l.tx.Commit(ctx)
}

func (l *loadTx) Rollback(ctx context.Context) error {
	defer l.conn.Close(context.WithoutCancel(ctx))
	return l.tx.Rollback(ctx)
}
