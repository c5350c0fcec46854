package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/s3bridge/s3bridge"
)

const taskColumns = `task_id, task_type, database_name, lifecycle, percent_complete, task_info,
	created_at, last_updated, started_at, finished_at, s3_object_arn, file_path, overwrite_file,
	task_metadata, agent_id, attempt, rows_processed, files_processed, bytes_processed, error_code, caller_session`

// Enqueue implements instance.Queue.
func (s *Store) Enqueue(ctx context.Context, t s3bridge.Task) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if id, err = s.insertCreated(ctx, tx, t); err != nil {
			return err
		}
		return s.notify(ctx, tx)
	})
	return id, err
}

// EnqueueClaim implements instance.EnqueueClaimer: Enqueue's INSERT and
// ClaimTask's claim of the new row in one transaction, under the settings
// lock every claim takes, so the limits hold as they do for ClaimTask.
// One commit instead of two, and no agent woken by the INSERT can take
// the task first: until the commit nobody sees it CREATED.
func (s *Store) EnqueueClaim(ctx context.Context, t s3bridge.Task, agent string, lease time.Duration) (int64, *s3bridge.Task, error) {
	if err := s.beforeClaim(ctx); err != nil {
		return 0, nil, err
	}
	var (
		id      int64
		claimed *s3bridge.Task
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		set, err := s.lockSettings(ctx, tx)
		if err != nil {
			return err
		}
		if id, err = s.insertCreated(ctx, tx, t); err != nil {
			return err
		}
		if claimed, err = s.claimIn(ctx, tx, set, agent, lease, id); err != nil || claimed != nil {
			return err
		}
		// Left CREATED (its kind is at its limit): for whoever frees a
		// slot first, an agent or the caller's ClaimTask.
		return s.notify(ctx, tx)
	})
	if err != nil {
		return 0, nil, fmt.Errorf("claim on %s: %w", s.name, err)
	}
	return id, claimed, nil
}

// insertCreated inserts t as a CREATED task and returns its id.
func (s *Store) insertCreated(ctx context.Context, tx *sql.Tx, t s3bridge.Task) (int64, error) {
	now := s.now()
	meta := string(t.Metadata)
	if meta == "" {
		meta = "{}"
	}
	insert := s.q(`INSERT INTO {tasks}
		(task_type, database_name, lifecycle, percent_complete, created_at, last_updated,
		 s3_object_arn, file_path, overwrite_file, task_metadata, caller_session)
		VALUES (?, ?, 'CREATED', 0, ?, ?, ?, ?, ?, ?, ?)`)
	args := []any{string(t.Type), s.name, now, now, nullable(t.S3ObjectARN), nullable(t.FilePath), t.Overwrite, meta, nullable(t.CallerSession)}
	id, err := s.insertTask(ctx, tx, insert, args)
	if err != nil {
		return 0, fmt.Errorf("enqueue %s task on %s: %w", t.Type, s.name, err)
	}
	return id, nil
}

