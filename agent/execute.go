package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
)

// Execute runs a task this agent has claimed, to a final lifecycle: it
// heartbeats every Tick, stops the work within a Tick of a cancel, and
// records the outcome. ctx ending (shutdown) puts the task back in the queue.
func (a *Agent) Execute(ctx context.Context, in instance.Instance, task *s3bridge.Task) s3bridge.Lifecycle {
	log := a.cfg.Log.With("instance", in.Name(), "task", task.ID, "type", task.Type)
	// Bookkeeping outlives cancellation: a cancelled task must still be
	// recorded as CANCELLED.
	bg := context.WithoutCancel(ctx)
	rep := newReporter(bg, in, task.ID, log, a.cfg.Lease)
	rep.onProgress = a.cfg.Progress
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The task log's start line was written by the claim itself.
	log.Debug("task started", "attempt", task.Attempt)
	hbDone := make(chan struct{})
	var lost bool
	go func() {
		defer close(hbDone)
		lost = a.heartbeat(runCtx, bg, in, task, rep, cancel)
	}()
	res, err := a.run(runCtx, in, task, rep)
	cancel(nil)
	<-hbDone
	cause := context.Cause(runCtx)
	var lc s3bridge.Lifecycle
	switch {
	case err != nil && a.completedByWork(bg, in, task, &res):
		// The work's transaction completed the task under this claim (a
		// load's commit) and only the client missed the commit's answer
		// (a cancel or a connection lost at that moment): the task is
		// done, with the outcome the work stored (and logged, in the same
		// transaction).
		lc = s3bridge.Success
		rep.flush()
		log.Info("task finished", "lifecycle", lc)
		return lc
	case errors.Is(err, s3bridge.ErrLeaseLost) || (lost && err != nil):
		// The work itself may find out first: a load's commit checks the
		// claim in its own transaction and rolls back. A lost lease with
		// a work that succeeded goes on to Finish: the heartbeat may only
		// have seen the task the work completed in its own transaction
		// (a load's), which Finish accepts; a task another agent holds
		// it refuses.
		a.leaseLost(rep, log, task)
		return ""
	case err == nil:
		lc, res.ErrorCode = s3bridge.Success, ""
	case errors.Is(cause, errCancelRequested):
		lc, res.Info, res.ErrorCode = s3bridge.Cancelled, fmt.Sprintf("cancelled by request after %s", rep.progressText()), s3bridge.CodeCancelled
	case errors.Is(cause, errCallerGone):
		lc, res.ErrorCode = s3bridge.Cancelled, s3bridge.CodeCancelled
		res.Info = fmt.Sprintf("cancelled after %s: the SQL call waiting for it (session %s) has ended", rep.progressText(), task.CallerSession)
	case ctx.Err() != nil:
		rep.Logf(s3bridge.LevelWarn, "agent %s stopped; task returned to the queue", a.cfg.ID)
		rep.flush()
		if rerr := a.bounded(bg, func(ctx context.Context) error { return in.Release(ctx, task.Claim()) }); rerr != nil {
			log.Error("release on shutdown", "err", rerr)
		}
		return s3bridge.Created
	default:
		// The figures of a failure are what the runner got to, if it says.
		lc, res.Info, res.ErrorCode = s3bridge.Failed, err.Error(), s3bridge.ErrorCode(err)
	}
	// The log is complete when the lifecycle says the task is over (the
	// buffered lines go in the transaction that makes it final, or before
	// it); the outcome's own line is written by Finish, in that
	// transaction, so it is there exactly once, whatever kills this agent
	// in between.
	if ferr := a.bounded(bg, func(ctx context.Context) error { return rep.finish(ctx, task.Claim(), lc, res) }); ferr != nil {
		if errors.Is(ferr, s3bridge.ErrLeaseLost) {
			a.leaseLost(rep, log, task)
			return ""
		}
		log.Error("finish", "err", ferr)
		return ""
	}
	log.Info("task finished", "lifecycle", lc)
	return lc
}

// completedByWork reports whether the task is SUCCESS under this very
// claim, which only the work's own transaction does before Finish (a load's
// commit). When res is not nil it gets the stored outcome.
func (a *Agent) completedByWork(bg context.Context, in instance.Instance, task *s3bridge.Task, res *s3bridge.Result) bool {
	var t s3bridge.Task
	err := a.bounded(bg, func(ctx context.Context) (err error) {
		t, err = in.Task(ctx, task.ID)
		return err
	})
	if err != nil || t.Lifecycle != s3bridge.Success || t.Agent != a.cfg.ID || t.Attempt != task.Attempt {
		return false
	}
	if res != nil {
		res.Info, res.ErrorCode = t.TaskInfo, ""
	}
	return true
}

// leaseLost records in the task's log that this attempt gave the task up.
func (a *Agent) leaseLost(rep *reporter, log *slog.Logger, task *s3bridge.Task) {
	rep.Logf(s3bridge.LevelWarn, "agent %s lost its lease (attempt %d); another agent holds the task now", a.cfg.ID, task.Attempt)
	rep.flush()
	log.Warn("lease lost: another agent holds the task now")
}

func (a *Agent) run(ctx context.Context, in instance.Instance, task *s3bridge.Task, rep *reporter) (s3bridge.Result, error) {
	r, ok := a.runners[task.Type]
	if !ok {
		return s3bridge.Result{}, fmt.Errorf("this agent can't run %s tasks", task.Type)
	}
	set, err := in.Settings(ctx)
	if err != nil {
		return s3bridge.Result{}, err
	}
	return r.Run(ctx, in, *task, set, rep)
}

