package proxy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/export"
	"github.com/s3bridge/s3bridge/instance/bulk"
	"github.com/s3bridge/s3bridge/mysqlproto"
	"github.com/s3bridge/s3bridge/statement"
	"github.com/s3bridge/s3bridge/tuple"
)

// maxRow bounds one row of an exported result (max_allowed_packet's own
// ceiling is 1 GiB).
const maxRow = 1 << 30

// export runs SELECT … INTO OUTFILE S3: the query on the client's
// session, its rows streamed to S3 by the export capability, and answers
// with an OK whose affected rows are the rows written, as Aurora does.
func (s *session) export(ctx context.Context, st *statement.Export) (mysqlproto.OK, error) {
	var ok mysqlproto.OK
	if _, err := s.prepare("select_into_outfile_s3"); err != nil {
		return ok, err
	}
	set, err := s.settings(ctx)
	if err != nil {
		return ok, s3Failure(err)
	}
	p, err := export.FromStatement(st)
	if err != nil {
		return ok, s3Failure(err)
	}
	src := &sessionSource{s: s}
	r := &export.Runner{Deps: s.bridge.Export}
	res, err := r.RunSource(ctx, src, p, set, s.bridge.Instance, reporter{s.log})
	if src.broken != nil {
		return ok, src.broken
	}
	if err != nil {
		return ok, s3Failure(err)
	}
	if !src.ran {
		return ok, fmt.Errorf("export: the query did not run")
	}
	s.log.Info("exported to S3", "user", s.user, "uri", st.URI, "rows", res.Rows, "files", res.Files)
	return mysqlproto.OK{AffectedRows: uint64(res.Rows), Status: src.status}, nil
}

// sessionSource runs an export's query on the client's session
// (bulk.Source).
type sessionSource struct {
	s      *session
	ran    bool
	status uint16
	broken error // the session failed: the connection must end
}

var _ bulk.Source = (*sessionSource)(nil)

// Query runs q.SQL on the session, with the session's own privileges and
// transaction, and streams its text result set to fn. Rows fn leaves
// unread are read and dropped, so the session stays in step.
func (src *sessionSource) Query(ctx context.Context, q bulk.Query, fn func(tuple.Rows) error) error {
	s := src.s
	src.ran = true
	if err := s.send(q.SQL); err != nil {
		src.broken = err
		return err
	}
	_, p, err := s.ur.Packet(maxRow)
	if err != nil {
		src.broken = err
		return err
	}
	switch {
	case mysqlproto.IsErr(p):
		e, err := mysqlproto.ParseErr(p)
		if err != nil {
			src.broken = err
			return err
		}
		return e
	case mysqlproto.IsOK(p):
		src.broken = fmt.Errorf("export query: the server sent no result set")
		return src.broken
	}
	n, err := mysqlproto.ColumnCount(p)
	if err == nil {
		var cols []mysqlproto.Column
		if cols, err = s.columns(n); err == nil {
			rows := &textRows{src: src, defs: cols, text: q.Text}
			rows.cols = make([]tuple.Column, n)
			for i, c := range cols {
				rows.cols[i] = columnType(c)
			}
			ferr := fn(rows)
			for !rows.done && rows.err == nil {
				rows.next()
			}
			if rows.err != nil {
				if _, isServer := serverError(rows.err); !isServer {
					src.broken = rows.err
				}
				return rows.err
			}
			return ferr
		}
	}
	src.broken = err
	return err
}

// textRows reads a text result set's rows (tuple.Rows).
type textRows struct {
	src  *sessionSource
	defs []mysqlproto.Column
	cols []tuple.Column
	text bool
	vals [][]byte
	done bool
	err  error
}

func (r *textRows) Columns() []tuple.Column { return r.cols }

// next reads the next row into r.vals, or ends the result.
func (r *textRows) next() bool {
	_, p, err := r.src.s.ur.Packet(maxRow)
	switch {
	case err != nil:
		r.err = err
	case mysqlproto.IsErr(p):
		e, perr := mysqlproto.ParseErr(p)
		r.err, r.done = e, true
		if perr != nil {
			r.err = perr
		}
	case mysqlproto.IsEOF(p):
		r.src.status, _ = mysqlproto.Status(p, r.src.s.caps)
		r.done = true
	default:
		r.vals, r.err = mysqlproto.TextRow(r.vals[:0], p, len(r.defs))
		return r.err == nil
	}
	return false
}

func (r *textRows) Next(row []tuple.Value) error {
	if r.done || r.err != nil || !r.next() {
		if r.err != nil {
			return r.err
		}
		return io.EOF
	}
	for i, v := range r.vals {
		row[i] = r.value(i, v)
	}
	return nil
}