// insertTask runs an INSERT into the tasks table and returns the new
// task's id: by RETURNING where the database has it, else the driver's
// LastInsertId.
func (s *Store) insertTask(ctx context.Context, tx *sql.Tx, insert string, args []any) (int64, error) {
	var id int64
	if s.d.ReturningID {
		err := tx.QueryRowContext(ctx, insert+" RETURNING task_id", args...).Scan(&id)
		return id, err
	}
	res, err := tx.ExecContext(ctx, insert, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func (s *Store) notify(ctx context.Context, tx *sql.Tx) error {
	if s.d.Notify == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.q(s.d.Notify)); err != nil {
		return fmt.Errorf("notify agents on %s: %w", s.name, err)
	}
	return nil
}

// Claim implements instance.Queue. Claims are serialized by locking the
// settings row, so max_running holds across any number of agents; the task
// row itself is taken with SKIP LOCKED where the database has it.
func (s *Store) Claim(ctx context.Context, agent string, lease time.Duration) (*s3bridge.Task, error) {
	return s.claim(ctx, agent, lease, 0)
}

// ClaimTask implements instance.Queue.
func (s *Store) ClaimTask(ctx context.Context, id int64, agent string, lease time.Duration) (*s3bridge.Task, error) {
	return s.claim(ctx, agent, lease, id)
}

// claim takes task id, or the oldest runnable task when id is 0.
func (s *Store) claim(ctx context.Context, agent string, lease time.Duration, id int64) (*s3bridge.Task, error) {
	if err := s.beforeClaim(ctx); err != nil {
		return nil, err
	}
	if idle, err := s.nothingToClaim(ctx); err != nil || idle {
		if err != nil {
			return nil, fmt.Errorf("claim on %s: %w", s.name, err)
		}
		return nil, nil
	}
	var claimed *s3bridge.Task
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		set, err := s.lockSettings(ctx, tx)
		if err != nil {
			return err
		}
		claimed, err = s.claimIn(ctx, tx, set, agent, lease, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim on %s: %w", s.name, err)
	}
	return claimed, nil
}

// beforeClaim runs what every claim checks first, before anything writes:
// a copy of the attached server must neither run its tasks again nor
// change its rows; and tasks whose SQL caller is gone are cancelled.
func (s *Store) beforeClaim(ctx context.Context) error {
	if err := s.checkServer(ctx); err != nil {
		return fmt.Errorf("claim on %s: %w", s.name, err)
	}
	return s.cancelOrphans(ctx)
}

// nothingToClaim reports, without a lock, that no task is runnable and no
// cancel waits to be expired, so a claim has nothing to do: most claims
// find nothing (an agent's poll, its wake-up for a task that another
// agent or a CLI took), and such a claim then writes nothing, where the
// settings lock would cost a WAL flush at each. A task that becomes
// runnable just after is found by the next claim, as one committed just
// after the locked pick would be. An instance without its settings row
// goes on to the locked path, which says it is not attached.
func (s *Store) nothingToClaim(ctx context.Context) (bool, error) {
	var attached, runnable int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT (SELECT count(*) FROM {settings} WHERE name = 'settings'),
		(SELECT count(*) FROM (SELECT task_id FROM {tasks} WHERE lifecycle = 'CREATED'
			OR (lifecycle IN ('IN_PROGRESS', 'CANCEL_REQUESTED') AND lease_until < ?) LIMIT 1) AS runnable)`), s.now()).Scan(&attached, &runnable)
	if err != nil {
		return false, fmt.Errorf("look for runnable tasks: %w", err)
	}
	return attached > 0 && runnable == 0, nil
}

// lockSettings reads the settings row and locks it until tx ends: claims
// are serialized by it, so max_running holds across any number of agents.
func (s *Store) lockSettings(ctx context.Context, tx *sql.Tx) (s3bridge.Settings, error) {
	var val string
	if err := tx.QueryRowContext(ctx, s.q(`SELECT value FROM {settings} WHERE name = 'settings'`+s.d.LockRows)).Scan(&val); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return s3bridge.Settings{}, s3bridge.ErrNotAttached
		}
		return s3bridge.Settings{}, fmt.Errorf("lock settings: %w", err)
	}
	return decodeSettings(val)
}

// claimIn claims task id (the oldest runnable task when id is 0) in tx,
// which holds the settings lock (lockSettings): nil when none is runnable
// within the limits of set.
func (s *Store) claimIn(ctx context.Context, tx *sql.Tx, set s3bridge.Settings, agent string, lease time.Duration, id int64) (*s3bridge.Task, error) {
	now := s.now()
	// A cancel whose agent died can't be acknowledged by anyone else.
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE {tasks} SET lifecycle = 'CANCELLED', finished_at = ?, last_updated = ?,
		task_info = 'cancelled (the agent running it stopped)', lease_until = NULL
		WHERE lifecycle = 'CANCEL_REQUESTED' AND lease_until < ?`), now, now, now); err != nil {
		return nil, fmt.Errorf("expire cancelled tasks: %w", err)
	}
	// Each kind has its own limit: a kind at its limit leaves the
	// others claimable.
	full, err := s.fullKinds(ctx, tx, set, now)
	if err != nil {
		return nil, err
	}
	row := tx.QueryRowContext(ctx, s.q(`SELECT `+taskColumns+` FROM {tasks}
		WHERE (lifecycle = 'CREATED' OR (lifecycle = 'IN_PROGRESS' AND lease_until < ?)) AND (? = 0 OR task_id = ?)`+notIn(full)+`
		ORDER BY task_id LIMIT 1`+s.d.SkipLocked), append([]any{now, id, id}, full...)...)
	t, err := scanTask(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pick task: %w", err)
	}
	// Each claim takes the next attempt number: the fencing token that
	// tells this hold from a stale one of an agent frozen past its lease.
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE {tasks} SET lifecycle = 'IN_PROGRESS', agent_id = ?, lease_until = ?,
		started_at = COALESCE(started_at, ?), last_updated = ?, attempt = ? WHERE task_id = ?`),
		agent, now.Add(lease), now, now, t.Attempt+1, t.ID); err != nil {
		return nil, fmt.Errorf("claim task %d: %w", t.ID, err)
	}
	// The start is logged in the claim's own transaction: a task that
	// shows IN_PROGRESS always has the line that says who took it,
	// even when that agent is killed the next instant.
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO {task_log} (task_id, logged_at, level, message) VALUES (?, ?, ?, ?)`),
		t.ID, now.UTC(), string(s3bridge.LevelInfo), fmt.Sprintf("%s task %d started by agent %s (attempt %d)", t.Type, t.ID, agent, t.Attempt+1)); err != nil {
		return nil, fmt.Errorf("log the start of task %d: %w", t.ID, err)
	}
	t.Lifecycle, t.Agent, t.LastUpdated, t.Attempt = s3bridge.InProgress, agent, now, t.Attempt+1
	if t.StartedAt == nil {
		t.StartedAt = &now
	}
	return &t, nil
}

