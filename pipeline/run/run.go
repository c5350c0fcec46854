// Package run runs a pipeline (PostgreSQL or MariaDB, see Source): the initial snapshot, then the
// stream of changes, turned into S3 objects by pipeline/writer, with the
// flush → checkpoint → confirm cycle that makes its files exactly-once across
// crashes.
//
// The order that makes it safe, every cycle: the writer's Flush closes every
// open file and waits until S3 confirmed every file; then the checkpoint is
// saved; only then is its LSN confirmed to the replication slot. A crash
// anywhere leaves the saved checkpoint at or behind the durable files and
// the slot at or behind the checkpoint, and a restart (Run again) deletes
// what no checkpoint recorded (writer.Recover) and streams again from the
// checkpoint.
package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/writer"
)

// SnapshotMode says whether a new pipeline copies its tables first.
type SnapshotMode string

// The snapshot modes (--snapshot).
const (
	// SnapshotInitial copies every table under the slot's exported
	// snapshot, then streams from its consistent point.
	SnapshotInitial SnapshotMode = "initial"
	// SnapshotNever streams from the slot's creation, with no copy.
	SnapshotNever SnapshotMode = "never"
	// SnapshotInitialOnly copies the tables, then drops the slot and
	// publication: Run returns once the copy is durable.
	SnapshotInitialOnly SnapshotMode = "initial_only"
)

// ErrPrefixInUse means the bucket prefix holds another pipeline's objects.
var ErrPrefixInUse = errors.New("prefix holds another pipeline")

// Config configures a Pipeline. Source, Store and Checkpointer are
// required; zero numbers take the defaults of issue 10.
type Config struct {
	// Name is the pipeline's name: that of its slot and publication
	// (s3bridge_<name>, see pgsource) and the one in _pipeline.json.
	Name        string
	Source      Source
	Publication pipeline.Publication
	Store       writer.Store
	Bucket      string
	Prefix      string
	// Checkpointer stores the checkpoint (the instance's row).
	Checkpointer writer.Checkpointer
	Snapshot     SnapshotMode // default SnapshotInitial
	Codec        pipeline.Codec
	// Format is the files' format (writer.Options.Format); "" is Avro.
	Format writer.Format
	// FlushRows, MaxFileSize and FlushInterval cut files (writer.Options);
	// FlushInterval is also how often the checkpoint moves on.
	FlushRows     int64
	MaxFileSize   int64
	FlushInterval time.Duration
	// StatusInterval is the stream's standby status interval
	// (pgsource.StreamOptions).
	StatusInterval time.Duration
	// StopTimeout bounds the last flush of a clean stop; default 30s.
	StopTimeout time.Duration
	// Heartbeat, when set, writes a heartbeat into the source's WAL each
	// time the stream has gone HeartbeatInterval without an event, so the
	// slot moves on while the captured tables are idle and others are
	// busy (see Heartbeater). Nil: no heartbeats.
	Heartbeat Heartbeater
	// HeartbeatInterval is that idle time; default 10s, negative: never.
	HeartbeatInterval time.Duration
	// Meter, when set, gets the pipeline's figures at each checkpoint.
	Meter *Meter
	// SnapshotWorkers is how many sessions copy a snapshot's chunks in
	// parallel (each a connection to the source); default 2.
	SnapshotWorkers int
	// Requests are the pipeline's snapshot requests (pipeline.Spec's): the
	// ones its checkpoint has not recorded as done are taken beside the
	// stream.
	Requests []pipeline.SnapshotRequest
	Log      *slog.Logger
}

// Validate reports the first thing wrong with c.
func (c Config) Validate() error {
	switch {
	case c.Name == "":
		return errors.New("pipeline: no name")
	case c.Source == nil:
		return errors.New("pipeline: no source")
	case c.Store == nil || c.Bucket == "":
		return errors.New("pipeline: no bucket")
	case c.Checkpointer == nil:
		return errors.New("pipeline: no checkpoint store")
	}
	switch c.Snapshot {
	case "", SnapshotInitial, SnapshotNever, SnapshotInitialOnly:
	default:
		return fmt.Errorf("pipeline: snapshot mode %q (want initial, never or initial_only)", c.Snapshot)
	}
	return nil
}

