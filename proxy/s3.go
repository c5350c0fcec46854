package proxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/load"
	"github.com/s3bridge/s3bridge/mysqlproto"
	"github.com/s3bridge/s3bridge/statement"
)

// infileChunk is the size of the packets that carry an object to the
// server: well under the 16 MiB frame limit and any max_allowed_packet.
const infileChunk = 1 << 20

// savepoint marks the start of an S3 load run inside the client's own
// transaction, so that a failed load undoes only itself.
const savepoint = "`s3bridge_proxy_load`"

// clientError is a refusal the client gets as an ERR packet; the
// session goes on.
type clientError struct {
	code    uint16
	state   string
	message string
}

func (e *clientError) Error() string { return e.message }

func refusal(code uint16, state, format string, args ...any) error {
	return &clientError{code: code, state: state, message: "s3bridge: " + fmt.Sprintf(format, args...)}
}

// s3Statement runs an Aurora S3 statement the client sent as COM_QUERY
// with sequence id seq, and answers it.
func (s *session) s3Statement(ctx context.Context, seq byte, sql string, multi bool) error {
	var ok mysqlproto.OK
	err := func() error {
		if multi {
			return refusal(1235, "42000", "an S3 statement (LOAD … FROM S3, SELECT … INTO OUTFILE S3) must be sent alone, not in a multi-statement batch")
		}
		st, err := statement.Parse(sql)
		if err != nil {
			return refusal(1064, "42000", "%v", err)
		}
		switch st := st.(type) {
		case *statement.Load:
			ok, err = s.load(ctx, st, sql)
		case *statement.Export:
			ok, err = s.export(ctx, st)
		}
		return err
	}()
	if err == nil {
		return s.relayFrame(s.cw, seq+1, mysqlproto.AppendOK(nil, ok, s.caps))
	}
	var ce *clientError
	if e, isServer := serverError(err); isServer {
		s.log.Info("S3 statement failed on the server", "user", s.user, "err", e)
		return s.errPacket(seq+1, e.Code, e.SQLState, e.Message)
	}
	if errors.As(err, &ce) {
		s.log.Info("S3 statement refused", "user", s.user, "err", err)
		return s.errPacket(seq+1, ce.code, ce.state, ce.message)
	}
	return err // the session is broken: the connection ends
}

// s3Failure is an error of S3 or of s3bridge's checks, for the client.
func s3Failure(err error) error {
	if err == nil {
		return nil
	}
	if _, isServer := serverError(err); isServer {
		return err
	}
	var ce *clientError
	if errors.As(err, &ce) {
		return err
	}
	if errors.Is(err, s3bridge.ErrAccessDenied) {
		return refusal(1227, "42000", "%v", err)
	}
	return refusal(1105, "HY000", "%v", err)
}

// sessionInfo is what an S3 statement needs to know of the client's
// session before it runs.
type sessionInfo struct {
	strict bool   // sql_mode makes bad values errors
	status uint16 // transaction state
}

// prepare reads the session's sql_mode and transaction state and, with
// an attached instance, checks that the session may execute procedure
// (the s3bridge role's grant).
func (s *session) prepare(procedure string) (sessionInfo, error) {
	var info sessionInfo
	allowed := "1"
	if s.bridge.Schema != "" {
		allowed = "(SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = " +
			statement.QuoteLiteralMySQL(s.bridge.Schema) + " AND ROUTINE_NAME = " + statement.QuoteLiteralMySQL(procedure) + ")"
	}
	res, err := s.query("SELECT @@session.sql_mode, " + allowed)
	if err != nil {
		return info, err
	}
	if len(res.rows) != 1 || len(res.rows[0]) != 2 {
		return info, fmt.Errorf("read the session's sql_mode: unexpected answer")
	}
	mode := strings.ToUpper(res.rows[0][0])
	info.strict = strings.Contains(mode, "STRICT_TRANS_TABLES") || strings.Contains(mode, "STRICT_ALL_TABLES")
	info.status = res.status
	if res.rows[0][1] == "0" {
		return info, refusal(1370, "42000", "%s may not run this S3 statement: it needs EXECUTE on %s.%s (grant the s3bridge role)",
			s.user, s.bridge.Schema, procedure)
	}
	return info, nil
}

