// Package agent runs tasks: it claims them from one or more instances,
// holds each under a heartbeat lease so another agent takes over when this
// one dies, honours cancels within a fraction of a second, and stops
// gracefully. All state lives in the instances; agents can come and go.
package agent

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
)

// Runner runs the task types it is registered for. Run is given the
// instance the task was claimed from (loads and exports work on its
// tables; file transfers need only its settings, set) and returns the
// Result of a success; the agent records a failure's error and its code.
type Runner interface {
	Run(ctx context.Context, in instance.Instance, t s3bridge.Task, set s3bridge.Settings, rep s3bridge.Reporter) (s3bridge.Result, error)
}

// Config sets an agent's timings. Zero values take the defaults.
type Config struct {
	// ID names the agent in task rows; default host-pid-random.
	ID string
	// Version is recorded with the agent's presence in each instance.
	Version string
	// Lease is how long a claimed task stays ours without a heartbeat
	// (default 15s): a dead agent's task is taken over after it.
	Lease time.Duration
	// Tick is how often a running task heartbeats and checks for a cancel
	// (default 250ms).
	Tick time.Duration
	// Poll is how often the queue is polled for work besides notifications
	// (default 200ms without notifications, 1s with them).
	Poll time.Duration
	// Grace is how long a shutdown waits for running tasks before it
	// stops them and puts them back in the queue (default 30s).
	Grace time.Duration
	Log   *slog.Logger
	// Progress, when set, sees every progress report, e.g. for a CLI's
	// progress bar.
	Progress func(id, done, total int64)
	// Now is the clock of schedules (default time.Now), and FireEvery
	// how often they are looked at (default 1s); see Scheduler.
	Now       func() time.Time
	FireEvery time.Duration
	// Services keep long-running work of each instance going beside its
	// tasks (pipelines): Serve starts each one's Serve with the instance
	// and waits for it to return after its context ends.
	Services []Service
}

// Service is long-running work an agent keeps going for each instance
// it serves. Serve runs until ctx is done and must stop within the
// agent's grace, leaving its work where another agent can take it up.
type Service interface {
	Serve(ctx context.Context, in instance.Instance, agentID string)
}

// Agent serves instances.
type Agent struct {
	cfg     Config
	runners map[s3bridge.TaskType]Runner
	started time.Time
}

// New returns an agent running the given task types.
func New(cfg Config, runners map[s3bridge.TaskType]Runner) *Agent {
	if cfg.ID == "" {
		host, _ := os.Hostname()
		b := make([]byte, 3)
		rand.Read(b)
		cfg.ID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	cfg.Lease = cmp.Or(cfg.Lease, 15*time.Second)
	cfg.Tick = cmp.Or(cfg.Tick, 250*time.Millisecond)
	cfg.Grace = cmp.Or(cfg.Grace, 30*time.Second)
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Agent{cfg: cfg, runners: runners, started: time.Now().UTC()}
}

// ID is the agent's id as written in task rows.
func (a *Agent) ID() string { return a.cfg.ID }

// Run serves every instance, each as Serve does, until ctx is done, and
// returns when all of them have stopped: no goroutine of the agent outlives
// it. The first Serve to fail stops the others.
func (a *Agent) Run(ctx context.Context, ins ...instance.Instance) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, in := range ins {
		g.Go(func() error {
			if err := a.Serve(ctx, in); err != nil {
				return fmt.Errorf("serve %s: %w", in.Name(), err)
			}
			return nil
		})
	}
	return g.Wait()
}

