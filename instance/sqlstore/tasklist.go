package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/s3bridge/s3bridge"
)

// The operator surface's reads (issue 12): a page of the task list, the
// figures the metrics sum, and the tasks and log lines the log followers
// wait for, so that an instance with 100,000 tasks is read by index, a
// page or the tasks that changed at a time, never whole. The list is
// ordered newest first on (created_at, task_id), which the tasks_created
// index serves.

// TaskQuery selects a page of tasks, newest first.
type TaskQuery struct {
	// Types and Lifecycles keep the tasks of one of them; none keeps all.
	Types      []s3bridge.TaskType
	Lifecycles []s3bridge.Lifecycle
	// Since keeps the tasks created at or after it, unless zero.
	Since time.Time
	// Before keeps the tasks that sort after the key: created before it,
	// or at the same time with a lower id. A page's last task is the next
	// page's Before.
	Before *TaskKey
	// Limit is the most tasks returned; 0 or less means 50.
	Limit int
}

// TaskKey is a task's place in the list.
type TaskKey struct {
	CreatedAt time.Time
	ID        int64
}

// inList is "column IN (?, ?…)" with the values as arguments.
func inList[T ~string | ~int64](column string, values []T) (string, []any) {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return column + " IN (?" + strings.Repeat(", ?", len(values)-1) + ")", args
}

// TaskPage returns the tasks q selects, newest first (created_at, then
// task_id, both descending).
func (s *Store) TaskPage(ctx context.Context, q TaskQuery) ([]s3bridge.Task, error) {
	var (
		where []string
		args  []any
	)
	if len(q.Types) > 0 {
		w, a := inList("task_type", q.Types)
		where, args = append(where, w), append(args, a...)
	}
	if len(q.Lifecycles) > 0 {
		w, a := inList("lifecycle", q.Lifecycles)
		where, args = append(where, w), append(args, a...)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, q.Since.UTC())
	}
	if b := q.Before; b != nil {
		at := b.CreatedAt.UTC()
		where, args = append(where, "(created_at < ? OR (created_at = ? AND task_id < ?))"), append(args, at, at, b.ID)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	query := `SELECT ` + taskColumns + ` FROM {tasks}`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY created_at DESC, task_id DESC LIMIT " + strconv.Itoa(limit)
	tasks, err := s.queryTasks(ctx, query, args)
	if err != nil {
		return nil, fmt.Errorf("list a page of tasks on %s: %w", s.name, err)
	}
	return tasks, nil
}