func (s *session) settings(ctx context.Context) (s3bridge.Settings, error) {
	if s.bridge.Settings == nil {
		return s3bridge.Settings{}, nil
	}
	set, err := s.bridge.Settings(ctx)
	if err != nil {
		return set, fmt.Errorf("read the instance's settings: %w", err)
	}
	return set, nil
}

// load runs LOAD DATA|XML FROM S3 on the client's session: one LOAD …
// LOCAL INFILE per object, fed by the proxy, all inside a transaction of
// their own (autocommit) or a savepoint (the client's transaction), so
// that a failure leaves the table as it was. Without REPLACE or IGNORE a
// warning that the server would have raised as an error without LOCAL
// (any, in a strict sql_mode; a duplicate key, always) fails the load,
// as Aurora's statement fails.
func (s *session) load(ctx context.Context, st *statement.Load, text string) (mysqlproto.OK, error) {
	var total mysqlproto.OK
	info, err := s.prepare("load_data_from_s3")
	if err != nil {
		return total, err
	}
	set, err := s.settings(ctx)
	if err != nil {
		return total, s3Failure(err)
	}
	p, err := load.FromStatement(st, text, true)
	if err != nil {
		return total, s3Failure(err)
	}
	store, guard, err := s.bridge.Load.Open(ctx, set, s.bridge.Instance)
	if err != nil {
		return total, s3Failure(err)
	}
	files, err := load.Resolve(ctx, store, guard, p, reporter{s.log})
	if err != nil {
		return total, s3Failure(err)
	}
	own := info.status&mysqlproto.StatusInTrans == 0 && info.status&mysqlproto.StatusAutocommit != 0
	begin, commit := "SAVEPOINT "+savepoint, "RELEASE SAVEPOINT "+savepoint
	if own {
		begin, commit = "START TRANSACTION", "COMMIT"
	}
	if _, err := s.query(begin); err != nil {
		return total, err
	}
	var counts [4]uint64 // records, deleted, skipped, warnings
	for _, f := range files {
		ok, err := s.loadFile(ctx, st, store, f)
		if err == nil && ok.Warnings > 0 && st.OnDuplicate == statement.OnDuplicateError {
			err = s.failingWarning(info.strict)
		}
		if err != nil {
			return total, s.undo(own, s3Failure(err))
		}
		total.AffectedRows += ok.AffectedRows
		total.Warnings += ok.Warnings
		addCounts(&counts, ok.Info)
	}
	res, err := s.query(commit)
	if err != nil {
		return total, err
	}
	total.Status = res.status
	total.Info = fmt.Sprintf("Records: %d  Deleted: %d  Skipped: %d  Warnings: %d", counts[0], counts[1], counts[2], counts[3])
	s.log.Info("loaded from S3", "user", s.user, "uri", st.URI, "files", len(files), "rows", total.AffectedRows)
	return total, nil
}

// undo rolls back what a failed load did and returns cause; a failure to
// roll back breaks the session.
func (s *session) undo(own bool, cause error) error {
	if _, isServer := serverError(cause); !isServer {
		var ce *clientError
		if !errors.As(cause, &ce) {
			return cause // the session itself failed
		}
	}
	steps := []string{"ROLLBACK TO SAVEPOINT " + savepoint, "RELEASE SAVEPOINT " + savepoint}
	if own {
		steps = []string{"ROLLBACK"}
	}
	for _, q := range steps {
		if _, err := s.query(q); err != nil {
			return fmt.Errorf("undo a failed S3 load (%v): %w", cause, err)
		}
	}
	return cause
}