// Pipeline is one pipeline's runner.
type Pipeline struct {
	cfg    Config
	layout writer.Layout
	log    *slog.Logger
	// metered are the rows of the current stream's writer the Meter has.
	metered int64
}

// New checks cfg and returns its Pipeline.
func New(cfg Config) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Snapshot = cmp.Or(cfg.Snapshot, SnapshotInitial)
	cfg.StopTimeout = cmp.Or(cfg.StopTimeout, 30*time.Second)
	cfg.FlushInterval = cmp.Or(cfg.FlushInterval, 5*time.Second)
	cfg.HeartbeatInterval = cmp.Or(cfg.HeartbeatInterval, 10*time.Second)
	cfg.SnapshotWorkers = max(cmp.Or(cfg.SnapshotWorkers, 2), 1)
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("pipeline", cfg.Name)
	return &Pipeline{cfg: cfg, log: log,
		layout: writer.Layout{Prefix: cfg.Prefix, Database: cfg.Source.Database()}}, nil
}

func (p *Pipeline) writerOptions() writer.Options {
	return writer.Options{Bucket: p.cfg.Bucket, Layout: p.layout, Pipeline: p.cfg.Name, Format: p.cfg.Format, Codec: p.cfg.Codec,
		FlushRows: p.cfg.FlushRows, MaxFileSize: p.cfg.MaxFileSize, FlushInterval: p.cfg.FlushInterval, Log: p.log}
}

// Run runs the pipeline until ctx ends (then it stops cleanly: whole
// transactions are flushed, checkpointed and confirmed, and it returns
// nil) or its first error. A stop while the pipeline starts (its slot and
// snapshot) returns ctx's error: the start begins again next time. A new pipeline (a checkpoint with LSN 0) starts
// with its slot and snapshot; any other resumes at its checkpoint. Run may
// be called again after an error, in this process or another.
func (p *Pipeline) Run(ctx context.Context) error {
	cp, err := p.cfg.Checkpointer.Load(ctx)
	if err != nil {
		return fmt.Errorf("pipeline %s: load checkpoint: %w", p.cfg.Name, err)
	}
	m, found, err := writer.ReadManifest(ctx, p.cfg.Store, p.cfg.Bucket, p.layout)
	if err != nil {
		return fmt.Errorf("pipeline %s: %w", p.cfg.Name, err)
	}
	if found && m.Pipeline != p.cfg.Name {
		return fmt.Errorf("pipeline %s: s3://%s/%s: %w %q", p.cfg.Name, p.cfg.Bucket, p.layout.ManifestKey(), ErrPrefixInUse, m.Pipeline)
	}
	var first sessions
	if cp.LSN == 0 {
		if cp, first, err = p.start(ctx); err != nil {
			return fmt.Errorf("pipeline %s: %w", p.cfg.Name, err)
		}
		if p.cfg.Snapshot == SnapshotInitialOnly {
			return p.cfg.Source.Drop(ctx)
		}
	} else {
		if p.cfg.Snapshot == SnapshotInitialOnly {
			return nil
		}
		n, err := writer.Recover(ctx, p.cfg.Store, p.cfg.Bucket, p.layout, cp, p.log)
		if err != nil {
			return fmt.Errorf("pipeline %s: %w", p.cfg.Name, err)
		}
		p.log.Info("pipeline resumes", "checkpoint", cp.LSN, "deleted", n)
		// pipeline add-table changed the tables: the stream started
		// below sends the added ones' changes from here on, and their
		// snapshot request covers what they held before.
		changed, err := p.cfg.Source.SyncPublication(ctx, p.cfg.Publication)
		if err != nil {
			return fmt.Errorf("pipeline %s: %w", p.cfg.Name, err)
		}
		if changed {
			p.log.Info("pipeline tables changed", "tables", len(p.cfg.Publication.Tables))
		}
	}
	err = p.stream(ctx, cp, first)
	if err != nil && p.cfg.Source.Lost(err) {
		if r, ok := p.fullRequest(cp); ok {
			p.log.Warn("pipeline: the source lost its position; starting again from a new snapshot, as asked", "request", r.Seq, "err", err)
			if cp, first, err = p.resync(ctx, cp); err == nil {
				err = p.stream(ctx, cp, first)
			}
		} else {
			err = fmt.Errorf("%w; to start again from now, run `s3bridge pipeline snapshot %s` (every table) and `s3bridge pipeline resume %s`: "+
				"the changes between the checkpoint and the new snapshot are lost", err, p.cfg.Name, p.cfg.Name)
		}
	}
	if err != nil {
		return fmt.Errorf("pipeline %s: %w", p.cfg.Name, err)
	}
	return nil
}

