package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/s3bridge/s3bridge"
)

// Stored pipelines (issue 10): one row per pipeline in {pipelines}, with
// its config, its state, the agent that runs it and its checkpoint. A
// pipeline runs for as long as it is not paused; an agent holds it by a
// lease, as a task is held, and each claim takes the next attempt number:
// the fencing token that refuses the checkpoint of an agent frozen past
// its lease, so a checkpoint only ever moves forward under one holder.

// Pipeline states.
const (
	PipelineCreated      = "CREATED"
	PipelineSnapshotting = "SNAPSHOTTING"
	PipelineStreaming    = "STREAMING"
	PipelinePaused       = "PAUSED"
	PipelineError        = "ERROR"
)

// Pipeline is a stored pipeline.
type Pipeline struct {
	Name string
	// Source is the source database's URL, without a password: the agent
	// finds it where libpq would (PGPASSWORD, the password file).
	Source string
	// Config is the pipeline's settings as JSON (the pipeline package
	// reads it).
	Config string
	State  string
	// Reason says why the state is ERROR or PAUSED.
	Reason string
	// Agent, LeaseUntil and Attempt are the current hold.
	Agent      string
	LeaseUntil *time.Time
	Attempt    int64
	// Checkpoint is the writer's checkpoint as JSON ("" before the
	// first), and CheckpointLSN its position in the source's terms.
	Checkpoint    string
	CheckpointLSN string
	// Stats are the running figures as JSON (rows/s, lag, last file).
	Stats     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PipelineHold is an agent's claim on a pipeline.
type PipelineHold struct {
	Name, Agent string
	Attempt     int64
}

const pipelineColumns = `name, source, config, state, reason, agent_id, lease_until, attempt, checkpoint, checkpoint_lsn,
	stats, created_at, updated_at`

func (s *Store) pipelines() string { return s.d.Table("pipelines") }

func scanPipeline(r scanner) (Pipeline, error) {
	var (
		p                             Pipeline
		reason, agent, cp, lsn, stats sql.NullString
		lease                         sql.NullTime
	)
	err := r.Scan(&p.Name, &p.Source, &p.Config, &p.State, &reason, &agent, &lease, &p.Attempt, &cp, &lsn, &stats, &p.CreatedAt, &p.UpdatedAt)
	p.Reason, p.Agent, p.Checkpoint, p.CheckpointLSN, p.Stats = reason.String, agent.String, cp.String, lsn.String, stats.String
	p.LeaseUntil = utcTime(lease)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, err
}

// CreatePipeline stores p (state CREATED), or returns ErrExists.
func (s *Store) CreatePipeline(ctx context.Context, p Pipeline) error {
	now := s.now()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT count(*) FROM `+s.pipelines()+` WHERE name = ?`), p.Name).Scan(&n); err != nil {
			return fmt.Errorf("create pipeline %s: %w", p.Name, err)
		}
		if n > 0 {
			return fmt.Errorf("pipeline %s: %w", p.Name, s3bridge.ErrExists)
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO `+s.pipelines()+` (`+pipelineColumns+`)
			VALUES (?, ?, ?, ?, NULL, NULL, NULL, 0, NULL, NULL, NULL, ?, ?)`), p.Name, p.Source, p.Config, PipelineCreated, now, now)
		if err != nil {
			return fmt.Errorf("create pipeline %s: %w", p.Name, err)
		}
		return nil
	})
}

// Pipeline returns one stored pipeline, or ErrNotFound.
func (s *Store) Pipeline(ctx context.Context, name string) (Pipeline, error) {
	return named(ctx, s, "pipeline", s.pipelines(), pipelineColumns, name, scanPipeline)
}

// Pipelines returns every stored pipeline by name.
func (s *Store) Pipelines(ctx context.Context) ([]Pipeline, error) {
	return allNamed(ctx, s, "pipeline", s.pipelines(), pipelineColumns, scanPipeline)
}

// UpdatePipelineConfig replaces a pipeline's config (add-table, a
// snapshot request) when it still is old, so that two commands changing
// it at once can't lose one's change; ErrNotFound when the pipeline is gone
// or its config is no longer old (read it again and retry).
func (s *Store) UpdatePipelineConfig(ctx context.Context, name, old, config string) error {
	return s.one(ctx, "update pipeline "+name, `UPDATE `+s.pipelines()+` SET config = ?, updated_at = ? WHERE name = ? AND config = ?`,
		config, s.now(), name, old)
}

// PausePipeline marks a pipeline PAUSED with a reason; its agent sees it
// at its next renewal, stops at a durable point and lets it go.
func (s *Store) PausePipeline(ctx context.Context, name, reason string) error {
	return s.one(ctx, "pause pipeline "+name, `UPDATE `+s.pipelines()+` SET state = ?, reason = ?, updated_at = ? WHERE name = ?`,
		PipelinePaused, nullable(reason), s.now(), name)
}

// ResumePipeline makes a PAUSED or ERROR pipeline claimable again: the
// next agent to claim it resumes at its checkpoint.
func (s *Store) ResumePipeline(ctx context.Context, name string) error {
	return s.one(ctx, "resume pipeline "+name, `UPDATE `+s.pipelines()+` SET state = CASE WHEN checkpoint IS NULL THEN ? ELSE ? END,
		reason = NULL, updated_at = ? WHERE name = ?`, PipelineCreated, PipelineStreaming, s.now(), name)
}

