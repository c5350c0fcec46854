package proxy

import (
	"errors"
	"fmt"

	"github.com/s3bridge/s3bridge/mysqlproto"
)

// maxOwnPacket bounds the packets of the proxy's own small queries.
const maxOwnPacket = 16 << 20

// result is the answer to one of the proxy's own queries.
type result struct {
	ok     mysqlproto.OK // for a statement without rows
	rows   [][]string    // NULL as ""
	status uint16        // the server status after it
}

// send sends a COM_QUERY of the proxy's own on the client's session.
func (s *session) send(sql string) error {
	if _, err := s.uw.Packet(0, append([]byte{mysqlproto.ComQuery}, sql...)); err != nil {
		return err
	}
	return s.uw.Flush()
}

// query runs a statement of the proxy's own on the client's session and
// reads its whole answer, which must be small. A server error is a
// *mysqlproto.Error; any other error leaves the session unusable.
func (s *session) query(sql string) (result, error) {
	var res result
	if err := s.send(sql); err != nil {
		return res, err
	}
	_, p, err := s.ur.Packet(maxOwnPacket)
	if err != nil {
		return res, err
	}
	switch {
	case mysqlproto.IsErr(p):
		e, err := mysqlproto.ParseErr(p)
		if err != nil {
			return res, err
		}
		return res, e
	case mysqlproto.IsOK(p):
		res.ok, err = mysqlproto.ParseOK(p, s.caps)
		res.status = res.ok.Status
		return res, err
	case p[0] == mysqlproto.HeaderLocalInfile:
		return res, fmt.Errorf("query %q: unexpected LOCAL INFILE request", sql)
	}
	n, err := mysqlproto.ColumnCount(p)
	if err != nil {
		return res, err
	}
	if err := s.skipColumns(n); err != nil {
		return res, err
	}
	var vals [][]byte
	for {
		_, p, err := s.ur.Packet(maxOwnPacket)
		if err != nil {
			return res, err
		}
		if mysqlproto.IsErr(p) {
			e, err := mysqlproto.ParseErr(p)
			if err != nil {
				return res, err
			}
			return res, e
		}
		if mysqlproto.IsEOF(p) {
			res.status, _ = mysqlproto.Status(p, s.caps)
			return res, nil
		}
		if vals, err = mysqlproto.TextRow(vals[:0], p, n); err != nil {
			return res, err
		}
		row := make([]string, n)
		for i, v := range vals {
			row[i] = string(v)
		}
		res.rows = append(res.rows, row)
	}
}

// skipColumns reads n column definitions and, without
// CLIENT_DEPRECATE_EOF, the EOF after them.
func (s *session) skipColumns(n int) error {
	_, err := s.columns(n)
	return err
}

// columns reads n column definitions and, without CLIENT_DEPRECATE_EOF,
// the EOF after them.
func (s *session) columns(n int) ([]mysqlproto.Column, error) {
	cols := make([]mysqlproto.Column, n)
	for i := range cols {
		_, p, err := s.ur.Packet(maxOwnPacket)
		if err != nil {
			return nil, err
		}
		if cols[i], err = mysqlproto.ParseColumn(p); err != nil {
			return nil, err
		}
	}
	if s.caps&mysqlproto.ClientDeprecateEOF == 0 {
		_, p, err := s.ur.Packet(maxOwnPacket)
		if err != nil {
			return nil, err
		}
		if !mysqlproto.IsEOF(p) {
			return nil, fmt.Errorf("result set: no EOF after the column definitions")
		}
	}
	return cols, nil
}

// serverError reports whether err is the server's own error, which the
// client gets as the server sent it.
func serverError(err error) (*mysqlproto.Error, bool) {
	var e *mysqlproto.Error
	return e, errors.As(err, &e)
}