// held is the condition under which a claim still holds its task.
const held = `task_id = ? AND agent_id = ? AND attempt = ? AND lifecycle IN ('IN_PROGRESS', 'CANCEL_REQUESTED')`

// Heartbeat implements instance.Queue.
func (s *Store) Heartbeat(ctx context.Context, c s3bridge.Claim, lease time.Duration, percent int) (s3bridge.Lifecycle, error) {
	now := s.now()
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE {tasks} SET lease_until = ?, percent_complete = ?, last_updated = ?
		WHERE `+held), now.Add(lease), percent, now, c.TaskID, c.Agent, c.Attempt)
	if err != nil {
		return "", fmt.Errorf("heartbeat task %d on %s: %w", c.TaskID, s.name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return "", fmt.Errorf("heartbeat task %d on %s: %w", c.TaskID, s.name, s3bridge.ErrLeaseLost)
	}
	var lc string
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT lifecycle FROM {tasks} WHERE task_id = ?`), c.TaskID).Scan(&lc); err != nil {
		return "", fmt.Errorf("read lifecycle of task %d on %s: %w", c.TaskID, s.name, err)
	}
	return s3bridge.Lifecycle(lc), nil
}

// Finish implements instance.Queue. A task whose work completed it in its
// own transaction (CompleteStatement) is already final under the same
// claim; finishing it again is a no-op.
func (s *Store) Finish(ctx context.Context, c s3bridge.Claim, lc s3bridge.Lifecycle, r s3bridge.Result) error {
	return s.FinishLogged(ctx, c, lc, r, nil)
}

