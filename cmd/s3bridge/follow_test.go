package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance/sqlite"
)

// TestClaimOrFollow (issue 8, item 3): a command whose task an agent took
// first follows it to its end and returns the agent's outcome, instead of
// failing with "taken by agent"; a task it can claim, it runs.
func TestClaimOrFollow(t *testing.T) {
	ctx := t.Context()
	in, err := sqlite.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "f.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	e := &env{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}

	id, err := in.Enqueue(ctx, s3bridge.Task{Type: s3bridge.TaskListFiles})
	if err != nil {
		t.Fatal(err)
	}
	other, err := in.ClaimTask(ctx, id, "agent-x", time.Minute)
	if err != nil || other == nil {
		t.Fatalf("the agent's claim: %v, %v", other, err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		in.Finish(ctx, other.Claim(), s3bridge.Success, s3bridge.Result{Info: "listed by agent-x", Files: 3})
	}()
	task, final, err := claimOrFollow(ctx, e, in, id, "cli", newProgressBar(&bytes.Buffer{}))
	if err != nil || task != nil {
		t.Fatalf("following: got task %v, err %v", task, err)
	}
	if final.Lifecycle != s3bridge.Success || final.TaskInfo != "listed by agent-x" || final.Files != 3 {
		t.Errorf("followed outcome: %s %q files %d", final.Lifecycle, final.TaskInfo, final.Files)
	}
	if !strings.Contains(out.String(), "is run by agent agent-x; following it") {
		t.Errorf("no note that the task is followed: %q", out.String())
	}

	id, err = in.Enqueue(ctx, s3bridge.Task{Type: s3bridge.TaskListFiles})
	if err != nil {
		t.Fatal(err)
	}
	task, _, err = claimOrFollow(ctx, e, in, id, "cli", newProgressBar(&bytes.Buffer{}))
	if err != nil || task == nil || task.Agent != "cli" {
		t.Fatalf("a free task: got %+v, %v; want it claimed by the command", task, err)
	}
}
