package mysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"

	"github.com/go-sql-driver/mysql"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance/bulk"
)

// connLost reports whether err means the session ended under an
// operation: the driver's broken connection, a cut network, or the
// server ending it (1053 shutdown in progress, 1927 connection killed,
// 2006 gone away, 2013 lost during a query).
func connLost(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1053, 1927, 2006, 2013:
			return true
		}
		return false
	}
	var ne net.Error
	return errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne)
}

// stateError is a MariaDB error that carries its SQLSTATE as
// s3bridge.ErrorCode reads it (PostgreSQL's errors have it built in), so a
// task's error_code is the server's class, such as 42S02 for a missing
// table, not "error".
type stateError struct {
	err   error
	state string
}

func (e stateError) Error() string    { return e.err.Error() }
func (e stateError) Unwrap() error    { return e.err }
func (e stateError) SQLState() string { return e.state }

// withState returns err carrying the SQLSTATE of the MariaDB error in its
// chain; HY000, MariaDB's "general error", says nothing and is left out.
func withState(err error) error {
	var me *mysql.MySQLError
	if err == nil || !errors.As(err, &me) {
		return err
	}
	st := string(me.SQLState[:])
	if st == "HY000" || st == "\x00\x00\x00\x00\x00" {
		return err
	}
	return stateError{err, st}
}

// stateTx is a load's Tx whose errors carry their SQLSTATE (withState).
type stateTx struct{ bulk.Tx }

func (t stateTx) Load(ctx context.Context, f bulk.File, r io.Reader) (int64, error) {
	n, err := t.Tx.Load(ctx, f, r)
	return n, withState(err)
}

func (t stateTx) Record(ctx context.Context, h bulk.History) error {
	return withState(t.Tx.Record(ctx, h))
}

func (t stateTx) Commit(ctx context.Context, res s3bridge.Result) error {
	return withState(t.Tx.Commit(ctx, res))
}

func (t stateTx) Rollback(ctx context.Context) error { return withState(t.Tx.Rollback(ctx)) }