// FinishLogged implements instance.FinishLogger.
func (s *Store) FinishLogged(ctx context.Context, c s3bridge.Claim, lc s3bridge.Lifecycle, r s3bridge.Result, lines []s3bridge.LogLine) error {
	if !lc.Final() {
		return fmt.Errorf("finish task %d: %s is not a final lifecycle", c.TaskID, lc)
	}
	now := s.now()
	finished := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.insertLines(ctx, tx, c.TaskID, lines); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE {tasks} SET lifecycle = ?, task_info = ?, finished_at = ?, last_updated = ?,
			lease_until = NULL, percent_complete = CASE WHEN ? = 'SUCCESS' THEN 100 ELSE percent_complete END,
			rows_processed = ?, files_processed = ?, bytes_processed = ?, error_code = ?
			WHERE `+held), string(lc), r.Info, now, now, string(lc), r.Rows, r.Files, r.Bytes, nullable(r.ErrorCode),
			c.TaskID, c.Agent, c.Attempt)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		finished = true
		return s.logOutcome(ctx, tx, c.TaskID, lc, r)
	})
	if err != nil {
		return fmt.Errorf("finish task %d on %s: %w", c.TaskID, s.name, err)
	}
	if finished {
		return nil
	}
	var done string
	err = s.db.QueryRowContext(ctx, s.q(`SELECT lifecycle FROM {tasks} WHERE task_id = ? AND agent_id = ? AND attempt = ?`),
		c.TaskID, c.Agent, c.Attempt).Scan(&done)
	if err == nil && s3bridge.Lifecycle(done) == lc {
		return nil
	}
	return fmt.Errorf("finish task %d on %s: %w", c.TaskID, s.name, s3bridge.ErrLeaseLost)
}

// CompleteStatement returns the statement, with its arguments, that marks
// the claim's task SUCCESS with res (its error code is not stored: a
// success has none). The work runs it in the transaction
// that holds its own effects (a load's rows and history), before COMMIT:
// it changes one row exactly when the claim still holds, and locks that
// row until the commit, so either the effects and the task's SUCCESS commit
// together or, when another agent took the task over, neither does
// (River's JobCompleteTx). Placeholders are the dialect's own.
func (s *Store) CompleteStatement(c s3bridge.Claim, res s3bridge.Result) (string, []any) {
	now := s.now()
	return s.q(`UPDATE {tasks} SET lifecycle = 'SUCCESS', task_info = ?, finished_at = ?, last_updated = ?,
		lease_until = NULL, percent_complete = 100, rows_processed = ?, files_processed = ?, bytes_processed = ?,
		error_code = NULL WHERE ` + held), []any{res.Info, now, now, res.Rows, res.Files, res.Bytes, c.TaskID, c.Agent, c.Attempt}
}

// Execer runs a statement: *sql.Tx and *sql.Conn have it.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// CompleteTx runs CompleteStatement on ex, inside the work's transaction,
// and returns ErrLeaseLost when the claim no longer holds the task: the
// caller must then roll back. A zero claim (work no task runs) completes
// nothing.
func (s *Store) CompleteTx(ctx context.Context, ex Execer, c s3bridge.Claim, r s3bridge.Result) error {
	if c.TaskID == 0 {
		return nil
	}
	q, args := s.CompleteStatement(c, r)
	res, err := ex.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("complete task %d with its work: %w", c.TaskID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("complete task %d (attempt %d of agent %s): %w", c.TaskID, c.Attempt, c.Agent, s3bridge.ErrLeaseLost)
	}
	return s.logOutcome(ctx, ex, c.TaskID, s3bridge.Success, r)
}

// OutcomeStatement returns the statement, with its arguments, that writes
// a final task's outcome (res.Info) to its log. It runs in the transaction
// that makes the task final (Finish's, or the work's own after
// CompleteStatement), so the outcome is in the log exactly when the
// lifecycle is final: an agent killed between the two can neither leave a
// SUCCESS without its line nor log the line for an attempt that a takeover
// then finishes again.
func (s *Store) OutcomeStatement(id int64, lc s3bridge.Lifecycle, res s3bridge.Result) (string, []any) {
	level := s3bridge.LevelInfo
	if lc == s3bridge.Failed {
		level = s3bridge.LevelError
	}
	return s.q(`INSERT INTO {task_log} (task_id, logged_at, level, message) VALUES (?, ?, ?, ?)`),
		[]any{id, s.now().UTC(), string(level), res.Info}
}

func (s *Store) logOutcome(ctx context.Context, ex Execer, id int64, lc s3bridge.Lifecycle, res s3bridge.Result) error {
	if res.Info == "" {
		return nil
	}
	q, args := s.OutcomeStatement(id, lc, res)
	if _, err := ex.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("log the outcome of task %d: %w", id, err)
	}
	return nil
}

// Release implements instance.Queue.
func (s *Store) Release(ctx context.Context, c s3bridge.Claim) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE {tasks} SET lifecycle = 'CREATED', agent_id = NULL, lease_until = NULL,
		percent_complete = 0, last_updated = ? WHERE task_id = ? AND agent_id = ? AND attempt = ? AND lifecycle = 'IN_PROGRESS'`),
		s.now(), c.TaskID, c.Agent, c.Attempt)
	if err != nil {
		return fmt.Errorf("release task %d on %s: %w", c.TaskID, s.name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("release task %d on %s: %w", c.TaskID, s.name, s3bridge.ErrLeaseLost)
	}
	return nil
}

