package mysql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/s3bridge/s3bridge/instance/bulk"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/go-sql-driver/mysql"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/statement"
)

var _ bulk.Sink = (*Instance)(nil)

// readerSeq names reader handlers uniquely within the process: the driver
// keeps them in one registry.
var readerSeq atomic.Int64

// Begin implements bulk.Sink with LOAD DATA LOCAL INFILE fed by the
// driver's reader handlers (never a file on disk, never allowAllFiles), so
// Aurora's FIELDS/LINES/IGNORE/(cols, @var)/SET/REPLACE|IGNORE clauses run
// natively.
//
// Everything happens in one InnoDB transaction: Replace deletes the old
// rows first (others keep reading them until the commit; their writes wait
// for it rather than being lost, and triggers and foreign keys apply as
// for any DELETE and INSERT), the rows, the load history and the task's
// completion commit together. A table of an engine without transactions
// can't be replaced that way and is refused.
//
// A load asked for from SQL (Target.Caller) runs with the caller's
// privileges: rows go through a view defined for the occasion with
// DEFINER = the caller (see definers), so MariaDB checks INSERT (and DELETE
// for a replace) against the caller, and the statement's SET expressions
// may only compute from the row (statement.CheckSetExpr).
func (in *Instance) Begin(ctx context.Context, t bulk.Target) (bulk.Tx, error) {
	// A session that ends under the load reads as s3bridge.ErrConnectionLost.
	tx, err := in.begin(ctx, t)
	if err != nil {
		return nil, bulk.MarkLost(withState(err), connLost)
	}
	return bulk.LostConnection(stateTx{tx}, connLost), nil
}

func (in *Instance) begin(ctx context.Context, t bulk.Target) (bulk.Tx, error) {
	if t.Caller != "" && t.Statement != "" {
		st, err := statement.ParseLoad(t.Statement)
		if err != nil {
			return nil, err
		}
		for _, a := range st.Set {
			if err := statement.CheckSetExpr(a.Expr); err != nil {
				return nil, fmt.Errorf("load: SET %s = %s: %w", a.Column, a.Expr, err)
			}
		}
	}
	conn, err := in.DB().Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect for load: %w", err)
	}
	// A load's transaction waits on S3 between files and batches: the
	// queue's idle limit (Dialect.TxSetup) must not end it.
	if _, err := conn.ExecContext(ctx, "SET SESSION idle_transaction_timeout = 0"); err != nil {
		conn.Close()
		return nil, fmt.Errorf("set up the load's connection: %w", err)
	}
	l := &loadTx{in: in, conn: conn, t: t, table: t.Table}
	fail := func(err error) (bulk.Tx, error) {
		l.dropView(ctx)
		conn.Close()
		return nil, err
	}
	if err := l.columns(ctx); err != nil {
		return fail(err)
	}
	if t.Replace {
		if err := l.transactional(ctx); err != nil {
			return fail(err)
		}
	}
	// The view and its probes come before the load's transaction: a
	// transaction that touched a view holds its metadata lock until it
	// ends, and dropping the view to try the next definer would wait for
	// it forever.
	if err := l.asCaller(ctx); err != nil {
		return fail(err)
	}
	if l.tx, err = conn.BeginTx(ctx, nil); err != nil {
		return fail(fmt.Errorf("begin load into %s: %w", t.Table, err))
	}
	if t.Replace {
		if _, err := l.tx.ExecContext(ctx, "DELETE FROM "+l.target()); err != nil {
			l.tx.Rollback()
			return fail(fmt.Errorf("replace rows of %s: %w", t.Table, callerErr(err, t.Caller)))
		}
	}
	return l, nil
}

type loadTx struct {
	in   *Instance
	conn *sql.Conn
	tx   *sql.Tx
	t    bulk.Target
	// table is the table as named; view, when set, is the caller's view
	// of it, through which rows go.
	table string
	view  string
	cols  []string
}

func (l *loadTx) qualified(table string) string {
	if l.t.Schema != "" {
		return quote(l.t.Schema) + "." + quote(table)
	}
	return quote(table)
}

// target is where rows go, quoted: the caller's view, or the table.
func (l *loadTx) target() string {
	if l.view != "" {
		return quote(l.in.schema) + "." + quote(l.view)
	}
	return l.qualified(l.table)
}

// into is where rows go, as schema and table for a LOAD statement.
func (l *loadTx) into() (schema, table string) {
	if l.view != "" {
		return l.in.schema, l.view
	}
	return l.t.Schema, l.table
}

