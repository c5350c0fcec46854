package control

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/s3bridge/s3bridge/connector"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
)

// ConnectorStore is what connector create, update and delete need of an
// instance (sqlstore.Store has it).
type ConnectorStore interface {
	Connectors
	CreateConnector(ctx context.Context, c sqlstore.Connector) error
	UpdateConnector(ctx context.Context, c sqlstore.Connector, forget bool) error
	DeleteConnector(ctx context.Context, name string) error
}

// ConnectorSpec is connector create's parameters besides the config.
type ConnectorSpec struct {
	Name string `json:"name"`
	// Cron is five fields, @hourly…, @every DURATION, or "" for no
	// schedule.
	Cron string `json:"cron"`
	// Timezone is an IANA zone; default UTC.
	Timezone string `json:"timezone,omitempty"`
	// Delay starts each run that many seconds after its scheduled time.
	Delay int64 `json:"delay_seconds,omitempty"`
	// Table is the table to load, schema.table allowed.
	Table      string `json:"table"`
	AutoCreate bool   `json:"auto_create_table,omitempty"`
	// TimeColumn, when set, is written into the config's out.time_column.
	TimeColumn string `json:"time_column,omitempty"`
}

// CreateConnector stores a connector with its schedule, as connector
// create does: the config is checked (no literal secret), the first fire
// computed from now, and with AutoCreate the table made on db (the
// instance) first. A connector of the same name is ErrExists.
func CreateConnector(ctx context.Context, cs ConnectorStore, db any, spec ConnectorSpec, cfg connector.Config, now time.Time) (sqlstore.Connector, error) {
	if spec.Table == "" {
		return sqlstore.Connector{}, &Invalid{Err: fmt.Errorf("connector %s: a table is required", spec.Name)}
	}
	st := sqlstore.Connector{Name: spec.Name, Cron: spec.Cron, Timezone: spec.Timezone, Delay: time.Duration(spec.Delay) * time.Second,
		Table: spec.Table, AutoCreate: spec.AutoCreate}
	if schema, table, ok := strings.Cut(st.Table, "."); ok {
		st.Schema, st.Table = schema, table
	}
	if spec.TimeColumn != "" {
		cfg.Out.TimeColumn = spec.TimeColumn
	}
	st, err := connector.Stored(st, cfg, now)
	if err != nil {
		return st, &Invalid{Err: err}
	}
	if st.AutoCreate {
		if err := CreateTable(ctx, db, connector.Params{Name: st.Name, Config: cfg, Schema: st.Schema, Table: st.Table}); err != nil {
			return st, err
		}
	}
	if err := cs.CreateConnector(ctx, st); err != nil {
		return st, err
	}
	return st, nil
}

// ConnectorChange is connector update's parameters: each field set
// changes that, the others stay.
type ConnectorChange struct {
	Cron     *string `json:"cron,omitempty"`
	Timezone *string `json:"timezone,omitempty"`
	Delay    *int64  `json:"delay_seconds,omitempty"`
	// Config replaces the config.
	Config     *connector.Config `json:"-"`
	TimeColumn *string           `json:"time_column,omitempty"`
	// ResetState forgets what the connector loaded (its ledger).
	ResetState bool `json:"reset_state,omitempty"`
}

// UpdateConnector changes a stored connector as connector update does:
// its pending fire stays unless the schedule changed.
func UpdateConnector(ctx context.Context, cs ConnectorStore, name string, ch ConnectorChange, now time.Time) (sqlstore.Connector, error) {
	st, err := cs.Connector(ctx, name)
	if err != nil {
		return st, err
	}
	cfg, err := connector.Parse([]byte(st.Config))
	if err != nil {
		return st, fmt.Errorf("connector %s: its stored config: %w", st.Name, err)
	}
	if ch.Config != nil {
		cfg = *ch.Config
	}
	if ch.TimeColumn != nil {
		cfg.Out.TimeColumn = *ch.TimeColumn
	}
	if ch.Cron != nil {
		st.Cron = *ch.Cron
	}
	if ch.Timezone != nil {
		st.Timezone = *ch.Timezone
	}
	if ch.Delay != nil {
		st.Delay = time.Duration(*ch.Delay) * time.Second
	}
	next := st.NextFire
	if st, err = connector.Stored(st, cfg, now); err != nil {
		return st, &Invalid{Err: err}
	}
	if ch.Cron == nil && ch.Timezone == nil && next != nil && st.NextFire != nil {
		st.NextFire = next
	}
	if err := cs.UpdateConnector(ctx, st, ch.ResetState); err != nil {
		return st, err
	}
	return st, nil
}

// CreateTable is --auto-create-table: the config's columns, each of its
// database's natural type, made on db (an instance with an SQL
// connection).
func CreateTable(ctx context.Context, db any, p connector.Params) error {
	withDB, ok := db.(interface {
		DB() *sql.DB
		DialectName() string
	})
	if !ok {
		return fmt.Errorf("auto-create table %s: the instance has no SQL connection", p.Table)
	}
	// The table's columns are those the filters leave, not the parser's.
	cols, err := p.Config.Columns()
	if err != nil {
		return &Invalid{Err: err}
	}
	ddl, err := connector.CreateTableStatements(withDB.DialectName(), p.Schema, p.Table, cols, p.Config.Out.TimeColumn)
	if err != nil {
		return &Invalid{Err: err}
	}
	for _, stmt := range ddl {
		if _, err := withDB.DB().ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("auto-create table %s: %w", p.Table, err)
		}
	}
	return nil
}