// heartbeat extends the lease and watches for a cancel until ctx ends. It
// reports whether the lease was lost.
func (a *Agent) heartbeat(ctx, bg context.Context, in instance.Instance, task *s3bridge.Task, rep *reporter, cancel context.CancelCauseFunc) bool {
	t := time.NewTicker(a.cfg.Tick)
	defer t.Stop()
	var checked time.Time
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
		// A task a synchronous SQL call waits for ends with that call:
		// nobody would read its outcome (checked about once a second).
		if task.CallerSession != "" && time.Since(checked) >= time.Second {
			checked = time.Now()
			var alive bool
			err := a.bounded(bg, func(ctx context.Context) (err error) {
				alive, err = in.SessionAlive(ctx, task.CallerSession)
				return err
			})
			if err == nil && !alive && task.Type.Cancellable() {
				cancel(errCallerGone)
				return false
			}
		}
		var lc s3bridge.Lifecycle
		err := a.bounded(bg, func(ctx context.Context) (err error) {
			lc, err = in.Heartbeat(ctx, task.Claim(), a.cfg.Lease, rep.percent())
			return err
		})
		// The log after the heartbeat: on SQLite a running load holds the
		// only write lock, and a log write would wait before the cancel
		// the heartbeat can see without writing.
		if lc != s3bridge.CancelRequested {
			rep.flush()
		}
		switch {
		case errors.Is(err, s3bridge.ErrLeaseLost) && a.completedByWork(bg, in, task, nil):
			// The work completed the task in its own transaction (a
			// load's commit): nothing to stop, and no lease to keep.
			return false
		case errors.Is(err, s3bridge.ErrLeaseLost):
			cancel(s3bridge.ErrLeaseLost)
			return true
		case err != nil:
			// The database is busy or away (SQLite blocks every writer
			// during a long load): keep working. Only the database can
			// say the lease is lost, and the next heartbeat that gets
			// through will.
			rep.log.Warn("heartbeat", "err", err)
		case lc == s3bridge.CancelRequested && task.Type.Cancellable():
			cancel(errCancelRequested)
			return false
		}
	}
}

// bounded runs one bookkeeping call (a heartbeat, a finish, a release)
// under a deadline of a lease: a database that doesn't answer can't hang
// the agent, and no call outlives the lease it acts under.
func (a *Agent) bounded(ctx context.Context, call func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Lease)
	defer cancel()
	return call(ctx)
}

// reporter stores a task's log lines and progress in its instance.
type reporter struct {
	ctx     context.Context
	timeout time.Duration // of each write of the log, as Agent.bounded
	in      instance.Instance
	id      int64
	log     *slog.Logger
	mu      sync.Mutex
	done    int64
	tot     int64
	lines   []s3bridge.LogLine

	onProgress func(id, done, total int64)
}

func newReporter(ctx context.Context, in instance.Instance, id int64, log *slog.Logger, timeout time.Duration) *reporter {
	return &reporter{ctx: ctx, timeout: timeout, in: in, id: id, log: log}
}

// Logf buffers a line; lines reach the instance in batches, at each
// heartbeat and when the task ends, so a task moving thousands of files
// doesn't pay a database round trip per file.
func (r *reporter) Logf(level s3bridge.LogLevel, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.log.Debug(msg, "level", level)
	r.mu.Lock()
	r.lines = append(r.lines, s3bridge.LogLine{Time: time.Now().UTC(), Level: level, Message: msg})
	r.mu.Unlock()
}

// flush writes the buffered log lines.
func (r *reporter) flush() {
	lines := r.take()
	ctx, cancel := context.WithTimeout(r.ctx, r.timeout)
	defer cancel()
	if err := r.in.Log(ctx, r.id, lines...); err != nil {
		r.log.Error("write task log", "err", err)
	}
}

// take returns the buffered log lines and empties the buffer.
func (r *reporter) take() []s3bridge.LogLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	lines := r.lines
	r.lines = nil
	return lines
}

// finish finishes claim c with its outcome and the buffered log lines in
// one transaction where the instance can (instance.FinishLogger): one
// commit instead of two for a short task. Elsewhere, or when that
// transaction failed, the lines are written first and Finish follows, so
// a log that can't be written never keeps the task from its outcome.
func (r *reporter) finish(ctx context.Context, c s3bridge.Claim, lc s3bridge.Lifecycle, res s3bridge.Result) error {
	fl, ok := r.in.(instance.FinishLogger)
	if !ok {
		r.flush()
		return r.in.Finish(ctx, c, lc, res)
	}
	lines := r.take()
	err := fl.FinishLogged(ctx, c, lc, res, lines)
	if err == nil || errors.Is(err, s3bridge.ErrLeaseLost) {
		return err
	}
	// Nothing was written.
	r.mu.Lock()
	r.lines = append(lines, r.lines...)
	r.mu.Unlock()
	r.flush()
	return r.in.Finish(ctx, c, lc, res)
}

func (r *reporter) Progress(done, total int64) {
	r.mu.Lock()
	r.done, r.tot = done, total
	r.mu.Unlock()
	if r.onProgress != nil {
		r.onProgress(r.id, done, total)
	}
}

func (r *reporter) SaveFileDetails(ctx context.Context, files []s3bridge.FileDetail) error {
	return r.in.SaveFileDetails(ctx, r.id, files)
}

// percent stays below 100 until the task succeeds.
func (r *reporter) percent() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tot <= 0 {
		return 0
	}
	return int(min(99, r.done*100/r.tot))
}

func (r *reporter) progressText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("%d of %d bytes", r.done, r.tot)
}
