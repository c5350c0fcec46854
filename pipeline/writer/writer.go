// Package writer turns a pipeline's changes into durable S3 objects: per
// table and schema version an Avro change file that receives whole
// transactions in commit order, snapshot parts, the .avsc of every schema
// version and the pipeline's _pipeline.json, under the keys of Layout.
//
// # Exactly-once files
//
// A Writer closes a table's file when it reaches FlushRows or MaxFileSize
// (between transactions), when the table's schema version changes, and at
// every Flush. Flush happens between transactions only: it closes every open
// file, waits until S3 confirmed every file closed since the last Flush and
// returns the Checkpoint to save. The caller saves it, and only then confirms
// its LSN to the source. Hence:
//
//   - every change of a transaction that ended at or before a saved
//     checkpoint's LSN is in an object that checkpoint (or an earlier one)
//     recorded, and no recorded object holds a later change: a Flush closes
//     every file, so no recorded file goes on past its LSN;
//   - a file opened after that Flush starts with a transaction that commits
//     at or after LSN (commits come in log order), so its key is at or
//     after LSN.
//
// After a crash, Recover deletes every change file keyed at or after the
// loaded checkpoint's LSN — exactly the files no saved checkpoint recorded —
// before the stream resumes at that LSN and rewrites them (with the same keys
// where the cuts fall at the same places; time-based cuts may differ, which
// is why the old ones go first). At no moment do two live objects hold the
// same change.
package writer

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"path"
	"slices"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format/avro"
	"github.com/s3bridge/s3bridge/pipeline"
)

// Options configure a Writer.
type Options struct {
	Bucket string
	Layout Layout
	// Pipeline is the pipeline's name, written into _pipeline.json.
	Pipeline string
	// Format is the files' format; "" means Avro. Layout.Ext, when
	// empty, is set to its extension, which is what the data files are
	// written by (see openFile).
	Format Format
	// Codec is the compression codec, by s3bridge's names, for every
	// format (see Format's packages for what each makes of it).
	Codec pipeline.Codec
	// BlockSize is the Avro block size (avro.Options.BlockSize) and the
	// JSON Lines buffer size.
	BlockSize int
	// FlushRows closes a file that holds at least this many changes at the
	// end of a transaction; default 100,000.
	FlushRows int64
	// MaxFileSize closes a file that holds at least this many bytes at the
	// end of a transaction; default 128 MiB.
	MaxFileSize int64
	// FlushInterval is the age at which an open file is due to be flushed
	// (see Deadline); default 5s.
	FlushInterval time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	Log *slog.Logger
}

