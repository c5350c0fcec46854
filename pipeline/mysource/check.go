package mysource

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/s3bridge/s3bridge/mysqlproto"
	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/binlog"
)

// Problem is a prerequisite that is not met, with how to fix it.
type Problem = pipeline.Problem

// MariaDB's error codes Check tells apart.
const (
	errAccessDenied         = 1045 // what COM_REGISTER_SLAVE says without REPLICATION SLAVE
	errSpecificAccessDenied = 1227 // needs a privilege (REPLICATION SLAVE, BINLOG MONITOR …)
	errTableAccessDenied    = 1142 // no SELECT on the table, or no such table hidden behind it
	errNoSuchTable          = 1146
)

// facts is what Check finds on the server; problems judges them.
type facts struct {
	version, user string
	mariaDB       bool
	logBin        bool
	// The global settings; "" when the server has no such variable.
	binlogFormat, rowImage, rowMetadata, compress string
	serverID, clientID                            uint32
	// retention is how long binary logs are kept; 0: until purged by
	// hand. retentionVar names the variable it comes from.
	retention    time.Duration
	retentionVar string
	// binlogMonitor: SHOW BINARY LOGS was allowed; replication: the
	// stream was allowed (nil) or refused (the server's error).
	binlogMonitor      bool
	replication        error
	replicationUnknown bool
	tables             []tableFacts
}

// tableFacts is what Check finds about a captured table.
type tableFacts struct {
	t          Table
	readable   bool   // SELECT … LIMIT 0 ran
	missing    bool   // the server said it does not exist
	denied     bool   // the server refused SELECT
	primary    bool   // it has a primary key
	engine     string // its storage engine
	transacted bool   // its engine is transactional (InnoDB)
	// unsupported are its columns of types pipelines don't take, each as
	// "name (type)".
	unsupported []string
}

// Check lists what stops the pipeline from running on this server, or
// weakens its files, with the exact fix for each: the binary log (log_bin,
// binlog_format=ROW, binlog_row_image=FULL, binlog_row_metadata=FULL, a
// server_id other than the pipeline's, no log_bin_compress), the grants
// the user needs (REPLICATION SLAVE to stream, BINLOG MONITOR — REPLICATION
// CLIENT before MariaDB 10.5 — to read the log's end and files, SELECT on
// the captured tables), the captured tables themselves (missing, without a
// primary key, not InnoDB), and — always, as a warning — how long the
// server keeps its binary logs. It tries what the pipeline will do (it
// streams the log's end, reads the log's files, selects from each table)
// rather than parse grants, so roles and every way of granting count. An
// empty list means ready; an error means Check itself could not run.
func (s *Source) Check(ctx context.Context, pub Publication) ([]Problem, error) {
	f, err := s.facts(ctx, pub)
	if err != nil {
		return nil, err
	}
	return problems(f, pub), nil
}

// facts gathers what Check judges.
func (s *Source) facts(ctx context.Context, pub Publication) (facts, error) {
	db, conn, err := s.connect(ctx)
	if err != nil {
		return facts{}, err
	}
	defer db.Close()
	defer conn.Close()
	f := facts{clientID: s.cfg.ServerID}
	vars := map[string]string{}
	rows, err := conn.QueryContext(ctx, `SHOW GLOBAL VARIABLES WHERE Variable_name IN ('version', 'log_bin', 'binlog_format',
		'binlog_row_image', 'binlog_row_metadata', 'log_bin_compress', 'server_id', 'expire_logs_days', 'binlog_expire_logs_seconds',
		'gtid_binlog_pos')`)
	if err != nil {
		return f, fmt.Errorf("check prerequisites: %w", err)
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return f, fmt.Errorf("check prerequisites: %w", err)
		}
		vars[strings.ToLower(k)] = v
	}
	rows.Close()
	if err := conn.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&f.user); err != nil {
		return f, fmt.Errorf("check prerequisites: %w", err)
	}
	f.version = vars["version"]
	f.mariaDB = strings.Contains(strings.ToLower(f.version), "mariadb")
	f.logBin = strings.EqualFold(vars["log_bin"], "ON")
	f.binlogFormat, f.rowImage = strings.ToUpper(vars["binlog_format"]), strings.ToUpper(vars["binlog_row_image"])
	f.rowMetadata, f.compress = strings.ToUpper(vars["binlog_row_metadata"]), strings.ToUpper(vars["log_bin_compress"])
	id, _ := strconv.ParseUint(vars["server_id"], 10, 32)
	f.serverID = uint32(id)
	if v, ok := vars["binlog_expire_logs_seconds"]; ok {
		n, _ := strconv.ParseFloat(v, 64)
		f.retention, f.retentionVar = time.Duration(n)*time.Second, "binlog_expire_logs_seconds"
	} else {
		n, _ := strconv.ParseFloat(vars["expire_logs_days"], 64)
		f.retention, f.retentionVar = time.Duration(n*24*float64(time.Hour)), "expire_logs_days"
	}
	if _, err := conn.ExecContext(ctx, "SHOW BINARY LOGS"); err == nil {
		f.binlogMonitor = true
	} else if code(err) != errSpecificAccessDenied && f.logBin {
		return f, fmt.Errorf("check prerequisites: SHOW BINARY LOGS: %w", err)
	}
	if f.logBin && f.mariaDB {
		gtids, _ := binlog.ParseGTIDSet(vars["gtid_binlog_pos"])
		if len(gtids) > 0 || f.binlogMonitor {
			f.replication = s.probeStream(ctx, gtids)
		} else {
			// A stream from the log's end needs BINLOG MONITOR to find
			// it: that problem comes first.
			f.replicationUnknown = true
		}
	}
	if f.tables, err = s.tableFacts(ctx, conn, pub); err != nil {
		return f, err
	}
	return f, nil
}

