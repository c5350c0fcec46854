package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/go-sql-driver/mysql"

	"github.com/s3bridge/s3bridge/load"
	"github.com/s3bridge/s3bridge/statement"
)

var _ load.Sink = (*Instance)(nil)

// readerSeq names reader handlers uniquely within the process: the driver
// keeps them in one registry.
var readerSeq atomic.Int64

// Begin implements load.Sink with LOAD DATA LOCAL INFILE fed by the
// driver's reader handlers (never a file on disk, never allowAllFiles), so
// Aurora's FIELDS/LINES/IGNORE/(cols, @var)/SET/REPLACE|IGNORE clauses run
// natively. Replace loads a shadow table and swaps it in with one atomic
// RENAME: TRUNCATE would commit implicitly and empty the table early.
func (in *Instance) Begin(ctx context.Context, t load.Target) (load.Tx, error) {
	conn, err := in.DB().Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect for load: %w", err)
	}
	l := &loadTx{in: in, conn: conn, t: t, table: t.Table}
	if err := l.columns(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	if t.Replace {
		l.shadow = t.Table + "_s3b_new_" + strconv.FormatInt(t.TaskID, 10)
		if _, err := conn.ExecContext(ctx, "CREATE TABLE "+l.qualified(l.shadow)+" LIKE "+l.qualified(t.Table)); err != nil {
			conn.Close()
			return nil, fmt.Errorf("create shadow table for replace of %s: %w", t.Table, err)
		}
		l.table = l.shadow
	}
	if l.tx, err = conn.BeginTx(ctx, nil); err != nil {
		l.dropShadow(ctx)
		conn.Close()
		return nil, fmt.Errorf("begin load into %s: %w", t.Table, err)
	}
	return l, nil
}

type loadTx struct {
	in      *Instance
	conn    *sql.Conn
	tx      *sql.Tx
	t       load.Target
	table   string // where rows go: the table, or its shadow
	shadow  string
	cols    []string
	history []load.History
}

func (l *loadTx) qualified(table string) string {
	if l.t.Schema != "" {
		return quote(l.t.Schema) + "." + quote(table)
	}
	return quote(table)
}

