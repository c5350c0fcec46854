package pgsource

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SetReplicaIdentityFull sets REPLICA IDENTITY FULL on tables
// (--replica-identity-full): their updates and deletes then carry the
// whole before image, and unchanged TOASTed values are sent.
func (s *Source) SetReplicaIdentityFull(ctx context.Context, tables []Table) error {
	if len(tables) == 0 {
		return nil
	}
	conn, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, t := range tables {
		name := pgx.Identifier{t.Schema, t.Name}.Sanitize()
		if err := conn.Exec(ctx, "ALTER TABLE "+name+" REPLICA IDENTITY FULL").Close(); err != nil {
			return fmt.Errorf("set replica identity full on %s: %w", name, err)
		}
	}
	return nil
}

// Retained is how much WAL the server keeps for the pipeline's slot, in
// bytes (from the slot's restart point to the current WAL position), and
// how far the slot's confirmed position is behind it: what `pipeline
// show` reports as lag in bytes. It wraps ErrSlotMissing when there is no
// slot.
func (s *Source) Retained(ctx context.Context) (retained, behind int64, err error) {
	conn, err := s.connect(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	res := conn.ExecParams(ctx, `SELECT coalesce(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), restart_lsn), 0)::bigint,
		coalesce(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), confirmed_flush_lsn), 0)::bigint
		FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`, [][]byte{[]byte(s.name)}, nil, nil, nil).Read()
	if res.Err != nil {
		return 0, 0, fmt.Errorf("read replication slot %s: %w", s.name, res.Err)
	}
	if len(res.Rows) == 0 {
		return 0, 0, fmt.Errorf("replication slot %s: %w", s.name, ErrSlotMissing)
	}
	fmt.Sscan(string(res.Rows[0][0]), &retained)
	fmt.Sscan(string(res.Rows[0][1]), &behind)
	return retained, behind, nil
}
