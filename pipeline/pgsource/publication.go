package pgsource

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"

	"github.com/s3bridge/s3bridge/pipeline"
)

// SyncPublication makes the pipeline's publication capture exactly pub's
// tables (pipeline add-table changes them). A publication FOR ALL TABLES
// is left alone. It reports whether it changed anything. A stream started
// after it returned sends the changes of an added table committed after
// that point.
func (s *Source) SyncPublication(ctx context.Context, pub Publication) (bool, error) {
	if pub.AllTables {
		return false, nil
	}
	conn, err := s.connect(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	res := conn.ExecParams(ctx, `SELECT schemaname, tablename FROM pg_catalog.pg_publication_tables WHERE pubname = $1`,
		[][]byte{[]byte(s.name)}, nil, nil, nil).Read()
	if res.Err != nil {
		return false, fmt.Errorf("read publication %s: %w", s.name, res.Err)
	}
	have := map[Table]bool{}
	for _, r := range res.Rows {
		have[Table{Schema: string(r[0]), Name: string(r[1])}] = true
	}
	var names []string
	same := len(have) == len(pub.Tables)
	for _, t := range pub.Tables {
		same = same && have[t]
		names = append(names, pgx.Identifier{t.Schema, t.Name}.Sanitize())
	}
	if same {
		return false, nil
	}
	slices.Sort(names)
	if _, err := conn.Exec(ctx, "ALTER PUBLICATION "+s.quotedName()+" SET TABLE "+strings.Join(names, ", ")).ReadAll(); err != nil {
		return false, fmt.Errorf("set the tables of publication %s to %s: %w", s.name, strings.Join(names, ", "), err)
	}
	return true, nil
}

// SnapshotSlot takes a snapshot of the database while the pipeline
// streams: a temporary logical slot, created with an exported snapshot on
// its own replication connection, gives a snapshot and its consistent
// point C. Exactly the transactions that commit before C are in the
// snapshot; the pipeline's stream sends the others, which all commit at or
// after C. The temporary slot goes with its connection (Release, or the
// session's end): it never retains WAL beyond the copy.
func (s *Source) SnapshotSlot(ctx context.Context) (*Slot, error) {
	rconn, err := s.connectReplication(ctx)
	if err != nil {
		return nil, err
	}
	// Slot names are server-wide: the backend's pid makes this one unique
	// while it lives, which is as long as it exists.
	pid := rconn.PID()
	name := fmt.Sprintf("s3bridge_snapshot_%d", pid)
	res, err := pglogrepl.CreateReplicationSlot(ctx, rconn, name, "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{Temporary: true, Mode: pglogrepl.LogicalReplication, SnapshotAction: "EXPORT_SNAPSHOT"})
	if err != nil {
		rconn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("create temporary replication slot %s for a snapshot: %w", name, err)
	}
	lsn, err := pipeline.ParseLSN(res.ConsistentPoint)
	if err != nil {
		rconn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("create temporary replication slot %s: consistent point: %w", name, err)
	}
	return &Slot{Name: name, SnapshotName: res.SnapshotName, ConsistentPoint: lsn, conn: rconn}, nil
}
