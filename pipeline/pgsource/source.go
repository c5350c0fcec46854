// Package pgsource is the PostgreSQL source of s3bridge's pipelines: it
// creates a pipeline's publication and logical replication slot (with an
// exported snapshot for the initial copy), streams the slot's changes with
// the pgoutput plugin as pipeline events, confirms to the slot only the
// positions the caller says are durable, checks the server's prerequisites
// and drops what it created.
//
// A pipeline called NAME owns the publication and the slot "s3bridge_NAME".
// NAME is lower-case letters, digits and '_' (a slot name's alphabet), at
// most 54 characters.
package pgsource

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/s3bridge/s3bridge/pipeline"
)

// ErrSlotMissing means the pipeline's replication slot does not exist: it
// was dropped (or never created). The changes it retained are gone; the
// pipeline needs a new snapshot.
var ErrSlotMissing = errors.New("replication slot does not exist")

// ErrSlotExists means Create found the pipeline's slot already there.
var ErrSlotExists = pipeline.ErrSlotExists

// BehindSlotError means a stream was asked to start before the slot's
// confirmed_flush_lsn: the server no longer has the changes in between, so
// starting would silently skip them. Either the checkpoint is stale or the
// slot was recreated or advanced behind the pipeline's back.
type BehindSlotError struct {
	Slot             string
	Start, Confirmed pipeline.LSN
}

func (e *BehindSlotError) Error() string {
	return fmt.Sprintf("replication slot %s has confirmed up to %s, after the requested start %s: the changes in between are gone (was the slot recreated or advanced?); re-snapshot the pipeline",
		e.Slot, e.Confirmed, e.Start)
}

var validName = regexp.MustCompile(`^[a-z0-9_]{1,54}$`)

// Source is one pipeline's view of a PostgreSQL database.
type Source struct {
	cfg  *pgconn.Config
	name string // s3bridge_<pipeline>
}

// New returns the source of pipeline name on the database at url (a
// PostgreSQL connection URL or keyword/value string; it must name the
// database, as logical replication is per database).
func New(url, name string) (*Source, error) {
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("pipeline name %q: want 1-54 of a-z, 0-9 and _ (replication slot names allow no others)", name)
	}
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse PostgreSQL connection string: %w", err)
	}
	return &Source{cfg: cfg, name: "s3bridge_" + name}, nil
}

// SlotName returns the name of the pipeline's replication slot, which is
// also the name of its publication.
func (s *Source) SlotName() string { return s.name }

// Database returns the database the source reads.
func (s *Source) Database() string { return s.cfg.Database }

func (s *Source) quotedName() string { return pgx.Identifier{s.name}.Sanitize() }

// connect opens an ordinary connection.
func (s *Source) connect(ctx context.Context) (*pgconn.PgConn, error) {
	conn, err := pgconn.ConnectConfig(ctx, s.cfg.Copy())
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL database %s: %w", s.cfg.Database, err)
	}
	return conn, nil
}

// connectReplication opens a logical replication connection. Its session
// settings fix the text forms pgoutput writes values in, whatever the
// server's defaults (see valueDecoder).
func (s *Source) connectReplication(ctx context.Context) (*pgconn.PgConn, error) {
	cfg := s.cfg.Copy()
	for k, v := range map[string]string{
		"replication": "database", "DateStyle": "ISO, YMD", "IntervalStyle": "postgres",
		"TimeZone": "UTC", "extra_float_digits": "3", "bytea_output": "hex",
		"application_name": s.name,
	} {
		cfg.RuntimeParams[k] = v
	}
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open replication connection to database %s: %w", s.cfg.Database, err)
	}
	return conn, nil
}

// Table names a table by schema and name.
type Table = pipeline.Table

// Publication says which tables a pipeline captures: with AllTables,
// every table of the database, present and future.
type Publication = pipeline.Publication

// Slot is a replication slot Create just made, with its exported snapshot.
// The snapshot lives as long as the Slot is open: read the tables with
// "SET TRANSACTION SNAPSHOT 'SnapshotName'" in REPEATABLE READ transactions
// of other sessions, then Release. Streaming from ConsistentPoint gives
// exactly the changes committed after that snapshot.
type Slot struct {
	Name            string
	SnapshotName    string
	ConsistentPoint pipeline.LSN
	conn            *pgconn.PgConn
}

// Release ends the exported snapshot. Call it once every session that
// imports the snapshot has started its transaction.
func (sl *Slot) Release(ctx context.Context) error {
	if sl.conn == nil {
		return nil
	}
	err := sl.conn.Close(ctx)
	sl.conn = nil
	return err
}