func (s *Store) queryTasks(ctx context.Context, query string, args []any) ([]s3bridge.Task, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []s3bridge.Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// idChunk bounds the ids of one IN list: SQLite allows 32,766 arguments,
// and a short list keeps each statement cheap to plan.
const idChunk = 500

// TasksByID returns the tasks with the given ids that exist, in id order.
func (s *Store) TasksByID(ctx context.Context, ids []int64) ([]s3bridge.Task, error) {
	var out []s3bridge.Task
	for chunk := range chunks(ids) {
		w, args := inList("task_id", chunk)
		tasks, err := s.queryTasks(ctx, `SELECT `+taskColumns+` FROM {tasks} WHERE `+w+` ORDER BY task_id`, args)
		if err != nil {
			return nil, fmt.Errorf("read %d tasks on %s: %w", len(ids), s.name, err)
		}
		out = append(out, tasks...)
	}
	return out, nil
}

func chunks(ids []int64) func(yield func([]int64) bool) {
	return func(yield func([]int64) bool) {
		for len(ids) > 0 {
			n := min(len(ids), idChunk)
			if !yield(ids[:n]) {
				return
			}
			ids = ids[n:]
		}
	}
}

// TaskLogLine is a log line with its task and its place in the log table.
type TaskLogLine struct {
	TaskID, LineID int64
	s3bridge.LogLine
}

// TaskLogAfter returns the log lines of the given tasks whose line id is
// greater than after, in line order (each task's lines in the order
// TaskLog reads them).
func (s *Store) TaskLogAfter(ctx context.Context, ids []int64, after int64) ([]TaskLogLine, error) {
	var out []TaskLogLine
	for chunk := range chunks(ids) {
		w, args := inList("task_id", chunk)
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT task_id, line_id, logged_at, level, message FROM {task_log}
			WHERE line_id > ? AND `+w+` ORDER BY line_id`), append([]any{after}, args...)...)
		if err != nil {
			return nil, fmt.Errorf("read the log of %d tasks on %s: %w", len(ids), s.name, err)
		}
		for rows.Next() {
			var (
				l     TaskLogLine
				level string
			)
			if err := rows.Scan(&l.TaskID, &l.LineID, &l.Time, &level, &l.Message); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read the log of %d tasks on %s: %w", len(ids), s.name, err)
			}
			l.Level, l.Time = s3bridge.LogLevel(level), l.Time.UTC()
			out = append(out, l)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read the log of %d tasks on %s: %w", len(ids), s.name, err)
		}
	}
	if len(ids) > idChunk {
		// Chunks interleave: put the lines back in line order.
		slices.SortFunc(out, func(a, b TaskLogLine) int { return cmp.Compare(a.LineID, b.LineID) })
	}
	return out, nil
}

// TaskFigure is what the metrics sum of a task.
type TaskFigure struct {
	ID        int64
	Type      s3bridge.TaskType
	Lifecycle s3bridge.Lifecycle
	// Connector is the stored connector the task is a run of, if any.
	Connector             string
	Bytes, Rows           int64
	StartedAt, FinishedAt *time.Time
}

// TaskFigures returns the figures of the tasks whose id is greater than
// after, and of the tasks ids names, in id order: a reader that keeps
// the sums of final tasks (which never change) reads only the tasks
// created since, and those it saw unfinished.
func (s *Store) TaskFigures(ctx context.Context, after int64, ids []int64) ([]TaskFigure, error) {
	const cols = `SELECT task_id, task_type, lifecycle, connector, bytes_processed, rows_processed, started_at, finished_at FROM {tasks} `
	out, err := s.figures(ctx, cols+`WHERE task_id > ? ORDER BY task_id`, []any{after})
	if err != nil {
		return nil, fmt.Errorf("read the task figures on %s: %w", s.name, err)
	}
	var listed []TaskFigure
	for chunk := range chunks(ids) {
		w, args := inList("task_id", chunk)
		more, err := s.figures(ctx, cols+`WHERE `+w+` AND task_id <= ?`, append(args, after))
		if err != nil {
			return nil, fmt.Errorf("read the task figures on %s: %w", s.name, err)
		}
		listed = append(listed, more...)
	}
	if len(listed) > 0 {
		out = append(listed, out...)
		slices.SortFunc(out, func(a, b TaskFigure) int { return cmp.Compare(a.ID, b.ID) })
	}
	return out, nil
}

func (s *Store) figures(ctx context.Context, query string, args []any) ([]TaskFigure, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TaskFigure
	for rows.Next() {
		var (
			f                 TaskFigure
			typ, lc           string
			conn              sql.NullString
			bytes, nrows      sql.NullInt64
			started, finished sql.NullTime
		)
		if err := rows.Scan(&f.ID, &typ, &lc, &conn, &bytes, &nrows, &started, &finished); err != nil {
			return nil, err
		}
		f.Type, f.Lifecycle, f.Connector, f.Bytes, f.Rows = s3bridge.TaskType(typ), s3bridge.Lifecycle(lc), conn.String, bytes.Int64, nrows.Int64
		f.StartedAt = utcTime(started)
		f.FinishedAt = utcTime(finished)
		out = append(out, f)
	}
	return out, rows.Err()
}

// CountTasks returns how many tasks have an id up to upTo: a reader that
// read every task up to there checks by it that none appeared since (a
// transaction that committed its task after later ones did).
func (s *Store) CountTasks(ctx context.Context, upTo int64) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT count(*) FROM {tasks} WHERE task_id <= ?`), upTo).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the tasks on %s: %w", s.name, err)
	}
	return n, nil
}

// utcTime is a nullable column's time in UTC, or nil for NULL.
func utcTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time.UTC()
	return &v
}
