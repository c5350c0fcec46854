// Package mysql attaches s3bridge to MariaDB (and MySQL 8): an s3bridge
// database holding the tables, RDS-style SQL functions and procedures.
// Agents find new tasks by polling, which is cheap against the indexed
// lifecycle column.
package mysql

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

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
	// functionFormsSQL holds the SELECT forms of the entry points that
	// write, installed only where the server allows them (install.go).
	//go:embed function_forms.sql
	functionFormsSQL string
)

// SchemaParam is the instance URL query parameter naming the s3bridge
// database (default "s3bridge"); it is removed before connecting.
const SchemaParam = "s3bridge_schema"

// Instance is an attached MariaDB or MySQL database.
type Instance struct {
	*sqlstore.Store
	cfg    *mysql.Config
	schema string
	// note says which forms of the SQL interface the last Attach
	// installed, and why (InstallNote).
	note string
}

var _ instance.Instance = (*Instance)(nil)

// Config turns mysql://user:pass@host:3306/db?socket=…&tls=… into the
// driver's config: UTC times, found-rows semantics for the queue's updates,
// and no access to local files (LOAD DATA LOCAL goes through reader
// handlers only).
func Config(raw string) (*mysql.Config, string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "mysql" && u.Scheme != "mariadb") {
		return nil, "", fmt.Errorf("mysql URL: want mysql://user:pass@host:3306/db")
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net, cfg.Addr = "tcp", u.Host
	if u.Port() == "" && u.Host != "" {
		cfg.Addr = u.Host + ":3306"
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	q := u.Query()
	if sock := q.Get("socket"); sock != "" {
		cfg.Net, cfg.Addr = "unix", sock
	}
	if tls := q.Get("tls"); tls != "" {
		cfg.TLSConfig = tls
	}
	schema := q.Get(SchemaParam)
	if schema == "" {
		schema = "s3bridge"
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.ClientFoundRows = true
	cfg.AllowAllFiles = false
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	return cfg, schema, nil
}

// Open connects to the database named by a mysql:// URL.
func Open(ctx context.Context, raw string) (*Instance, error) {
	cfg, schema, err := Config(raw)
	if err != nil {
		return nil, err
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql URL: %w", err)
	}
	db := sql.OpenDB(conn)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to mysql %s/%s: %w", cfg.Addr, cfg.DBName, err)
	}
	in := &Instance{cfg: cfg, schema: schema}
	in.Store = sqlstore.New(db, in.dialect(), cfg.DBName)
	return in, nil
}

func quote(name string) string { return sqlstore.QuoteIdent(name, '`') }

func (in *Instance) dialect() sqlstore.Dialect {
	s := quote(in.schema)
	vars := map[string]string{"s": s}
	render := func(text string) []string { return sqlstore.Script(text, vars) }
	functions := render(sqlstore.ScriptFiles(functionsFS, "functions*.sql"))
	forms := render(functionFormsSQL)
	return sqlstore.Dialect{
		Name:         "mysql",
		Table:        func(name string) string { return s + "." + quote(name) },
		LockRows:     " FOR UPDATE",
		SessionAlive: sessionAlive,
		// A queue transaction left idle 10 s (its agent frozen) is ended
		// by the server; loads and exports reset it on their connections.
		TxSetup: "SET SESSION idle_transaction_timeout = 10",
		Attached: `SELECT count(*) FROM information_schema.tables WHERE table_schema = ` + statement.QuoteLiteralMySQL(in.schema) +
			` AND table_name = 'settings'`,
		SkipLocked: " FOR UPDATE SKIP LOCKED",
		DDL:        render(schemaSQL),
		// A replica or a restored copy holds the queue too, with the
		// server_id attach recorded (install.go) but its own @@server_id.
		ServerCheck: `SELECT CASE WHEN value <> CAST(@@server_id AS CHAR) THEN CONCAT('this server (server_id ', @@server_id,
			') is a copy of the attached one (server_id ', value, ')') END FROM {settings} WHERE name = 'server_id'`,
		// owner is the login user that enqueued the task: the SQL
		// interface shows a caller only its own tasks (the schema is
		// server-wide, so it would otherwise show every database's).
		Added: []sqlstore.Column{
			{Table: "{tasks}", Name: "attempt", Type: "BIGINT NOT NULL DEFAULT 0"},
			{Table: "{tasks}", Name: "owner", Type: "VARCHAR(128) DEFAULT (SUBSTRING_INDEX(USER(), '@', 1))"},
			{Table: "{tasks}", Name: "rows_processed", Type: "BIGINT NOT NULL DEFAULT 0"},
			{Table: "{tasks}", Name: "files_processed", Type: "BIGINT NOT NULL DEFAULT 0"},
			{Table: "{tasks}", Name: "bytes_processed", Type: "BIGINT NOT NULL DEFAULT 0"},
			{Table: "{tasks}", Name: "error_code", Type: "VARCHAR(64) NULL"},
			{Table: "{tasks}", Name: "caller_session", Type: "VARCHAR(64) NULL"},
			// the stored connector a task is a run of, and the fire it ran for
			{Table: "{tasks}", Name: "connector", Type: "VARCHAR(190) NULL"},
			{Table: "{tasks}", Name: "scheduled_at", Type: "DATETIME(6) NULL"},
			{Table: "{agents}", Name: "stopped_at", Type: "DATETIME(6) NULL"},
		},
		InstallSQL: func(ctx context.Context, tx *sql.Tx) error {
			note, err := in.install(ctx, tx, functions, forms)
			in.note = note
			return err
		},
		DropSQL: func(ctx context.Context, tx *sql.Tx) error {
			return run(ctx, tx, drops(append(slices.Clone(functions), forms...)))
		},
	}
}

func stripComments(stmt string) string {
	var keep []string
	for _, l := range strings.Split(stmt, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// Schema is the name of the s3bridge database.
func (in *Instance) Schema() string { return in.schema }

// sessionAlive reports whether a synchronous caller still waits: its
// connection is in the process list and running a statement. A caller
// waits inside its CALL, so a connection that is idle (Command Sleep) has
// left it: KILL QUERY and max_statement_time end the CALL but keep the
// connection. An agent without the PROCESS privilege sees only its own
// account's connections, so it can't tell that another account's session
// has gone: it counts a session it can't see as alive rather than cancel a
// task whose caller is still there (docs/agent.md asks for PROCESS).
func sessionAlive(ctx context.Context, db *sql.DB, session string) (bool, error) {
	var found, running, process int
	err := db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM information_schema.processlist WHERE id = ?),
		(SELECT count(*) FROM information_schema.processlist WHERE id = ? AND command NOT IN ('Sleep', 'Killed')),
		(SELECT count(*) FROM information_schema.user_privileges WHERE privilege_type = 'PROCESS'
			AND grantee = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), ''''))`,
		session, session).Scan(&found, &running, &process)
	if err != nil {
		return false, err
	}
	return running > 0 || (found == 0 && process == 0), nil
}
