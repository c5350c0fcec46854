// Package serve keeps an instance's stored pipelines running in an agent:
// it claims each pipeline no other agent holds, runs it (pipeline/run)
// while renewing its lease, stops it at a durable point when it is paused
// or its hold is lost, and stores its checkpoint in the instance under
// that hold, so a superseded agent's checkpoint is refused.
package serve

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/binlog"
	"github.com/s3bridge/s3bridge/pipeline/mysource"
	"github.com/s3bridge/s3bridge/pipeline/pgsource"
	"github.com/s3bridge/s3bridge/pipeline/run"
	"github.com/s3bridge/s3bridge/pipeline/writer"
)

// Store is what a pipeline's holder needs of the instance that stores
// it; sqlstore.Store has it.
type Store interface {
	Pipeline(ctx context.Context, name string) (sqlstore.Pipeline, error)
	ClaimPipeline(ctx context.Context, agent string, lease time.Duration) (*sqlstore.Pipeline, error)
	RenewPipeline(ctx context.Context, h sqlstore.PipelineHold, lease time.Duration, stats string) (sqlstore.Pipeline, error)
	SavePipelineCheckpoint(ctx context.Context, h sqlstore.PipelineHold, checkpoint, lsn, state string) error
	ReleasePipeline(ctx context.Context, h sqlstore.PipelineHold, failed error) error
}

// Service runs the pipelines of the instances an agent serves.
type Service struct {
	// Open returns the object store a pipeline of in writes to.
	Open func(ctx context.Context, in instance.Instance) (writer.Store, error)
	// Lease is how long a pipeline stays this agent's without a renewal
	// (default 15s); Poll how often unheld pipelines are looked for
	// (default 2s).
	Lease, Poll time.Duration
	Log         *slog.Logger
}

// Serve runs in's pipelines until ctx is done, then stops each at a
// durable point and lets it go. An instance that stores no pipelines is
// left alone.
func (s *Service) Serve(ctx context.Context, in instance.Instance, agent string) {
	st, ok := in.(Store)
	if !ok {
		return
	}
	log := cmp.Or(s.Log, slog.Default()).With("instance", in.Name(), "agent", agent)
	lease, poll := cmp.Or(s.Lease, 15*time.Second), cmp.Or(s.Poll, 2*time.Second)
	var held sync.WaitGroup
	defer held.Wait()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		for ctx.Err() == nil {
			p, err := st.ClaimPipeline(ctx, agent, lease)
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("claim a pipeline", "err", err)
				}
				break
			}
			if p == nil {
				break
			}
			held.Go(func() { s.hold(ctx, st, in, *p, agent, lease, log.With("pipeline", p.Name)) })
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

var (
	errPaused       = errors.New("pipeline paused")
	errLost         = errors.New("another agent holds the pipeline now")
	errReconfigured = errors.New("pipeline config changed")
)

// hold runs one claimed pipeline until it stops, renewing its lease. When
// its config changes (pipeline add-table, pipeline snapshot) the run stops
// at a durable point and starts again with the new config, under the same
// hold.
func (s *Service) hold(ctx context.Context, st Store, in instance.Instance, p sqlstore.Pipeline, agent string, lease time.Duration, log *slog.Logger) {
	h := sqlstore.PipelineHold{Name: p.Name, Agent: agent, Attempt: p.Attempt}
	// The figures outlive a run that starts again for a new config.
	meter := &run.Meter{}
	for {
		next, again := s.holdRun(ctx, st, in, p, h, meter, lease, log)
		if !again {
			return
		}
		p = next
	}
}

// holdRun runs p under h until it stops; again says that it stopped for a
// new config, next.
func (s *Service) holdRun(ctx context.Context, st Store, in instance.Instance, p sqlstore.Pipeline, h sqlstore.PipelineHold,
	meter *run.Meter, lease time.Duration, log *slog.Logger) (next sqlstore.Pipeline, again bool) {
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var stats struct {
		sync.Mutex
		LastError string `json:"last_error,omitempty"`
		run.Stats
	}
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(lease / 3)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
			}
			stats.Lock()
			stats.Stats = meter.Stats(time.Now())
			b, _ := json.Marshal(&stats)
			stats.Unlock()
			bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lease/3)
			got, err := st.RenewPipeline(bctx, h, lease, string(b))
			cancel()
			switch {
			case errors.Is(err, s3bridge.ErrLeaseLost):
				stop(errLost)
				return
			case err != nil:
				log.Warn("renew the pipeline's lease", "err", err)
			case got.State == sqlstore.PipelinePaused:
				stop(errPaused)
				return
			case got.Config != p.Config:
				next = got
				stop(errReconfigured)
				return
			}
		}
	}()
	log.Info("pipeline started", "attempt", h.Attempt)
	err := s.runUntilStopped(runCtx, st, in, p, h, meter, log, func(e error) {
		stats.Lock()
		stats.LastError = e.Error()
		stats.Unlock()
	})
	stop(nil)
	<-renewed
	cause := context.Cause(runCtx)
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	switch {
	case errors.Is(cause, errLost) || errors.Is(err, s3bridge.ErrLeaseLost):
		// Not ours to release or fail: the new holder goes on.
		log.Warn("pipeline stopped: " + errLost.Error())
		return
	case err == nil && errors.Is(cause, errReconfigured) && ctx.Err() == nil:
		log.Info("pipeline config changed: it goes on with the new one")
		return next, true
	case err != nil:
		log.Error("pipeline failed; it stays stopped until resumed", "err", err)
		if rerr := st.ReleasePipeline(bctx, h, err); rerr != nil {
			log.Error("release the pipeline", "err", rerr)
		}
	default:
		log.Info("pipeline stopped", "why", cmp.Or(fmt.Sprint(cause), "agent stopping"))
		if rerr := st.ReleasePipeline(bctx, h, nil); rerr != nil {
			log.Error("release the pipeline", "err", rerr)
		}
	}
	return next, false
}

