package bulk

import (
	"context"
	"io"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/tuple"
)

// Source is a database an export reads from; each instance package
// implements it on its Instance.
type Source interface {
	// Query runs q.SQL in a read-only transaction, with the privileges of
	// q.Caller when it is set, and calls fn with the result while the
	// transaction is open. Rows stream: the database sends them as fn reads
	// them, never the whole result at once. A statement that is not a single
	// query fails before anything runs. A permission error satisfies
	// s3bridge.ErrAccessDenied.
	Query(ctx context.Context, q Query, fn func(tuple.Rows) error) error
}

// Copier is a Source with a native bulk path for delimited text, used for
// CSV and TEXT when the options map onto it (PostgreSQL's COPY).
type Copier interface {
	// CopyTo runs COPY (q.SQL) TO STDOUT (options) in the same kind of
	// transaction as Query and writes its output to w. Each Write carries
	// exactly one row, the header row first when options ask for one
	// (PostgreSQL sends one CopyData message per row), so a caller can cut
	// parts between writes without splitting a row. options is a COPY
	// option list built by CopyOptions.String, never user text.
	CopyTo(ctx context.Context, w io.Writer, q Query, options string) error
}

// Waiters is implemented by sources whose SQL interface waits for the
// export it enqueued (query_export_to_s3, select_into_outfile_s3): the
// waiting call records a heartbeat, so an export whose caller gave up
// (cancel, timeout, lost connection) can stop instead of finishing for no
// one.
type Waiters interface {
	// WaiterAge is how long ago the call waiting for task id last showed it
	// was still there, by the database's clock. It fails with an error
	// satisfying s3bridge.ErrNotFound when no call waits for the task.
	WaiterAge(ctx context.Context, id int64) (time.Duration, error)
}

// Query is what a Source runs.
type Query struct {
	SQL string
	// Caller is the database user whose privileges apply: a PostgreSQL role,
	// a MariaDB account 'user@host'. Empty means the connection's own.
	Caller string
	// CallerRole is the MariaDB role the caller had active, whose
	// privileges count when the account's own fall short.
	CallerRole string
	// Session holds the caller's session settings to apply for the
	// transaction (PostgreSQL: search_path, TimeZone, DateStyle,
	// IntervalStyle), so the query means what it meant in the caller's
	// session.
	Session map[string]string
	// Text asks for values in the database's own text form wherever that is
	// cheaper: the delimited formats print them as they are.
	Text bool
}

// Denied marks a database's permission error (a role without SELECT, a
// caller the agent may not act as) so callers can branch on
// s3bridge.ErrAccessDenied; the message stays the database's.
func Denied(err error) error { return deniedError{err} }

type deniedError struct{ err error }

func (e deniedError) Error() string   { return e.err.Error() }
func (e deniedError) Unwrap() []error { return []error{s3bridge.ErrAccessDenied, e.err} }
