package load_test

import (
	"context"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/agent"
	"github.com/s3bridge/s3bridge/load"
)

// TestCancelRunningLoadSQLite: on SQLite a running load holds the only
// write lock, so a cancel can't update the task row; it is left beside the
// database file, the load's heartbeat sees it, the load rolls back, and the
// task ends CANCELLED with the table unchanged.
func TestCancelRunningLoadSQLite(t *testing.T) {
	h := newHarness(t, dbs[0])
	if dbs[0].name != "sqlite" {
		t.Fatalf("dbs[0] is %s, want sqlite", dbs[0].name)
	}
	uri := h.put("c.csv", []byte(sample))
	task, err := load.Task(load.Params{Source: load.SourceFile, URI: uri, Table: "t", Options: csvOpts()})
	must(t, err)
	ctx := t.Context()
	id, err := h.in.Enqueue(ctx, task)
	must(t, err)
	stall := &stallingStore{ObjectStore: h.store, reached: make(chan struct{}), release: make(chan struct{})}
	runner := &load.Runner{Deps: s3bridge.Deps[load.ObjectStore]{Store: func(context.Context, s3bridge.Settings) (load.ObjectStore, error) { return stall, nil }}}
	a := agent.New(agent.Config{ID: "a", Tick: 50 * time.Millisecond}, map[s3bridge.TaskType]agent.Runner{s3bridge.TaskLoadFromS3: runner})
	claimed, err := h.in.ClaimTask(ctx, id, "a", time.Minute)
	must(t, err)
	done := make(chan s3bridge.Lifecycle)
	go func() { done <- a.Execute(ctx, h.in, claimed) }()
	<-stall.reached // the load's transaction holds the write lock now
	start := time.Now()
	lc, err := h.in.Cancel(ctx, id)
	if err != nil || lc != s3bridge.CancelRequested {
		t.Fatalf("cancel of a running load: %s, %v", lc, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %s", d)
	}
	// The stalled read ends with the load's context: the heartbeat saw
	// the cancel and stopped the run; the release is never needed.
	defer close(stall.release)
	select {
	case got := <-done:
		if got != s3bridge.Cancelled {
			t.Errorf("the load ended %s, want CANCELLED", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the cancelled load did not end within 30 s")
	}
	if rows := h.rows(); len(rows) != 0 {
		t.Errorf("rows after a cancelled load: %v", rows)
	}
}
