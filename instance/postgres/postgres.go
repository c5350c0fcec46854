// Package postgres attaches s3bridge to PostgreSQL: the s3bridge schema's
// tables, the RDS-style SQL functions, and LISTEN/NOTIFY so agents pick up
// tasks the moment they are enqueued.
package postgres

import (
	"bufio"
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
	"github.com/s3bridge/s3bridge/statement"
)

var (
	//go:embed schema.sql
	schemaSQL string
	// functionsFS holds the SQL interface, one file per capability
	// (functions.sql, functions_load.sql, functions_export.sql…), installed
	// in name order.
	//go:embed functions*.sql
	functionsFS embed.FS
)

// Instance is an attached PostgreSQL database.
type Instance struct {
	*sqlstore.Store
	// pool holds every connection of the instance but the LISTEN one:
	// the queue's, through database/sql, and the loads' and exports',
	// taken whole (bulkConn). A short task thus runs on the connection
	// its claim used instead of opening one, and an agent keeps its
	// connections warm from one task to the next.
	pool       *pgxpool.Pool
	connString string
	schema     string
	channel    string
}

var (
	_ instance.Instance = (*Instance)(nil)
	_ instance.Notifier = (*Instance)(nil)
)

// SchemaParam is the instance URL query parameter naming the s3bridge
// schema (default "s3bridge"); it is removed before connecting.
const SchemaParam = "s3bridge_schema"

// QueueIdleTimeout is how long the server lets a transaction of the
// queue's pool sit idle before it ends it.
const QueueIdleTimeout = 10 * time.Second

// poolIdleTime is how long a connection may sit unused in the pool before
// it is closed: long enough to serve the next task, short enough that a
// burst of parallel loads doesn't hold the server's connections for long.
const poolIdleTime = time.Minute

// Open connects to the database named by a postgres:// URL.
func Open(ctx context.Context, raw string) (*Instance, error) {
	connString, schema, err := splitURL(raw)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("postgres URL: %w", redactErr(err))
	}
	// The pool runs the queue's short transactions (claims lock the
	// settings row). An agent frozen inside one (SIGSTOP, a VM pause)
	// would block every other agent's claims for as long as its TCP
	// connection lives: the server ends such a transaction after
	// QueueIdleTimeout instead. Loads and exports lift the limit for
	// their own transactions (bulkBegin).
	cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.Itoa(int(QueueIdleTimeout / time.Millisecond))
	// No limit, as database/sql had none: a heartbeat must never wait
	// for a connection that a long load holds.
	cfg.MaxConns = math.MaxInt32
	cfg.MaxConnIdleTime = poolIdleTime
	cfg.ConnConfig.BuildFrontend = bufferedFrontend
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres %s/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	// Connect now, so a wrong URL fails here; the connection stays in the
	// pool for the first query.
	c, err := pool.Acquire(ctx)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres %s/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	c.Release()
	in := &Instance{pool: pool, connString: connString, schema: schema, channel: schema + "_tasks"}
	in.Store = sqlstore.New(stdlib.OpenDBFromPool(pool), in.dialect(false), cfg.ConnConfig.Database)
	return in, nil
}

// readBuffer is how much one read from the server's socket may take.
const readBuffer = 256 << 10

// bufferedFrontend is pgproto3.NewFrontend reading through a buffer of
// readBuffer bytes. pgx's own buffer is 8 KiB, and COPY TO sends a
// message per row: an export of 200 MB made some 25,000 reads of the
// socket, a third of the CPU the export itself took (perf: the sys time
// of s3bridge export, bench/export.sh). The buffer only changes how much
// a read asks for; the messages are read as before.
func bufferedFrontend(r io.Reader, w io.Writer) *pgproto3.Frontend {
	return pgproto3.NewFrontend(bufio.NewReaderSize(r, readBuffer), w)
}

// Close implements instance.Instance: it closes the pool's connections.
func (in *Instance) Close() error {
	err := in.Store.Close()
	in.pool.Close()
	return err
}

// bulkConn takes a connection of the pool for a load or an export; the
// caller releases it. bulkBegin then starts its transaction.
func (in *Instance) bulkConn(ctx context.Context) (*pgxpool.Conn, error) {
	return in.pool.Acquire(ctx)
}

// bulkBegin starts a load's or an export's transaction (isolation is
// e.g. "ISOLATION LEVEL REPEATABLE READ READ ONLY", or ""), in the same
// round trip lifting the pool's idle_in_transaction_session_timeout for
// it: such a transaction may wait on S3 between statements for longer.
// SET LOCAL ends with the transaction, so the connection goes back to
// the pool with the queue's limit.
func bulkBegin(ctx context.Context, conn *pgx.Conn, isolation string) (pgx.Tx, error) {
	return conn.BeginTx(ctx, pgx.TxOptions{BeginQuery: "BEGIN " + isolation + "; SET LOCAL idle_in_transaction_session_timeout = 0"})
}