// DeletePipeline deletes a pipeline's row, or returns ErrNotFound.
func (s *Store) DeletePipeline(ctx context.Context, name string) error {
	return s.one(ctx, "delete pipeline "+name, `DELETE FROM `+s.pipelines()+` WHERE name = ?`, name)
}

// one runs a statement that must change exactly one pipeline.
func (s *Store) one(ctx context.Context, what, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, s.q(query), args...)
	if err != nil {
		return fmt.Errorf("%s on %s: %w", what, s.name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", what, s3bridge.ErrNotFound)
	}
	return nil
}

// ClaimPipeline takes the first pipeline by name that is neither paused
// nor failed and that no agent holds (or whose holder's lease expired),
// for lease; nil when there is none.
func (s *Store) ClaimPipeline(ctx context.Context, agent string, lease time.Duration) (*Pipeline, error) {
	// A copy of the attached server runs no pipeline: its pipelines run
	// on that server.
	if err := s.checkServer(ctx); err != nil {
		return nil, fmt.Errorf("claim a pipeline on %s: %w", s.name, err)
	}
	var claimed *Pipeline
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		p, err := scanPipeline(tx.QueryRowContext(ctx, s.q(`SELECT `+pipelineColumns+` FROM `+s.pipelines()+`
			WHERE state NOT IN (?, ?) AND (agent_id IS NULL OR lease_until < ?) ORDER BY name LIMIT 1`+s.d.SkipLocked),
			PipelinePaused, PipelineError, now))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("pick a pipeline: %w", err)
		}
		until := now.Add(lease)
		res, err := tx.ExecContext(ctx, s.q(`UPDATE `+s.pipelines()+` SET agent_id = ?, lease_until = ?, attempt = ?, updated_at = ?
			WHERE name = ? AND attempt = ?`), agent, until, p.Attempt+1, now, p.Name, p.Attempt)
		if err != nil {
			return fmt.Errorf("claim pipeline %s: %w", p.Name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // another agent took it meanwhile
		}
		p.Agent, p.LeaseUntil, p.Attempt, p.UpdatedAt = agent, &until, p.Attempt+1, now
		claimed = &p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim a pipeline on %s: %w", s.name, err)
	}
	return claimed, nil
}

const pipelineHeld = `name = ? AND agent_id = ? AND attempt = ?`

// RenewPipeline extends the hold's lease, records the running figures,
// and returns the pipeline as stored (its state says whether it was
// paused meanwhile). A hold another claim superseded, or a pipeline
// deleted, returns ErrLeaseLost.
func (s *Store) RenewPipeline(ctx context.Context, h PipelineHold, lease time.Duration, stats string) (Pipeline, error) {
	now := s.now()
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE `+s.pipelines()+` SET lease_until = ?, stats = ?, updated_at = ? WHERE `+pipelineHeld),
		now.Add(lease), nullable(stats), now, h.Name, h.Agent, h.Attempt)
	if err != nil {
		return Pipeline{}, fmt.Errorf("renew pipeline %s on %s: %w", h.Name, s.name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Pipeline{}, fmt.Errorf("renew pipeline %s on %s: %w", h.Name, s.name, s3bridge.ErrLeaseLost)
	}
	return s.Pipeline(ctx, h.Name)
}

// SavePipelineCheckpoint records a checkpoint and the state it leaves the
// pipeline in, only while h holds the pipeline (ErrLeaseLost otherwise):
// the caller confirms the position to the source only after this
// returned nil. A PAUSED state set meanwhile is kept.
func (s *Store) SavePipelineCheckpoint(ctx context.Context, h PipelineHold, checkpoint, lsn, state string) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE `+s.pipelines()+` SET checkpoint = ?, checkpoint_lsn = ?,
		state = CASE WHEN state = ? THEN state ELSE ? END, reason = CASE WHEN state = ? THEN reason ELSE NULL END, updated_at = ?
		WHERE `+pipelineHeld), checkpoint, lsn, PipelinePaused, state, PipelinePaused, s.now(), h.Name, h.Agent, h.Attempt)
	if err != nil {
		return fmt.Errorf("save the checkpoint of pipeline %s on %s: %w", h.Name, s.name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("save the checkpoint of pipeline %s on %s: %w", h.Name, s.name, s3bridge.ErrLeaseLost)
	}
	return nil
}

// ReleasePipeline lets a held pipeline go: state ERROR with reason when
// failed is set (it stays stopped until resumed), otherwise unchanged so
// another agent may claim it.
func (s *Store) ReleasePipeline(ctx context.Context, h PipelineHold, failed error) error {
	state, reason := "", ""
	if failed != nil {
		state, reason = PipelineError, failed.Error()
	}
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE `+s.pipelines()+` SET agent_id = NULL, lease_until = NULL,
		state = CASE WHEN ? = '' THEN state ELSE ? END, reason = CASE WHEN ? = '' THEN reason ELSE ? END, updated_at = ?
		WHERE `+pipelineHeld), state, state, state, reason, s.now(), h.Name, h.Agent, h.Attempt)
	if err != nil {
		return fmt.Errorf("release pipeline %s on %s: %w", h.Name, s.name, err)
	}
	return nil
}
