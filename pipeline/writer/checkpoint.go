package writer

import (
	"context"
	"encoding/json"
	"slices"
	"sync"

	"github.com/s3bridge/s3bridge/pipeline"
)

// Checkpoint is what a pipeline has made durable. It is saved only after
// every object it names (and every object holding a change before LSN) was
// confirmed by S3, and only then is LSN confirmed to the source. It is
// plain data, JSON-encodable, for the instance row that stores it.
type Checkpoint struct {
	// LSN is the position up to which every change of the captured tables
	// is in durable, recorded objects: the EndLSN of the last transaction
	// written (or a later position before which no change is pending).
	// The stream resumes there. Zero means the pipeline never got past its
	// start (slot creation and initial snapshot): it starts over.
	LSN pipeline.LSN `json:"lsn"`
	// Position is LSN's resume token, for a source whose LSN can't be
	// resumed from alone (MariaDB: GTIDs and file:offset, see mysource);
	// empty for PostgreSQL. The pipeline sets it before Save.
	Position string `json:"position,omitempty"`
	// Tables holds each table's marks, by "schema.table".
	Tables map[string]TableMark `json:"tables,omitempty"`
	// SnapshotsDone is the sequence number of the last snapshot request
	// (pipeline snapshot, add-table) whose snapshots are recorded here.
	SnapshotsDone int64 `json:"snapshots_done,omitempty"`
	// InitialPending says the initial snapshot is not complete yet: it is
	// taken beside the stream, table by table, before the requests.
	InitialPending bool `json:"initial_pending,omitempty"`
	// Progress are the tables ("schema.table") whose snapshot is recorded
	// for the first snapshot not complete (the initial one, else request
	// SnapshotsDone+1): a restart takes only the others.
	Progress []string `json:"snapshot_progress,omitempty"`
}

// TableMark is one table's part of a Checkpoint.
type TableMark struct {
	// Schema is the table's latest schema version as of LSN (the shape of
	// its last change before LSN, or of its snapshot). A restarted stream
	// is told it so that versions go on counting.
	Schema *pipeline.TableSchema `json:"schema,omitempty"`
	// File is the key of the table's last durable change file, FileLSN the
	// commit LSN of its first transaction; empty and zero when none.
	File    string       `json:"file,omitempty"`
	FileLSN pipeline.LSN `json:"file_lsn,omitempty"`
	// Snapshot is the id of the table's completed snapshot and Parts its
	// number of chunks (see Chunked: chunk c's parts are part-<c> and
	// part-<c>_<n>); empty and zero when the table has none.
	Snapshot string `json:"snapshot,omitempty"`
	Parts    int    `json:"parts,omitempty"`
	// Earlier are the table's completed snapshots before that one, oldest
	// first: a later snapshot supersedes them for a reader, but their
	// objects stay.
	Earlier []SnapshotMark `json:"earlier_snapshots,omitempty"`
	// Partial is the table's snapshot in progress, when one is.
	Partial *PartialSnapshot `json:"partial_snapshot,omitempty"`
}

// SnapshotMark names one completed snapshot of a table.
type SnapshotMark struct {
	ID    string `json:"id"`
	Parts int    `json:"parts"`
}

// Clone returns a deep copy of cp that shares nothing mutable with it.
func (cp Checkpoint) Clone() Checkpoint {
	out := Checkpoint{LSN: cp.LSN, Position: cp.Position, SnapshotsDone: cp.SnapshotsDone, InitialPending: cp.InitialPending, Progress: slices.Clone(cp.Progress)}
	if cp.Tables != nil {
		out.Tables = make(map[string]TableMark, len(cp.Tables))
		for k, m := range cp.Tables {
			if m.Schema != nil {
				// A schema is immutable once made, but a caller may not
				// know: copy it through JSON, the checkpoint's wire form.
				b, _ := json.Marshal(m.Schema)
				var s pipeline.TableSchema
				_ = json.Unmarshal(b, &s)
				m.Schema = &s
			}
			m.Earlier = slices.Clone(m.Earlier)
			if m.Partial != nil {
				p := *m.Partial
				p.Done = slices.Clone(p.Done)
				p.Key = slices.Clone(p.Key)
				p.Bounds = slices.Clone(p.Bounds)
				if p.Schema != nil {
					b, _ := json.Marshal(p.Schema)
					var s pipeline.TableSchema
					_ = json.Unmarshal(b, &s)
					p.Schema = &s
				}
				m.Partial = &p
			}
			out.Tables[k] = m
		}
	}
	return out
}

// Schemas returns the tables' latest schema versions, for the source's
// list of known versions.
func (cp Checkpoint) Schemas() []pipeline.TableSchema {
	var out []pipeline.TableSchema
	for _, m := range cp.Tables {
		if m.Schema != nil {
			out = append(out, *m.Schema)
		}
	}
	return out
}

// Checkpointer stores a pipeline's checkpoint.
type Checkpointer interface {
	// Load returns the last saved checkpoint; the zero Checkpoint when
	// none was ever saved.
	Load(ctx context.Context) (Checkpoint, error)
	// Save replaces the checkpoint, atomically: after a crash Load returns
	// either the old or the new one whole. When Save returns an error the
	// caller can't tell which; it stops and a restart Loads.
	Save(ctx context.Context, cp Checkpoint) error
}

// Memory is a Checkpointer in memory, for tests. It is safe for concurrent
// use.
type Memory struct {
	mu    sync.Mutex
	cp    Checkpoint
	saves int
}

// Load returns a copy of the saved checkpoint.
func (m *Memory) Load(context.Context) (Checkpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cp.Clone(), nil
}

// Save stores a copy of cp.
func (m *Memory) Save(_ context.Context, cp Checkpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cp = cp.Clone()
	m.saves++
	return nil
}

// Saves returns how many times Save was called.
func (m *Memory) Saves() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.saves
}

var _ Checkpointer = (*Memory)(nil)
