package postgres

import (
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// connLost reports whether err means the session ended under an
// operation: the connection closed or cut, or the server ending it
// (class 08 connection exceptions; 57P01 admin shutdown or a terminated
// backend, 57P02 crash shutdown, 57P03 cannot connect now).
func connLost(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ne net.Error
	return errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne)
}
