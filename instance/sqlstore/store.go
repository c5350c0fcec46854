package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
)

// SchemaVersion is the version of the tables Attach installs.
const SchemaVersion = 1

// Store is an attached database behind database/sql.
type Store struct {
	db   *sql.DB
	d    Dialect
	name string
	now  func() time.Time
}

var (
	_ instance.Instance       = (*Store)(nil)
	_ instance.EnqueueClaimer = (*Store)(nil)
	_ instance.FinishLogger   = (*Store)(nil)
)

// New returns a Store over db. name is the database's name for task rows.
func New(db *sql.DB, d Dialect, name string) *Store {
	return &Store{db: db, d: d, name: name, now: func() time.Time { return time.Now().UTC() }}
}

// DB returns the underlying pool, for dialect packages.
func (s *Store) DB() *sql.DB { return s.db }

// Name implements instance.Instance.
func (s *Store) Name() string { return s.name }

// Close implements instance.Instance.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) q(query string) string { return s.d.render(query) }

// Attach implements instance.Admin.
func (s *Store) Attach(ctx context.Context, set s3bridge.Settings) error {
	set = set.WithDefaults()
	if err := set.Validate(); err != nil {
		return fmt.Errorf("attach %s: %w", s.name, err)
	}
	val, err := json.Marshal(set)
	if err != nil {
		return fmt.Errorf("attach %s: encode settings: %w", s.name, err)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, ddl := range s.d.DDL {
			if _, err := tx.ExecContext(ctx, s.q(ddl)); err != nil {
				return fmt.Errorf("attach %s: create schema: %w", s.name, err)
			}
		}
		if err := s.addColumns(ctx, tx); err != nil {
			return err
		}
		if err := s.putSetting(ctx, tx, "settings", string(val)); err != nil {
			return err
		}
		if err := s.putSetting(ctx, tx, "schema_version", fmt.Sprint(SchemaVersion)); err != nil {
			return err
		}
		// SQL functions read the instance's database name from here: inside
		// a MariaDB routine DATABASE() is the routine's schema, not the
		// caller's.
		if err := s.putSetting(ctx, tx, "database_name", s.name); err != nil {
			return err
		}
		if s.d.InstallSQL != nil {
			if err := s.d.InstallSQL(ctx, tx); err != nil {
				return fmt.Errorf("attach %s: install SQL functions: %w", s.name, err)
			}
		}
		return nil
	})
}

// addColumns adds the dialect's later columns to tables an older release
// created. Whether a column exists is asked by selecting it; where a
// failed statement aborts the transaction (PostgreSQL) the probe runs
// under a savepoint.
func (s *Store) addColumns(ctx context.Context, tx *sql.Tx) error {
	exec := func(q string) error { _, err := tx.ExecContext(ctx, q); return err }
	for _, c := range s.d.Added {
		if s.d.ErrorAborts {
			if err := exec("SAVEPOINT s3bridge_probe"); err != nil {
				return fmt.Errorf("attach %s: savepoint: %w", s.name, err)
			}
		}
		probe := exec(s.q("SELECT " + c.Name + " FROM " + c.Table + " WHERE 1 = 0"))
		if s.d.ErrorAborts {
			end := "RELEASE SAVEPOINT s3bridge_probe"
			if probe != nil {
				end = "ROLLBACK TO SAVEPOINT s3bridge_probe"
			}
			if err := exec(end); err != nil {
				return fmt.Errorf("attach %s: %s: %w", s.name, end, err)
			}
		}
		if probe == nil {
			continue
		}
		if err := exec(s.q("ALTER TABLE " + c.Table + " ADD COLUMN " + c.Name + " " + c.Type)); err != nil {
			return fmt.Errorf("attach %s: add column %s: %w", s.name, c.Name, err)
		}
	}
	return nil
}

func (s *Store) putSetting(ctx context.Context, tx *sql.Tx, name, value string) error {
	res, err := tx.ExecContext(ctx, s.q(`UPDATE {settings} SET value = ? WHERE name = ?`), value, name)
	if err != nil {
		return fmt.Errorf("store setting %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO {settings} (name, value) VALUES (?, ?)`), name, value); err != nil {
		return fmt.Errorf("store setting %s: %w", name, err)
	}
	return nil
}

// Detach implements instance.Admin.
func (s *Store) Detach(ctx context.Context) error {
	if s.d.DropSQL == nil {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.d.DropSQL(ctx, tx); err != nil {
			return fmt.Errorf("detach %s: %w", s.name, err)
		}
		return nil
	})
}

// Settings implements instance.Admin.
func (s *Store) Settings(ctx context.Context) (s3bridge.Settings, error) {
	var val string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT value FROM {settings} WHERE name = 'settings'`)).Scan(&val)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return s3bridge.Settings{}, s3bridge.ErrNotAttached
		}
		if attached, aerr := s.attached(ctx); aerr == nil && !attached {
			return s3bridge.Settings{}, s3bridge.ErrNotAttached
		}
		// The database is there but failed (down, auth, a lock): say so,
		// with its own error, rather than "not attached".
		return s3bridge.Settings{}, fmt.Errorf("read settings of %s: %w", s.name, err)
	}
	var set s3bridge.Settings
	if err := json.Unmarshal([]byte(val), &set); err != nil {
		return s3bridge.Settings{}, fmt.Errorf("decode settings of %s: %w", s.name, err)
	}
	return set.WithDefaults(), nil
}

// attached asks the database's catalog whether the settings table exists
// (Dialect.Attached): a database without it is not attached, while an
// error here means the database itself failed.
func (s *Store) attached(ctx context.Context) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, s.d.Attached).Scan(&n); err != nil {
		return false, fmt.Errorf("ask %s whether s3bridge is attached: %w", s.name, err)
	}
	return n > 0, nil
}

func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction on %s: %w", s.name, err)
	}
	if s.d.TxSetup != "" {
		if _, err := tx.ExecContext(ctx, s.d.TxSetup); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("set up a transaction on %s: %w", s.name, err)
		}
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit on %s: %w", s.name, err)
	}
	return nil
}

// AttachedName is the database name the instance was last attached
// through (the database_name setting), empty before the first attach. On
// MariaDB the s3bridge schema serves the whole server, so attaching
// through another database's URL changes it.
func (s *Store) AttachedName(ctx context.Context) (string, error) {
	var name string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT value FROM {settings} WHERE name = 'database_name'`)).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the attached database name of %s: %w", s.name, err)
	}
	return name, nil
}
