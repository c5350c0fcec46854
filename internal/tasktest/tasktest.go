// Package tasktest runs one task to its end in the test's own process, the
// way the CLI does without --async, for capability tests that need the real
// queue, agent and database.
package tasktest

import (
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/agent"
	"github.com/s3bridge/s3bridge/instance"
)

// Run enqueues task, claims it for a, runs it and returns its final row.
func Run(t testing.TB, in instance.Instance, a *agent.Agent, task s3bridge.Task) s3bridge.Task {
	t.Helper()
	ctx := t.Context()
	id, err := in.Enqueue(ctx, task)
	if err != nil {
		t.Fatalf("enqueue %s: %v", task.Type, err)
	}
	claimed, err := in.ClaimTask(ctx, id, a.ID(), time.Minute)
	if err != nil {
		t.Fatalf("claim task %d: %v", id, err)
	}
	if claimed == nil {
		t.Fatalf("task %d not claimable", id)
	}
	a.Execute(ctx, in, claimed)
	done, err := in.Task(ctx, id)
	if err != nil {
		t.Fatalf("read task %d: %v", id, err)
	}
	// A final task's outcome is in its log once, written with the
	// lifecycle (by Finish, or by the work's own commit).
	if done.Lifecycle.Final() && done.TaskInfo != "" {
		lines, err := in.TaskLog(ctx, id)
		if err != nil {
			t.Fatalf("read the log of task %d: %v", id, err)
		}
		n := 0
		for _, l := range lines {
			if l.Message == done.TaskInfo {
				n++
			}
		}
		if n != 1 {
			t.Errorf("task %d (%s): its outcome %q is in its log %d times, want once", id, done.Lifecycle, done.TaskInfo, n)
		}
	}
	return done
}
