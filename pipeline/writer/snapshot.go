package writer

import (
	"context"
	"fmt"

	"github.com/s3bridge/s3bridge/pipeline"
)

// Snapshot writes one table's snapshot: parts of FlushRows rows (or
// MaxFileSize bytes) under Layout.SnapshotDir. At least one part is written,
// empty for an empty table, so every completed snapshot is visible with its
// schema.
type Snapshot struct {
	w      *Writer
	t      *table
	ts     *pipeline.TableSchema
	id     string
	parts  int
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
	return &Snapshot{w: w, t: t, ts: ts, id: id}, nil
}

func (s *Snapshot) openPart(ctx context.Context) error {
	key := s.w.opts.Layout.PartKey(s.ts.Schema, s.ts.Table, s.id, s.parts)
	f, err := openFile(ctx, s.w.store, s.w.opts.Bucket, key, s.ts, s.w.avroOptions(), s.w.opts.Now())
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
	if s.open.rows() >= s.w.opts.FlushRows || s.open.size() >= s.w.opts.MaxFileSize {
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
// The next Flush records the snapshot as the table's.
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
	s.t.cur, s.t.latest = s.ts, s.ts
	s.w.snapshots = append(s.w.snapshots, s)
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
