package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/s3bridge/s3bridge"
)

// Task implements instance.Reader.
func (s *Store) Task(ctx context.Context, id int64) (s3bridge.Task, error) {
	t, err := scanTask(s.db.QueryRowContext(ctx, s.q(`SELECT `+taskColumns+` FROM {tasks} WHERE task_id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("task %d on %s: %w", id, s.name, s3bridge.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("read task %d on %s: %w", id, s.name, err)
	}
	return t, nil
}

// Tasks implements instance.Reader.
func (s *Store) Tasks(ctx context.Context) ([]s3bridge.Task, error) {
	out, err := s.queryTasks(ctx, `SELECT `+taskColumns+` FROM {tasks} ORDER BY task_id`, nil)
	if err != nil {
		return nil, fmt.Errorf("list tasks on %s: %w", s.name, err)
	}
	return out, nil
}

// Log implements instance.Journal.
func (s *Store) Log(ctx context.Context, id int64, lines ...s3bridge.LogLine) error {
	switch len(lines) {
	case 0:
		return nil
	case 1:
		// One statement is its own transaction: no BEGIN and COMMIT
		// round trips for the line a short task logs.
		return s.insertLines(ctx, s.db, id, lines)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.insertLines(ctx, tx, id, lines) })
}

// lineInserter runs the statements of insertLines: *sql.DB and *sql.Tx.
type lineInserter interface {
	Execer
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// insertLines appends lines to task id's log on ex; several lines go
// through one prepared statement.
func (s *Store) insertLines(ctx context.Context, ex lineInserter, id int64, lines []s3bridge.LogLine) error {
	if len(lines) == 0 {
		return nil
	}
	insert := s.q(`INSERT INTO {task_log} (task_id, logged_at, level, message) VALUES (?, ?, ?, ?)`)
	exec := func(ctx context.Context, args ...any) (sql.Result, error) {
		return ex.ExecContext(ctx, insert, args...)
	}
	if len(lines) > 1 {
		stmt, err := ex.PrepareContext(ctx, insert)
		if err != nil {
			return fmt.Errorf("log for task %d on %s: %w", id, s.name, err)
		}
		defer stmt.Close()
		exec = stmt.ExecContext
	}
	for _, l := range lines {
		at := l.Time
		if at.IsZero() {
			at = s.now()
		}
		if _, err := exec(ctx, id, at.UTC(), string(l.Level), l.Message); err != nil {
			return fmt.Errorf("log for task %d on %s: %w", id, s.name, err)
		}
	}
	return nil
}

// TaskLog implements instance.Reader.
func (s *Store) TaskLog(ctx context.Context, id int64) ([]s3bridge.LogLine, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT logged_at, level, message FROM {task_log} WHERE task_id = ? ORDER BY line_id`), id)
	if err != nil {
		return nil, fmt.Errorf("read log of task %d on %s: %w", id, s.name, err)
	}
	defer rows.Close()
	var out []s3bridge.LogLine
	for rows.Next() {
		var l s3bridge.LogLine
		var level string
		if err := rows.Scan(&l.Time, &level, &l.Message); err != nil {
			return nil, fmt.Errorf("read log of task %d on %s: %w", id, s.name, err)
		}
		l.Level = s3bridge.LogLevel(level)
		out = append(out, l)
	}
	return out, rows.Err()
}

// SaveFileDetails implements instance.Journal.
func (s *Store) SaveFileDetails(ctx context.Context, id int64, files []s3bridge.FileDetail) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM {file_details} WHERE task_id = ?`), id); err != nil {
			return fmt.Errorf("save file details of task %d: %w", id, err)
		}
		stmt, err := tx.PrepareContext(ctx, s.q(`INSERT INTO {file_details} (task_id, filepath, size_in_bytes, last_modified_utc, is_directory) VALUES (?, ?, ?, ?, ?)`))
		if err != nil {
			return fmt.Errorf("save file details of task %d: %w", id, err)
		}
		defer stmt.Close()
		for _, f := range files {
			if _, err := stmt.ExecContext(ctx, id, f.FilePath, f.SizeInBytes, f.LastModifiedUTC.UTC(), f.IsDirectory); err != nil {
				return fmt.Errorf("save file detail %s of task %d: %w", f.FilePath, id, err)
			}
		}
		return nil
	})
}

// FileDetails implements instance.Reader.
func (s *Store) FileDetails(ctx context.Context, id int64) ([]s3bridge.FileDetail, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT filepath, size_in_bytes, last_modified_utc, is_directory FROM {file_details} WHERE task_id = ? ORDER BY filepath`), id)
	if err != nil {
		return nil, fmt.Errorf("read file details of task %d on %s: %w", id, s.name, err)
	}
	defer rows.Close()
	var out []s3bridge.FileDetail
	for rows.Next() {
		var f s3bridge.FileDetail
		if err := rows.Scan(&f.FilePath, &f.SizeInBytes, &f.LastModifiedUTC, &f.IsDirectory); err != nil {
			return nil, fmt.Errorf("read file details of task %d on %s: %w", id, s.name, err)
		}
		f.LastModifiedUTC = f.LastModifiedUTC.UTC()
		out = append(out, f)
	}
	return out, rows.Err()
}

func decodeSettings(val string) (s3bridge.Settings, error) {
	var set s3bridge.Settings
	if err := json.Unmarshal([]byte(val), &set); err != nil {
		return set, fmt.Errorf("decode settings: %w", err)
	}
	return set.WithDefaults(), nil
}