// Create creates the pipeline's publication (replacing a leftover one of the
// same name) and its replication slot with an exported snapshot. It fails
// with ErrSlotExists when the slot is there already.
func (s *Source) Create(ctx context.Context, pub Publication) (*Slot, error) {
	if !pub.AllTables && len(pub.Tables) == 0 {
		return nil, fmt.Errorf("create publication %s: no tables", s.name)
	}
	conn, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := s.slotState(ctx, conn); err == nil {
		return nil, fmt.Errorf("create replication slot %s: %w", s.name, ErrSlotExists)
	} else if !errors.Is(err, ErrSlotMissing) {
		return nil, err
	}
	target := "ALL TABLES"
	if !pub.AllTables {
		names := make([]string, len(pub.Tables))
		for i, t := range pub.Tables {
			names[i] = pgx.Identifier{t.Schema, t.Name}.Sanitize()
		}
		target = "TABLE " + strings.Join(names, ", ")
	}
	// A publication must exist before the slot's consistent point, or
	// pgoutput, reading the catalog as of each change, would not see it.
	sql := "DROP PUBLICATION IF EXISTS " + s.quotedName() + "; CREATE PUBLICATION " + s.quotedName() + " FOR " + target
	if _, err := conn.Exec(ctx, sql).ReadAll(); err != nil {
		return nil, fmt.Errorf("create publication %s: %w", s.name, err)
	}
	rconn, err := s.connectReplication(ctx)
	if err != nil {
		return nil, err
	}
	res, err := pglogrepl.CreateReplicationSlot(ctx, rconn, s.quotedName(), "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: "EXPORT_SNAPSHOT"})
	if err != nil {
		rconn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("create replication slot %s: %w", s.name, err)
	}
	lsn, err := pipeline.ParseLSN(res.ConsistentPoint)
	if err != nil {
		rconn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("create replication slot %s: consistent point: %w", s.name, err)
	}
	return &Slot{Name: s.name, SnapshotName: res.SnapshotName, ConsistentPoint: lsn, conn: rconn}, nil
}

// SlotState is what pg_replication_slots says about the pipeline's slot.
type SlotState struct {
	Plugin, Database string
	ConfirmedFlush   pipeline.LSN
	// ActivePID is the process streaming from the slot, 0 when none.
	ActivePID int
}

// State returns the slot's state, or an error wrapping ErrSlotMissing.
func (s *Source) State(ctx context.Context) (SlotState, error) {
	conn, err := s.connect(ctx)
	if err != nil {
		return SlotState{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return s.slotState(ctx, conn)
}

func (s *Source) slotState(ctx context.Context, conn *pgconn.PgConn) (SlotState, error) {
	res := conn.ExecParams(ctx, `SELECT plugin, database, coalesce(confirmed_flush_lsn::text, ''), coalesce(active_pid, 0)
		FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`, [][]byte{[]byte(s.name)}, nil, nil, nil).Read()
	if res.Err != nil {
		return SlotState{}, fmt.Errorf("read replication slot %s: %w", s.name, res.Err)
	}
	if len(res.Rows) == 0 {
		return SlotState{}, fmt.Errorf("replication slot %s in database %s: %w", s.name, s.cfg.Database, ErrSlotMissing)
	}
	row := res.Rows[0]
	st := SlotState{Plugin: string(row[0]), Database: string(row[1])}
	if len(row[2]) > 0 {
		lsn, err := pipeline.ParseLSN(string(row[2]))
		if err != nil {
			return st, fmt.Errorf("replication slot %s: %w", s.name, err)
		}
		st.ConfirmedFlush = lsn
	}
	fmt.Sscan(string(row[3]), &st.ActivePID)
	if st.Plugin != "pgoutput" || st.Database != s.cfg.Database {
		return st, fmt.Errorf("replication slot %s is a %s slot of database %s, not s3bridge's pgoutput slot of %s",
			s.name, st.Plugin, st.Database, s.cfg.Database)
	}
	return st, nil
}

// waitInactive waits up to 5s for the server process of a stream that was
// just closed (or whose client died) to let go of the slot. A slot still
// active after that is another live stream: the caller's error.
func (s *Source) waitInactive(ctx context.Context, conn *pgconn.PgConn) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := s.slotState(ctx, conn)
		if err != nil || st.ActivePID == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replication slot %s is in use by server process %d", s.name, st.ActivePID)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Drop removes the pipeline's slot and publication; either may already be
// gone. It fails while a stream is still reading the slot.
func (s *Source) Drop(ctx context.Context) error {
	conn, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// Slot names are the server's, not the database's: a slot of that
	// name for another database is another pipeline's, and left alone.
	res := conn.ExecParams(ctx, `SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1 AND database = current_database()`,
		[][]byte{[]byte(s.name)}, nil, nil, nil).Read()
	if res.Err != nil {
		return fmt.Errorf("drop replication slot %s: %w", s.name, res.Err)
	}
	if len(res.Rows) > 0 {
		if err := s.waitInactive(ctx, conn); err != nil && !errors.Is(err, ErrSlotMissing) {
			return fmt.Errorf("drop replication slot %s: %w", s.name, err)
		}
	}
	res = conn.ExecParams(ctx, `SELECT pg_catalog.pg_drop_replication_slot(slot_name)
		FROM pg_catalog.pg_replication_slots WHERE slot_name = $1 AND database = current_database()`, [][]byte{[]byte(s.name)}, nil, nil, nil).Read()
	if res.Err != nil {
		return fmt.Errorf("drop replication slot %s: %w", s.name, res.Err)
	}
	if _, err := conn.Exec(ctx, "DROP PUBLICATION IF EXISTS "+s.quotedName()).ReadAll(); err != nil {
		return fmt.Errorf("drop publication %s: %w", s.name, err)
	}
	return nil
}