// splitURL removes s3bridge's own parameter from the URL.
func splitURL(raw string) (conn, schema string, err error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", "", fmt.Errorf("postgres URL: want postgres://user@host:5432/db")
	}
	q := u.Query()
	schema = q.Get(SchemaParam)
	if schema == "" {
		schema = "s3bridge"
	}
	q.Del(SchemaParam)
	u.RawQuery = q.Encode()
	return u.String(), schema, nil
}

// redactErr drops pgx's parse error text, which may quote the URL with its
// password.
func redactErr(err error) error {
	return fmt.Errorf("cannot parse connection string (password not shown)")
}

// dialect is the instance's SQL; replaceCompat lets attach drop a foreign
// aws_s3 schema (AttachReplacing).
func (in *Instance) dialect(replaceCompat bool) sqlstore.Dialect {
	s := pgx.Identifier{in.schema}.Sanitize()
	channel := statement.QuoteLiteralPG(in.channel)
	vars := map[string]string{"s": s, "channel": channel}
	render := func(text string) []string { return sqlstore.Script(text, vars) }
	functions := render(sqlstore.ScriptFiles(coreFS{functionsFS}, "functions*.sql"))
	compat := newCompat(in.schema, vars, replaceCompat)
	return sqlstore.Dialect{
		Name:         "postgres",
		Table:        func(name string) string { return s + "." + pgx.Identifier{name}.Sanitize() },
		Dollar:       true,
		ReturningID:  true,
		LockRows:     " FOR UPDATE",
		SkipLocked:   " FOR UPDATE SKIP LOCKED",
		DDL:          render(schemaSQL),
		ErrorAborts:  true,
		SessionAlive: sessionAlive,
		Attached:     `SELECT count(*) FROM pg_catalog.pg_class WHERE oid = to_regclass(` + statement.QuoteLiteralPG(s+".settings") + `)`,
		Added: []sqlstore.Column{
			{Table: "{tasks}", Name: "attempt", Type: "bigint NOT NULL DEFAULT 0"},
			{Table: "{tasks}", Name: "rows_processed", Type: "bigint NOT NULL DEFAULT 0"},
			{Table: "{tasks}", Name: "files_processed", Type: "bigint NOT NULL DEFAULT 0"},
			{Table: "{tasks}", Name: "bytes_processed", Type: "bigint NOT NULL DEFAULT 0"},
			{Table: "{tasks}", Name: "error_code", Type: "text"},
			{Table: "{tasks}", Name: "caller_session", Type: "text"},
			// the stored connector a task is a run of, and the fire it ran for
			{Table: "{tasks}", Name: "connector", Type: "text"},
			{Table: "{tasks}", Name: "scheduled_at", Type: "timestamptz"},
			{Table: "{agents}", Name: "stopped_at", Type: "timestamptz"},
		},
		InstallSQL: func(ctx context.Context, tx *sql.Tx) error {
			// SQL functions' bodies are checked at CREATE with the
			// session's settings.
			if _, err := tx.ExecContext(ctx, "SET LOCAL standard_conforming_strings = on"); err != nil {
				return err
			}
			for _, stmt := range functions {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			// The functions' bodies are written for standard conforming
			// strings, and PostgreSQL parses a body's literals with the
			// calling session's setting: pin it on every function, so a
			// database or role with standard_conforming_strings = off
			// neither breaks them nor lets a backslash end a literal.
			_, err := tx.ExecContext(ctx, `DO $$ DECLARE r record; BEGIN
				FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
					WHERE p.pronamespace = `+statement.QuoteLiteralPG(s)+`::regnamespace AND p.prokind = 'f'
				LOOP EXECUTE 'ALTER FUNCTION ' || r.sig || ' SET standard_conforming_strings = on'; END LOOP; END $$`)
			if err != nil {
				return err
			}
			return compat.install(ctx, tx)
		},
		DropSQL: func(ctx context.Context, tx *sql.Tx) error {
			if err := compat.drop(ctx, tx); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `DO $$ DECLARE r record; BEGIN
				FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
					WHERE p.pronamespace = `+statement.QuoteLiteralPG(s)+`::regnamespace AND p.proname <> 'notify_agents'
				LOOP EXECUTE 'DROP FUNCTION ' || r.sig; END LOOP; END $$`)
			return err
		},
	}
}

// Schema is the name of the s3bridge schema in this database.
func (in *Instance) Schema() string { return in.schema }

// sessionAlive looks for a backend recorded as "pid@backend start in ms":
// the start time tells a pid reused by a later backend from the caller's.
func sessionAlive(ctx context.Context, db *sql.DB, session string) (bool, error) {
	pid, start, ok := strings.Cut(session, "@")
	if !ok {
		return false, fmt.Errorf("session %q: want pid@start", session)
	}
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_catalog.pg_stat_activity
		WHERE pid = $1::int AND floor(extract(epoch FROM backend_start) * 1000)::bigint = $2::bigint`, pid, start).Scan(&n)
	return n > 0, err
}
