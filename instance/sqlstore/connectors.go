package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/s3bridge/s3bridge"
)

// Stored connectors (issue 9): one row per connector in {connectors},
// with its schedule and the run it starts. Its runs are IMPORT_FROM_S3
// tasks whose connector column names it; a scheduled run also has
// scheduled_at, the fire it belongs to. next_fire is the next scheduled
// time: an agent takes a fire by moving it on with a compare-and-set
// (FireConnector), so each fire is taken by exactly one agent.

// Connector is a stored connector.
type Connector struct {
	Name     string
	Cron     string
	Timezone string
	Delay    time.Duration
	Schema   string
	Table    string
	// Config is the YAML config; it holds secrets only as references.
	Config string
	// Metadata and Location are a run's task_metadata and s3_object_arn,
	// kept so that SQL (connector_run) can start a run without parsing
	// the YAML.
	Metadata   string
	Location   string
	AutoCreate bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// NextFire is the next scheduled time (the run starts Delay after
	// it); nil when the connector has no schedule.
	NextFire *time.Time
}

// ConnectorRun is one run of a connector: its task, and the scheduled
// time it ran for (nil for a run started by hand).
type ConnectorRun struct {
	Task      s3bridge.Task
	Scheduled *time.Time
}

// Fire is one scheduled run an agent wants to start: Due is the
// connector's next_fire as read, Next the one after it.
type Fire struct {
	Name      string
	Due, Next time.Time
	Task      s3bridge.Task
}

// Fired is what FireConnector did with a fire it took.
type Fired struct {
	TaskID int64
	// Skipped: the previous run was still going, so the fire's task was
	// recorded CANCELLED instead of queued.
	Skipped bool
}

// SkippedInfo is the task_info of a skipped fire.
const SkippedInfo = "skipped: the previous run is still going"

const connectorColumns = `name, cron, timezone, delay_seconds, schema_name, table_name, config, task_metadata,
	s3_object_arn, auto_create, created_at, updated_at, next_fire`

func (s *Store) connectors() string { return s.d.Table("connectors") }

func scanConnector(r scanner) (Connector, error) {
	var (
		c     Connector
		delay int64
		loc   sql.NullString
		next  sql.NullTime
	)
	err := r.Scan(&c.Name, &c.Cron, &c.Timezone, &delay, &c.Schema, &c.Table, &c.Config, &c.Metadata,
		&loc, &c.AutoCreate, &c.CreatedAt, &c.UpdatedAt, &next)
	c.Delay, c.Location = time.Duration(delay)*time.Second, loc.String
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	c.NextFire = utcTime(next)
	return c, err
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Truncate(time.Second)
}

// CreateConnector stores c, or returns ErrExists.
func (s *Store) CreateConnector(ctx context.Context, c Connector) error {
	now := s.now()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT count(*) FROM `+s.connectors()+` WHERE name = ?`), c.Name).Scan(&n); err != nil {
			return fmt.Errorf("create connector %s: %w", c.Name, err)
		}
		if n > 0 {
			return fmt.Errorf("connector %s: %w", c.Name, s3bridge.ErrExists)
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO `+s.connectors()+` (`+connectorColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), c.Name, c.Cron, c.Timezone, int64(c.Delay/time.Second),
			c.Schema, c.Table, c.Config, c.Metadata, nullable(c.Location), c.AutoCreate, now, now, nullTime(c.NextFire))
		if err != nil {
			return fmt.Errorf("create connector %s: %w", c.Name, err)
		}
		return nil
	})
}

// UpdateConnector replaces the stored connector c.Name with c; forget
// also deletes its ledger, in the same transaction, so its next run
// loads every matching object again. It returns ErrNotFound.
func (s *Store) UpdateConnector(ctx context.Context, c Connector, forget bool) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE `+s.connectors()+` SET cron = ?, timezone = ?, delay_seconds = ?,
			schema_name = ?, table_name = ?, config = ?, task_metadata = ?, s3_object_arn = ?, auto_create = ?,
			updated_at = ?, next_fire = ? WHERE name = ?`), c.Cron, c.Timezone, int64(c.Delay/time.Second), c.Schema, c.Table,
			c.Config, c.Metadata, nullable(c.Location), c.AutoCreate, s.now(), nullTime(c.NextFire), c.Name)
		if err != nil {
			return fmt.Errorf("update connector %s: %w", c.Name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("connector %s: %w", c.Name, s3bridge.ErrNotFound)
		}
		if forget {
			return s.forgetTx(ctx, tx, c.Name)
		}
		return nil
	})
}

func (s *Store) forgetTx(ctx context.Context, tx *sql.Tx, name string) error {
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM `+s.d.Table("connector_ledger")+` WHERE connector_name = ?`), name); err != nil {
		return fmt.Errorf("forget the ledger of connector %s: %w", name, err)
	}
	return nil
}

