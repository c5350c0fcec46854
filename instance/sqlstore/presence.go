package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/s3bridge/s3bridge"
)

// Beat implements instance.Presence: one row per agent, its last_seen
// moved forward.
func (s *Store) Beat(ctx context.Context, a s3bridge.AgentInfo) error {
	// A copy of the attached server records no agent: no agent serves it.
	if err := s.checkServer(ctx); err != nil {
		return fmt.Errorf("record agent %s on %s: %w", a.ID, s.name, err)
	}
	now := s.now()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE {agents} SET last_seen = ?, stopped_at = NULL, host = ?, version = ? WHERE agent_id = ?`),
			now, a.Host, a.Version, a.ID)
		if err != nil {
			return fmt.Errorf("record agent %s on %s: %w", a.ID, s.name, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO {agents} (agent_id, host, version, started_at, last_seen) VALUES (?, ?, ?, ?, ?)`),
			a.ID, a.Host, a.Version, a.StartedAt.UTC(), now); err != nil {
			return fmt.Errorf("record agent %s on %s: %w", a.ID, s.name, err)
		}
		return nil
	})
}

// Leave implements instance.Presence.
// The row stays, marked stopped, so a SQL call can say when an agent was
// last seen; stopped rows older than a day are removed.
func (s *Store) Leave(ctx context.Context, agentID string) error {
	now := s.now()
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE {agents} SET stopped_at = ?, last_seen = ? WHERE agent_id = ?`), now, now, agentID); err != nil {
		return fmt.Errorf("record agent %s as stopped on %s: %w", agentID, s.name, err)
	}
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM {agents} WHERE stopped_at < ?`), now.Add(-24*time.Hour)); err != nil {
		return fmt.Errorf("remove stopped agents from %s: %w", s.name, err)
	}
	return nil
}

// Agents implements instance.Presence.
func (s *Store) Agents(ctx context.Context) ([]s3bridge.AgentInfo, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT agent_id, host, version, started_at, last_seen FROM {agents} ORDER BY agent_id`))
	if err != nil {
		return nil, fmt.Errorf("list agents of %s: %w", s.name, err)
	}
	defer rows.Close()
	var out []s3bridge.AgentInfo
	for rows.Next() {
		var a s3bridge.AgentInfo
		if err := rows.Scan(&a.ID, &a.Host, &a.Version, &a.StartedAt, &a.LastSeen); err != nil {
			return nil, fmt.Errorf("list agents of %s: %w", s.name, err)
		}
		a.StartedAt, a.LastSeen = a.StartedAt.UTC(), a.LastSeen.UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// SessionAlive implements instance.Presence with the dialect's query; a
// database without sessions (SQLite) has every session alive.
func (s *Store) SessionAlive(ctx context.Context, session string) (bool, error) {
	if s.d.SessionAlive == nil || session == "" {
		return true, nil
	}
	alive, err := s.d.SessionAlive(ctx, s.db, session)
	if err != nil {
		return false, fmt.Errorf("look for session %s on %s: %w", session, s.name, err)
	}
	return alive, nil
}

// cancelOrphans cancels the tasks nobody started whose synchronous SQL
// caller has gone (killed, disconnected, timed out): they must never run
// later, when nobody waits for them and the world may have changed (the
// table dropped and created again).
func (s *Store) cancelOrphans(ctx context.Context) error {
	if s.d.SessionAlive == nil {
		return nil
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT task_id, caller_session FROM {tasks}
		WHERE lifecycle = 'CREATED' AND caller_session IS NOT NULL AND caller_session <> ''`))
	if err != nil {
		return fmt.Errorf("list waited-for tasks on %s: %w", s.name, err)
	}
	type waited struct {
		id      int64
		session string
	}
	var all []waited
	for rows.Next() {
		var w waited
		if err := rows.Scan(&w.id, &w.session); err != nil {
			rows.Close()
			return fmt.Errorf("list waited-for tasks on %s: %w", s.name, err)
		}
		all = append(all, w)
	}
	rows.Close()
	for _, w := range all {
		alive, err := s.SessionAlive(ctx, w.session)
		if err != nil || alive {
			continue // not known to be gone: leave it
		}
		now := s.now()
		if _, err := s.db.ExecContext(ctx, s.q(`UPDATE {tasks} SET lifecycle = 'CANCELLED', finished_at = ?, last_updated = ?,
			task_info = ?, error_code = 'cancelled' WHERE task_id = ? AND lifecycle = 'CREATED'`), now, now,
			"cancelled before it started: the SQL call waiting for it (session "+w.session+") has ended", w.id); err != nil {
			return fmt.Errorf("cancel task %d on %s: %w", w.id, s.name, err)
		}
	}
	return nil
}