// fullRequest returns the pending snapshot request for every table, if
// one is pending: what a user asks for to start a pipeline again after
// its source lost its position.
func (p *Pipeline) fullRequest(cp writer.Checkpoint) (pipeline.SnapshotRequest, bool) {
	for _, r := range p.cfg.Requests {
		if r.Seq > cp.SnapshotsDone && len(r.Tables) == 0 {
			return r, true
		}
	}
	return pipeline.SnapshotRequest{}, false
}

// resync starts the pipeline again at a new point after its source lost
// the position after cp: what the server keeps for the pipeline is made
// anew (the slot dropped and created), and the checkpoint moves to the new
// point with an initial snapshot of every table pending, which covers the
// requests made so far. The files written so far stay, with their schema
// versions; a reader's rule (the latest snapshot, then the changes after
// it) skips the gap. first are the new slot's snapshot sessions.
func (p *Pipeline) resync(ctx context.Context, cp writer.Checkpoint) (writer.Checkpoint, sessions, error) {
	src := p.cfg.Source
	if err := src.Drop(ctx); err != nil {
		return cp, nil, err
	}
	slot, err := src.Create(ctx, p.cfg.Publication)
	if err != nil {
		return cp, nil, err
	}
	defer slot.Release(context.WithoutCancel(ctx))
	first, err := p.openSessions(ctx, slot)
	if err != nil {
		return cp, nil, err
	}
	if err := slot.Release(ctx); err != nil {
		first.Close(context.WithoutCancel(ctx))
		return cp, nil, fmt.Errorf("release snapshot of %s: %w", slot, err)
	}
	next := cp.Clone()
	next.LSN, next.Position, next.InitialPending, next.Progress = slot.Point(), slot.Token(), true, nil
	if n := len(p.cfg.Requests); n > 0 {
		next.SnapshotsDone = max(next.SnapshotsDone, p.cfg.Requests[n-1].Seq)
	}
	for k, m := range next.Tables {
		m.Partial = nil // a copy of the old point's, abandoned
		next.Tables[k] = m
	}
	if err := p.cfg.Checkpointer.Save(ctx, next); err != nil {
		first.Close(context.WithoutCancel(ctx))
		return cp, nil, fmt.Errorf("save checkpoint: %w", err)
	}
	p.log.Info("pipeline started again", "slot", slot, "point", next.LSN)
	return next, first, nil
}

