package writer

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format/avro"
	"github.com/s3bridge/s3bridge/pipeline"
)

// PartialSnapshot is a table's snapshot in progress, as a checkpoint
// records it: its id, its schema version, how it is cut into chunks (the
// source's pipeline.Chunking: Chunks of Pages pages, or of Key ranges cut
// at Bounds), and the chunks whose parts are durable. A restart keeps those
// parts and copies the other chunks. The Chunking's fields are spelled out
// rather than embedded so that literals naming Chunks keep compiling; the
// JSON keys are the Chunking's.
type PartialSnapshot struct {
	ID     string                `json:"id"`
	Schema *pipeline.TableSchema `json:"schema"`
	Chunks int                   `json:"chunks"`
	Pages  int64                 `json:"pages_per_chunk"`
	Key    []string              `json:"key,omitempty"`
	Bounds [][][]byte            `json:"bounds,omitempty"`
	Done   []int                 `json:"done,omitempty"`
}

// Chunking returns how the snapshot is cut, as the source planned it.
func (p PartialSnapshot) Chunking() pipeline.Chunking {
	return pipeline.Chunking{Chunks: p.Chunks, Pages: p.Pages, Key: p.Key, Bounds: p.Bounds}
}

// NewPartialSnapshot returns the record of snapshot id of ts cut as c, with
// chunks done durable.
func NewPartialSnapshot(id string, ts *pipeline.TableSchema, c pipeline.Chunking, done []int) *PartialSnapshot {
	return &PartialSnapshot{ID: id, Schema: ts, Chunks: c.Chunks, Pages: c.Pages, Key: c.Key, Bounds: c.Bounds, Done: done}
}

// Chunked writes one table's snapshot chunk by chunk, the chunks in
// parallel (each from its own goroutine, through its own ChunkWriter).
// Chunk i's parts are part-<i>, then part-<i>_1, part-<i>_2, … when it
// holds more than FlushRows rows or MaxFileSize bytes: a chunk copied
// again after a crash rewrites the same keys. Chunk 0 writes at least one
// part, empty for an empty table, so every completed snapshot is visible
// with its schema. Its Snapshot, once every chunk is closed, is what
// Writer.RecordTable records: Parts is then the number of chunks.
type Chunked struct {
	store  Store
	opts   Options
	ts     *pipeline.TableSchema
	id     string
	chunks int
	mu     sync.Mutex
	done   []int
}

// NewChunked starts (or, with done, goes on with) the snapshot id of the
// table of ts, in chunks chunks, for a pipeline written with opts, apart
// from its Writer. It writes the .avsc of ts's version first: an .avsc's
// content depends on the version's shape only, so a stream that meets the
// same version writes the same object.
func NewChunked(ctx context.Context, store Store, opts Options, id string, ts *pipeline.TableSchema, chunks int, done []int) (*Chunked, error) {
	opts.defaults()
	js, err := avro.SchemaJSON(ts)
	if err != nil {
		return nil, err
	}
	key := opts.Layout.SchemaKey(ts.Schema, ts.Table, ts.Version)
	if _, err := store.Upload(ctx, opts.Bucket, key, bytes.NewReader(js), s3bridge.PutOptions{ContentType: "application/json"}); err != nil {
		return nil, fmt.Errorf("write schema %s: %w", key, err)
	}
	return &Chunked{store: store, opts: opts, ts: ts, id: id, chunks: chunks, done: slices.Clone(done)}, nil
}

// Chunk returns the writer of chunk i, for one goroutine.
func (c *Chunked) Chunk(i int) *ChunkWriter { return &ChunkWriter{c: c, i: i} }

// Done returns the chunks closed so far, in the order they closed.
func (c *Chunked) Done() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.done)
}

// Complete reports whether every chunk is closed.
func (c *Chunked) Complete() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.done) == c.chunks
}

// Snapshot returns the completed snapshot, for Writer.RecordTable.
func (c *Chunked) Snapshot() *Snapshot {
	return &Snapshot{ts: c.ts, id: c.id, parts: c.chunks}
}

