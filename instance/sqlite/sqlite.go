// Package sqlite attaches s3bridge to a SQLite database file. SQLite has no
// server-side functions, so it is driven from the CLI and the agent; its
// tables are named s3bridge_* in the main schema. Claims are serialized by
// SQLite's own locking (BEGIN IMMEDIATE).
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/s3bridge/s3bridge/instance/sqlstore"
)

// Instance is an attached SQLite database.
type Instance struct {
	*sqlstore.Store
	path string
}

// Path parses sqlite:///abs/file.db or sqlite:rel/file.db into a file path.
func Path(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "sqlite" {
		return "", fmt.Errorf("sqlite URL %q: want sqlite:///path/to/file.db", raw)
	}
	p := u.Path
	if u.Opaque != "" {
		p = u.Opaque
	}
	if u.Host != "" {
		// sqlite://rel/file.db: the "host" is the first path element.
		p = u.Host + p
	}
	if p == "" {
		return "", fmt.Errorf("sqlite URL %q: no file path", raw)
	}
	return filepath.Clean(p), nil
}

// Open opens (creating if needed) the SQLite file named by an instance URL.
func Open(ctx context.Context, raw string) (*Instance, error) {
	p, err := Path(raw)
	if err != nil {
		return nil, err
	}
	dsn := "file:" + p + "?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", p, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", p, err)
	}
	name := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
	return &Instance{Store: sqlstore.New(db, dialect, name), path: p}, nil
}

func table(name string) string { return sqlstore.QuoteIdent("s3bridge_"+name, '"') }

