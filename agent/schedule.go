package agent

import (
	"cmp"
	"context"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/s3bridge/s3bridge/instance"
)

// Scheduler is a Runner that also starts work on a schedule (the
// connector runner fires stored connectors). The agent calls Fire about
// every FireEvery for each instance it serves, with its clock's time.
// Fire must be safe to call from any number of agents at once: the
// database decides which one takes a fire.
type Scheduler interface {
	Fire(ctx context.Context, in instance.Instance, now time.Time) error
}

// schedulers are the runners that are Schedulers, in task type order.
func (a *Agent) schedulers() []Scheduler {
	var out []Scheduler
	for _, typ := range slices.Sorted(maps.Keys(a.runners)) {
		if s, ok := a.runners[typ].(Scheduler); ok {
			out = append(out, s)
		}
	}
	return out
}

// schedule calls the schedulers until ctx is done. Serve owns it: it
// returns before Serve does. A failed fire is logged and tried again at
// the next tick; its schedule is in the database, so nothing is lost.
func (a *Agent) schedule(ctx context.Context, in instance.Instance, log *slog.Logger) {
	scheds := a.schedulers()
	if len(scheds) == 0 {
		return
	}
	now := a.cfg.Now
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	tick := time.NewTicker(cmp.Or(a.cfg.FireEvery, time.Second))
	defer tick.Stop()
	for {
		for _, s := range scheds {
			err := a.bounded(ctx, func(ctx context.Context) error { return s.Fire(ctx, in, now()) })
			if err != nil && ctx.Err() == nil {
				log.Warn("fire schedules", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