// start begins the pipeline from nothing: whatever an earlier attempt that
// never finished starting left (objects, slot) is removed, the slot is
// created and the first checkpoint is saved at its consistent point C.
//
// With --snapshot initial the copy is not part of the start: the first
// checkpoint says it is pending, and the stream's run takes it beside the
// stream (snapshotsBeside), table by table, each recorded once durable, so
// that a crash during the copy costs the tables not yet copied only. On
// this first run the copy reads the slot's own exported snapshot, returned
// open (first): its rows are the tables as of C. A run after a crash takes
// the tables left at a later point, as any snapshot beside the stream.
//
// With initial_only the tables are copied here, under the slot's
// snapshot, before the checkpoint.
func (p *Pipeline) start(ctx context.Context) (writer.Checkpoint, sessions, error) {
	if _, err := writer.Recover(ctx, p.cfg.Store, p.cfg.Bucket, p.layout, writer.Checkpoint{}, p.log); err != nil {
		return writer.Checkpoint{}, nil, err
	}
	src := p.cfg.Source
	slot, err := src.Create(ctx, p.cfg.Publication)
	if errors.Is(err, pipeline.ErrSlotExists) {
		// No checkpoint was ever saved, so the slot's position was never
		// confirmed: it is an earlier start's, and starting over loses
		// nothing.
		p.log.Info("pipeline start: dropping the slot an unfinished start left", "slot", src.SlotName())
		if err := src.Drop(ctx); err != nil {
			return writer.Checkpoint{}, nil, err
		}
		slot, err = src.Create(ctx, p.cfg.Publication)
	}
	if err != nil {
		return writer.Checkpoint{}, nil, err
	}
	defer slot.Release(context.WithoutCancel(ctx))
	start := writer.Checkpoint{LSN: slot.Point(), Position: slot.Token()}
	var first sessions
	switch p.cfg.Snapshot {
	case SnapshotInitial:
		if first, err = p.openSessions(ctx, slot); err != nil {
			return writer.Checkpoint{}, nil, err
		}
		start.InitialPending = true
		// The initial snapshot holds every table the requests made so
		// far asked for.
		if n := len(p.cfg.Requests); n > 0 {
			start.SnapshotsDone = p.cfg.Requests[n-1].Seq
		}
	}
	w := writer.New(p.cfg.Store, p.writerOptions(), start)
	if p.cfg.Snapshot == SnapshotInitialOnly {
		if err := p.snapshot(ctx, slot, w); err != nil {
			w.Abort()
			return writer.Checkpoint{}, nil, err
		}
	}
	// The snapshot is imported (or copied): the slot's session may go.
	if err := slot.Release(ctx); err != nil {
		first.Close(context.WithoutCancel(ctx))
		return writer.Checkpoint{}, nil, fmt.Errorf("release snapshot of slot %s: %w", slot, err)
	}
	cp, err := w.Flush(ctx)
	if err == nil {
		cp.Position = slot.Token()
		err = p.cfg.Checkpointer.Save(ctx, cp)
		if err != nil {
			err = fmt.Errorf("save checkpoint: %w", err)
		}
	}
	if err != nil {
		w.Abort()
		first.Close(context.WithoutCancel(ctx))
		return writer.Checkpoint{}, nil, err
	}
	p.log.Info("pipeline started", "slot", slot.String(), "consistent_point", slot.Point(), "position", cp.Position, "tables", len(cp.Tables),
		"initial_snapshot", cp.InitialPending)
	return cp, first, nil
}

// snapshot copies every table of the publication under the slot's
// exported snapshot, one table after the other, each as a whole-table
// SELECT streamed row by row into parts.
func (p *Pipeline) snapshot(ctx context.Context, slot Slot, w *writer.Writer) error {
	sn, err := p.cfg.Source.OpenSnapshot(ctx, slot)
	if err != nil {
		return err
	}
	defer sn.Close(context.WithoutCancel(ctx))
	// The snapshot is imported: the slot's session may go.
	if err := slot.Release(ctx); err != nil {
		return fmt.Errorf("release snapshot of slot %s: %w", slot, err)
	}
	tables, err := sn.Tables(ctx)
	if err != nil {
		return err
	}
	id := writer.SnapshotID(sn.LSN())
	for _, t := range tables {
		shape, err := sn.Schema(ctx, t)
		if err != nil {
			return err
		}
		ts, _ := pipeline.Evolve(nil, shape)
		part, err := w.Snapshot(ctx, id, &ts)
		if err != nil {
			return err
		}
		n, err := sn.Read(ctx, &ts, func(c *pipeline.Change) error { return part.Append(ctx, c) })
		if err == nil {
			err = part.Close(ctx)
		}
		if err != nil {
			part.Abort()
			return err
		}
		p.log.Info("pipeline snapshot: table copied", "table", ts.QualifiedName(), "rows", n, "snapshot", id)
	}
	return nil
}

