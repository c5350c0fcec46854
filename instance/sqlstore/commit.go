package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/s3bridge/s3bridge"
)

// RecordCommit sets key in the task's metadata (task_metadata) to doc,
// while the claim still holds the task: what a task is about to make
// visible, written before it does, so that the attempt taking over from an
// agent killed midway finishes that instead of doing the work again (see
// export). A superseded claim writes nothing and gets ErrLeaseLost. The
// next claim of the task reads doc back in Task.Metadata.
func (s *Store) RecordCommit(ctx context.Context, c s3bridge.Claim, key string, doc json.RawMessage) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var meta sql.NullString
		err := tx.QueryRowContext(ctx, s.q(`SELECT task_metadata FROM {tasks} WHERE `+held+s.d.LockRows),
			c.TaskID, c.Agent, c.Attempt).Scan(&meta)
		if errors.Is(err, sql.ErrNoRows) {
			return s3bridge.ErrLeaseLost
		}
		if err != nil {
			return fmt.Errorf("read metadata: %w", err)
		}
		fields := map[string]json.RawMessage{}
		if meta.String != "" {
			if err := json.Unmarshal([]byte(meta.String), &fields); err != nil {
				return fmt.Errorf("decode metadata: %w", err)
			}
		}
		fields[key] = doc
		merged, err := json.Marshal(fields)
		if err != nil {
			return fmt.Errorf("encode metadata: %w", err)
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE {tasks} SET task_metadata = ?, last_updated = ? WHERE `+held),
			string(merged), s.now(), c.TaskID, c.Agent, c.Attempt)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return s3bridge.ErrLeaseLost
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record %s of task %d on %s: %w", key, c.TaskID, s.name, err)
	}
	return nil
}