// transactional refuses a replace of a table whose engine has no
// transactions: its old rows would be gone before the new ones are in.
func (l *loadTx) transactional(ctx context.Context) error {
	var engine, tx sql.NullString
	err := l.conn.QueryRowContext(ctx, `SELECT t.engine, e.transactions FROM information_schema.tables t
		LEFT JOIN information_schema.engines e ON e.engine = t.engine
		WHERE t.table_schema = COALESCE(NULLIF(?, ''), DATABASE()) AND t.table_name = ?`, l.t.Schema, l.t.Table).Scan(&engine, &tx)
	if err != nil {
		return fmt.Errorf("read the engine of %s: %w", l.t.Table, err)
	}
	if engine.Valid && tx.String != "YES" {
		return fmt.Errorf("load: replace of %s needs a transactional engine (InnoDB); %s has %s, whose old rows would be gone before the new ones are in", l.t.Table, l.t.Table, engine.String)
	}
	return nil
}

// asCaller points the load at a view of the table defined for the caller,
// trying the caller's account and then its active role, and keeps the
// first that may insert (and, for a replace, delete). Nothing is done for
// a load without a caller or one the agent's own account asked for.
func (l *loadTx) asCaller(ctx context.Context) error {
	definers, err := l.in.definersFor(ctx, l.conn, l.t.Caller, l.t.CallerRole)
	if err != nil || len(definers) == 0 {
		return err
	}
	var last error
	for _, definer := range definers {
		l.dropView(ctx)
		b := make([]byte, 8)
		rand.Read(b)
		l.view = "_load_" + hex.EncodeToString(b)
		// The view is DDL: on the pool, outside the load's transaction.
		_, err := l.in.DB().ExecContext(ctx, "CREATE DEFINER = "+definer+" SQL SECURITY DEFINER VIEW "+l.target()+
			" AS SELECT * FROM "+l.qualified(l.table))
		if err != nil {
			var me *mysql.MySQLError
			if errors.As(err, &me) && (me.Number == 1227 || me.Number == 1044) {
				l.view = ""
				return fmt.Errorf("load with the privileges of %s: the agent's account needs SET USER to define a view for it: %w", l.t.Caller, err)
			}
			l.view = ""
			return fmt.Errorf("load with the privileges of %s: %w", l.t.Caller, callerErr(err, l.t.Caller))
		}
		if last = l.probe(ctx); last == nil {
			return nil
		}
	}
	return last
}

// probe asks for the privileges the load needs through the view without
// changing a row: an INSERT of nothing and, when the load deletes rows (a
// replace, or REPLACE of duplicate keys, which MariaDB checks as DELETE), a
// DELETE of nothing, each in a transaction of its own (autocommit).
// Asking first makes a missing privilege an access denial naming the
// caller rather than whatever the load statement would fail with (1356
// through a view, SQLSTATE HY000).
func (l *loadTx) probe(ctx context.Context) error {
	cols := make([]string, len(l.cols))
	for i, c := range l.cols {
		cols[i] = quote(c)
	}
	list := strings.Join(cols, ", ")
	nulls := strings.TrimSuffix(strings.Repeat("NULL, ", len(cols)), ", ")
	if _, err := l.conn.ExecContext(ctx, "INSERT INTO "+l.target()+" ("+list+") SELECT "+nulls+" FROM DUAL WHERE 1 = 0"); err != nil {
		return fmt.Errorf("load into %s: %w", l.t.Table, callerErr(err, l.t.Caller))
	}
	if l.t.Replace || l.replacesDuplicates() {
		if _, err := l.conn.ExecContext(ctx, "DELETE FROM "+l.target()+" WHERE 1 = 0"); err != nil {
			return fmt.Errorf("replace rows of %s: %w", l.t.Table, callerErr(err, l.t.Caller))
		}
	}
	return nil
}

// replacesDuplicates says whether the load replaces rows with duplicate
// keys: its statement's REPLACE, or the duplicates option's.
func (l *loadTx) replacesDuplicates() bool {
	if l.t.Statement != "" {
		st, err := statement.ParseLoad(l.t.Statement)
		return err == nil && st.OnDuplicate == statement.OnDuplicateReplace
	}
	return strings.EqualFold(l.t.Duplicates, string(statement.OnDuplicateReplace))
}

func (l *loadTx) dropView(ctx context.Context) {
	if l.view != "" {
		l.in.DB().ExecContext(context.WithoutCancel(ctx), "DROP VIEW IF EXISTS "+l.target())
		l.view = ""
	}
}