// item is what the reader goroutine hands the loop: a batch of events in
// stream order, then maybe the error that ended the stream.
type item struct {
	evs []pipeline.Event
	err error
}

// A batch goes to the loop at a transaction's end, with a message, or
// once it holds batchEvents events or about batchBytes of values: one
// channel handoff per batch rather than per row (a tenth of a busy
// stream's time went to channel sends), while the loop still sees each
// commit as soon as it is read. The channel holds batchQueue batches, so
// the reader runs ahead by about batchQueue×batchBytes while a flush
// waits for S3.
const (
	batchEvents = 256
	batchBytes  = 1 << 20
	batchQueue  = 8
)

// weight estimates the memory an event holds: its values' text and
// bytes, and two words per value.
func weight(ev pipeline.Event) int {
	c := ev.Change
	if c == nil {
		return 64
	}
	n := 64
	for _, r := range [2]pipeline.Row{c.Before, c.After} {
		for _, v := range r {
			switch x := v.(type) {
			case string:
				n += len(x)
			case []byte:
				n += len(x)
			}
			n += 16
		}
	}
	return n
}

// stream streams from cp until ctx ends or an error. A goroutine calls
// the stream's Next without pause (it answers the server's keepalives)
// and hands events over a buffered channel; the loop writes them and runs
// the flush cycle. Only while a flush waits for S3 does Next pause, once
// the buffer is full. Another goroutine writes the heartbeats.
func (p *Pipeline) stream(ctx context.Context, cp writer.Checkpoint, first sessions) error {
	versions := pipeline.NewVersions(cp.Schemas())
	st, err := p.cfg.Source.Stream(ctx, StreamStart{LSN: cp.LSN, Position: cp.Position, Versions: versions,
		StatusInterval: p.cfg.StatusInterval})
	if err != nil {
		first.Close(context.WithoutCancel(ctx))
		if ctx.Err() != nil {
			return nil // stopped before it streamed: nothing to flush
		}
		return err
	}
	w := writer.New(p.cfg.Store, p.writerOptions(), cp)
	p.metered = 0
	events := make(chan item, batchQueue)
	rctx, rcancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var last atomic.Int64 // when the last event arrived, for heartbeats
	last.Store(time.Now().UnixNano())
	if p.cfg.Heartbeat != nil && p.cfg.HeartbeatInterval > 0 {
		wg.Go(func() { p.heartbeats(rctx, &last) })
	}
	snaps := p.snapshotsBeside(rctx, &wg, cp, versions, first)
	wg.Go(func() {
		batch, size := make([]pipeline.Event, 0, batchEvents), 0
		for {
			ev, err := st.Next(rctx)
			if err != nil && rctx.Err() != nil {
				return // a stop, not a failure
			}
			if err == nil {
				// pgsource hands out one *Tx for a transaction's Begin and
				// Commit and fills it in at the commit: the loop gets
				// copies made here, in the goroutine that writes them.
				if ev.Begin != nil {
					b := *ev.Begin
					ev.Begin = &b
				}
				if ev.Commit != nil {
					c := *ev.Commit
					ev.Commit = &c
				}
				batch = append(batch, ev)
				size += weight(ev)
				if (ev.Begin != nil || ev.Change != nil) && len(batch) < batchEvents && size < batchBytes {
					continue
				}
			}
			last.Store(time.Now().UnixNano())
			select {
			case events <- item{batch, err}:
			case <-rctx.Done():
				return
			}
			if err != nil {
				return
			}
			// The loop owns the batch sent.
			batch, size = make([]pipeline.Event, 0, batchEvents), 0
		}
	})
	defer func() {
		rcancel()
		wg.Wait()
		// Close sends the last confirmed position: after the reader
		// stopped, as Next and Close are for one goroutine.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.StopTimeout)
		defer cancel()
		st.Close(cctx)
	}()
	err = p.loop(ctx, w, st, events, snaps)
	if err != nil {
		w.Abort()
	}
	return err
}

