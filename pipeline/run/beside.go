package run

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/pgsource"
	"github.com/s3bridge/s3bridge/pipeline/writer"
)

// snapshotDone is a snapshot request taken beside the stream: its tables'
// snapshots, closed and confirmed by S3, for the writer to record.
type snapshotDone struct {
	seq   int64
	snaps []*writer.Snapshot
	err   error
}

// snapshotsBeside takes the snapshot requests after done, one after the
// other, in a goroutine of wg, while the stream goes on, and hands each
// result to the loop. It returns nil (a channel that never delivers) when
// none is pending.
//
// Each request is one snapshot of its tables at one point C: a temporary
// slot's exported snapshot (pgsource.SnapshotSlot). Its rows carry C as
// their LSN, and a reader applies to them the changes that commit at or
// after C, which the stream sends, so a row changed while the copy runs
// ends up as the stream says: the streamed change wins.
func (p *Pipeline) snapshotsBeside(ctx context.Context, wg *sync.WaitGroup, done int64, versions *pipeline.Versions) <-chan snapshotDone {
	var pending []pipeline.SnapshotRequest
	for _, r := range p.cfg.Requests {
		if r.Seq > done {
			pending = append(pending, r)
		}
	}
	if len(pending) == 0 || p.cfg.Snapshot == SnapshotInitialOnly {
		return nil
	}
	out := make(chan snapshotDone)
	wg.Go(func() {
		for _, r := range pending {
			snaps, err := p.snapshotRequest(ctx, r, versions)
			if err != nil {
				err = fmt.Errorf("snapshot request %d: %w", r.Seq, err)
			}
			select {
			case out <- snapshotDone{seq: r.Seq, snaps: snaps, err: err}:
			case <-ctx.Done():
				for _, s := range snaps {
					s.Abort()
				}
				return
			}
			if err != nil {
				return
			}
		}
	})
	return out
}

// snapshotRequest takes one request's snapshot: every table it names (all
// the publication's when it names none), each under the schema version
// versions gives its shape.
func (p *Pipeline) snapshotRequest(ctx context.Context, r pipeline.SnapshotRequest, versions *pipeline.Versions) ([]*writer.Snapshot, error) {
	slot, err := p.cfg.Source.SnapshotSlot(ctx)
	if err != nil {
		return nil, err
	}
	defer slot.Release(context.WithoutCancel(ctx))
	sn, err := p.cfg.Source.OpenSnapshot(ctx, slot)
	if err != nil {
		return nil, err
	}
	defer sn.Close(context.WithoutCancel(ctx))
	// Imported: the temporary slot may go, and with it any WAL it holds.
	if err := slot.Release(ctx); err != nil {
		return nil, fmt.Errorf("release snapshot slot %s: %w", slot.Name, err)
	}
	published, err := sn.Tables(ctx)
	if err != nil {
		return nil, err
	}
	tables := published
	if len(r.Tables) > 0 {
		in := map[pgsource.Table]bool{}
		for _, t := range published {
			in[t] = true
		}
		tables = nil
		for _, name := range r.Tables {
			schema, table, _ := strings.Cut(name, ".")
			t := pgsource.Table{Schema: schema, Name: table}
			if !in[t] {
				return nil, fmt.Errorf("table %s is not in publication %s (does it exist?)", name, p.cfg.Source.SlotName())
			}
			tables = append(tables, t)
		}
	}
	id := writer.SnapshotID(sn.LSN())
	var snaps []*writer.Snapshot
	abort := func() {
		for _, s := range snaps {
			s.Abort()
		}
	}
	for _, t := range tables {
		shape, err := sn.Schema(ctx, t)
		if err != nil {
			abort()
			return nil, err
		}
		ts, _ := versions.Evolve(shape)
		part, err := writer.NewSnapshot(ctx, p.cfg.Store, p.writerOptions(), id, ts)
		if err != nil {
			abort()
			return nil, err
		}
		n, err := sn.Read(ctx, ts, func(c *pipeline.Change) error { return part.Append(ctx, c) })
		if err == nil {
			err = part.Close(ctx)
		}
		if err != nil {
			part.Abort()
			abort()
			return nil, err
		}
		snaps = append(snaps, part)
		p.log.Info("pipeline snapshot: table copied beside the stream", "table", ts.QualifiedName(), "rows", n,
			"snapshot", id, "request", r.Seq)
	}
	return snaps, nil
}
