package mysource

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/binlog"
)

// A position in the binary log travels as a resume token, the text a
// checkpoint stores: binlog.Position's String form, "0-1-100,1-2-7
// mariadb-bin.000003:1234" — the GTIDs of every replication domain, then
// the file and offset. Either part may be missing: a token without GTIDs
// resumes by file and offset, one without a file by GTIDs. GTIDs are used
// when present (they survive a failover to another server of the
// topology); the file and offset are the fallback and what the LSN is
// computed from.

// Token returns p's resume token.
func Token(p binlog.Position) string { return p.String() }

// ParseToken reads a resume token; "" is the zero Position.
func ParseToken(token string) (binlog.Position, error) {
	p, err := binlog.ParsePosition(token)
	if err != nil {
		return p, fmt.Errorf("resume token %q: %w", token, err)
	}
	return p, nil
}

// lsnOf is p's LSN, 0 when it has no file.
func lsnOf(p binlog.Position) pipeline.LSN {
	if p.File == "" {
		return 0
	}
	l, err := p.LSN()
	if err != nil {
		return 0
	}
	return l
}

// binaryLog is a file of the server's binary log and its size.
type binaryLog struct {
	name string
	size int64
}

// binaryLogs lists the server's binary logs, oldest first (SHOW BINARY
// LOGS: BINLOG MONITOR, or REPLICATION CLIENT before MariaDB 10.5).
func binaryLogs(ctx context.Context, conn *sql.Conn) ([]binaryLog, error) {
	rows, err := conn.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return nil, fmt.Errorf("list the binary logs: %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []binaryLog
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("list the binary logs: %w", err)
		}
		size, _ := strconv.ParseInt(string(vals[1]), 10, 64)
		out = append(out, binaryLog{name: string(vals[0]), size: size})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list the binary logs: %w", err)
	}
	return out, nil
}

// fileOf returns the index in logs of the file whose sequence number is
// seq, or -1.
func fileOf(logs []binaryLog, seq uint32) int {
	for i, l := range logs {
		if n, err := (binlog.Position{File: l.name}).LSN(); err == nil && uint32(n>>32) == seq {
			return i
		}
	}
	return -1
}

// Retained is how many bytes of binary log lie between the position at
// (a checkpoint: its resume token, or its LSN when it has none) and the
// end of the server's log: what the server must still hold for the
// pipeline to resume, and how far the pipeline is behind (both results,
// as the server holds nothing for the pipeline itself: pgsource's
// Retained tells them apart). It wraps *PurgedError when the server no
// longer has the position's file.
func (s *Source) Retained(ctx context.Context, at pipeline.LSN, token string) (retained, behind int64, err error) {
	p, err := ParseToken(token)
	if err != nil {
		return 0, 0, err
	}
	if p.File != "" {
		if at, err = p.LSN(); err != nil {
			return 0, 0, err
		}
	}
	if at == 0 {
		return 0, 0, fmt.Errorf("binary log retained: no position (token %q)", token)
	}
	db, conn, err := s.connect(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	defer conn.Close()
	logs, err := binaryLogs(ctx, conn)
	if err != nil {
		return 0, 0, err
	}
	i := fileOf(logs, uint32(at>>32))
	if i < 0 {
		return 0, 0, &PurgedError{Pipeline: strings.TrimPrefix(s.name, "s3bridge_"), Token: cmpToken(token, at),
			Err: fmt.Errorf("%w: the server's binary logs don't include file number %d", binlog.ErrLogUnavailable, at>>32)}
	}
	n := max(logs[i].size-int64(uint32(at)), 0)
	for _, l := range logs[i+1:] {
		n += l.size
	}
	return n, n, nil
}

func cmpToken(token string, at pipeline.LSN) string {
	if token != "" {
		return token
	}
	return "LSN " + at.String()
}

// PurgedError means the server no longer has the binary log at the
// position a stream was to start from (a checkpoint): the logs were
// purged past it (binlog_expire_logs_seconds, PURGE BINARY LOGS), the
// server was reset (RESET MASTER), or the position is another server's.
// The changes since are lost; the pipeline needs a new snapshot. It
// unwraps to binlog.ErrLogUnavailable.
type PurgedError struct {
	Pipeline string
	Token    string
	Err      error
}

func (e *PurgedError) Error() string {
	return fmt.Sprintf("the binary log at pipeline %s's checkpoint (%s) is no longer on the server — purged by binlog_expire_logs_seconds or PURGE BINARY LOGS, or the server was reset — so the changes since are lost: take a new snapshot with `s3bridge pipeline snapshot %s` (and keep binary logs longer than the pipeline may stay stopped): %v",
		e.Pipeline, e.Token, e.Pipeline, e.Err)
}

func (e *PurgedError) Unwrap() error { return e.Err }

// purged wraps err in a *PurgedError when it is binlog.ErrLogUnavailable.
func (s *Source) purged(err error, token string) error {
	var pe *PurgedError
	if err == nil || errors.As(err, &pe) || !errors.Is(err, binlog.ErrLogUnavailable) {
		return err
	}
	return &PurgedError{Pipeline: strings.TrimPrefix(s.name, "s3bridge_"), Token: token, Err: err}
}

// fileNamed returns the name of the binary log file whose sequence number
// is seq, in the series of file ("mariadb-bin.000041", 42 →
// "mariadb-bin.000042": MariaDB numbers its files with at least six
// digits); "" when file is "" or has no number.
func fileNamed(file string, seq uint32) string {
	if file == "" {
		return ""
	}
	if n, err := (binlog.Position{File: file}).LSN(); err == nil && uint32(n>>32) == seq {
		return file
	}
	for i := len(file) - 1; i >= 0; i-- {
		if file[i] == '.' {
			if i == len(file)-1 {
				return ""
			}
			return fmt.Sprintf("%s.%06d", file[:i], seq)
		}
	}
	return ""
}