// Serve claims and runs tasks of one instance until ctx is done, then waits
// up to Grace for running tasks, stops the rest and puts them back. It
// returns only when every goroutine it started, the tasks' and the
// instance's LISTEN loop, has ended. An instance that fails (a claim
// error: its database restarting or unreachable) is logged and retried
// with backoff, from the poll interval doubling to maxBackoff: it may come
// back, and the agent serves it again without a restart of its own.
func (a *Agent) Serve(ctx context.Context, in instance.Instance) error {
	log := a.cfg.Log.With("instance", in.Name(), "agent", a.cfg.ID)
	ctx, stop := context.WithCancel(ctx)
	var listener sync.WaitGroup
	defer listener.Wait()
	defer stop() // before the Wait: it ends the LISTEN loop
	wake, listenErr := make(chan struct{}, 1), make(chan error, 1)
	poll := cmp.Or(a.cfg.Poll, 200*time.Millisecond)
	if n, ok := in.(instance.Notifier); ok {
		// Notifications bring new tasks; the slower poll finds leases
		// that expired, which nobody announces.
		poll = cmp.Or(a.cfg.Poll, time.Second)
		listener.Go(func() { listenErr <- n.Listen(ctx, wake) })
	}
	// Tasks run under their own context so a shutdown can grant them grace.
	runCtx, stopRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRuns()
	var tasks sync.WaitGroup
	finished := make(chan struct{}, 1)
	beat := a.presence(in, log)
	defer a.leave(ctx, in, log)
	beat(ctx) // before "serving": a SQL call made after that line finds the agent
	listener.Go(func() { a.schedule(ctx, in, log) })
	for _, svc := range a.cfg.Services {
		listener.Go(func() { svc.Serve(ctx, in, a.cfg.ID) })
	}
	log.Info("serving")
	var retry backoff
	for {
		beat(ctx)
		err := a.claimAll(ctx, in, log, func(task *s3bridge.Task) {
			tasks.Go(func() {
				a.Execute(runCtx, in, task)
				select {
				case finished <- struct{}{}:
				default:
				}
			})
		})
		if err == nil && retry.failing() {
			log.Info("claims work again")
		}
		wait := retry.next(poll, err != nil)
		select {
		case <-ctx.Done():
			a.shutdown(&tasks, stopRuns, log)
			return nil
		case err := <-listenErr:
			if err != nil && ctx.Err() == nil {
				log.Warn("listen failed, polling instead", "err", err)
				poll = cmp.Or(a.cfg.Poll, 200*time.Millisecond)
			}
		case <-wake:
		case <-finished:
		case <-time.After(wait):
		}
	}
}

// presence returns the function Serve calls at every turn of its loop: it
// records the agent in the instance at most every AgentBeatSeconds, so a
// synchronous SQL call can tell that an agent serves the instance.
func (a *Agent) presence(in instance.Instance, log *slog.Logger) func(context.Context) {
	host, _ := os.Hostname()
	info := s3bridge.AgentInfo{ID: a.cfg.ID, Host: host, Version: cmp.Or(a.cfg.Version, "unknown"), StartedAt: a.started}
	var last time.Time
	return func(ctx context.Context) {
		if time.Since(last) < s3bridge.AgentBeatSeconds*time.Second {
			return
		}
		if err := a.bounded(ctx, func(ctx context.Context) error { return in.Beat(ctx, info) }); err != nil {
			if ctx.Err() == nil {
				log.Warn("record presence", "err", err)
			}
			// Again in a second, not at every turn of the loop: a copy of
			// the attached server refuses it for as long as it is one.
			last = time.Now().Add(time.Second - s3bridge.AgentBeatSeconds*time.Second)
			return
		}
		last = time.Now()
	}
}

// leave removes the agent's presence at a graceful stop, so SQL callers
// learn at once that it is gone.
func (a *Agent) leave(ctx context.Context, in instance.Instance, log *slog.Logger) {
	err := a.bounded(context.WithoutCancel(ctx), func(ctx context.Context) error { return in.Leave(ctx, a.cfg.ID) })
	if err != nil {
		log.Warn("remove presence", "err", err)
	}
}

// claimAll claims tasks until none is runnable and starts each. A claim
// that outlasts a lease is abandoned: what it would claim would be lost
// by then anyway. It returns the claim's error, logged, that stopped it.
func (a *Agent) claimAll(ctx context.Context, in instance.Instance, log *slog.Logger, start func(*s3bridge.Task)) error {
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, a.cfg.Lease)
		task, err := in.Claim(cctx, a.cfg.ID, a.cfg.Lease)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				log.Error("claim", "err", err)
			}
			return err
		}
		if task == nil {
			return nil
		}
		start(task)
	}
	return nil
}

func (a *Agent) shutdown(wg *sync.WaitGroup, stopRuns context.CancelFunc, log *slog.Logger) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(a.cfg.Grace):
		log.Warn("grace period over, returning running tasks to the queue")
		stopRuns()
		<-done
	}
	log.Info("stopped")
}

var (
	errCancelRequested = errors.New("cancel requested")
	errCallerGone      = errors.New("the SQL call waiting for the task has ended")
	errShutdown        = errors.New("agent shutting down")
)