// DeleteConnector deletes the connector and its ledger; its tasks stay,
// as every finished task does. It returns ErrNotFound.
func (s *Store) DeleteConnector(ctx context.Context, name string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM `+s.connectors()+` WHERE name = ?`), name)
		if err != nil {
			return fmt.Errorf("delete connector %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("connector %s: %w", name, s3bridge.ErrNotFound)
		}
		return s.forgetTx(ctx, tx, name)
	})
}

// Connector returns one stored connector, or ErrNotFound.
func (s *Store) Connector(ctx context.Context, name string) (Connector, error) {
	return named(ctx, s, "connector", s.connectors(), connectorColumns, name, scanConnector)
}

// Connectors returns every stored connector by name.
func (s *Store) Connectors(ctx context.Context) ([]Connector, error) {
	return allNamed(ctx, s, "connector", s.connectors(), connectorColumns, scanConnector)
}

// ConnectorRuns returns the connector's runs, newest first, at most limit
// of them (0: all).
func (s *Store) ConnectorRuns(ctx context.Context, name string, limit int) ([]ConnectorRun, error) {
	q := `SELECT ` + taskColumns + `, scheduled_at FROM {tasks} WHERE connector = ? ORDER BY task_id DESC`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := s.db.QueryContext(ctx, s.q(q), name)
	if err != nil {
		return nil, fmt.Errorf("read the runs of connector %s on %s: %w", name, s.name, err)
	}
	defer rows.Close()
	var out []ConnectorRun
	for rows.Next() {
		var sched sql.NullTime
		t, err := scanTask(withTail{rows, &sched})
		if err != nil {
			return nil, fmt.Errorf("read the runs of connector %s on %s: %w", name, s.name, err)
		}
		r := ConnectorRun{Task: t}
		r.Scheduled = utcTime(sched)
		out = append(out, r)
	}
	return out, rows.Err()
}

// withTail scans taskColumns and then the extra destinations.
type withTail struct {
	r    scanner
	tail any
}

func (w withTail) Scan(dest ...any) error { return w.r.Scan(append(dest, w.tail)...) }

// EnqueueConnector queues a run of connector name started by hand.
func (s *Store) EnqueueConnector(ctx context.Context, name string, t s3bridge.Task) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if id, err = s.insertRun(ctx, tx, name, t, nil, ""); err != nil {
			return err
		}
		return s.notify(ctx, tx)
	})
	return id, err
}

// FireConnector takes fire f: it moves the connector's next_fire from
// f.Due to f.Next, and only when that changed the row — no other agent
// took the fire first — records its run in the same transaction: queued,
// or CANCELLED with SkippedInfo while a run of the connector is still
// queued or going. ok is false when the fire was not this caller's.
func (s *Store) FireConnector(ctx context.Context, f Fire) (fired Fired, ok bool, err error) {
	// A copy of the attached server fires nothing: its schedules fire
	// on the server they were made on (and a write here would stop a
	// replica's replication).
	if err := s.checkServer(ctx); err != nil {
		return fired, false, fmt.Errorf("fire connector %s on %s: %w", f.Name, s.name, err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE `+s.connectors()+` SET next_fire = ? WHERE name = ? AND next_fire = ?`),
			f.Next.UTC().Truncate(time.Second), f.Name, f.Due.UTC())
		if err != nil {
			return fmt.Errorf("take fire %s of connector %s: %w", f.Due.Format(time.RFC3339), f.Name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		ok = true
		var going int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT count(*) FROM {tasks} WHERE connector = ?
			AND lifecycle IN ('CREATED', 'IN_PROGRESS', 'CANCEL_REQUESTED')`), f.Name).Scan(&going); err != nil {
			return fmt.Errorf("look for a running task of connector %s: %w", f.Name, err)
		}
		info := ""
		if fired.Skipped = going > 0; fired.Skipped {
			info = SkippedInfo
		}
		due := f.Due
		if fired.TaskID, err = s.insertRun(ctx, tx, f.Name, f.Task, &due, info); err != nil {
			return err
		}
		return s.notify(ctx, tx)
	})
	if err != nil {
		return Fired{}, false, fmt.Errorf("fire connector %s on %s: %w", f.Name, s.name, err)
	}
	return fired, ok, nil
}

// insertRun inserts a connector's task: CREATED, or CANCELLED with skip
// as its info when skip is set.
func (s *Store) insertRun(ctx context.Context, tx *sql.Tx, name string, t s3bridge.Task, scheduled *time.Time, skip string) (int64, error) {
	now := s.now()
	lc, finished := s3bridge.Created, any(nil)
	if skip != "" {
		lc, finished = s3bridge.Cancelled, now
	}
	meta := string(t.Metadata)
	if meta == "" {
		meta = "{}"
	}
	insert := s.q(`INSERT INTO {tasks}
		(task_type, database_name, lifecycle, percent_complete, task_info, created_at, last_updated, finished_at,
		 s3_object_arn, overwrite_file, task_metadata, error_code, connector, scheduled_at)
		VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	code := any(nil)
	if skip != "" {
		code = s3bridge.CodeCancelled
	}
	args := []any{string(t.Type), s.name, string(lc), nullable(skip), now, now, finished, nullable(t.S3ObjectARN), t.Overwrite,
		meta, code, name, nullTime(scheduled)}
	id, err := s.insertTask(ctx, tx, insert, args)
	if err != nil {
		return 0, fmt.Errorf("enqueue a run of connector %s: %w", name, err)
	}
	return id, nil
}
