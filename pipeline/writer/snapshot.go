package writer

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format/avro"
	"github.com/s3bridge/s3bridge/pipeline"
)

// Snapshot writes one table's snapshot: parts of FlushRows rows (or
// MaxFileSize bytes) under Layout.SnapshotDir. At least one part is written,
// empty for an empty table, so every completed snapshot is visible with its
// schema.
//
// A snapshot from Writer.Snapshot (the initial one, in the writer's
// goroutine) is the Writer's once Close returned. One from NewSnapshot (a
// snapshot taken beside the stream, in another goroutine) touches no
// Writer state: once it is closed, the writer's goroutine hands it to
// Writer.Record. Either way the next Flush records it.
type Snapshot struct {
	w      *Writer // nil for a NewSnapshot until Record
	store  Store
	opts   Options
	ts     *pipeline.TableSchema
	id     string
	parts  int
	rows   int64
	open   *file
	closed []*file
}

// Snapshot starts the snapshot id of the table of ts, whose rows are of
// schema ts. Its parts count once Close returned and the next Flush
// recorded them.
func (w *Writer) Snapshot(ctx context.Context, id string, ts *pipeline.TableSchema) (*Snapshot, error) {
	t := w.table(ts)
	if err := w.writeSchema(ctx, t, ts); err != nil {
		return nil, err
	}
	return &Snapshot{w: w, store: w.store, opts: w.opts, ts: ts, id: id}, nil
}

// NewSnapshot starts the snapshot id of the table of ts for a pipeline
// written with opts, apart from its Writer: it writes the .avsc of ts's
// version (the content of an .avsc depends on the version's shape only, so
// a stream that meets the same version writes the same object).
func NewSnapshot(ctx context.Context, store Store, opts Options, id string, ts *pipeline.TableSchema) (*Snapshot, error) {
	opts.defaults()
	js, err := avro.SchemaJSON(ts)
	if err != nil {
		return nil, err
	}
	key := opts.Layout.SchemaKey(ts.Schema, ts.Table, ts.Version)
	if _, err := store.Upload(ctx, opts.Bucket, key, bytes.NewReader(js), s3bridge.PutOptions{ContentType: "application/json"}); err != nil {
		return nil, fmt.Errorf("write schema %s: %w", key, err)
	}
	return &Snapshot{store: store, opts: opts, ts: ts, id: id}, nil
}

// Rows returns the number of rows appended.
func (s *Snapshot) Rows() int64 { return s.rows }

// Table returns the snapshot's table as "schema.table".
func (s *Snapshot) Table() string { return tableKey(s.ts.Schema, s.ts.Table) }

func (s *Snapshot) openPart(ctx context.Context) error {
	key := s.opts.Layout.PartKey(s.ts.Schema, s.ts.Table, s.id, s.parts)
	f, err := openFile(ctx, s.store, s.opts.Bucket, key, s.ts, s.opts.avroOptions(), s.opts.Now())
	if err != nil {
		return err
	}
	s.open = f
	s.parts++
	return nil
}

// Append adds a row read by the snapshot (an OpRead change of schema ts).
func (s *Snapshot) Append(ctx context.Context, c *pipeline.Change) error {
	if c.Op != pipeline.OpRead {
		return fmt.Errorf("snapshot %s of %s: %s change", s.id, s.ts.QualifiedName(), c.Op)
	}
	if s.open == nil {
		if err := s.openPart(ctx); err != nil {
			return err
		}
	}
	if err := s.open.append(c); err != nil {
		return err
	}
	s.rows++
	if s.open.rows() >= s.opts.FlushRows || s.open.size() >= s.opts.MaxFileSize {
		return s.closePart()
	}
	return nil
}

func (s *Snapshot) closePart() error {
	f := s.open
	s.open = nil
	s.closed = append(s.closed, f)
	return f.close()
}

// Close closes the last part and waits until S3 confirmed every part.
func (s *Snapshot) Close(ctx context.Context) error {
	if s.open == nil && s.parts == 0 {
		if err := s.openPart(ctx); err != nil {
			return err
		}
	}
	if s.open != nil {
		if err := s.closePart(); err != nil {
			s.Abort()
			return err
		}
	}
	for _, f := range s.closed {
		if err := f.wait(ctx); err != nil {
			s.Abort()
			return fmt.Errorf("snapshot %s of %s: %w", s.id, s.ts.QualifiedName(), err)
		}
	}
	s.closed = nil
	if s.w != nil {
		s.w.record(s)
	}
	return nil
}

// Abort cancels the parts' uploads and waits for them.
func (s *Snapshot) Abort() {
	if s.open != nil {
		s.open.abort()
		s.open = nil
	}
	for _, f := range s.closed {
		f.abort()
	}
	s.closed = nil
}

// Record makes closed snapshots taken beside the stream (NewSnapshot) the
// Writer's, as the request seq (Checkpoint.SnapshotsDone) they complete:
// the next Flush records them. It is called from the writer's goroutine.
func (w *Writer) Record(seq int64, snaps []*Snapshot) {
	for _, s := range snaps {
		w.RecordTable(s)
	}
	w.RecordDone(seq)
}

// RecordTable makes one table's closed snapshot (NewSnapshot) of the
// first snapshot not complete the Writer's: the next Flush records it in
// the table's marks and in Checkpoint.Progress.
func (w *Writer) RecordTable(s *Snapshot) {
	s.w = w
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