// Cancel implements instance.Queue.
func (s *Store) Cancel(ctx context.Context, id int64) (s3bridge.Lifecycle, error) {
	var out s3bridge.Lifecycle
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var typ, lc string
		err := tx.QueryRowContext(ctx, s.q(`SELECT task_type, lifecycle FROM {tasks} WHERE task_id = ?`+s.d.LockRows), id).Scan(&typ, &lc)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("task %d: %w", id, s3bridge.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read task %d: %w", id, err)
		}
		now := s.now()
		switch s3bridge.Lifecycle(lc) {
		case s3bridge.Created:
			out = s3bridge.Cancelled
			_, err = tx.ExecContext(ctx, s.q(`UPDATE {tasks} SET lifecycle = 'CANCELLED', task_info = 'cancelled before it started',
				finished_at = ?, last_updated = ? WHERE task_id = ?`), now, now, id)
		case s3bridge.InProgress:
			if !s3bridge.TaskType(typ).Cancellable() {
				return fmt.Errorf("task %d is a %s task in progress: %w", id, typ, s3bridge.ErrNotCancellable)
			}
			out = s3bridge.CancelRequested
			_, err = tx.ExecContext(ctx, s.q(`UPDATE {tasks} SET lifecycle = 'CANCEL_REQUESTED', last_updated = ? WHERE task_id = ?`), now, id)
		case s3bridge.CancelRequested:
			out = s3bridge.CancelRequested
			return nil
		default:
			return fmt.Errorf("task %d is %s: %w", id, lc, s3bridge.ErrNotCancellable)
		}
		if err != nil {
			return fmt.Errorf("cancel task %d: %w", id, err)
		}
		return s.notify(ctx, tx)
	})
	if err != nil {
		return "", fmt.Errorf("cancel on %s: %w", s.name, err)
	}
	return out, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanTask(r scanner) (s3bridge.Task, error) {
	var (
		t                                 s3bridge.Task
		typ, lc                           string
		dbName, info, arn, path, meta, ag sql.NullString
		started, finished                 sql.NullTime
		overwrite                         sql.NullBool
		attempt, rows, files, size        sql.NullInt64
		code, session                     sql.NullString
	)
	err := r.Scan(&t.ID, &typ, &dbName, &lc, &t.PercentComplete, &info, &t.CreatedAt, &t.LastUpdated,
		&started, &finished, &arn, &path, &overwrite, &meta, &ag, &attempt, &rows, &files, &size, &code, &session)
	if err != nil {
		return t, err
	}
	t.Rows, t.Files, t.Bytes, t.ErrorCode, t.CallerSession = rows.Int64, files.Int64, size.Int64, code.String, session.String
	t.Type, t.Lifecycle = s3bridge.TaskType(typ), s3bridge.Lifecycle(lc)
	t.DatabaseName, t.TaskInfo, t.S3ObjectARN, t.FilePath, t.Agent = dbName.String, info.String, arn.String, path.String, ag.String
	t.Overwrite, t.Attempt = overwrite.Bool, attempt.Int64
	t.Metadata = []byte(meta.String)
	t.StartedAt = utcTime(started)
	t.FinishedAt = utcTime(finished)
	t.CreatedAt, t.LastUpdated = t.CreatedAt.UTC(), t.LastUpdated.UTC()
	return t, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
