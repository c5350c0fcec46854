package main

import (
	"errors"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// dbFailure is a database failure said first in words: what is wrong and
// where, then the driver's error, which it wraps.
type dbFailure struct {
	msg string
	err error
}

func (f *dbFailure) Error() string { return f.msg + ": " + f.err.Error() }
func (f *dbFailure) Unwrap() error { return f.err }

// explainOpen words the common failures of connecting to the database an
// instance URL names: down, unknown host, login refused, no such
// database. Other errors are returned as they are. The URL's password is
// never part of the message.
func explainOpen(raw string, err error) error {
	if err == nil {
		return nil
	}
	u, perr := url.Parse(raw)
	if perr != nil {
		return err
	}
	host, user, db := u.Host, u.User.Username(), strings.TrimPrefix(u.Path, "/")
	var pgErr *pgconn.PgError
	var myErr *mysql.MySQLError
	var dnsErr *net.DNSError
	var netErr net.Error
	fail := func(msg string) error { return &dbFailure{msg: msg, err: err} }
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fail("cannot reach the database at " + host + " (connection refused: is the server running, and is the port right?)")
	case errors.As(err, &dnsErr):
		return fail("cannot reach the database at " + host + " (host " + dnsErr.Name + " not found)")
	case errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000"),
		errors.As(err, &myErr) && (myErr.Number == 1045 || myErr.Number == 1044 || myErr.Number == 1698):
		return fail("the database at " + host + " refused user " + user + " (wrong password, or no such user or grant)")
	case errors.As(err, &pgErr) && pgErr.Code == "3D000", errors.As(err, &myErr) && myErr.Number == 1049:
		return fail("database " + db + " does not exist at " + host)
	case errors.As(err, &netErr) && netErr.Timeout():
		return fail("cannot reach the database at " + host + " (timed out)")
	}
	return err
}

// explainQuery words a failure of a query on an attached instance whose
// s3bridge tables lack a column this binary uses: a schema older than
// the binary, which attach upgrades.
func explainQuery(err error) error {
	var pgErr *pgconn.PgError
	var myErr *mysql.MySQLError
	if errors.As(err, &pgErr) && pgErr.Code == "42703" || errors.As(err, &myErr) && myErr.Number == 1054 {
		return &dbFailure{msg: "the s3bridge tables in this database are older than this s3bridge (run: s3bridge attach --db … to upgrade them)", err: err}
	}
	return err
}