// value converts a text value: as it is for the delimited formats, typed
// for the others (Parquet), as the MariaDB instance's export does.
func (r *textRows) value(i int, v []byte) tuple.Value {
	c := r.cols[i]
	switch {
	case v == nil:
		return tuple.NullValue()
	case c.Type == tuple.TypeBytes:
		return tuple.BytesValue(v)
	case r.text:
		return tuple.TextValue(v)
	}
	switch c.Type {
	case tuple.TypeInt8, tuple.TypeInt16, tuple.TypeInt32, tuple.TypeInt64, tuple.TypeUint8, tuple.TypeUint16, tuple.TypeUint32:
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return tuple.IntValue(n)
		}
	case tuple.TypeUint64:
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return tuple.IntValue(n)
		}
	case tuple.TypeFloat32, tuple.TypeFloat64:
		if f, err := strconv.ParseFloat(string(v), 64); err == nil {
			return tuple.FloatValue(f)
		}
	case tuple.TypeDate, tuple.TypeTimestamp, tuple.TypeTimestampTZ:
		for _, layout := range []string{"2006-01-02 15:04:05.999999", "2006-01-02"} {
			if t, err := time.Parse(layout, string(v)); err == nil {
				return tuple.TimeValue(t)
			}
		}
	}
	return tuple.TextValue(v)
}

// columnType maps a column definition to the type the MariaDB instance's
// export gives the same column.
func columnType(c mysqlproto.Column) tuple.Column {
	out := tuple.Column{Name: c.Name}
	unsigned := c.Flags&mysqlproto.FlagUnsigned != 0
	pick := func(signed, uns tuple.Type) tuple.Type {
		if unsigned {
			return uns
		}
		return signed
	}
	binary := c.Charset == mysqlproto.CharsetBinary
	switch c.Type {
	case mysqlproto.TypeTiny:
		out.Type = pick(tuple.TypeInt8, tuple.TypeUint8)
	case mysqlproto.TypeShort, mysqlproto.TypeYear:
		out.Type = pick(tuple.TypeInt16, tuple.TypeUint16)
	case mysqlproto.TypeInt24, mysqlproto.TypeLong:
		out.Type = pick(tuple.TypeInt32, tuple.TypeUint32)
	case mysqlproto.TypeLongLong:
		out.Type = pick(tuple.TypeInt64, tuple.TypeUint64)
	case mysqlproto.TypeFloat:
		out.Type = tuple.TypeFloat32
	case mysqlproto.TypeDouble:
		out.Type = tuple.TypeFloat64
	case mysqlproto.TypeDecimal, mysqlproto.TypeNewDecimal:
		out.Type, out.Scale = tuple.TypeDecimal, int(c.Decimals)
		out.Precision = int(c.Length) - 1
		if c.Decimals > 0 {
			out.Precision--
		}
		if unsigned {
			out.Precision++
		}
	case mysqlproto.TypeDate, mysqlproto.TypeNewDate:
		out.Type = tuple.TypeDate
	case mysqlproto.TypeDatetime:
		out.Type, out.Scale = tuple.TypeTimestamp, int(c.Decimals)
	case mysqlproto.TypeTimestamp:
		out.Type, out.Scale = tuple.TypeTimestampTZ, int(c.Decimals)
	case mysqlproto.TypeTime:
		out.Type = tuple.TypeTime
	case mysqlproto.TypeJSON:
		out.Type = tuple.TypeJSON
	case mysqlproto.TypeBit, mysqlproto.TypeGeometry:
		out.Type = tuple.TypeBytes
	case mysqlproto.TypeTinyBlob, mysqlproto.TypeMediumBlob, mysqlproto.TypeLongBlob, mysqlproto.TypeBlob,
		mysqlproto.TypeVarchar, mysqlproto.TypeVarString, mysqlproto.TypeString:
		if binary {
			out.Type = tuple.TypeBytes
		}
	}
	return out
}

// reporter logs what a load or export reports (s3bridge.Reporter).
type reporter struct{ log *slog.Logger }

func (r reporter) Logf(level s3bridge.LogLevel, format string, args ...any) {
	l := slog.LevelInfo
	switch level {
	case s3bridge.LevelWarn:
		l = slog.LevelWarn
	case s3bridge.LevelError:
		l = slog.LevelError
	}
	r.log.Log(context.Background(), l, fmt.Sprintf(format, args...))
}

func (reporter) Progress(done, total int64) {}

func (reporter) SaveFileDetails(context.Context, []s3bridge.FileDetail) error { return nil }