func (o *Options) defaults() {
	o.FlushRows = cmp.Or(o.FlushRows, 100_000)
	o.MaxFileSize = cmp.Or(o.MaxFileSize, 128<<20)
	o.FlushInterval = cmp.Or(o.FlushInterval, 5*time.Second)
	o.Layout.Ext = cmp.Or(o.Layout.Ext, o.Format.Ext(o.Codec))
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// table is the Writer's state of one table.
type table struct {
	schema, name string
	// cur is the schema of the table's last change; latest the one as of
	// the last whole transaction, which is what a checkpoint records.
	cur, latest *pipeline.TableSchema
	// avsc is the highest version whose .avsc is known written: every
	// version up to the checkpoint's; after it, avscDone says which (a
	// snapshot beside the stream may write a version before the stream
	// writes a lower one).
	avsc     int
	avscDone map[int]bool
	open     *file
	// last names the table's last change file opened.
	last changeName
	// closed are the files closed since the last Flush, in order.
	closed []*file
	mark   TableMark
}

// Writer writes one pipeline's objects. It is for one goroutine.
type Writer struct {
	store  Store
	opts   Options
	tables map[string]*table
	tx     *pipeline.Tx
	// touched are the tables the open transaction changed.
	touched map[*table]bool
	// pos is the EndLSN of the last whole transaction (or the position of
	// the last message between transactions); saved the checkpoint's.
	pos, saved   pipeline.LSN
	lastFlush    time.Time
	manifestJSON []byte // the _pipeline.json last written
	snapshots    []*Snapshot
	// rows counts the changes written; lastCommit is the commit time of
	// the last whole transaction; durable what the last Flush made durable.
	rows       int64
	lastCommit time.Time
	durable    Durable
	// snapSeq is the last snapshot request done (Checkpoint.SnapshotsDone);
	// initialPending and progress are the checkpoint's too; recorded says
	// they changed since the last Flush.
	snapSeq        int64
	initialPending bool
	progress       []string
	recorded       bool
}

// New returns a Writer that goes on from cp, the checkpoint loaded (and
// recovered, see Recover) or, for a new pipeline, the position its stream
// starts at.
func New(store Store, opts Options, cp Checkpoint) *Writer {
	opts.defaults()
	w := &Writer{store: store, opts: opts, tables: map[string]*table{}, touched: map[*table]bool{},
		pos: cp.LSN, saved: cp.LSN, snapSeq: cp.SnapshotsDone, lastFlush: opts.Now(),
		initialPending: cp.InitialPending, progress: slices.Clone(cp.Progress)}
	for k, m := range cp.Clone().Tables {
		t := &table{mark: m, cur: m.Schema, latest: m.Schema}
		if m.Schema != nil {
			t.schema, t.name, t.avsc = m.Schema.Schema, m.Schema.Table, m.Schema.Version
		}
		if m.File != "" {
			t.last = changeName{first: m.FileLSN}
			if cn, ok := parseChangeName(path.Base(m.File)); ok {
				t.last = cn
			}
		}
		w.tables[k] = t
	}
	return w
}

func tableKey(schema, name string) string { return schema + "." + name }

func (w *Writer) table(ts *pipeline.TableSchema) *table {
	k := tableKey(ts.Schema, ts.Table)
	t := w.tables[k]
	if t == nil {
		t = &table{}
		w.tables[k] = t
	}
	t.schema, t.name = ts.Schema, ts.Table
	return t
}

// Apply hands the Writer one event of the source's stream.
func (w *Writer) Apply(ctx context.Context, ev pipeline.Event) error {
	switch {
	case ev.Begin != nil:
		return w.Begin(ev.Begin)
	case ev.Change != nil:
		return w.Change(ctx, ev.Change)
	case ev.Commit != nil:
		return w.Commit(ctx, ev.Commit)
	case ev.Message != nil:
		w.Message(ev.Message)
	}
	return nil
}

// Begin opens a transaction.
func (w *Writer) Begin(tx *pipeline.Tx) error {
	if w.tx != nil {
		return fmt.Errorf("transaction %d begins inside transaction %d", tx.ID, w.tx.ID)
	}
	if tx.CommitLSN < w.pos {
		// Resent by a source that restarted before our position: a
		// replay would duplicate it.
		return fmt.Errorf("transaction %d commits at %s, before the writer's position %s", tx.ID, tx.CommitLSN, w.pos)
	}
	w.tx = tx
	return nil
}

// InTx reports whether a transaction is open: Flush must wait for its end.
func (w *Writer) InTx() bool { return w.tx != nil }

// Change appends a change of the open transaction to its table's file,
// opening one (and writing the version's .avsc) as needed.
func (w *Writer) Change(ctx context.Context, c *pipeline.Change) error {
	if w.tx == nil {
		return fmt.Errorf("%s change of %s outside a transaction", c.Op, c.Schema.QualifiedName())
	}
	t := w.table(c.Schema)
	if t.open != nil && t.open.schema.Version != c.Schema.Version {
		if err := t.closeFile(); err != nil {
			return err
		}
	}
	if t.open == nil {
		if err := w.writeSchema(ctx, t, c.Schema); err != nil {
			return err
		}
		name := changeName{first: w.tx.CommitLSN}
		if t.last.first == name.first {
			// A second file starting in the same transaction (its
			// schema changed in between): see Layout.
			name.version = c.Schema.Version
		}
		key := w.opts.Layout.ChangeKey(t.schema, t.name, name.first, name.version)
		f, err := openFile(ctx, w.store, w.opts.Bucket, key, c.Schema, w.avroOptions(), w.opts.Now())
		if err != nil {
			return err
		}
		f.first = name.first
		t.open, t.last = f, name
	}
	if err := t.open.append(c); err != nil {
		return err
	}
	t.cur = c.Schema
	w.touched[t] = true
	w.rows++
	return nil
}

// Commit ends the open transaction; the files it reached FlushRows or
// MaxFileSize in are closed.
func (w *Writer) Commit(_ context.Context, tx *pipeline.Tx) error {
	if w.tx == nil || tx.ID != w.tx.ID {
		return fmt.Errorf("commit of transaction %d that did not begin", tx.ID)
	}
	w.tx = nil
	w.pos = max(w.pos, tx.EndLSN)
	w.lastCommit = tx.CommitTime
	for t := range w.touched {
		t.latest = t.cur
		if t.open != nil && (t.open.rows() >= w.opts.FlushRows || t.open.size() >= w.opts.MaxFileSize) {
			if err := t.closeFile(); err != nil {
				return err
			}
		}
	}
	clear(w.touched)
	return nil
}

// Message takes note of a logical message. One outside a transaction moves
// the position on: no change lies between the last transaction and it.
func (w *Writer) Message(m *pipeline.Message) {
	if w.tx == nil && !m.Transactional {
		w.pos = max(w.pos, m.LSN)
	}
}

// Position returns the position a Flush now would checkpoint.
func (w *Writer) Position() pipeline.LSN { return w.pos }

// Deadline returns when a Flush is due: FlushInterval after the oldest
// open file was opened or, with none open, after the last Flush.
func (w *Writer) Deadline() time.Time {
	d := w.lastFlush
	first := true
	for _, t := range w.tables {
		if t.open != nil && (first || t.open.opened.Before(d)) {
			d, first = t.open.opened, false
		}
	}
	return d.Add(w.opts.FlushInterval)
}

// Pending reports whether a Flush would write or record anything: an open
// or unrecorded file, a finished snapshot, or a position past the last
// checkpoint.
func (w *Writer) Pending() bool {
	if w.pos != w.saved || len(w.snapshots) > 0 || w.recorded {
		return true
	}
	for _, t := range w.tables {
		if t.open != nil || len(t.closed) > 0 {
			return true
		}
	}
	return false
}

// Flush closes every open file, waits until S3 confirmed every file closed
// since the last Flush, writes _pipeline.json if it changed, and returns the
// checkpoint that is now true. It must be called between transactions.
// On error the caller stops (see Abort): a restart recovers.
func (w *Writer) Flush(ctx context.Context) (Checkpoint, error) {
	if w.tx != nil {
		return Checkpoint{}, fmt.Errorf("flush inside transaction %d", w.tx.ID)
	}
	for _, t := range w.tables {
		if err := t.closeFile(); err != nil {
			return Checkpoint{}, err
		}
	}
	for _, t := range w.tables {
		for _, f := range t.closed {
			if err := f.wait(ctx); err != nil {
				return Checkpoint{}, err
			}
		}
	}
	for _, s := range w.snapshots {
		m := &w.table(s.ts).mark
		if m.Snapshot != "" && m.Snapshot != s.id {
			m.Earlier = append(m.Earlier, SnapshotMark{ID: m.Snapshot, Parts: m.Parts})
		}
		m.Snapshot, m.Parts = s.id, s.parts
		if m.Partial != nil && m.Partial.ID == s.id {
			m.Partial = nil
		}
	}
	w.snapshots = nil
	var lastFile string
	var lastOpened time.Time
	cp := Checkpoint{LSN: w.pos, SnapshotsDone: w.snapSeq, InitialPending: w.initialPending,
		Progress: slices.Clone(w.progress), Tables: map[string]TableMark{}}
	for k, t := range w.tables {
		if n := len(t.closed); n > 0 {
			last := t.closed[n-1]
			t.mark.File, t.mark.FileLSN = last.key, last.first
			if last.opened.After(lastOpened) {
				lastFile, lastOpened = last.key, last.opened
			}
			t.closed = nil
		}
		t.mark.Schema = t.latest
		cp.Tables[k] = t.mark
	}
	if err := w.writeManifest(ctx, cp); err != nil {
		return Checkpoint{}, err
	}
	w.saved, w.lastFlush, w.recorded = w.pos, w.opts.Now(), false
	w.durable.Rows, w.durable.Commit = w.rows, w.lastCommit
	if lastFile != "" {
		w.durable.LastFile = lastFile
	}
	return cp.Clone(), nil
}

// Durable is what a Writer's Flushes made durable so far, for a pipeline's
// figures.
type Durable struct {
	// Rows counts the changes in durable change files (since New).
	Rows int64
	// Commit is when the last durable transaction committed at the source.
	Commit time.Time
	// LastFile is the key of the last change file made durable.
	LastFile string
}

// Durable returns what the Flushes made durable so far.
func (w *Writer) Durable() Durable { return w.durable }

// Abort cancels every upload not yet confirmed (none of them leaves an
// object) and waits for them. The Writer is unusable afterwards.
func (w *Writer) Abort() {
	for _, t := range w.tables {
		if t.open != nil {
			t.open.abort()
			t.open = nil
		}
		for _, f := range t.closed {
			f.abort()
		}
		t.closed = nil
	}
	// w.snapshots are durable already: their parts stay, and Recover
	// removes those no checkpoint recorded.
	w.snapshots = nil
}

// closeFile closes the table's open file, if any; its upload completes in
// the background.
func (t *table) closeFile() error {
	if t.open == nil {
		return nil
	}
	f := t.open
	t.open = nil
	t.closed = append(t.closed, f)
	return f.close()
}

func (w *Writer) avroOptions() avro.Options { return w.opts.avroOptions() }

// avroOptions are the Avro writer's options (openFile reads the format
// from the key).
func (o Options) avroOptions() avro.Options {
	return avro.Options{Codec: o.Codec, BlockSize: o.BlockSize}
}

// writeSchema uploads the .avsc of ts's version the first time a file of
// that version is opened, before the file.
func (w *Writer) writeSchema(ctx context.Context, t *table, ts *pipeline.TableSchema) error {
	if ts.Version <= t.avsc || t.avscDone[ts.Version] {
		return nil
	}
	js, err := avro.SchemaJSON(ts)
	if err != nil {
		return err
	}
	key := w.opts.Layout.SchemaKey(ts.Schema, ts.Table, ts.Version)
	if _, err := w.store.Upload(ctx, w.opts.Bucket, key, bytes.NewReader(js),
		s3bridge.PutOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("write schema %s: %w", key, err)
	}
	t.markSchema(ts.Version)
	w.opts.Log.Info("pipeline schema version", "table", ts.QualifiedName(), "version", ts.Version, "key", key)
	return nil
}

// markSchema notes that the .avsc of version v is written.
func (t *table) markSchema(v int) {
	if t.avscDone == nil {
		t.avscDone = map[int]bool{}
	}
	t.avscDone[v] = true
}

// sortedTables returns the table keys in order, for stable output.
func (w *Writer) sortedTables() []string {
	return slices.Sorted(maps.Keys(w.tables))
}