// loadFile runs one LOAD … LOCAL INFILE and answers the server's request
// for the file with the object's bytes.
func (s *session) loadFile(ctx context.Context, st *statement.Load, store load.ObjectStore, f load.Resolved) (mysqlproto.OK, error) {
	var ok mysqlproto.OK
	b := make([]byte, 8)
	rand.Read(b)
	name := "s3bridge-" + hex.EncodeToString(b)
	if err := s.send(st.MariaDBLocalInfile(name)); err != nil {
		return ok, err
	}
	seq, p, err := s.ur.Packet(maxOwnPacket)
	if err != nil {
		return ok, err
	}
	if mysqlproto.IsErr(p) {
		e, err := mysqlproto.ParseErr(p)
		if err != nil {
			return ok, err
		}
		return ok, e
	}
	if got, isInfile := mysqlproto.LocalInfile(p); !isInfile || got != name {
		return ok, fmt.Errorf("LOAD DATA LOCAL INFILE: the server did not ask for the file")
	}
	sendErr := s.stream(ctx, seq+1, store, f)
	_, p, err = s.ur.Packet(maxOwnPacket)
	if err != nil {
		return ok, err
	}
	if mysqlproto.IsErr(p) {
		e, err := mysqlproto.ParseErr(p)
		if err != nil {
			return ok, err
		}
		return ok, e
	}
	if sendErr != nil {
		return ok, sendErr
	}
	return mysqlproto.ParseOK(p, s.caps)
}

// stream sends the object in packets from sequence id seq, then the empty
// packet that ends the file. An S3 error ends the file early and is
// returned as a refusal; the caller rolls back what went in.
func (s *session) stream(ctx context.Context, seq byte, store load.ObjectStore, f load.Resolved) error {
	var failed error
	body, err := load.OpenResolved(ctx, store, f, 0)
	if err != nil {
		failed = refusal(1105, "HY000", "%v", err)
	} else {
		defer body.Close()
		buf := make([]byte, infileChunk)
		for {
			n, err := io.ReadFull(body, buf)
			if n > 0 {
				if werr := s.uw.Frame(seq, buf[:n]); werr != nil {
					return werr
				}
				seq++
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				break
			}
			if err != nil {
				failed = refusal(1105, "HY000", "read %s: %v", f.URI, err)
				break
			}
		}
	}
	if err := s.uw.Frame(seq, nil); err != nil {
		return err
	}
	if err := s.uw.Flush(); err != nil {
		return err
	}
	return failed
}

// failingWarning reads the warnings of the last LOAD and returns the
// first one the server would have raised as an error, as the server's
// error, or nil.
func (s *session) failingWarning(strict bool) error {
	res, err := s.query("SHOW WARNINGS")
	if err != nil {
		return err
	}
	for _, w := range res.rows {
		if len(w) < 3 {
			continue
		}
		code, _ := strconv.Atoi(w[1])
		if w[0] == "Error" || w[0] == "Warning" && (strict || code == 1062) {
			return &mysqlproto.Error{Code: uint16(code), SQLState: sqlState(code), Message: w[2]}
		}
	}
	return nil
}

// sqlState is the SQLSTATE the server gives the errors a load's warnings
// stand for, when raised as errors.
func sqlState(code int) string {
	switch code {
	case 1062, 1048, 1452, 1451:
		return "23000"
	case 1264:
		return "22003"
	case 1406:
		return "22001"
	case 1292:
		return "22007"
	case 1265, 1261, 1262:
		return "01000"
	}
	return "HY000"
}

// addCounts adds a LOAD's "Records: n  Deleted: n  Skipped: n  Warnings: n".
func addCounts(c *[4]uint64, info string) {
	f := strings.Fields(info)
	for i := 0; i+1 < len(f); i += 2 {
		n, _ := strconv.ParseUint(f[i+1], 10, 64)
		switch f[i] {
		case "Records:":
			c[0] += n
		case "Deleted:":
			c[1] += n
		case "Skipped:":
			c[2] += n
		case "Warnings:":
			c[3] += n
		}
	}
}
