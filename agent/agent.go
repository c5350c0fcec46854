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

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
)

// Runner runs one task type and returns the task_info of a success.
type Runner interface {
	Run(ctx context.Context, t s3bridge.Task, set s3bridge.Settings, rep s3bridge.Reporter) (string, error)
}

// InstanceRunner is a Runner that also needs the instance the task belongs
// to (loads and exports work on its tables). The agent prefers RunOn when a
// runner has it.
type InstanceRunner interface {
	RunOn(ctx context.Context, in instance.Instance, t s3bridge.Task, set s3bridge.Settings, rep s3bridge.Reporter) (string, error)
}

// Config sets an agent's timings. Zero values take the defaults.
type Config struct {
	// ID names the agent in task rows; default host-pid-random.
	ID string
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
}

// Agent serves instances.
type Agent struct {
	cfg     Config
	runners map[s3bridge.TaskType]Runner
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
	return &Agent{cfg: cfg, runners: runners}
}

// ID is the agent's id as written in task rows.
func (a *Agent) ID() string { return a.cfg.ID }

// Serve claims and runs tasks of one instance until ctx is done, then waits
// up to Grace for running tasks, stops the rest and puts them back.
func (a *Agent) Serve(ctx context.Context, in instance.Instance) error {
	wake, poll := a.wakeups(ctx, in)
	// Tasks run under their own context so a shutdown can grant them grace.
	runCtx, stopRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRuns()
	var wg sync.WaitGroup
	finished := make(chan struct{}, 1)
	log := a.cfg.Log.With("instance", in.Name(), "agent", a.cfg.ID)
	log.Info("serving")
	for {
		for ctx.Err() == nil {
			task, err := in.Claim(ctx, a.cfg.ID, a.cfg.Lease)
			if err != nil {
				if ctx.Err() == nil {
					log.Error("claim", "err", err)
				}
				break
			}
			if task == nil {
				break
			}
			wg.Go(func() {
				a.Execute(runCtx, in, task)
				select {
				case finished <- struct{}{}:
				default:
				}
			})
		}
		select {
		case <-ctx.Done():
			a.shutdown(&wg, stopRuns, log)
			return nil
		case <-wake:
		case <-finished:
		case <-time.After(poll):
		}
	}
}

func (a *Agent) wakeups(ctx context.Context, in instance.Instance) (<-chan struct{}, time.Duration) {
	if n, ok := in.(instance.Notifier); ok {
		if ch, err := n.Listen(ctx); err == nil {
			// Notifications bring new tasks; the slower poll finds leases
			// that expired, which nobody announces.
			return ch, cmp.Or(a.cfg.Poll, time.Second)
		} else {
			a.cfg.Log.Warn("listen failed, polling instead", "instance", in.Name(), "err", err)
		}
	}
	return nil, cmp.Or(a.cfg.Poll, 200*time.Millisecond)
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
	errShutdown        = errors.New("agent shutting down")
)