// callerErr makes MariaDB's permission errors satisfy
// s3bridge.ErrAccessDenied and say whose privileges were missing: a table
// (1142) or column (1143) denied, a view whose definer lacks rights (1356),
// a routine denied (1370).
func callerErr(err error, caller string) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1142, 1143, 1356, 1370:
			return fmt.Errorf("%w: %s may not do this: %w", s3bridge.ErrAccessDenied, caller, err)
		}
	}
	return err
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
// can't read (JSON) are decoded and re-encoded as its default TEXT format,
// and so is every format but XML when bad rows are skipped: the rows then
// go in in batches, each in a savepoint (bulk.SendSkipping). With a header
// (bulk.Target.ByHeader) the header's names pick the columns, in its order;
// MariaDB still skips the header line itself (IGNORE 1 LINES).
func (l *loadTx) Load(ctx context.Context, f bulk.File, r io.Reader) (int64, error) {
	cols, r, byHeader, err := l.t.FileColumns(r, l.cols, l.cols)
	if err != nil {
		return 0, err
	}
	named := byHeader || len(l.t.Columns) > 0
	var list []string
	if named {
		list = cols
	}
	st, err := l.statement(list)
	if err != nil {
		return 0, err
	}
	fm := strings.ToLower(l.t.Options.Format)
	if fm != "json" && fm != "jsonl" && fm != "ndjson" && (!l.t.SkipBadRows || fm == "xml") {
		// MariaDB numbers rows after the ignored lines: with one line a
		// row, row n is the file's line n + ignored (a CSV value with a
		// line break makes it later). XML rows are not lines.
		ignored := int(st.IgnoreLines)
		return l.exec(ctx, st, r, func(row int) (int, bool) { return row + ignored, !st.XML })
	}
	rows, err := bulk.NewRows(r, f.URI, l.t.Options, cols, l.t.SkipBadRows, l.t.OnBadRow)
	if err != nil {
		return 0, err
	}
	schema, table := l.into()
	// The re-encoded rows are UTF-8 whatever the file's charset was.
	text := &statement.Load{Schema: schema, Table: table, OnDuplicate: st.OnDuplicate, Targets: targets(cols), Charset: "utf8mb4"}
	if l.t.SkipBadRows {
		return bulk.SendSkipping(ctx, rows, format.TextRow, func(ctx context.Context, b *bulk.Batch) (int64, []bulk.Rejection, error) {
			return l.sendBatch(ctx, text, b)
		})
	}
	stream := bulk.Pipe(rows, format.TextRow)
	defer stream.Close()
	n, err := l.exec(ctx, text, stream, stream.SourceLine)
	if serr := stream.Err(); err != nil && serr != nil {
		return n, serr
	}
	return n, err
}

// exec loads r with st and fails on any warning, naming the file's line
// (line maps MariaDB's row number to it).
func (l *loadTx) exec(ctx context.Context, st *statement.Load, r io.Reader, line func(int) (int, bool)) (int64, error) {
	res, err := l.infile(ctx, st, r)
	if err != nil {
		return 0, err
	}
	if err := l.warnings(ctx, line); err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// infile runs st with r as its LOCAL file, through a reader handler named
// for this one statement.
func (l *loadTx) infile(ctx context.Context, st *statement.Load, r io.Reader) (sql.Result, error) {
	name := "s3bridge_" + strconv.FormatInt(readerSeq.Add(1), 10)
	mysql.RegisterReaderHandler(name, func() io.Reader { return r })
	defer mysql.DeregisterReaderHandler(name)
	return l.tx.ExecContext(ctx, st.MariaDBLocalInfile("Reader::"+name))
}

// sendBatch is load.Sender for LOAD DATA: with LOCAL, MariaDB stores a bad
// value converted and warns "… at row n", so a batch with such warnings is
// rolled back to its savepoint and its rows returned. A duplicate key's
// warning names no row: the batch is split to find it.
func (l *loadTx) sendBatch(ctx context.Context, st *statement.Load, b *bulk.Batch) (int64, []bulk.Rejection, error) {
	if _, err := l.tx.ExecContext(ctx, "SAVEPOINT s3bridge_batch"); err != nil {
		return 0, nil, fmt.Errorf("savepoint before a batch: %w", err)
	}
	res, err := l.infile(ctx, st, b.Reader())
	if err != nil {
		return 0, nil, err
	}
	ws, err := l.readWarnings(ctx)
	if err != nil {
		return 0, nil, err
	}
	if len(ws) == 0 {
		if _, err := l.tx.ExecContext(ctx, "RELEASE SAVEPOINT s3bridge_batch"); err != nil {
			return 0, nil, fmt.Errorf("release the savepoint of a batch: %w", err)
		}
		n, _ := res.RowsAffected()
		return n, nil, nil
	}
	var rows, unknown []bulk.Rejection
	for _, w := range ws {
		switch {
		case w.row > 0:
			rows = append(rows, bulk.Rejection{Row: w.row - 1, Column: w.column, Err: w})
		case w.code == errDupEntry:
			unknown = append(unknown, bulk.Rejection{Row: -1, Err: w})
		default:
			return 0, nil, w // about no row: not a bad row to skip
		}
	}
	if _, err := l.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT s3bridge_batch"); err != nil {
		return 0, nil, fmt.Errorf("roll back a rejected batch: %w", err)
	}
	if len(rows) > 0 {
		return 0, rows, nil // duplicates, if any, show once these are gone
	}
	return 0, unknown[:1], nil
}