func (p *Pipeline) loop(ctx context.Context, w *writer.Writer, st Stream, events <-chan item, snaps <-chan snapshotDone) error {
	err := p.cycle(ctx, w, st, events, snaps)
	if err != nil && ctx.Err() != nil {
		// Stopping: a read, a flush or a snapshot gave up on ctx. What is
		// whole is flushed without it (and a real failure shows again).
		return p.stop(ctx, w, st)
	}
	return err
}

// cycle writes events and runs the flush cycle until ctx ends or an error.
func (p *Pipeline) cycle(ctx context.Context, w *writer.Writer, st Stream, events <-chan item, snaps <-chan snapshotDone) error {
	timer := time.NewTimer(p.cfg.FlushInterval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return p.stop(ctx, w, st)
		case d := <-snaps:
			if d.err != nil {
				return d.err
			}
			// Recorded between two events: the next flush, at the end of
			// a transaction, saves it.
			if d.partial != nil {
				w.RecordChunks(*d.partial)
			}
			if d.snap != nil {
				w.RecordTable(d.snap)
			}
			if d.done {
				w.RecordDone(d.seq)
			}
			continue
		case it := <-events:
			flushed, err := p.apply(ctx, w, st, it)
			if err != nil {
				return err
			}
			if flushed {
				timer.Reset(time.Until(w.Deadline()))
			}
			continue
		case <-timer.C:
			if w.InTx() || !w.Pending() {
				timer.Reset(p.cfg.FlushInterval)
				continue
			}
		}
		if err := p.commit(ctx, w, st); err != nil {
			return err
		}
		timer.Reset(time.Until(w.Deadline()))
	}
}

// apply writes a batch of events, with a flush cycle where one is due: at
// a transaction's end (or a message between transactions) once the oldest
// open file is FlushInterval old. It reports whether it flushed, then the
// error that ended the stream, if any.
func (p *Pipeline) apply(ctx context.Context, w *writer.Writer, st Stream, it item) (bool, error) {
	flushed := false
	for _, ev := range it.evs {
		if err := w.Apply(ctx, ev); err != nil {
			return flushed, err
		}
		between := ev.Commit != nil || (ev.Message != nil && !w.InTx())
		if !between || time.Now().Before(w.Deadline()) || !w.Pending() {
			continue
		}
		if err := p.commit(ctx, w, st); err != nil {
			return flushed, err
		}
		flushed = true
	}
	return flushed, it.err
}

// commit is one cycle: files durable, then the checkpoint, then the
// confirm — never in another order.
func (p *Pipeline) commit(ctx context.Context, w *writer.Writer, st Stream) error {
	cp, err := w.Flush(ctx)
	if err != nil {
		return err
	}
	// The token before Confirm: Token never goes back past the durable
	// position, and the checkpoint must name where to resume.
	cp.Position = st.Token(cp.LSN)
	if err := p.cfg.Checkpointer.Save(ctx, cp); err != nil {
		return fmt.Errorf("save checkpoint at %s: %w", cp.LSN, err)
	}
	st.Confirm(cp.LSN)
	d := w.Durable()
	p.cfg.Meter.durable(time.Now(), d.Rows-p.metered, d.Commit, d.LastFile)
	p.metered = d.Rows
	p.log.Debug("pipeline checkpoint", "lsn", cp.LSN)
	return nil
}

// stop flushes what is whole when ctx ended. Inside a transaction nothing
// more can be checkpointed (a file holds part of it): the open files are
// dropped, and a restart rewrites them from the last checkpoint.
func (p *Pipeline) stop(ctx context.Context, w *writer.Writer, st Stream) error {
	if w.InTx() {
		w.Abort()
		p.log.Info("pipeline stopped inside a transaction: it restarts from the last checkpoint", "lsn", st.Durable())
		return nil
	}
	if !w.Pending() {
		return nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.StopTimeout)
	defer cancel()
	if err := p.commit(sctx, w, st); err != nil {
		return err
	}
	p.log.Info("pipeline stopped", "lsn", st.Durable())
	return nil
}
