package run

import (
	"context"
	"time"

	"github.com/s3bridge/s3bridge/pipeline"
)

// Source is the database a pipeline captures: PostgreSQL (Postgres) or
// MariaDB (MariaDB). Its methods are those of pipeline/pgsource and
// pipeline/mysource, whose doc comments state the contracts; these
// interfaces let Run drive either without knowing which.
type Source interface {
	// Database names the source database in the bucket's layout.
	Database() string
	// SlotName names the pipeline on the server (slot, publication).
	SlotName() string
	// Create starts a new pipeline capturing pub and takes its initial
	// snapshot's Slot; pipeline.ErrSlotExists when an earlier start left
	// its slot.
	Create(ctx context.Context, pub pipeline.Publication) (Slot, error)
	// SnapshotSlot takes a snapshot to copy beside the running stream.
	SnapshotSlot(ctx context.Context) (Slot, error)
	// OpenSnapshot opens one session of slot's snapshot.
	OpenSnapshot(ctx context.Context, slot Slot) (Snapshot, error)
	// SyncPublication makes the source capture exactly pub's tables and
	// reports whether that changed anything.
	SyncPublication(ctx context.Context, pub pipeline.Publication) (bool, error)
	// Stream streams the captured tables' changes from start.
	Stream(ctx context.Context, start StreamStart) (Stream, error)
	// Drop removes what the pipeline holds on the server.
	Drop(ctx context.Context) error
	// Lost reports whether err (from Stream) means the changes after the
	// checkpoint are gone from the source: a replication slot dropped or
	// ahead of the checkpoint, binary logs purged. Only a new snapshot of
	// every table starts the pipeline again (Pipeline.resync).
	Lost(err error) bool
}

// StreamStart says where a stream starts: a checkpoint's LSN and Position,
// or a Slot's Point and Token.
type StreamStart struct {
	LSN      pipeline.LSN
	Position string // LSN's resume token; "" for PostgreSQL
	Versions *pipeline.Versions
	// StatusInterval is PostgreSQL's standby status interval
	// (pgsource.StreamOptions); MariaDB ignores it.
	StatusInterval time.Duration
}

// Slot is a snapshot just taken and the point the stream goes on from.
type Slot interface {
	// Point is the snapshot's consistent point.
	Point() pipeline.LSN
	// Token is Point's resume token ("" for PostgreSQL), for the
	// checkpoint.
	Token() string
	// String names the slot in logs.
	String() string
	// Release ends the slot's snapshot; call it once every session is
	// open.
	Release(ctx context.Context) error
}

// Snapshot is one session of a Slot's snapshot (pgsource.Snapshot,
// mysource.Snapshot), for one goroutine.
type Snapshot interface {
	LSN() pipeline.LSN
	Tables(ctx context.Context) ([]pipeline.Table, error)
	Schema(ctx context.Context, t pipeline.Table) (pipeline.TableSchema, error)
	Plan(ctx context.Context, t pipeline.Table, rows int64, maxChunks int) (pipeline.Chunking, error)
	Resumable(ctx context.Context, t pipeline.Table) (bool, error)
	Read(ctx context.Context, ts *pipeline.TableSchema, emit func(*pipeline.Change) error) (int64, error)
	ReadChunk(ctx context.Context, ts *pipeline.TableSchema, c pipeline.Chunking, i int, lsn pipeline.LSN,
		emit func(*pipeline.Change) error) (int64, error)
	Close(ctx context.Context) error
}

// Stream is a stream of changes (pgsource.Stream, mysource.Stream). Next
// and Close are for one goroutine; Confirm, Token and Durable for any.
type Stream interface {
	Next(ctx context.Context) (pipeline.Event, error)
	// Confirm tells the source everything up to lsn is durable.
	Confirm(lsn pipeline.LSN)
	// Token is lsn's resume token, for the checkpoint ("" for
	// PostgreSQL, whose LSN is its own token).
	Token(lsn pipeline.LSN) string
	// Durable is the last confirmed position.
	Durable() pipeline.LSN
	Close(ctx context.Context) error
}