// ChunkWriter writes the parts of one chunk.
type ChunkWriter struct {
	c      *Chunked
	i, n   int // chunk, parts opened
	rows   int64
	open   *file
	closed []*file
}

// chunkPartKey names part n of chunk i: part-<i> for the first, then
// part-<i>_<n>.
func (l Layout) chunkPartKey(schema, table, id string, i, n int) string {
	key := l.PartKey(schema, table, id, i)
	if n == 0 {
		return key
	}
	head := fmt.Sprintf("part-%05d", i)
	at := strings.LastIndex(key, head) + len(head)
	return key[:at] + "_" + strconv.Itoa(n) + key[at:]
}

func (w *ChunkWriter) openPart(ctx context.Context) error {
	c := w.c
	key := c.opts.Layout.chunkPartKey(c.ts.Schema, c.ts.Table, c.id, w.i, w.n)
	f, err := openFile(ctx, c.store, c.opts.Bucket, key, c.ts, c.opts.avroOptions(), c.opts.Now())
	if err != nil {
		return err
	}
	w.open = f
	w.n++
	return nil
}

// Append adds a row of the chunk (an OpRead change of the snapshot's schema).
func (w *ChunkWriter) Append(ctx context.Context, ch *pipeline.Change) error {
	if ch.Op != pipeline.OpRead {
		return fmt.Errorf("snapshot %s of %s: %s change", w.c.id, w.c.ts.QualifiedName(), ch.Op)
	}
	if w.open == nil {
		if err := w.openPart(ctx); err != nil {
			return err
		}
	}
	if err := w.open.append(ch); err != nil {
		return err
	}
	w.rows++
	if w.open.rows() >= w.c.opts.FlushRows || w.open.size() >= w.c.opts.MaxFileSize {
		f := w.open
		w.open = nil
		w.closed = append(w.closed, f)
		return f.close()
	}
	return nil
}

// Rows returns the number of rows appended.
func (w *ChunkWriter) Rows() int64 { return w.rows }

// Close closes the chunk's last part and waits until S3 confirmed every
// part; the chunk then counts as done.
func (w *ChunkWriter) Close(ctx context.Context) error {
	if w.open == nil && w.n == 0 && w.i == 0 {
		if err := w.openPart(ctx); err != nil {
			return err
		}
	}
	if w.open != nil {
		f := w.open
		w.open = nil
		w.closed = append(w.closed, f)
		if err := f.close(); err != nil {
			w.Abort()
			return err
		}
	}
	for _, f := range w.closed {
		if err := f.wait(ctx); err != nil {
			w.Abort()
			return fmt.Errorf("snapshot %s of %s chunk %d: %w", w.c.id, w.c.ts.QualifiedName(), w.i, err)
		}
	}
	w.closed = nil
	w.c.mu.Lock()
	w.c.done = append(w.c.done, w.i)
	w.c.mu.Unlock()
	return nil
}

// Abort cancels the chunk's uploads (nothing is stored) and waits for them.
func (w *ChunkWriter) Abort() {
	if w.open != nil {
		w.open.abort()
		w.open = nil
	}
	for _, f := range w.closed {
		f.abort()
	}
	w.closed = nil
}

// RecordChunks notes a table's snapshot in progress (its chunks durable so
// far): the next Flush records it in the table's marks, so that a restart
// keeps those chunks. It is called from the writer's goroutine.
func (w *Writer) RecordChunks(p PartialSnapshot) {
	t := w.table(p.Schema)
	p.Done = slices.Clone(p.Done)
	t.mark.Partial = &p
	w.recorded = true
}

// chunkOf parses the chunk number of a part's name ("part-00003.avro",
// "part-00003_1.avro", any extension); -1 when it is no part.
func chunkOf(name string) int {
	s, ok := strings.CutPrefix(name, "part-")
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	if !ok || err != nil || end == 0 || (end < len(s) && s[end] != '.' && s[end] != '_') {
		return -1
	}
	return n
}
