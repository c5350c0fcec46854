package mysource

import (
	"fmt"
	"github.com/s3bridge/s3bridge/statement"
	"strings"
	"time"
)

// problems judges what Check found: the problems in the order an operator
// fixes them (the server, the user's grants, the tables), then the
// retention note.
func problems(f facts, pub Publication) []Problem {
	var out []Problem
	block := func(what, fix string) { out = append(out, Problem{Blocking: true, What: what, Fix: fix}) }
	if !f.mariaDB {
		block(fmt.Sprintf("the server is %s, not MariaDB: MariaDB pipelines read MariaDB's binary log, GTIDs and consistent snapshots", f.version),
			"use a MariaDB server (10.5 or later); MySQL sources are not supported yet (a MySQL snapshot would also need FLUSH TABLES WITH READ LOCK for a moment to learn its binary-log position)")
		return out
	}
	myCnf := func(setting string) string {
		return fmt.Sprintf("SET GLOBAL %s; and put it in the server's configuration ([mariadbd] in my.cnf) so it survives a restart", setting)
	}
	if !f.logBin {
		block("the binary log is off (log_bin)",
			"add log_bin, server_id, binlog_format=ROW, binlog_row_image=FULL and binlog_row_metadata=FULL to [mariadbd] in my.cnf and restart the server: log_bin can't be turned on while it runs")
	}
	if f.binlogFormat != "ROW" {
		block(fmt.Sprintf("binlog_format is %s: changes must be logged as rows (ROW), not as statements", orNone(f.binlogFormat)),
			myCnf("binlog_format = 'ROW'")+" (sessions already connected keep their format until they reconnect)")
	}
	if f.rowImage != "FULL" {
		block(fmt.Sprintf("binlog_row_image is %s: updates and deletes must log whole rows (FULL)", orNone(f.rowImage)),
			myCnf("binlog_row_image = 'FULL'"))
	}
	switch f.rowMetadata {
	case "":
		block("the server has no binlog_row_metadata (MariaDB before 10.5): its binary log can't name the columns of the rows it logs",
			"upgrade the server to MariaDB 10.5 or later")
	case "FULL":
	default:
		block(fmt.Sprintf("binlog_row_metadata is %s: the binary log must name every row's columns (FULL)", f.rowMetadata),
			myCnf("binlog_row_metadata = 'FULL'"))
	}
	if f.compress == "ON" {
		block("log_bin_compress is ON: compressed binary log events are not supported",
			myCnf("log_bin_compress = OFF")+"; events logged compressed before can't be read, so create the pipeline after the change")
	}
	switch {
	case f.serverID == 0:
		block("the server's server_id is 0: it refuses replicas", myCnf("server_id = <a number no other server of the topology has>"))
	case f.serverID == f.clientID:
		block(fmt.Sprintf("the pipeline would register as replica %d, the server's own server_id", f.clientID),
			"choose another id: ?server_id=N in the source URL")
	}
	user := quoteUser(f.user)
	if !f.binlogMonitor {
		what := fmt.Sprintf("user %s may not read the binary log's files and position (BINLOG MONITOR)", f.user)
		if f.replicationUnknown {
			what += "; whether it may stream the log can't be tried before"
		}
		block(what, fmt.Sprintf("GRANT BINLOG MONITOR ON *.* TO %s; (REPLICATION CLIENT before MariaDB 10.5)", user))
	}
	switch err := f.replication; {
	case err == nil:
	case code(err) == errSpecificAccessDenied || code(err) == errAccessDenied:
		// COM_REGISTER_SLAVE without the grant is "access denied" for
		// the user, though it logged in (the same password did, for the
		// other checks).
		block(fmt.Sprintf("user %s may not stream the binary log (REPLICATION SLAVE): %v", f.user, err),
			fmt.Sprintf("GRANT REPLICATION SLAVE ON *.* TO %s;", user))
	default:
		block(fmt.Sprintf("streaming the binary log failed: %v", err), "see the server's error")
	}
	out = append(out, tableProblems(f, pub, user)...)
	return append(out, retention(f))
}

