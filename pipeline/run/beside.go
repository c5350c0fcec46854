package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/writer"
)

// sessions are transactions on one exported snapshot, one per worker
// copying it.
type sessions []Snapshot

// Close ends them all.
func (s sessions) Close(ctx context.Context) {
	for _, sn := range s {
		sn.Close(ctx)
	}
}

// openSessions imports slot's exported snapshot into SnapshotWorkers
// sessions. The slot may be released once it returned.
func (p *Pipeline) openSessions(ctx context.Context, slot Slot) (sessions, error) {
	var out sessions
	for range p.cfg.SnapshotWorkers {
		sn, err := p.cfg.Source.OpenSnapshot(ctx, slot)
		if err != nil {
			out.Close(context.WithoutCancel(ctx))
			return nil, err
		}
		out = append(out, sn)
	}
	return out, nil
}

// snapshotDone is one step of a snapshot taken beside the stream, for the
// loop to record: a table's chunks durable so far (partial), a table's
// snapshot complete (snap), the end of the whole snapshot (done), or its
// failure.
type snapshotDone struct {
	seq     int64 // 0 for the initial snapshot, else the request's
	partial *writer.PartialSnapshot
	snap    *writer.Snapshot
	done    bool
	err     error
}

// snapshotsBeside takes, one after the other, in a goroutine of wg while
// the stream goes on, the snapshots cp says are not complete: the initial
// one (seq 0, every table), then the requests after cp.SnapshotsDone. Of
// the first, the tables in cp.Progress are done already, and a table with
// a snapshot in progress (its mark's Partial) goes on with the chunks not
// yet done. first, when not nil, are the open sessions to read the initial
// one from (the slot's own snapshot, on the pipeline's first run); they are
// closed in any case. It returns nil (a channel that never delivers) when
// nothing is pending.
//
// A snapshot other than first is one snapshot of its tables at one point
// C: a temporary slot's exported snapshot (pgsource.SnapshotSlot). Its
// rows carry C as their LSN, and a reader applies to them the changes that
// commit at or after C, which the stream sends, so a row changed while the
// copy runs ends up as the stream says: the streamed change wins.
func (p *Pipeline) snapshotsBeside(ctx context.Context, wg *sync.WaitGroup, cp writer.Checkpoint, versions *pipeline.Versions,
	first sessions) <-chan snapshotDone {
	var pending []pipeline.SnapshotRequest
	if cp.InitialPending {
		pending = append(pending, pipeline.SnapshotRequest{Seq: 0})
	}
	for _, r := range p.cfg.Requests {
		if r.Seq > cp.SnapshotsDone {
			pending = append(pending, r)
		}
	}
	if len(pending) == 0 || p.cfg.Snapshot == SnapshotInitialOnly {
		first.Close(context.WithoutCancel(ctx))
		return nil
	}
	partials := map[string]*writer.PartialSnapshot{}
	for k, m := range cp.Tables {
		if m.Partial != nil {
			partials[k] = m.Partial
		}
	}
	out := make(chan snapshotDone)
	wg.Go(func() {
		defer func() { first.Close(context.WithoutCancel(ctx)) }()
		send := func(d snapshotDone) bool {
			select {
			case out <- d:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for i, r := range pending {
			var (
				sn   sessions
				skip []string
			)
			if i == 0 {
				skip = cp.Progress
				if r.Seq == 0 {
					sn, first = first, nil
				}
			}
			err := p.snapshotRequest(ctx, r, versions, sn, skip, partials, func(d snapshotDone) bool {
				d.seq = r.Seq
				return send(d)
			})
			partials = nil // they were the first snapshot's
			if err != nil && ctx.Err() == nil {
				what := "the initial snapshot"
				if r.Seq > 0 {
					what = fmt.Sprintf("snapshot request %d", r.Seq)
				}
				send(snapshotDone{seq: r.Seq, err: fmt.Errorf("%s: %w", what, err)})
				return
			}
			if ctx.Err() != nil || !send(snapshotDone{seq: r.Seq, done: true}) {
				return
			}
		}
	})
	return out
}

// tableCopy is one table of a snapshot being copied.
type tableCopy struct {
	ts     *pipeline.TableSchema
	w      *writer.Chunked
	plan   pipeline.Chunking
	lsn    pipeline.LSN
	left   atomic.Int64 // chunks not yet done
	rows   atomic.Int64
	chunks []int // the chunks to copy
}

// snapshotRequest takes one snapshot: every table r names (all the
// publication's when it names none) but those in skip, each cut into
// chunks that the sessions copy in parallel, each chunk handed to report
// once durable (partial), each table once complete (snap); report
// returning false stops it. A table in partials goes on with its chunks
// not done, when the shape and the table allow it (Snapshot.Resumable). It
// reads sn when given (and closes it), else a snapshot of its own.
func (p *Pipeline) snapshotRequest(ctx context.Context, r pipeline.SnapshotRequest, versions *pipeline.Versions,
	sn sessions, skip []string, partials map[string]*writer.PartialSnapshot, report func(snapshotDone) bool) error {
	if sn == nil {
		slot, err := p.cfg.Source.SnapshotSlot(ctx)
		if err != nil {
			return err
		}
		defer slot.Release(context.WithoutCancel(ctx))
		if sn, err = p.openSessions(ctx, slot); err != nil {
			return err
		}
		// Imported: the temporary slot may go, and with it any WAL it
		// holds.
		if err := slot.Release(ctx); err != nil {
			sn.Close(context.WithoutCancel(ctx))
			return fmt.Errorf("release snapshot slot %s: %w", slot, err)
		}
	}
	defer sn.Close(context.WithoutCancel(ctx))
	tables, err := p.requestTables(ctx, sn[0], r)
	if err != nil {
		return err
	}
	var copies []*tableCopy
	for _, t := range tables {
		key := t.Schema + "." + t.Name
		if slices.Contains(skip, key) {
			continue
		}
		tc, err := p.planCopy(ctx, sn[0], t, versions, partials[key])
		if err != nil {
			return err
		}
		if len(tc.chunks) == 0 {
			// Every chunk was done when the run that copied them stopped,
			// before it recorded the table.
			if !report(snapshotDone{snap: tc.w.Snapshot()}) {
				return ctx.Err()
			}
			continue
		}
		copies = append(copies, tc)
	}
	type job struct {
		tc    *tableCopy
		chunk int
	}
	jobs := make(chan job)
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var workers sync.WaitGroup
	for _, s := range sn {
		workers.Go(func() {
			for j := range jobs {
				if err := p.copyChunk(wctx, s, j.tc, j.chunk, report); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
feed:
	for _, tc := range copies {
		for _, c := range tc.chunks {
			select {
			case jobs <- job{tc, c}:
			case <-wctx.Done():
				break feed
			}
		}
	}
	close(jobs)
	workers.Wait()
	if err := context.Cause(wctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// requestTables returns the tables r asks for, as of sn: all the
// publication's when it names none.
func (p *Pipeline) requestTables(ctx context.Context, sn Snapshot, r pipeline.SnapshotRequest) ([]pipeline.Table, error) {
	published, err := sn.Tables(ctx)
	if err != nil || len(r.Tables) == 0 {
		return published, err
	}
	var tables []pipeline.Table
	for _, name := range r.Tables {
		t := pipeline.ParseTable(name)
		if !slices.Contains(published, t) {
			return nil, fmt.Errorf("table %s is not in publication %s (does it exist?)", name, p.cfg.Source.SlotName())
		}
		tables = append(tables, t)
	}
	return tables, nil
}

// maxChunks bounds the chunks of one table's snapshot.
const maxChunks = 4096

// planCopy decides how table t is copied: going on with partial (same id,
// schema and chunks, the chunks done kept) when it has the table's shape
// and the table may be resumed at a later point, else afresh under sn's
// snapshot, in chunks of about FlushRows rows (the parts of an abandoned
// partial snapshot are deleted).
func (p *Pipeline) planCopy(ctx context.Context, sn Snapshot, t pipeline.Table, versions *pipeline.Versions,
	partial *writer.PartialSnapshot) (*tableCopy, error) {
	shape, err := sn.Schema(ctx, t)
	if err != nil {
		return nil, err
	}
	opts := p.writerOptions()
	if partial != nil {
		ok, err := sn.Resumable(ctx, t)
		if err != nil {
			return nil, err
		}
		lsn, perr := strconv.ParseUint(partial.ID, 16, 64)
		if ok && perr == nil && partial.Schema != nil && partial.Schema.SameShape(&shape) {
			tc := &tableCopy{ts: partial.Schema, lsn: pipeline.LSN(lsn),
				plan: partial.Chunking()}
			if tc.w, err = writer.NewChunked(ctx, p.cfg.Store, opts, partial.ID, tc.ts, partial.Chunks, partial.Done); err != nil {
				return nil, err
			}
			for c := range partial.Chunks {
				if !slices.Contains(partial.Done, c) {
					tc.chunks = append(tc.chunks, c)
				}
			}
			tc.left.Store(int64(len(tc.chunks)))
			p.log.Info("pipeline snapshot: table resumed by chunk", "table", t.Schema+"."+t.Name, "snapshot", partial.ID,
				"chunks_done", len(partial.Done), "chunks", partial.Chunks)
			return tc, nil
		}
		n, err := p.deleteSnapshot(ctx, t, partial.ID)
		p.log.Info("pipeline snapshot: table copied afresh, not resumed", "table", t.Schema+"."+t.Name, "snapshot", partial.ID,
			"resumable", ok, "deleted", n, "err", err)
	}
	ts, _ := versions.Find(shape)
	plan, err := sn.Plan(ctx, t, cmp.Or(p.cfg.FlushRows, pipeline.DefaultFlushRows), maxChunks)
	if err != nil {
		return nil, err
	}
	tc := &tableCopy{ts: ts, plan: plan, lsn: sn.LSN()}
	if tc.w, err = writer.NewChunked(ctx, p.cfg.Store, opts, writer.SnapshotID(sn.LSN()), ts, plan.Chunks, nil); err != nil {
		return nil, err
	}
	for c := range plan.Chunks {
		tc.chunks = append(tc.chunks, c)
	}
	tc.left.Store(int64(plan.Chunks))
	return tc, nil
}

// deleteSnapshot deletes the parts of an abandoned snapshot of t.
func (p *Pipeline) deleteSnapshot(ctx context.Context, t pipeline.Table, id string) (int, error) {
	objs, _, err := p.cfg.Store.List(ctx, p.cfg.Bucket, p.layout.SnapshotDir(t.Schema, t.Name, id), "")
	if err != nil {
		return 0, err
	}
	for i, o := range objs {
		if err := p.cfg.Store.Delete(ctx, p.cfg.Bucket, o.Key); err != nil {
			return i, err
		}
	}
	return len(objs), nil
}

// copyChunk copies one chunk through its own session and reports it, and
// the table when it was its last chunk.
func (p *Pipeline) copyChunk(ctx context.Context, sn Snapshot, tc *tableCopy, chunk int, report func(snapshotDone) bool) error {
	cw := tc.w.Chunk(chunk)
	n, err := sn.ReadChunk(ctx, tc.ts, tc.plan, chunk, tc.lsn, func(c *pipeline.Change) error { return cw.Append(ctx, c) })
	if err == nil {
		err = cw.Close(ctx)
	}
	if err != nil {
		cw.Abort()
		return err
	}
	tc.rows.Add(n)
	id := writer.SnapshotID(tc.lsn)
	if !report(snapshotDone{partial: writer.NewPartialSnapshot(id, tc.ts, tc.plan, tc.w.Done())}) {
		return ctx.Err()
	}
	if tc.left.Add(-1) > 0 {
		return nil
	}
	p.log.Info("pipeline snapshot: table copied beside the stream", "table", tc.ts.QualifiedName(), "rows", tc.rows.Load(),
		"chunks", tc.plan.Chunks, "snapshot", id)
	if !report(snapshotDone{snap: tc.w.Snapshot()}) {
		return ctx.Err()
	}
	return nil
}
