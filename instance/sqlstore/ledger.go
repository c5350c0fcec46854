package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/s3bridge/s3bridge/instance/bulk"
)

// The connector ledger (connector_ledger) records, per connector, each
// object its runs loaded: key, ETag, size, LastModified and task. Rows are
// written by the load's own transaction (LedgerStatements, run from the
// drivers' bulk.Tx.Record) and read here before a run decides what to load.

// DialectName is "postgres", "mysql" or "sqlite": what a capability that
// writes SQL of its own (a connector's CREATE TABLE) needs to know.
func (s *Store) DialectName() string { return s.d.Name }

// Ledger returns the newest LastModified among the connector's ledger
// rows (zero when it has none) and the rows whose LastModified is within
// window of it: what a run compares its listing with.
func (s *Store) Ledger(ctx context.Context, connector string, window time.Duration) ([]bulk.LedgerEntry, time.Time, error) {
	table := s.d.Table("connector_ledger")
	var newest time.Time
	fail := func(err error) ([]bulk.LedgerEntry, time.Time, error) {
		return nil, time.Time{}, fmt.Errorf("read the ledger of connector %s: %w", connector, err)
	}
	// Read as a row, not max(): SQLite returns max() of a DATETIME column
	// as text, which database/sql won't scan into a time.
	err := s.db.QueryRowContext(ctx, s.q(`SELECT last_modified FROM `+table+`
		WHERE connector_name = ? ORDER BY last_modified DESC LIMIT 1`), connector).Scan(&newest)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return fail(err)
	}
	newest = newest.UTC()
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT object_key, etag, size_bytes, last_modified, task_id FROM `+table+`
		WHERE connector_name = ? AND last_modified >= ? ORDER BY object_key`), connector, newest.Add(-window))
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	var out []bulk.LedgerEntry
	for rows.Next() {
		e := bulk.LedgerEntry{Connector: connector}
		var key []byte // VARBINARY on MariaDB: S3 keys compare byte for byte
		if err := rows.Scan(&key, &e.ETag, &e.Size, &e.LastModified, &e.TaskID); err != nil {
			return fail(err)
		}
		e.Key, e.LastModified = string(key), e.LastModified.UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	return out, newest, nil
}

// LedgerStatements returns the statements, with their arguments, that
// record e in the ledger inside a load's transaction. The row the run saw
// (e.Replaces) is deleted only if it is still there with that ETag, and
// the new one inserted: when a concurrent run of the same connector has
// recorded the key since, the insert fails on the primary key and this
// run rolls back instead of committing the file twice, on every database
// (a plain replace would let MariaDB's and SQLite's second writer through
// once the first committed). Placeholders are the dialect's own.
func (s *Store) LedgerStatements(e bulk.LedgerEntry) []Statement {
	table := s.d.Table("connector_ledger")
	var out []Statement
	if e.Replaces != "" {
		out = append(out, Statement{s.q(`DELETE FROM ` + table + ` WHERE connector_name = ? AND object_key = ? AND etag = ?`),
			[]any{e.Connector, e.Key, e.Replaces}})
	}
	return append(out, Statement{s.q(`INSERT INTO ` + table + ` (connector_name, object_key, etag, size_bytes, last_modified, task_id, loaded_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`), []any{e.Connector, e.Key, e.ETag, e.Size, e.LastModified.UTC(), e.TaskID, s.now()}})
}

// Statement is one SQL statement and its arguments.
type Statement struct {
	SQL  string
	Args []any
}

// ForgetLedger deletes the connector's ledger rows (a connector deleted or
// its state reset): its next run loads every matching object again.
func (s *Store) ForgetLedger(ctx context.Context, connector string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM `+s.d.Table("connector_ledger")+` WHERE connector_name = ?`), connector)
	if err != nil {
		return fmt.Errorf("forget the ledger of connector %s: %w", connector, err)
	}
	return nil
}