// statement is the LOAD DATA for this load: the Aurora statement's own
// clauses when the load came from one, else the options', loading into
// cols when given (the explicit list, or the header's), else positionally
// into the table's columns.
func (l *loadTx) statement(cols []string) (*statement.Load, error) {
	if l.t.Statement != "" {
		st, err := statement.ParseLoad(l.t.Statement)
		if err != nil {
			return nil, err
		}
		st.Schema, st.Table = l.into()
		return st, nil
	}
	o := l.t.Options
	schema, table := l.into()
	st := &statement.Load{Schema: schema, Table: table, OnDuplicate: statement.OnDuplicate(l.t.Duplicates), Charset: o.Charset}
	if len(cols) > 0 {
		st.Targets = targets(cols)
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
// changed data silently is a load that lost data. The error names the
// file's line (line maps MariaDB's row to it) and the column.
func (l *loadTx) warnings(ctx context.Context, line func(int) (int, bool)) error {
	ws, err := l.readWarnings(ctx)
	if err != nil || len(ws) == 0 {
		return err
	}
	w := ws[0]
	if w.row == 0 {
		return w
	}
	if src, ok := line(w.row); ok {
		return &format.Error{Line: src, Field: w.column, Err: w}
	}
	return fmt.Errorf("row %d: %w", w.row, w)
}

// errDupEntry is ER_DUP_ENTRY.
const errDupEntry = 1062

// warning is one of MariaDB's warnings about a LOAD: the row it names
// (1-based, after the ignored lines; 0 for none) and the column, when its
// message says.
type warning struct {
	level  string
	code   int
	msg    string // without " at row n"
	row    int
	column string
}

func (w warning) Error() string { return fmt.Sprintf("%s (MariaDB %s %d)", w.msg, w.level, w.code) }

// readWarnings returns the last statement's warnings (as many as
// max_error_count keeps) but notes and, when duplicates were asked to be
// replaced or ignored, duplicate keys.
func (l *loadTx) readWarnings(ctx context.Context) ([]warning, error) {
	rows, err := l.tx.QueryContext(ctx, "SHOW WARNINGS")
	if err != nil {
		return nil, fmt.Errorf("read load warnings: %w", err)
	}
	defer rows.Close()
	var ws []warning
	for rows.Next() {
		var w warning
		if err := rows.Scan(&w.level, &w.code, &w.msg); err != nil {
			return nil, err
		}
		if w.code == errDupEntry && l.t.Duplicates != "" || w.level == "Note" {
			continue
		}
		w.msg, w.row = warningRow(w.msg)
		if m := warningColumn.FindStringSubmatch(w.msg); m != nil {
			w.column = strings.ReplaceAll(m[1], "``", "`") + m[2]
		}
		ws = append(ws, w)
	}
	return ws, rows.Err()
}

// warningRow finds the row a warning names: "… at row 3" (bad values,
// the row cut from the message) or "Row 3 doesn't contain data …".
func warningRow(msg string) (string, int) {
	if i := strings.LastIndex(msg, " at row "); i >= 0 {
		if n, err := strconv.Atoi(msg[i+len(" at row "):]); err == nil {
			return msg[:i], n
		}
	}
	if rest, ok := strings.CutPrefix(msg, "Row "); ok {
		if n, err := strconv.Atoi(rest[:len(rest)-len(strings.TrimLeft(rest, "0123456789"))]); err == nil {
			return msg, n
		}
	}
	return msg, 0
}

// warningColumn finds the column in "… for column `db`.`t`.`id`" or
// "… column 'name'".
var warningColumn = regexp.MustCompile("column (?:`(?:[^`]|``)*`\\.)*`((?:[^`]|``)*)`|column '([^']*)'")

// Record writes the history row in the load's transaction.
func (l *loadTx) Record(ctx context.Context, h bulk.History) error {
	_, err := l.tx.ExecContext(ctx, "INSERT INTO "+quote(l.in.schema)+".`load_history` (task_id, load_prefix, file_name, etag, bytes_loaded, rows_loaded, load_timestamp) VALUES (?, ?, ?, ?, ?, ?, ?)",
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
	defer l.conn.Close()
	defer l.dropView(ctx)
	if err := l.in.CompleteTx(ctx, l.tx, l.t.Claim, res); err != nil {
		l.tx.Rollback()
		return err
	}
	return l.tx.Commit()
}

func (l *loadTx) Rollback(ctx context.Context) error {
	defer l.conn.Close()
	defer l.dropView(ctx)
	return l.tx.Rollback()
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
