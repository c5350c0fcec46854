package writer

import (
	"context"
	"slices"

	"github.com/s3bridge/s3bridge/pipeline"
)

// Snapshot is a table's completed snapshot: its id, its schema version
// and its number of chunks (see Chunked). The next Flush records it once
// it is the Writer's (Writer.RecordTable).
type Snapshot struct {
	ts    *pipeline.TableSchema
	id    string
	parts int
}

// Table returns the snapshot's table as "schema.table".
func (s *Snapshot) Table() string { return tableKey(s.ts.Schema, s.ts.Table) }

// TableSnapshot writes a whole table's snapshot as one chunk, in the
// writer's goroutine: what --snapshot initial_only copies under the slot's
// snapshot before the pipeline's first checkpoint.
type TableSnapshot struct {
	w  *Writer
	c  *Chunked
	cw *ChunkWriter
}

// Snapshot starts the snapshot id of the table of ts, whose rows are of
// schema ts, writing the version's .avsc first if need be. Once Close
// returned, the next Flush records it.
func (w *Writer) Snapshot(ctx context.Context, id string, ts *pipeline.TableSchema) (*TableSnapshot, error) {
	if err := w.writeSchema(ctx, w.table(ts), ts); err != nil {
		return nil, err
	}
	c := &Chunked{store: w.store, opts: w.opts, ts: ts, id: id, chunks: 1}
	return &TableSnapshot{w: w, c: c, cw: c.Chunk(0)}, nil
}

// Append adds a row read by the snapshot (an OpRead change of schema ts).
func (s *TableSnapshot) Append(ctx context.Context, c *pipeline.Change) error {
	return s.cw.Append(ctx, c)
}

// Close closes the last part and waits until S3 confirmed every part; the
// snapshot is then the Writer's.
func (s *TableSnapshot) Close(ctx context.Context) error {
	if err := s.cw.Close(ctx); err != nil {
		return err
	}
	s.w.RecordTable(s.c.Snapshot())
	return nil
}

// Abort cancels the parts' uploads and waits for them.
func (s *TableSnapshot) Abort() { s.cw.Abort() }

// RecordTable makes one table's closed snapshot (Chunked.Snapshot) the
// Writer's: the next Flush records it in the table's marks and, as one
// table done of the first snapshot not complete, in Checkpoint.Progress.
// It is called from the writer's goroutine.
func (w *Writer) RecordTable(s *Snapshot) {
	w.record(s)
	if t := s.Table(); !slices.Contains(w.progress, t) {
		w.progress = append(w.progress, t)
	}
	w.recorded = true
}

// RecordDone notes that the first snapshot not complete is: the initial
// one (seq 0) or request seq.
func (w *Writer) RecordDone(seq int64) {
	if seq == 0 {
		w.initialPending = false
	}
	w.snapSeq = max(w.snapSeq, seq)
	w.progress = nil
	w.recorded = true
}

// record notes a closed snapshot for the next Flush. The table's latest
// schema moves to the snapshot's when that is a later version: a version
// the stream met first is older, and a snapshot's version is never
// renumbered (see pipeline.Versions).
func (w *Writer) record(s *Snapshot) {
	t := w.table(s.ts)
	t.markSchema(s.ts.Version)
	if t.latest == nil || s.ts.Version > t.latest.Version {
		t.latest = s.ts
		if w.tx == nil || !w.touched[t] {
			t.cur = s.ts
		}
	}
	w.snapshots = append(w.snapshots, s)
}