var dialect = sqlstore.Dialect{
	Name:     "sqlite",
	Table:    table,
	Attached: `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 's3bridge_settings'`,
	DDL: []string{
		`CREATE TABLE IF NOT EXISTS {settings} (name TEXT PRIMARY KEY, value TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS {agents} (agent_id TEXT PRIMARY KEY, host TEXT NOT NULL, version TEXT NOT NULL,
			started_at DATETIME NOT NULL, last_seen DATETIME NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS {tasks} (
			task_id INTEGER PRIMARY KEY AUTOINCREMENT,
			task_type TEXT NOT NULL,
			database_name TEXT,
			lifecycle TEXT NOT NULL DEFAULT 'CREATED',
			percent_complete INTEGER NOT NULL DEFAULT 0,
			task_info TEXT,
			created_at DATETIME NOT NULL,
			last_updated DATETIME NOT NULL,
			started_at DATETIME,
			finished_at DATETIME,
			s3_object_arn TEXT,
			file_path TEXT,
			overwrite_file BOOLEAN NOT NULL DEFAULT 0,
			task_metadata TEXT NOT NULL DEFAULT '{}',
			agent_id TEXT,
			lease_until DATETIME,
			attempt INTEGER NOT NULL DEFAULT 0,
			rows_processed INTEGER NOT NULL DEFAULT 0,
			files_processed INTEGER NOT NULL DEFAULT 0,
			bytes_processed INTEGER NOT NULL DEFAULT 0,
			error_code TEXT,
			caller_session TEXT)`,
		`CREATE INDEX IF NOT EXISTS "s3bridge_tasks_lifecycle" ON {tasks} (lifecycle, task_id)`,
		`CREATE TABLE IF NOT EXISTS {task_log} (
			line_id INTEGER PRIMARY KEY AUTOINCREMENT,
			task_id INTEGER NOT NULL,
			logged_at DATETIME NOT NULL,
			level TEXT NOT NULL,
			message TEXT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS "s3bridge_task_log_task" ON {task_log} (task_id, line_id)`,
		`CREATE TABLE IF NOT EXISTS {file_details} (
			task_id INTEGER NOT NULL,
			filepath TEXT NOT NULL,
			size_in_bytes INTEGER NOT NULL,
			last_modified_utc DATETIME NOT NULL,
			is_directory BOOLEAN NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS "s3bridge_file_details_task" ON {file_details} (task_id)`,
		`CREATE TABLE IF NOT EXISTS "s3bridge_load_history" (
			task_id INTEGER NOT NULL,
			load_prefix TEXT NOT NULL,
			file_name TEXT NOT NULL,
			etag TEXT,
			bytes_loaded INTEGER NOT NULL,
			rows_loaded INTEGER NOT NULL,
			load_timestamp DATETIME NOT NULL)`,
		// One row per object an S3 import connector loaded, written in
		// the load's own transaction (see sqlstore.Store.Ledger).
		`CREATE TABLE IF NOT EXISTS "s3bridge_connector_ledger" (
			connector_name TEXT NOT NULL,
			object_key TEXT NOT NULL,
			etag TEXT NOT NULL,
			size_bytes INTEGER NOT NULL,
			last_modified DATETIME NOT NULL,
			task_id INTEGER NOT NULL,
			loaded_at DATETIME NOT NULL,
			PRIMARY KEY (connector_name, object_key))`,
		`CREATE INDEX IF NOT EXISTS "s3bridge_connector_ledger_modified" ON "s3bridge_connector_ledger" (connector_name, last_modified)`,
		// Stored connectors and their schedules (sqlstore.Connector).
		`CREATE TABLE IF NOT EXISTS "s3bridge_connectors" (
			name TEXT PRIMARY KEY,
			cron TEXT NOT NULL,
			timezone TEXT NOT NULL DEFAULT 'UTC',
			delay_seconds INTEGER NOT NULL DEFAULT 0,
			schema_name TEXT NOT NULL DEFAULT '',
			table_name TEXT NOT NULL,
			config TEXT NOT NULL,
			task_metadata TEXT NOT NULL,
			s3_object_arn TEXT,
			auto_create BOOLEAN NOT NULL DEFAULT 0,
			created_at DATETIME NOT NULL,
			updated_at DATETIME NOT NULL,
			next_fire DATETIME)`,
		// Stored pipelines (sqlstore.Pipeline).
		`CREATE TABLE IF NOT EXISTS "s3bridge_pipelines" (
			name TEXT PRIMARY KEY,
			source TEXT NOT NULL,
			config TEXT NOT NULL,
			state TEXT NOT NULL,
			reason TEXT,
			agent_id TEXT,
			lease_until DATETIME,
			attempt INTEGER NOT NULL DEFAULT 0,
			checkpoint TEXT,
			checkpoint_lsn TEXT,
			stats TEXT,
			created_at DATETIME NOT NULL,
			updated_at DATETIME NOT NULL)`,
		// API tokens (sqlstore.Token): the secret's SHA-256, never the secret.
		`CREATE TABLE IF NOT EXISTS "s3bridge_tokens" (
			name TEXT PRIMARY KEY,
			role TEXT NOT NULL,
			token_hash TEXT NOT NULL UNIQUE,
			created_at DATETIME NOT NULL,
			expires_at DATETIME)`,
		// The console's task list, newest first, a page at a time.
		`CREATE INDEX IF NOT EXISTS "s3bridge_tasks_created" ON {tasks} (created_at, task_id)`,
	},
	Added: []sqlstore.Column{
		{Table: "{tasks}", Name: "attempt", Type: "INTEGER NOT NULL DEFAULT 0"},
		{Table: "{tasks}", Name: "rows_processed", Type: "INTEGER NOT NULL DEFAULT 0"},
		{Table: "{tasks}", Name: "files_processed", Type: "INTEGER NOT NULL DEFAULT 0"},
		{Table: "{tasks}", Name: "bytes_processed", Type: "INTEGER NOT NULL DEFAULT 0"},
		{Table: "{tasks}", Name: "error_code", Type: "TEXT"},
		{Table: "{tasks}", Name: "caller_session", Type: "TEXT"},
		{Table: "{tasks}", Name: "connector", Type: "TEXT"},
		{Table: "{tasks}", Name: "scheduled_at", Type: "DATETIME"},
		{Table: "{agents}", Name: "stopped_at", Type: "DATETIME"},
	},
}
