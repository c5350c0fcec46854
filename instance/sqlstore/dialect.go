// Package sqlstore implements instance.Instance once, over database/sql, for
// every database s3bridge attaches to. A Dialect carries what differs: how
// names are quoted and qualified, placeholders, column types, and the
// database's own SQL interface (functions, triggers) installed at attach.
package sqlstore

import (
	"context"
	"database/sql"
	"strings"
)

// Dialect is what differs between databases.
type Dialect struct {
	// Name is shown in errors: "postgres", "mysql", "sqlite".
	Name string
	// Table returns the quoted, qualified name of an s3bridge table.
	Table func(name string) string
	// Dollar placeholders ($1, $2…) instead of ?.
	Dollar bool
	// ReturningID: INSERT … RETURNING gives the new task id (PostgreSQL);
	// otherwise the driver's LastInsertId does (MySQL has no RETURNING).
	ReturningID bool
	// LockRows is appended to SELECTs that claim rows; empty where the
	// database locks by transaction (SQLite).
	LockRows string
	// SkipLocked is appended to the SELECT that picks a task to claim.
	SkipLocked string
	// DDL creates the tables, in order, idempotently. Table names are
	// written {tasks}, {task_log}, {file_details}, {settings}.
	DDL []string
	// InstallSQL installs the SQL interface after the tables exist.
	InstallSQL func(ctx context.Context, tx *sql.Tx) error
	// DropSQL removes the SQL interface and keeps the tables.
	DropSQL func(ctx context.Context, tx *sql.Tx) error
	// Attached is a query that counts the s3bridge settings table in the
	// database's catalog (0 or 1), so that a missing schema is told from
	// a database that failed without reading error texts.
	Attached string
	// TxSetup runs first in each of the queue's transactions (MariaDB:
	// a bound on how long the server lets it sit idle, so an agent frozen
	// inside a claim can't block every other agent's claims).
	TxSetup string
	// ErrorAborts: a failed statement aborts the whole transaction
	// (PostgreSQL), so statements that may fail run under a savepoint.
	ErrorAborts bool
	// SessionAlive reports whether a database session recorded in
	// tasks.caller_session still exists; nil where sessions don't
	// outlive their process (SQLite).
	SessionAlive func(ctx context.Context, db *sql.DB, session string) (bool, error)
	// Added lists columns added to s3bridge tables after their first
	// release: Attach adds each one that an older install lacks. New
	// installs get them from DDL too.
	Added []Column
	// ServerCheck is a query run before each claim that returns one row
	// and one column: NULL when this server is the one s3bridge was
	// attached to, else why not ("this server (server_id 2) is a copy of
	// the attached one (server_id 1)"). A replica or a restored copy
	// holds the queue too, and must not run its tasks a second time. No
	// row, or no query, means no check.
	ServerCheck string
	// Notify is run after Enqueue and Cancel in the same transaction, to
	// wake listeners; empty when the database has no notifications or a
	// trigger does it.
	Notify string
}

// Column is a column Attach adds to an existing s3bridge table: Table is
// written as in DDL ({tasks}), Type is the column's definition.
type Column struct {
	Table, Name, Type string
}

// render replaces {table} names and, for dollar dialects, ? placeholders.
func (d Dialect) render(q string) string {
	for _, t := range []string{"tasks", "task_log", "file_details", "settings", "agents"} {
		q = strings.ReplaceAll(q, "{"+t+"}", d.Table(t))
	}
	if !d.Dollar {
		return q
	}
	var b strings.Builder
	n := 0
	inQuote := false
	for _, r := range q {
		switch {
		case r == '\'':
			inQuote = !inQuote
			b.WriteRune(r)
		case r == '?' && !inQuote:
			n++
			b.WriteString("$")
			b.WriteString(itoa(n))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// QuoteIdent quotes an identifier with the given quote character, doubling
// any quote inside it.
func QuoteIdent(name string, quote byte) string {
	q := string(quote)
	return q + strings.ReplaceAll(name, q, q+q) + q
}
