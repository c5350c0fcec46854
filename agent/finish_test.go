package agent_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/agent"
	"github.com/s3bridge/s3bridge/instance"
)

// failedFinishLog is an instance whose FinishLogged fails without writing
// anything, as a database error would have it.
type failedFinishLog struct {
	instance.Instance
	calls int
}

func (f *failedFinishLog) FinishLogged(context.Context, s3bridge.Claim, s3bridge.Lifecycle, s3bridge.Result, []s3bridge.LogLine) error {
	f.calls++
	return errors.New("the log insert failed")
}

// logging is a runner that logs a line and succeeds.
type logging struct{}

func (logging) Run(_ context.Context, _ instance.Instance, _ s3bridge.Task, _ s3bridge.Settings, rep s3bridge.Reporter) (s3bridge.Result, error) {
	rep.Logf(s3bridge.LevelInfo, "did the work")
	return s3bridge.Result{Info: "done"}, nil
}

// TestFinishWithLog: a task's buffered log lines and its outcome are
// written in the transaction that finishes it, the lines first; when that
// transaction fails, the lines are logged and the task finished apart,
// as before there was one transaction, so the task still gets its outcome.
func TestFinishWithLog(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		wrap func(instance.Instance) (instance.Instance, func() int)
	}{
		{"one transaction", func(in instance.Instance) (instance.Instance, func() int) { return in, func() int { return 1 } }},
		{"FinishLogged fails", func(in instance.Instance) (instance.Instance, func() int) {
			f := &failedFinishLog{Instance: in}
			return f, func() int { return f.calls }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := openSQLite(t, "finish")
			in, calls := tc.wrap(base)
			id, err := in.Enqueue(ctx, s3bridge.Task{Type: s3bridge.TaskListFiles})
			if err != nil {
				t.Fatal(err)
			}
			a := agent.New(agent.Config{ID: "a", Tick: time.Hour}, map[s3bridge.TaskType]agent.Runner{s3bridge.TaskListFiles: logging{}})
			task, err := in.ClaimTask(ctx, id, "a", time.Minute)
			if err != nil || task == nil {
				t.Fatalf("claim: %v, %v", task, err)
			}
			if lc := a.Execute(ctx, in, task); lc != s3bridge.Success {
				t.Fatalf("Execute: %s, want SUCCESS", lc)
			}
			if calls() != 1 {
				t.Errorf("FinishLogged called %d times, want 1", calls())
			}
			got, err := base.Task(ctx, id)
			if err != nil || got.Lifecycle != s3bridge.Success || got.TaskInfo != "done" {
				t.Errorf("task: %+v, %v", got, err)
			}
			lines, err := base.TaskLog(ctx, id)
			var msgs []string
			for _, l := range lines {
				msgs = append(msgs, l.Message)
			}
			if err != nil || len(msgs) != 3 || fmt.Sprint(msgs[1:]) != "[did the work done]" {
				t.Errorf("log: %q, %v; want the start line, the runner's line, then the outcome", msgs, err)
			}
		})
	}
}
