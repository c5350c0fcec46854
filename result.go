package s3bridge

import (
	"context"
	"errors"
)

// Result is what a task's run produced: task_info's sentence for people,
// and the figures SQL functions, the CLI's --json and metrics read as
// numbers (the task's rows_processed, files_processed, bytes_processed and
// error_code columns) instead of parsing the sentence. A figure that does
// not apply to the task type stays zero.
type Result struct {
	Info string
	// Rows is the rows exported or loaded.
	Rows int64
	// Files is the files (parts, objects) written or read, or the entries
	// a LIST_FILES_ON_DISK task gathered.
	Files int64
	// Bytes is the bytes of those files: the objects' sizes as stored.
	Bytes int64
	// ErrorCode classifies a failure (ErrorCode); empty for a success.
	// Runners leave it empty: the agent sets it from the run's error.
	ErrorCode string
}

// Error codes of a failed or cancelled task, stored in its error_code
// column: a class named after the sentinel the error wraps, lower case so
// that it never reads as a SQLSTATE. A failure that no sentinel classifies
// but that the database raised is stored as the database's own SQLSTATE
// (five characters, digits and upper-case letters), the same each SQL
// function then re-raises.
const (
	CodeAccessDenied       = "access_denied"       // ErrAccessDenied
	CodeCredentialsExpired = "credentials_expired" // ErrCredentialsExpired (a denial new credentials may lift)
	CodeNotFound           = "not_found"           // ErrNotFound
	CodeExists             = "exists"              // ErrExists
	CodeLimit              = "limit_exceeded"      // ErrLimit
	CodeOutsideDirectory   = "outside_directory"   // ErrOutsideDirectory
	CodeLeaseLost          = "lease_lost"          // ErrLeaseLost
	CodeNotAttached        = "not_attached"        // ErrNotAttached
	CodeConnectionLost     = "connection_lost"     // ErrConnectionLost
	CodeCancelled          = "cancelled"           // a cancel asked for, or context.Canceled
	CodeError              = "error"               // anything else
)

// sqlStater is an error that carries its SQLSTATE, as PostgreSQL's errors
// (*pgconn.PgError) do.
type sqlStater interface{ SQLState() string }

// ErrorCode is the error code of err, from its structure (errors.Is and
// errors.As), never its text: the class of the first sentinel it wraps,
// in the order below, else the SQLSTATE of a database error in its chain,
// else CodeError. It is empty for a nil error. Expired credentials come
// before access denied, which they also satisfy, so that a failure new
// credentials may mend reads as such; a cancel comes before a lost
// connection, since cancelling a load may end its session. MariaDB's
// permission errors are mapped by number to ErrAccessDenied where the
// driver meets them (instance/mysql).
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	for _, c := range []struct {
		sentinel error
		code     string
	}{
		{ErrCredentialsExpired, CodeCredentialsExpired},
		{ErrAccessDenied, CodeAccessDenied},
		{ErrLeaseLost, CodeLeaseLost},
		{ErrNotFound, CodeNotFound},
		{ErrExists, CodeExists},
		{ErrLimit, CodeLimit},
		{ErrOutsideDirectory, CodeOutsideDirectory},
		{ErrNotAttached, CodeNotAttached},
		{context.Canceled, CodeCancelled},
		{ErrConnectionLost, CodeConnectionLost},
	} {
		if errors.Is(err, c.sentinel) {
			return c.code
		}
	}
	var st sqlStater
	if errors.As(err, &st) && validSQLState(st.SQLState()) {
		return st.SQLState()
	}
	return CodeError
}

// validSQLState reports whether s is five digits or upper-case letters.
func validSQLState(s string) bool {
	if len(s) != 5 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}