// probeStream streams the end of the binary log as a replica would, with
// an id of its own (not the pipeline's, whose stream it would cut off), to
// learn whether the server lets the user: the server's refusal, or nil.
func (s *Source) probeStream(ctx context.Context, gtids binlog.GTIDSet) error {
	cfg := s.cfg
	cfg.ServerID = 0 // derived from the name below, unlike the pipeline's
	probe := binlog.NewFromConfig(cfg, strings.TrimPrefix(s.name, "s3bridge_")+"_check")
	// From the GTIDs anyone may read when there are some: the log's end
	// (SHOW MASTER STATUS) needs BINLOG MONITOR, which is checked apart.
	start := binlog.Position{GTIDs: gtids}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := probe.Stream(pctx, binlog.StreamOptions{Start: start, NonBlocking: true,
		Include: func(string, string) bool { return false }})
	if err != nil {
		return err
	}
	defer st.Close(context.WithoutCancel(ctx))
	for {
		if _, err := st.Next(pctx); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// tableFacts looks at the captured tables: every one listed, or every base
// table AllTables takes.
func (s *Source) tableFacts(ctx context.Context, conn *sql.Conn, pub Publication) ([]tableFacts, error) {
	tables := pub.Tables
	if pub.AllTables {
		var err error
		if tables, err = s.allTables(ctx, conn); err != nil {
			return nil, fmt.Errorf("check tables: %w", err)
		}
	}
	out := make([]tableFacts, 0, len(tables))
	for _, t := range tables {
		tf := tableFacts{t: t}
		_, err := conn.ExecContext(ctx, "SELECT 1 FROM "+quoted(t)+" LIMIT 0")
		switch code(err) {
		case 0:
			tf.readable = err == nil
		case errNoSuchTable:
			tf.missing = true
		case errTableAccessDenied:
			tf.denied = true
		}
		if err != nil && !tf.missing && !tf.denied {
			return nil, fmt.Errorf("check table %s: %w", t, err)
		}
		if tf.readable {
			err := conn.QueryRowContext(ctx, `SELECT COALESCE(t.ENGINE, ''), COALESCE(e.TRANSACTIONS = 'YES', FALSE),
					EXISTS (SELECT 1 FROM information_schema.STATISTICS s
						WHERE s.TABLE_SCHEMA = t.TABLE_SCHEMA AND s.TABLE_NAME = t.TABLE_NAME AND s.INDEX_NAME = 'PRIMARY')
				FROM information_schema.TABLES t LEFT JOIN information_schema.ENGINES e ON e.ENGINE = t.ENGINE
				WHERE t.TABLE_SCHEMA = ? AND t.TABLE_NAME = ?`, t.Schema, t.Name).Scan(&tf.engine, &tf.transacted, &tf.primary)
			if err != nil {
				return nil, fmt.Errorf("check table %s: %w", t, err)
			}
			cols, err := readColumns(ctx, conn, t)
			if err != nil {
				return nil, fmt.Errorf("check table %s: %w", t, err)
			}
			for _, c := range cols {
				if _, err := columnType(c); err != nil {
					tf.unsupported = append(tf.unsupported, c.name+" ("+c.columnType+")")
				}
			}
		}
		out = append(out, tf)
	}
	return out, nil
}

// code returns the server's error number of err, 0 for none.
func code(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	var pe *mysqlproto.Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return 0
}