// columns reads the table's columns, refusing a missing table or column.
func (l *loadTx) columns(ctx context.Context) error {
	rows, err := l.conn.QueryContext(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = COALESCE(NULLIF(?, ''), DATABASE()) AND table_name = ? ORDER BY ordinal_position`, l.t.Schema, l.t.Table)
	if err != nil {
		return fmt.Errorf("read columns of %s: %w", l.t.Table, err)
	}
	defer rows.Close()
	var all []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return err
		}
		all = append(all, c)
	}
	if len(all) == 0 {
		return fmt.Errorf("load: no table %q in this database", l.t.Table)
	}
	l.cols = all
	if len(l.t.Columns) > 0 {
		l.cols = l.t.Columns
	}
	return nil
}

// Load runs one LOAD DATA|XML LOCAL INFILE for the file. Formats MariaDB
// can't read (JSON) are decoded and re-encoded as its default TEXT format.
func (l *loadTx) Load(ctx context.Context, f load.File, r io.Reader) (int64, error) {
	name := "s3bridge_" + strconv.FormatInt(readerSeq.Add(1), 10)
	st, err := l.statement()
	if err != nil {
		return 0, err
	}
	if fm := strings.ToLower(l.t.Options.Format); fm == "json" || fm == "jsonl" || fm == "ndjson" || l.t.SkipBadRows && fm != "xml" {
		rows, err := load.NewRows(r, f.URI, l.t.Options, l.cols, l.t.SkipBadRows, l.t.OnBadRow)
		if err != nil {
			return 0, err
		}
		pipe := load.Pipe(rows, load.Text)
		defer pipe.Close()
		r = pipe
		st = &statement.Load{Schema: l.t.Schema, Table: l.table, OnDuplicate: st.OnDuplicate, Targets: targets(l.cols)}
	}
	mysql.RegisterReaderHandler(name, func() io.Reader { return r })
	defer mysql.DeregisterReaderHandler(name)
	res, err := l.tx.ExecContext(ctx, st.MariaDBLocalInfile("Reader::"+name))
	if err != nil {
		return 0, err
	}
	if err := l.warnings(ctx); err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// statement is the LOAD DATA for this load: the Aurora statement's own
// clauses when the load came from one, else the options'.
func (l *loadTx) statement() (*statement.Load, error) {
	if l.t.Statement != "" {
		st, err := statement.ParseLoad(l.t.Statement)
		if err != nil {
			return nil, err
		}
		st.Table = l.table
		return st, nil
	}
	o := l.t.Options
	st := &statement.Load{Schema: l.t.Schema, Table: l.table, OnDuplicate: statement.OnDuplicate(l.t.Duplicates), Charset: o.Charset}
	if len(l.t.Columns) > 0 {
		st.Targets = targets(l.t.Columns)
	}
	st.IgnoreLines = int64(o.IgnoreLines)
	if o.Header && st.IgnoreLines == 0 {
		st.IgnoreLines = 1
	}
	switch strings.ToLower(o.Format) {
	case "xml":
		st.XML, st.RowsIdentifiedBy = true, or(o.RowsIdentifiedBy, "<row>")
	case "csv":
		st.Fields = statement.Fields{TerminatedBy: or(o.FieldsTerminatedBy, ","), TerminatedSet: true,
			EnclosedBy: or(o.FieldsEnclosedBy, `"`), EnclosedSet: true, OptionallyEnclosed: true,
			EscapedBy: o.FieldsEscapedBy, EscapedSet: true}
	default: // text, tsv
		st.Fields = statement.Fields{TerminatedBy: or(o.FieldsTerminatedBy, "\t"), TerminatedSet: true,
			EnclosedBy: o.FieldsEnclosedBy, EnclosedSet: o.FieldsEnclosedBy != "", EscapedBy: or(o.FieldsEscapedBy, `\`), EscapedSet: true}
		if o.NoEscape {
			st.Fields.EscapedBy = ""
		}
	}
	if o.LinesTerminatedBy != "" || o.LinesStartingBy != "" {
		st.Lines = statement.Lines{TerminatedBy: or(o.LinesTerminatedBy, "\n"), TerminatedSet: true, StartingBy: o.LinesStartingBy, StartingSet: o.LinesStartingBy != ""}
	}
	return st, nil
}

// warnings fails the load on any warning: with LOCAL, MariaDB reports bad
// values and duplicate keys as warnings and keeps going, and a load that
// changed data silently is a load that lost data.
func (l *loadTx) warnings(ctx context.Context) error {
	rows, err := l.tx.QueryContext(ctx, "SHOW WARNINGS LIMIT 5")
	if err != nil {
		return fmt.Errorf("read load warnings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var level, msg string
		var code int
		if err := rows.Scan(&level, &code, &msg); err != nil {
			return err
		}
		if code == 1062 && l.t.Duplicates != "" || level == "Note" {
			continue // duplicates were asked to be replaced or ignored
		}
		return fmt.Errorf("%s (MariaDB %s %d)", msg, level, code)
	}
	return rows.Err()
}

func (l *loadTx) Record(ctx context.Context, h load.History) error {
	if l.shadow != "" {
		l.history = append(l.history, h) // written once the swap is done
		return nil
	}
	return l.record(ctx, l.tx, h)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (l *loadTx) record(ctx context.Context, ex execer, h load.History) error {
	_, err := ex.ExecContext(ctx, "INSERT INTO "+quote(l.in.schema)+".`load_history` (task_id, load_prefix, file_name, etag, bytes_loaded, rows_loaded, load_timestamp) VALUES (?, ?, ?, ?, ?, ?, ?)",
		h.TaskID, h.LoadPrefix, h.FileName, h.ETag, h.Bytes, h.Rows, h.At)
	if err != nil {
		return fmt.Errorf("record load history: %w", err)
	}
	return nil
}

func (l *loadTx) Commit(ctx context.Context) error {
	defer l.conn.Close()
	if err := l.tx.Commit(); err != nil {
		l.dropShadow(ctx)
		return err
	}
	if l.shadow == "" {
		return nil
	}
	old := l.t.Table + "_s3b_old_" + strconv.FormatInt(l.t.TaskID, 10)
	if _, err := l.conn.ExecContext(ctx, "RENAME TABLE "+l.qualified(l.t.Table)+" TO "+l.qualified(old)+", "+l.qualified(l.shadow)+" TO "+l.qualified(l.t.Table)); err != nil {
		l.dropShadow(ctx)
		return fmt.Errorf("swap the loaded rows into %s: %w", l.t.Table, err)
	}
	if _, err := l.conn.ExecContext(ctx, "DROP TABLE "+l.qualified(old)); err != nil {
		return fmt.Errorf("drop the replaced rows (%s): %w", old, err)
	}
	for _, h := range l.history {
		if err := l.record(ctx, l.conn, h); err != nil {
			return err
		}
	}
	return nil
}

func (l *loadTx) Rollback(ctx context.Context) error {
	defer l.conn.Close()
	err := l.tx.Rollback()
	l.dropShadow(ctx)
	return err
}

func (l *loadTx) dropShadow(ctx context.Context) {
	if l.shadow != "" {
		l.conn.ExecContext(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+l.qualified(l.shadow))
	}
}

func targets(cols []string) []statement.Target {
	out := make([]statement.Target, len(cols))
	for i, c := range cols {
		out[i] = statement.Target{Name: c}
	}
	return out
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
