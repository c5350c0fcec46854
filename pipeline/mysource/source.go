// Package mysource is the MariaDB source of s3bridge's pipelines, with the
// shape of pipeline/pgsource: it checks the server's prerequisites, takes
// consistent snapshots of the captured tables at an exact binary-log
// position, streams the binary log from a checkpoint as pipeline events
// (through pipeline/binlog), keeps only the captured tables' rows, and
// turns the positions the caller says are durable into resume tokens.
//
// What differs from PostgreSQL, and why:
//   - There is no replication slot: the server keeps its binary logs for
//     binlog_expire_logs_seconds whatever its replicas read, and a stream
//     starts from any position it still has. Create and Drop touch nothing
//     on the server; Confirm only records the resume token; a checkpoint
//     whose logs were purged can't be resumed (*PurgedError).
//   - There is no publication: the captured tables (Publication) are a
//     filter applied to the stream here, on the client.
//   - There are no exported snapshots: START TRANSACTION WITH CONSISTENT
//     SNAPSHOT gives one session a snapshot and the exact binary-log
//     position it is consistent with (binlog_snapshot_file/position), with
//     no lock. Other sessions of the same snapshot are each their own
//     consistent snapshot at a later position; see Snapshot for why their
//     rows are still exact for a reader of the files.
//   - A position is a resume token (Token: GTIDs and file:offset), which
//     the checkpoint must store beside its LSN: the LSN (file number and
//     offset, see binlog.Position.LSN) orders changes but can't be resumed
//     from on another server of the topology.
package mysource

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/binlog"
	"github.com/s3bridge/s3bridge/statement"
)

var validName = regexp.MustCompile(`^[a-z0-9_]{1,54}$`)

// Table names a table by database ("schema" in the pipeline's terms:
// MariaDB's database is its schema) and name.
type Table = pipeline.Table

// quoted is t's quoted, qualified name.
func quoted(t Table) string {
	return statement.QuoteIdentMySQL(t.Schema) + "." + statement.QuoteIdentMySQL(t.Name)
}

// Publication says which tables a pipeline captures. AllTables captures
// every base table, present and future, of the source URL's database — of
// every database but the server's own (mysql, sys, information_schema,
// performance_schema) when the URL names none.
type Publication = pipeline.Publication

// systemDatabases are never captured by AllTables.
var systemDatabases = []string{"mysql", "sys", "information_schema", "performance_schema"}

