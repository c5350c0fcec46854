// Package agentkill is a test harness that keeps a few agent processes
// running and kills one of them with SIGKILL every few seconds, starting a
// replacement each time: what the tests of leases, takeovers and fencing
// need to show that no work is lost or done twice when an agent dies at any
// line. It knows nothing of s3bridge beyond "a process": the caller says
// how to start one.
package agentkill

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Start starts one agent process and returns it running; slot numbers the
// process among those the harness keeps (0 to Agents-1), for its log. The
// harness owns the process from then on: it kills it, or stops it at the
// end, and waits for it. Start should set SysProcAttr.Pdeathsig so that the
// process dies with a test binary that crashes.
type Start func(ctx context.Context, slot int) (*exec.Cmd, error)

// Config sets the harness's pace. Zero values take the defaults.
type Config struct {
	// Agents is how many processes run at once (default 2).
	Agents int
	// Every is the mean time between two kills (default 3s); each wait
	// is drawn uniformly from [Every/2, 3*Every/2), so kills fall at any
	// point of the agents' work rather than in step with it.
	Every time.Duration
	// Grace is how long, at the end, a process may take to stop after
	// SIGTERM before it is killed (default 10s).
	Grace time.Duration
	// Rand chooses the waits and the victims; default: randomly seeded.
	// A seeded one makes a failing run's schedule reproducible.
	Rand *rand.Rand
	// Logf, when set, hears of every start, kill and unexpected exit
	// (e.g. testing.T.Logf).
	Logf func(format string, args ...any)
}

// Event is one thing the harness did or saw.
type Event struct {
	At   time.Time
	Slot int
	PID  int
	// What is "start", "kill" or "exit" (the process ended on its own:
	// a crash, or a fatal error at startup).
	What string
	// Err is an exit's status.
	Err error
}

// Stats is what a run did.
type Stats struct {
	Started, Killed int
	// Exited counts processes that ended on their own before the end:
	// a healthy agent never does.
	Exited int
	Events []Event
}

// Harness runs the kills. Use it once.
type Harness struct {
	cfg   Config
	start Start

	mu    sync.Mutex
	stats Stats
}

// New returns a harness that starts processes with start.
func New(cfg Config, start Start) *Harness {
	cfg.Agents = cmp.Or(cfg.Agents, 2)
	cfg.Every = cmp.Or(cfg.Every, 3*time.Second)
	cfg.Grace = cmp.Or(cfg.Grace, 10*time.Second)
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return &Harness{cfg: cfg, start: start}
}

// proc is one running process and the end of its Wait.
type proc struct {
	cmd    *exec.Cmd
	done   chan struct{} // closed when Wait returned
	err    error         // Wait's, once done is closed
	killed bool          // by the harness: its end is expected
}

// Run starts the processes, then kills a random one every Every or so and
// starts its replacement, until ctx ends; then it stops every process
// (SIGTERM, SIGKILL after Grace) and returns once all of them have exited:
// no process or goroutine of the harness outlives Run. A process that exits
// on its own is counted in Stats.Exited and replaced. Run fails when a
// process can't be started.
func (h *Harness) Run(ctx context.Context) (Stats, error) {
	var waiters sync.WaitGroup
	procs := make([]*proc, h.cfg.Agents)
	exited := make(chan int, h.cfg.Agents)
	launch := func(slot int) error {
		cmd, err := h.start(ctx, slot)
		if err != nil {
			return fmt.Errorf("start agent %d: %w", slot, err)
		}
		p := &proc{cmd: cmd, done: make(chan struct{})}
		procs[slot] = p
		h.record(Event{At: time.Now(), Slot: slot, PID: cmd.Process.Pid, What: "start"})
		waiters.Go(func() {
			p.err = cmd.Wait()
			close(p.done)
			if !h.wasKilled(p) {
				exited <- slot // buffered: one slot has one live process
			}
		})
		return nil
	}
	defer func() {
		h.stopAll(procs)
		waiters.Wait()
	}()
	for slot := range procs {
		if err := launch(slot); err != nil {
			return h.snapshot(), err
		}
	}
	for {
		timer := time.NewTimer(h.wait())
		select {
		case <-ctx.Done():
			timer.Stop()
			return h.snapshot(), nil
		case slot := <-exited:
			timer.Stop()
			p := procs[slot]
			h.record(Event{At: time.Now(), Slot: slot, PID: p.cmd.Process.Pid, What: "exit", Err: p.err})
			if err := launch(slot); err != nil {
				return h.snapshot(), err
			}
		case <-timer.C:
			slot := h.cfg.Rand.IntN(len(procs))
			if h.kill(procs[slot], slot) {
				if err := launch(slot); err != nil {
					return h.snapshot(), err
				}
			}
		}
	}
}

// wait draws the time to the next kill.
func (h *Harness) wait() time.Duration {
	return h.cfg.Every/2 + time.Duration(h.cfg.Rand.Int64N(int64(h.cfg.Every)))
}

// kill sends SIGKILL and waits for the process to be gone, so the
// replacement never runs beside it. It reports false when the process had
// already ended on its own (Run's exited case replaces it).
func (h *Harness) kill(p *proc, slot int) bool {
	h.mu.Lock()
	select {
	case <-p.done:
		h.mu.Unlock()
		return false
	default:
	}
	p.killed = true
	h.mu.Unlock()
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done // SIGKILL can't be caught: Wait returns promptly
	h.record(Event{At: time.Now(), Slot: slot, PID: p.cmd.Process.Pid, What: "kill"})
	return true
}

func (h *Harness) wasKilled(p *proc) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return p.killed
}

// stopAll asks every live process to stop and kills those that don't
// within Grace.
func (h *Harness) stopAll(procs []*proc) {
	h.mu.Lock()
	for _, p := range procs {
		if p != nil {
			p.killed = true
		}
	}
	h.mu.Unlock()
	deadline := time.After(h.cfg.Grace)
	for _, p := range procs {
		if p != nil {
			p.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, p := range procs {
		if p == nil {
			continue
		}
		select {
		case <-p.done:
		case <-deadline:
			p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
	}
}

func (h *Harness) record(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stats.Events = append(h.stats.Events, e)
	switch e.What {
	case "start":
		h.stats.Started++
		h.cfg.Logf("agentkill: started agent %d (pid %d)", e.Slot, e.PID)
	case "kill":
		h.stats.Killed++
		h.cfg.Logf("agentkill: killed agent %d (pid %d)", e.Slot, e.PID)
	case "exit":
		h.stats.Exited++
		h.cfg.Logf("agentkill: agent %d (pid %d) exited on its own: %v", e.Slot, e.PID, e.Err)
	}
}

func (h *Harness) snapshot() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.stats
	s.Events = append([]Event(nil), h.stats.Events...)
	return s
}