// runUntilStopped runs the pipeline, again after each error another run
// may get past (a connection lost, S3 failing), with a backoff, until
// ctx ends (nil) or an error that needs a person (returned).
func (s *Service) runUntilStopped(ctx context.Context, st Store, in instance.Instance, p sqlstore.Pipeline, h sqlstore.PipelineHold,
	meter *run.Meter, log *slog.Logger, failed func(error)) error {
	var spec pipeline.Spec
	if err := json.Unmarshal([]byte(p.Config), &spec); err != nil {
		return fmt.Errorf("pipeline %s: its stored config: %w", p.Name, err)
	}
	spec = spec.WithDefaults()
	if err := spec.Validate(); err != nil {
		return err
	}
	codec, err := pipeline.ParseCodec(spec.Codec)
	if err != nil {
		return err
	}
	wait := time.Second
	for {
		began := time.Now()
		err := s.runOnce(ctx, st, in, p, h, spec, codec, meter, log)
		if time.Since(began) > time.Minute {
			// A run that went on for a while got past whatever failed
			// before it: the backoff starts again.
			wait = time.Second
		}
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			return nil // initial_only: the snapshot is done
		}
		if permanent(err) || errors.Is(err, s3bridge.ErrLeaseLost) {
			return err
		}
		failed(err)
		log.Warn("pipeline run failed; running it again", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, time.Minute)
	}
}

func (s *Service) runOnce(ctx context.Context, st Store, in instance.Instance, p sqlstore.Pipeline, h sqlstore.PipelineHold,
	spec pipeline.Spec, codec pipeline.Codec, meter *run.Meter, log *slog.Logger) error {
	pub := spec.Publication()
	src, heartbeat, err := newSource(p, pub)
	if err != nil {
		return err
	}
	store, err := s.Open(ctx, in)
	if err != nil {
		return fmt.Errorf("pipeline %s: S3: %w", p.Name, err)
	}
	pl, err := run.New(run.Config{
		Name: p.Name, Source: src, Publication: pub, Store: store, Bucket: spec.Bucket, Prefix: spec.Prefix,
		Checkpointer: &checkpointer{st: st, h: h}, Snapshot: run.SnapshotMode(spec.Snapshot), Codec: codec, Format: writer.Format(spec.Format),
		FlushRows: spec.FlushRows, MaxFileSize: spec.MaxFileSize, FlushInterval: time.Duration(spec.FlushInterval), Log: log,
		Heartbeat: heartbeat,
		Requests:  spec.Requests,
		Meter:     meter,
	})
	if err != nil {
		return err
	}
	return pl.Run(ctx)
}

// newSource returns the source of p by its URL's scheme (postgres://,
// mysql://), and its Heartbeater: PostgreSQL's, so that an idle capture on
// a busy database still moves its slot on; none for MariaDB, whose stream
// sees every transaction's commit.
func newSource(p sqlstore.Pipeline, pub pipeline.Publication) (run.Source, run.Heartbeater, error) {
	if pipeline.SourceKind(p.Source) == pipeline.MariaDB {
		src, err := mysource.New(p.Source, p.Name, pub)
		if err != nil {
			return nil, nil, err
		}
		return run.MariaDB(src), nil, nil
	}
	src, err := pgsource.New(p.Source, p.Name)
	if err != nil {
		return nil, nil, err
	}
	return run.Postgres(src), run.PostgresHeartbeat{URL: p.Source, Name: p.Name}, nil
}

// permanent reports errors no new run gets past without a person: the
// slot gone or behind the checkpoint, or the binary log at the checkpoint
// purged (changes would be lost), binary-log content the pipeline can't
// read (a change logged as a statement, an XA transaction: a new run
// reads the same bytes again), a column of a type pipelines don't take,
// the prefix another pipeline's, S3 or the
// instance's policy refusing the writes.
func permanent(err error) bool {
	var (
		behind      *pgsource.BehindSlotError
		purged      *mysource.PurgedError
		unsupported *binlog.UnsupportedTypeError
	)
	return errors.Is(err, pgsource.ErrSlotMissing) || errors.As(err, &behind) || errors.As(err, &purged) || errors.Is(err, binlog.ErrUnsupported) ||
		errors.As(err, &unsupported) ||
		errors.Is(err, run.ErrPrefixInUse) || errors.Is(err, s3bridge.ErrAccessDenied)
}

// checkpointer stores a held pipeline's checkpoint in its instance row,
// only while the hold is current.
type checkpointer struct {
	st Store
	h  sqlstore.PipelineHold
}

func (c *checkpointer) Load(ctx context.Context) (writer.Checkpoint, error) {
	var cp writer.Checkpoint
	p, err := c.st.Pipeline(ctx, c.h.Name)
	if err != nil || p.Checkpoint == "" {
		return cp, err
	}
	if err := json.Unmarshal([]byte(p.Checkpoint), &cp); err != nil {
		return cp, fmt.Errorf("pipeline %s: its stored checkpoint: %w", c.h.Name, err)
	}
	return cp, nil
}

func (c *checkpointer) Save(ctx context.Context, cp writer.Checkpoint) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	state := sqlstore.PipelineStreaming
	if cp.InitialPending {
		state = sqlstore.PipelineSnapshotting // streaming too, while the tables are copied
	}
	return c.st.SavePipelineCheckpoint(ctx, c.h, string(b), cp.LSN.String(), state)
}
