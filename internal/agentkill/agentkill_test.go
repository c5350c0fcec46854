package agentkill

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// TestMain makes the test binary its own stand-in agent: with
// AGENTKILL_HELPER set it waits for SIGTERM (and exits 0), or exits 3
// after AGENTKILL_HELPER_EXIT_AFTER, as a crashing agent would.
func TestMain(m *testing.M) {
	if os.Getenv("AGENTKILL_HELPER") == "" {
		os.Exit(m.Run())
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	crash := make(<-chan time.Time)
	if d, err := time.ParseDuration(os.Getenv("AGENTKILL_HELPER_EXIT_AFTER")); err == nil {
		crash = time.After(d)
	}
	select {
	case <-stop:
		os.Exit(0)
	case <-crash:
		os.Exit(3)
	case <-time.After(time.Minute): // never outlive a lost parent for long
		os.Exit(4)
	}
}

func helper(t *testing.T, env ...string) Start {
	return func(ctx context.Context, slot int) (*exec.Cmd, error) {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), append([]string{"AGENTKILL_HELPER=1"}, env...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		return cmd, cmd.Start()
	}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestRunKillsAndReplaces(t *testing.T) {
	h := New(Config{Agents: 3, Every: 40 * time.Millisecond, Grace: 5 * time.Second,
		Rand: rand.New(rand.NewPCG(1, 2)), Logf: t.Logf}, helper(t))
	ctx, cancel := context.WithTimeout(t.Context(), 600*time.Millisecond)
	defer cancel()
	st, err := h.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Killed < 3 {
		t.Errorf("killed %d in 600ms at one per ~40ms, want at least 3", st.Killed)
	}
	if got, want := st.Started, 3+st.Killed; got != want {
		t.Errorf("started %d, want %d (3 plus one per kill)", got, want)
	}
	if st.Exited != 0 {
		t.Errorf("%d helpers exited on their own", st.Exited)
	}
	for _, e := range st.Events {
		if alive(e.PID) {
			t.Errorf("pid %d (agent %d) still alive after Run returned", e.PID, e.Slot)
		}
	}
	// At no point did a slot have two processes: every kill of a slot
	// comes before its next start.
	running := map[int]int{}
	for _, e := range st.Events {
		switch e.What {
		case "start":
			if running[e.Slot] != 0 {
				t.Errorf("slot %d started pid %d while pid %d ran", e.Slot, e.PID, running[e.Slot])
			}
			running[e.Slot] = e.PID
		case "kill", "exit":
			running[e.Slot] = 0
		}
	}
}

func TestRunReplacesAProcessThatExits(t *testing.T) {
	h := New(Config{Agents: 1, Every: time.Hour, Logf: t.Logf}, helper(t, "AGENTKILL_HELPER_EXIT_AFTER=50ms"))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan Stats, 1)
	go func() {
		st, err := h.Run(ctx)
		if err != nil {
			t.Error(err)
		}
		done <- st
	}()
	deadline := time.After(10 * time.Second)
	for {
		st := h.snapshot()
		if st.Exited >= 2 {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("after 10s: %d exits seen, want 2", st.Exited)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	st := <-done
	if st.Killed != 0 || st.Started != st.Exited+1 {
		t.Errorf("started %d, killed %d, exited %d: want exits replaced, no kills", st.Started, st.Killed, st.Exited)
	}
}

func TestRunStopsGracefully(t *testing.T) {
	h := New(Config{Agents: 2, Every: time.Hour, Grace: 5 * time.Second}, helper(t))
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	st, err := h.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Run took %s to stop two processes that stop on SIGTERM", took)
	}
	if st.Started != 2 || st.Killed != 0 || st.Exited != 0 {
		t.Errorf("stats %+v, want 2 started and nothing else", st)
	}
}