// tableProblems names the captured tables that can't be read, and warns of
// those without a primary key or a transactional engine.
func tableProblems(f facts, pub Publication, user string) []Problem {
	var out []Problem
	for _, tf := range f.tables {
		t := tf.t
		switch {
		case tf.missing:
			out = append(out, Problem{Blocking: true, Table: &t, What: "table " + t.String() + " does not exist",
				Fix: "create it, or leave it out of the pipeline"})
			continue
		case tf.denied:
			out = append(out, Problem{Blocking: true, Table: &t,
				What: fmt.Sprintf("user %s may not SELECT from table %s (or it does not exist)", f.user, t),
				Fix:  fmt.Sprintf("GRANT SELECT ON %s TO %s; (or ON %s.* for the whole database)", quoted(t), user, statement.QuoteIdentMySQL(t.Schema))})
			continue
		case !tf.readable:
			continue
		}
		if len(tf.unsupported) > 0 {
			out = append(out, Problem{Blocking: true, Table: &t,
				What: fmt.Sprintf("table %s has columns of types pipelines don't take: %s", t, strings.Join(tf.unsupported, ", ")),
				Fix:  "ALTER TABLE " + quoted(t) + " MODIFY the column to a type they take (drop COMPRESSED; CHAR(36) for a UUID, VARCHAR(45) for an INET4 or INET6), or leave the table out of the pipeline"})
		}
		if !tf.primary {
			out = append(out, Problem{Table: &t,
				What: "table " + t.String() + " has no primary key: with binlog_row_image=FULL its updates and deletes still log the whole row before and after, so its files are complete, " +
					"but a reader can match a change to its row only by comparing every column (and can't tell identical rows apart), and its snapshot is one chunk, read at the snapshot's exact point by one session, not resumed by chunk",
				Fix: "ALTER TABLE " + quoted(t) + " ADD PRIMARY KEY (…);"})
		}
		if !tf.transacted {
			out = append(out, Problem{Table: &t,
				What: fmt.Sprintf("table %s uses the %s engine, which consistent snapshots don't cover: its snapshot reads it as it is at the time, not as of the snapshot's point (with a primary key the streamed changes set that right; without one, rows changed during the copy may be doubled or missing)", t, orNone(tf.engine)),
				Fix:  "ALTER TABLE " + quoted(t) + " ENGINE = InnoDB;"})
		}
	}
	return out
}

// retention is the note on how long the server keeps its binary logs,
// which bounds how long a pipeline may stay stopped.
func retention(f facts) Problem {
	if f.retention <= 0 {
		return Problem{
			What: fmt.Sprintf("the server keeps its binary logs until they are purged by hand (%s = 0): a PURGE BINARY LOGS past a stopped pipeline's checkpoint loses its position, and it then needs a new snapshot", f.retentionVar),
			Fix:  "purge only logs older than every pipeline's checkpoint (pipeline show gives the bytes each still needs)"}
	}
	return Problem{
		What: fmt.Sprintf("the server keeps its binary logs %s (%s): a pipeline stopped for longer loses its position and needs a new snapshot (pipeline snapshot)", days(f.retention), f.retentionVar),
		Fix:  "to allow longer stops: SET GLOBAL binlog_expire_logs_seconds = 604800; (7 days; expire_logs_days before MariaDB 10.6) and put it in my.cnf"}
}

func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		n := d / (24 * time.Hour)
		if n == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", n)
	}
	return d.String()
}

func orNone(s string) string {
	if s == "" {
		return "(not set)"
	}
	return s
}

// quoteUser turns CURRENT_USER()'s user@host into 'user'@'host'.
func quoteUser(u string) string {
	name, host := u, "%"
	if i := strings.LastIndexByte(u, '@'); i >= 0 {
		name, host = u[:i], u[i+1:]
	}
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	return q(name) + "@" + q(host)
}