// allTables lists the base tables AllTables captures now, in name order:
// those of the URL's database, or of every database but systemDatabases.
func (s *Source) allTables(ctx context.Context, conn *sql.Conn) ([]Table, error) {
	q := `SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') AND TABLE_SCHEMA NOT IN (?` + strings.Repeat(", ?", len(systemDatabases)-1) + `)`
	var args []any
	for _, db := range systemDatabases {
		args = append(args, db)
	}
	if s.cfg.Database != "" {
		q += " AND TABLE_SCHEMA = ?"
		args = append(args, s.cfg.Database)
	}
	rows, err := conn.QueryContext(ctx, q+" ORDER BY 1, 2", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Table
	for rows.Next() {
		var t Table
		if err := rows.Scan(&t.Schema, &t.Name); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Source is one pipeline's view of a MariaDB server. It is safe for
// concurrent use.
type Source struct {
	cfg  binlog.Config
	bin  *binlog.Source
	name string // s3bridge_<pipeline>

	mu  sync.Mutex
	pub Publication
}

// New returns the source of pipeline name on the server at url
// (mysql://user:password@host:port/database?server_id=N&tls=…, see
// binlog.ParseURL), capturing pub's tables. A URL without a password
// takes the MYSQL_PWD environment variable's, as the mysql client does
// (and as pgx takes PGPASSWORD): a pipeline's stored URL holds none.
func New(url, name string, pub Publication) (*Source, error) {
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("pipeline name %q: want 1-54 of a-z, 0-9 and _", name)
	}
	cfg, err := binlog.ParseURL(url)
	if err != nil {
		return nil, err
	}
	if cfg.Password == "" {
		cfg.Password = os.Getenv("MYSQL_PWD")
	}
	bin := binlog.NewFromConfig(cfg, name)
	cfg.ServerID = bin.ServerID()
	return &Source{cfg: cfg, bin: bin, name: "s3bridge_" + name, pub: clonePub(pub)}, nil
}

// SlotName returns the name the pipeline's stream registers with (as the
// replica's host name, see SHOW SLAVE HOSTS). No slot of that name exists:
// the name is kept for logs and for the shape pgsource has.
func (s *Source) SlotName() string { return s.name }

// Database returns the pipeline's name for the server (the URL's
// database, "" when it names none).
func (s *Source) Database() string { return s.cfg.Database }

// ServerID returns the id the stream registers with.
func (s *Source) ServerID() uint32 { return s.cfg.ServerID }

// Publication returns the tables captured now.
func (s *Source) Publication() Publication {
	s.mu.Lock()
	defer s.mu.Unlock()
	return clonePub(s.pub)
}

func clonePub(p Publication) Publication {
	return Publication{AllTables: p.AllTables, Tables: slices.Clone(p.Tables)}
}

// include is the stream's table filter for pub.
func (s *Source) include(pub Publication) func(database, table string) bool {
	if !pub.AllTables {
		set := make(map[Table]bool, len(pub.Tables))
		for _, t := range pub.Tables {
			set[t] = true
		}
		return func(database, table string) bool { return set[Table{Schema: database, Name: table}] }
	}
	if db := s.cfg.Database; db != "" {
		return func(database, _ string) bool { return database == db }
	}
	return func(database, _ string) bool { return !slices.Contains(systemDatabases, strings.ToLower(database)) }
}

// databases are the databases pub's tables are in, for the stream's
// check of DML logged as statements (binlog.StreamOptions.Databases); nil
// when pub may take any database's.
func (s *Source) databases(pub Publication) []string {
	if pub.AllTables {
		if s.cfg.Database == "" {
			return nil
		}
		return []string{s.cfg.Database}
	}
	var out []string
	for _, t := range pub.Tables {
		if !slices.Contains(out, t.Schema) {
			out = append(out, t.Schema)
		}
	}
	return out
}

// SyncPublication makes the source capture exactly pub's tables (pipeline
// add-table changes them) and reports whether that changed anything. There
// is nothing to change on the server: a stream started after it returned
// keeps the rows of pub's tables. The tables added must exist.
func (s *Source) SyncPublication(ctx context.Context, pub Publication) (bool, error) {
	cur := s.Publication()
	if cur.AllTables == pub.AllTables && sameTables(cur.Tables, pub.Tables) {
		return false, nil
	}
	if !pub.AllTables {
		var added []Table
		for _, t := range pub.Tables {
			if !slices.Contains(cur.Tables, t) {
				added = append(added, t)
			}
		}
		if err := s.mustExist(ctx, added); err != nil {
			return false, err
		}
	}
	s.mu.Lock()
	s.pub = clonePub(pub)
	s.mu.Unlock()
	return true, nil
}

func sameTables(a, b []Table) bool {
	if len(a) != len(b) {
		return false
	}
	for _, t := range b {
		if !slices.Contains(a, t) {
			return false
		}
	}
	return true
}

// Drop removes what the pipeline holds on the server: nothing. A stream
// registers as a replica only while it is connected, and the server keeps
// no position for it (the binary logs are kept by binlog_expire_logs_seconds,
// not by their readers). It exists for the shape pgsource has.
func (s *Source) Drop(context.Context) error { return nil }

// connect opens a session for the source's own queries: one connection,
// closed with its *sql.DB (close both). Sessions read text as UTF-8 and
// times in UTC, the forms a snapshot's values are taken from.
func (s *Source) connect(ctx context.Context) (*sql.DB, *sql.Conn, error) {
	mc := mysql.NewConfig()
	mc.User, mc.Passwd, mc.Net, mc.Addr = s.cfg.User, s.cfg.Password, "tcp", s.cfg.Addr
	mc.TLS = s.cfg.TLS
	mc.Loc = time.UTC
	mc.Params = map[string]string{"time_zone": "'+00:00'"}
	if err := mc.Apply(mysql.Charset("utf8mb4", "utf8mb4_general_ci")); err != nil {
		return nil, nil, err
	}
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to MariaDB at %s: %w", s.cfg.Addr, err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("connect to MariaDB at %s as %s: %w", s.cfg.Addr, s.cfg.User, err)
	}
	return db, conn, nil
}

// mustExist fails naming the tables of ts that are not base tables the
// user can see.
func (s *Source) mustExist(ctx context.Context, ts []Table) error {
	if len(ts) == 0 {
		return nil
	}
	db, conn, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	defer conn.Close()
	var missing []string
	for _, t := range ts {
		var n int
		err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.TABLES
			WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')`, t.Schema, t.Name).Scan(&n)
		if err != nil {
			return fmt.Errorf("look up table %s: %w", t, err)
		}
		if n == 0 {
			missing = append(missing, t.String())
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("tables %s: no such base table (or no privilege on it)", strings.Join(missing, ", "))
	}
	return nil
}
