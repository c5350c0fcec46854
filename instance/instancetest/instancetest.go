// Package instancetest is the conformance suite every instance.Instance
// implementation runs against its real database, in one line:
//
//	instancetest.Run(t, func(t *testing.T) instance.Instance { … })
package instancetest

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
)

// Open returns a freshly created, unattached instance for one test.
type Open func(t *testing.T) instance.Instance

// Run runs the suite. Each subtest gets its own instance.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, in instance.Instance)
	}{
		{"AttachIdempotent", testAttach},
		{"EnqueueAndRead", testEnqueue},
		{"ClaimFIFOAndMaxRunning", testClaimLimit},
		{"ClaimByKind", testClaimByKind},
		{"EnqueueClaim", testEnqueueClaim},
		{"FinishLogged", testFinishLogged},
		{"Cancel", testCancel},
		{"LeaseExpiry", testLease},
		{"Fencing", testFencing},
		{"FailureIsNotNotAttached", testFailureNotNotAttached},
		{"JournalAndFileDetails", testJournal},
		{"ConcurrentAgents", testConcurrent},
		{"Pipelines", testPipelines},
		{"Tokens", testTokens},
		{"TaskList", testTaskList},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := open(t)
			t.Cleanup(func() { in.Close() })
			if tc.name != "AttachIdempotent" {
				attach(t, in, 2)
			}
			tc.fn(t, in)
		})
	}
}

func attach(t *testing.T, in instance.Instance, maxRunning int) {
	t.Helper()
	attachLimits(t, in, maxRunning, nil)
}

func attachLimits(t *testing.T, in instance.Instance, maxRunning int, limits map[s3bridge.Kind]int) {
	t.Helper()
	err := in.Attach(t.Context(), s3bridge.Settings{Area: t.TempDir(), MaxRunning: maxRunning, Limits: limits})
	if err != nil {
		t.Fatalf("attach: %v", err)
	}
}

func testAttach(t *testing.T, in instance.Instance) {
	ctx := t.Context()
	if _, err := in.Settings(ctx); !errors.Is(err, s3bridge.ErrNotAttached) {
		t.Fatalf("Settings before attach: got %v, want ErrNotAttached", err)
	}
	area := t.TempDir()
	want := s3bridge.Settings{Area: area, Directories: map[string]string{"EXPORTS": area + "/exports"}, MaxFiles: 7}
	for i := range 2 {
		if err := in.Attach(ctx, want); err != nil {
			t.Fatalf("attach #%d: %v", i+1, err)
		}
	}
	got, err := in.Settings(ctx)
	if err != nil {
		t.Fatalf("settings: %v", err)
	}
	if got.Area != area || got.MaxFiles != 7 || got.MaxRunning != s3bridge.DefaultMaxRunning ||
		got.Directories["EXPORTS"] != area+"/exports" || got.Directories[s3bridge.DefaultDirectory] != area {
		t.Errorf("settings: got %+v", got)
	}
	if err := in.Detach(ctx); err != nil {
		t.Fatalf("detach: %v", err)
	}
	if _, err := in.Settings(ctx); err != nil {
		t.Errorf("settings after detach (tables are kept): %v", err)
	}
	if err := in.Attach(ctx, want); err != nil {
		t.Fatalf("re-attach after detach: %v", err)
	}
}

func enqueue(t *testing.T, in instance.Instance, typ s3bridge.TaskType) int64 {
	t.Helper()
	id, err := in.Enqueue(t.Context(), s3bridge.Task{Type: typ, S3ObjectARN: "arn:aws:s3:::b/k", FilePath: "f.csv",
		Overwrite: true, Metadata: []byte(`{"kind":"file"}`)})
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	return id
}

func testEnqueue(t *testing.T, in instance.Instance) {
	ctx := t.Context()
	a := enqueue(t, in, s3bridge.TaskUpload)
	b := enqueue(t, in, s3bridge.TaskDownload)
	if b <= a {
		t.Fatalf("ids not increasing: %d then %d", a, b)
	}
	got, err := in.Task(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != s3bridge.TaskUpload || got.Lifecycle != s3bridge.Created || got.S3ObjectARN != "arn:aws:s3:::b/k" ||
		got.FilePath != "f.csv" || !got.Overwrite || string(got.Metadata) == "" || got.DatabaseName != in.Name() ||
		got.CreatedAt.IsZero() || time.Since(got.CreatedAt) > time.Minute || got.CreatedAt.After(time.Now().Add(time.Minute)) {
		t.Errorf("task: got %+v", got)
	}
	var meta struct{ Kind string }
	if err := got.Params(&meta); err != nil || meta.Kind != "file" {
		t.Errorf("metadata: got %q (%v)", got.Metadata, err)
	}
	all, err := in.Tasks(ctx)
	if err != nil || len(all) != 2 || all[0].ID != a || all[1].ID != b {
		t.Errorf("tasks: got %d tasks, err %v", len(all), err)
	}
	if _, err := in.Task(ctx, 99999); !errors.Is(err, s3bridge.ErrNotFound) {
		t.Errorf("missing task: got %v, want ErrNotFound", err)
	}
}

func mustClaim(t *testing.T, in instance.Instance, agent string) *s3bridge.Task {
	t.Helper()
	task, err := in.Claim(t.Context(), agent, time.Minute)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return task
}

func testClaimLimit(t *testing.T, in instance.Instance) {
	ctx := t.Context()
	ids := []int64{enqueue(t, in, s3bridge.TaskUpload), enqueue(t, in, s3bridge.TaskUpload), enqueue(t, in, s3bridge.TaskUpload)}
	first, second := mustClaim(t, in, "a"), mustClaim(t, in, "b")
	if first == nil || second == nil || first.ID != ids[0] || second.ID != ids[1] {
		t.Fatalf("claims not FIFO: got %v, %v; want %v", first, second, ids[:2])
	}
	if first.Lifecycle != s3bridge.InProgress || first.StartedAt == nil || first.Agent != "a" {
		t.Errorf("claimed task: got %+v", first)
	}
	if third := mustClaim(t, in, "c"); third != nil {
		t.Fatalf("claimed task %d beyond max_running 2", third.ID)
	}
	if third, err := in.ClaimTask(ctx, ids[2], "c", time.Minute); err != nil || third != nil {
		t.Fatalf("ClaimTask beyond max_running 2: got %v, %v", third, err)
	}
	if err := in.Release(ctx, second.Claim()); err != nil {
		t.Fatalf("release: %v", err)
	}
	if again, err := in.ClaimTask(ctx, second.ID, "d", time.Minute); err != nil || again == nil || again.ID != second.ID {
		t.Fatalf("ClaimTask of a released task: got %v, %v", again, err)
	}
	// Each claim logs its start in its own transaction: both attempts of
	// the released task are in its log, with their agents.
	if lines, err := in.TaskLog(ctx, second.ID); err != nil || len(lines) != 2 ||
		!strings.Contains(lines[0].Message, "started by agent b (attempt 1)") || !strings.Contains(lines[1].Message, "started by agent d (attempt 2)") {
		t.Errorf("log of a task claimed twice: %v, %v; want a start line per claim", lines, err)
	}
	if err := in.Finish(ctx, first.Claim(), s3bridge.Success, s3bridge.Result{Info: "done", Rows: 7, Files: 2, Bytes: 1 << 40}); err != nil {
		t.Fatal(err)
	}
	third := mustClaim(t, in, "c")
	if third == nil || third.ID != ids[2] {
		t.Fatalf("after a finish: got %v, want task %d", third, ids[2])
	}
	done, _ := in.Task(ctx, first.ID)
	if done.Lifecycle != s3bridge.Success || done.PercentComplete != 100 || done.TaskInfo != "done" || done.FinishedAt == nil {
		t.Errorf("finished task: got %+v", done)
	}
	if done.Rows != 7 || done.Files != 2 || done.Bytes != 1<<40 || done.ErrorCode != "" {
		t.Errorf("finished task's result: got rows %d, files %d, bytes %d, code %q; want 7, 2, 1<<40 and none",
			done.Rows, done.Files, done.Bytes, done.ErrorCode)
	}
	if err := in.Finish(ctx, first.Claim(), s3bridge.Failed, s3bridge.Result{Info: "again"}); !errors.Is(err, s3bridge.ErrLeaseLost) {
		t.Errorf("second finish: got %v, want ErrLeaseLost", err)
	}
	if err := in.Finish(ctx, first.Claim(), s3bridge.Success, s3bridge.Result{Info: "done"}); err != nil {
		t.Errorf("finish again with the same outcome: %v, want a no-op", err)
	}
	// Finish logs the outcome in its own transaction, once: a finish that
	// changes nothing logs nothing.
	if lines, err := in.TaskLog(ctx, first.ID); err != nil || len(lines) == 0 || lines[len(lines)-1].Message != "done" ||
		lines[len(lines)-1].Level != s3bridge.LevelInfo || countMessage(lines, "done") != 1 || countMessage(lines, "again") != 0 {
		t.Errorf("log of a finished task: %v, %v; want its outcome last, once", lines, err)
	}
}

func countMessage(lines []s3bridge.LogLine, msg string) int {
	n := 0
	for _, l := range lines {
		if l.Message == msg {
			n++
		}
	}
	return n
}

// testClaimByKind: each kind has its own limit, so with file transfers at
// theirs a younger load and export are still claimed, and a kind's own
// limit (Settings.Limits) holds apart from max_running.
func testClaimByKind(t *testing.T, in instance.Instance) {
	ctx := t.Context()
	attachLimits(t, in, 2, map[s3bridge.Kind]int{s3bridge.KindLoad: 1})
	up := []int64{enqueue(t, in, s3bridge.TaskUpload), enqueue(t, in, s3bridge.TaskDownload), enqueue(t, in, s3bridge.TaskListFiles)}
	loads := []int64{enqueue(t, in, s3bridge.TaskLoadFromS3), enqueue(t, in, s3bridge.TaskLoadFromS3)}
	export := enqueue(t, in, s3bridge.TaskExportToS3)
	var got []int64
	for {
		task := mustClaim(t, in, "a")
		if task == nil {
			break
		}
		got = append(got, task.ID)
	}
	// Two transfers (max_running 2), then the first load (its limit is 1),
	// then the export; the third transfer and the second load wait.
	want := []int64{up[0], up[1], loads[0], export}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("claimed %v, want %v", got, want)
	}
	if task, err := in.ClaimTask(ctx, loads[1], "a", time.Minute); err != nil || task != nil {
		t.Fatalf("ClaimTask of a load beyond the load limit 1: got %v, %v", task, err)
	}
	if task, err := in.ClaimTask(ctx, up[2], "a", time.Minute); err != nil || task != nil {
		t.Fatalf("ClaimTask of a transfer beyond max_running 2: got %v, %v", task, err)
	}
	first, _ := in.Task(ctx, loads[0])
	if err := in.Finish(ctx, first.Claim(), s3bridge.Success, s3bridge.Result{Info: "loaded"}); err != nil {
		t.Fatal(err)
	}
	if task := mustClaim(t, in, "a"); task == nil || task.ID != loads[1] {
		t.Fatalf("after the load finished: got %v, want the second load %d", task, loads[1])
	}
	if task := mustClaim(t, in, "a"); task != nil {
		t.Fatalf("claimed task %d with every kind at its limit", task.ID)
	}
}

// testEnqueueClaim: a task enqueued claimed is the caller's from the
// start, as ClaimTask would have made it, and no agent's Claim sees it;
// beyond its kind's limit it waits CREATED, for ClaimTask.
func testEnqueueClaim(t *testing.T, in instance.Instance) {
	ctx := t.Context()
	ec, ok := in.(instance.EnqueueClaimer)
	if !ok {
		t.Fatalf("%T can't enqueue a task claimed (instance.EnqueueClaimer)", in)
	}
	task := s3bridge.Task{Type: s3bridge.TaskUpload, S3ObjectARN: "arn:aws:s3:::b/k", FilePath: "f.csv", Overwrite: true,
		Metadata: []byte(`{"kind":"file"}`)}
	id, got, err := ec.EnqueueClaim(ctx, task, "cli", time.Minute)
	if err != nil || got == nil || got.ID != id || id == 0 {
		t.Fatalf("EnqueueClaim: got id %d, task %+v, %v; want the task claimed", id, got, err)
	}
	var meta struct{ Kind string }
	if got.Lifecycle != s3bridge.InProgress || got.Agent != "cli" || got.Attempt != 1 || got.StartedAt == nil ||
		got.Type != s3bridge.TaskUpload || got.S3ObjectARN != "arn:aws:s3:::b/k" || got.FilePath != "f.csv" ||
		!got.Overwrite || got.DatabaseName != in.Name() || got.Params(&meta) != nil || meta.Kind != "file" {
		t.Errorf("claimed task: got %+v", got)
	}
	row, err := in.Task(ctx, id)
	if err != nil || row.Lifecycle != s3bridge.InProgress || row.Agent != "cli" || row.Attempt != 1 || row.StartedAt == nil {
		t.Errorf("stored task: got %+v, %v; want IN_PROGRESS by cli, attempt 1", row, err)
	}
	if lines, err := in.TaskLog(ctx, id); err != nil || len(lines) != 1 || !strings.Contains(lines[0].Message, "started by agent cli (attempt 1)") {
		t.Errorf("log: %v, %v; want the claim's start line", lines, err)
	}
	if other := mustClaim(t, in, "agent-x"); other != nil {
		t.Fatalf("an agent claimed task %d, enqueued claimed by cli", other.ID)
	}
	second, claimed, err := ec.EnqueueClaim(ctx, task, "cli", time.Minute)
	if err != nil || claimed == nil || claimed.ID != second {
		t.Fatalf("second EnqueueClaim within max_running 2: %v, %v", claimed, err)
	}
	third, claimed, err := ec.EnqueueClaim(ctx, task, "cli", time.Minute)
	if err != nil || claimed != nil || third <= second {
		t.Fatalf("EnqueueClaim beyond max_running 2: got id %d, task %v, %v; want a new task left CREATED", third, claimed, err)
	}
	if row, err := in.Task(ctx, third); err != nil || row.Lifecycle != s3bridge.Created || row.Agent != "" {
		t.Errorf("task beyond the limit: got %+v, %v; want CREATED", row, err)
	}
	if err := in.Finish(ctx, got.Claim(), s3bridge.Success, s3bridge.Result{Info: "uploaded"}); err != nil {
		t.Fatalf("finish of a task enqueued claimed: %v", err)
	}
	if next, err := in.ClaimTask(ctx, third, "cli", time.Minute); err != nil || next == nil || next.ID != third {
		t.Fatalf("ClaimTask once a slot is free: got %v, %v", next, err)
	}
}

// testFinishLogged: the last log lines and the outcome commit together,
// the lines before the outcome's own line; the lines are written whatever
// the finish finds, as a Log before Finish would have written them.
func testFinishLogged(t *testing.T, in instance.Instance) {
	ctx := t.Context()
	fl, ok := in.(instance.FinishLogger)
	if !ok {
		t.Fatalf("%T can't finish with log lines (instance.FinishLogger)", in)
	}
	enqueue(t, in, s3bridge.TaskUpload)
	task := mustClaim(t, in, "a")
	line := func(msg string) s3bridge.LogLine { return s3bridge.LogLine{Level: s3bridge.LevelInfo, Message: msg} }
	err := fl.FinishLogged(ctx, task.Claim(), s3bridge.Success, s3bridge.Result{Info: "done", Rows: 3}, []s3bridge.LogLine{line("first"), line("second")})
	if err != nil {
		t.Fatalf("FinishLogged: %v", err)
	}
	if got, err := in.Task(ctx, task.ID); err != nil || got.Lifecycle != s3bridge.Success || got.TaskInfo != "done" || got.Rows != 3 {
		t.Errorf("finished task: %+v, %v", got, err)
	}
	// Again with the same outcome: a no-op finish, whose line is kept; with
	// another outcome: the claim no longer holds, and the line is kept too.
	if err := fl.FinishLogged(ctx, task.Claim(), s3bridge.Success, s3bridge.Result{Info: "done"}, []s3bridge.LogLine{line("after")}); err != nil {
		t.Errorf("FinishLogged of a finished task with its outcome: %v, want a no-op", err)
	}
	err = fl.FinishLogged(ctx, task.Claim(), s3bridge.Failed, s3bridge.Result{Info: "failed"}, []s3bridge.LogLine{line("stale")})
	if !errors.Is(err, s3bridge.ErrLeaseLost) {
		t.Errorf("FinishLogged of a finished task with another outcome: %v, want ErrLeaseLost", err)
	}
	lines, err := in.TaskLog(ctx, task.ID)
	var msgs []string
	for _, l := range lines {
		msgs = append(msgs, l.Message)
	}
	if want := "[first second done after stale]"; err != nil || len(msgs) < 1 || fmt.Sprint(msgs[1:]) != want {
		t.Errorf("log: %q, %v; want the start line, then %s", msgs, err, want)
	}
}

func testCancel(t *testing.T, in instance.Instance) {
	ctx := t.Context()
	queued := enqueue(t, in, s3bridge.TaskUpload)
	running := enqueue(t, in, s3bridge.TaskUpload)
	if lc, err := in.Cancel(ctx, queued); err != nil || lc != s3bridge.Cancelled {
		t.Fatalf("cancel queued: got %s, %v", lc, err)
	}
	task := mustClaim(t, in, "a")
	if task == nil || task.ID != running {
		t.Fatalf("claim skipped cancelled task: got %v, want %d", task, running)
	}
	if lc, err := in.Cancel(ctx, running); err != nil || lc != s3bridge.CancelRequested {
		t.Fatalf("cancel running: got %s, %v", lc, err)
	}
	if lc, err := in.Heartbeat(ctx, task.Claim(), time.Minute, 40); err != nil || lc != s3bridge.CancelRequested {
		t.Fatalf("heartbeat after cancel: got %s, %v", lc, err)
	}
	if err := in.Finish(ctx, task.Claim(), s3bridge.Cancelled, s3bridge.Result{Info: "cancelled", Bytes: 40, ErrorCode: s3bridge.CodeCancelled}); err != nil {
		t.Fatal(err)
	}
	if got, _ := in.Task(ctx, running); got.ErrorCode != s3bridge.CodeCancelled || got.Bytes != 40 {
		t.Errorf("cancelled task: got code %q, bytes %d; want %q, 40", got.ErrorCode, got.Bytes, s3bridge.CodeCancelled)
	}
	if _, err := in.Cancel(ctx, running); !errors.Is(err, s3bridge.ErrNotCancellable) {
		t.Errorf("cancel finished: got %v, want ErrNotCancellable", err)
	}
	list := enqueue(t, in, s3bridge.TaskListFiles)
	if c := mustClaim(t, in, "a"); c == nil || c.ID != list {
		t.Fatalf("claim list task: got %v", c)
	}
	if _, err := in.Cancel(ctx, list); !errors.Is(err, s3bridge.ErrNotCancellable) {
		t.Errorf("cancel running list task: got %v, want ErrNotCancellable", err)
	}
	if _, err := in.Cancel(ctx, 424242); !errors.Is(err, s3bridge.ErrNotFound) {
		t.Errorf("cancel missing: got %v, want ErrNotFound", err)
	}
}

func testLease(t *testing.T, in instance.Instance) {
	ctx := t.Context()
	id := enqueue(t, in, s3bridge.TaskDownload)
	dead, err := in.Claim(ctx, "dead", 50*time.Millisecond)
	if err != nil || dead == nil || dead.Attempt != 1 {
		t.Fatalf("first claim: got %+v, %v; want attempt 1", dead, err)
	}
	var taken *s3bridge.Task
	deadline := time.Now().Add(10 * time.Second)
	for taken == nil && time.Now().Before(deadline) {
		taken = mustClaim(t, in, "alive")
		if taken == nil {
			time.Sleep(20 * time.Millisecond) // polling a lease's expiry, with a deadline
		}
	}
	if taken == nil || taken.ID != id || taken.Agent != "alive" || taken.Attempt != 2 {
		t.Fatalf("expired lease not taken over as attempt 2: got %+v", taken)
	}
	if _, err := in.Heartbeat(ctx, dead.Claim(), time.Minute, 10); !errors.Is(err, s3bridge.ErrLeaseLost) {
		t.Errorf("dead agent heartbeat: got %v, want ErrLeaseLost", err)
	}
	if err := in.Finish(ctx, dead.Claim(), s3bridge.Success, s3bridge.Result{}); !errors.Is(err, s3bridge.ErrLeaseLost) {
		t.Errorf("dead agent finish: got %v, want ErrLeaseLost", err)
	}
	if lc, err := in.Heartbeat(ctx, taken.Claim(), time.Minute, 55); err != nil || lc != s3bridge.InProgress {
		t.Errorf("new agent heartbeat: got %s, %v", lc, err)
	}
	got, _ := in.Task(ctx, id)
	if got.PercentComplete != 55 {
		t.Errorf("percent: got %d, want 55", got.PercentComplete)
	}
}

// testFencing: the same agent id claiming its own expired task again (one
// agent, two goroutines, a stall in between) gets a new attempt, and the
// first attempt's heartbeat, finish and release no longer count.
func testFencing(t *testing.T, in instance.Instance) {
	ctx := t.Context()
	id := enqueue(t, in, s3bridge.TaskDownload)
	first, err := in.Claim(ctx, "same", 50*time.Millisecond)
	if err != nil || first == nil || first.ID != id {
		t.Fatalf("first claim: got %+v, %v", first, err)
	}
	var second *s3bridge.Task
	for deadline := time.Now().Add(10 * time.Second); second == nil && time.Now().Before(deadline); {
		if second = mustClaim(t, in, "same"); second == nil {
			time.Sleep(20 * time.Millisecond) // polling a lease's expiry, with a deadline
		}
	}
	if second == nil || second.Attempt != first.Attempt+1 {
		t.Fatalf("reclaim by the same agent: got %+v, want attempt %d", second, first.Attempt+1)
	}
	if _, err := in.Heartbeat(ctx, first.Claim(), time.Minute, 10); !errors.Is(err, s3bridge.ErrLeaseLost) {
		t.Errorf("stale attempt heartbeat: got %v, want ErrLeaseLost", err)
	}
	if err := in.Release(ctx, first.Claim()); !errors.Is(err, s3bridge.ErrLeaseLost) {
		t.Errorf("stale attempt release: got %v, want ErrLeaseLost", err)
	}
	if err := in.Finish(ctx, first.Claim(), s3bridge.Failed, s3bridge.Result{Info: "stale"}); !errors.Is(err, s3bridge.ErrLeaseLost) {
		t.Errorf("stale attempt finish: got %v, want ErrLeaseLost", err)
	}
	if err := in.Finish(ctx, second.Claim(), s3bridge.Success, s3bridge.Result{Info: "fresh"}); err != nil {
		t.Fatal(err)
	}
	if err := in.Finish(ctx, second.Claim(), s3bridge.Success, s3bridge.Result{Info: "fresh"}); err != nil {
		t.Errorf("finishing a task already final under the same claim: got %v, want nil", err)
	}
	if got, _ := in.Task(ctx, id); got.Lifecycle != s3bridge.Success || got.TaskInfo != "fresh" {
		t.Errorf("task after fenced finishes: got %s %q", got.Lifecycle, got.TaskInfo)
	}
}

func testJournal(t *testing.T, in instance.Instance) {
	ctx := t.Context()
	id := enqueue(t, in, s3bridge.TaskListFiles)
	for i, msg := range []string{"first", "second ' quote", "third"} {
		level := s3bridge.LevelInfo
		if i == 2 {
			level = s3bridge.LevelError
		}
		if err := in.Log(ctx, id, s3bridge.LogLine{Level: level, Message: msg}); err != nil {
			t.Fatal(err)
		}
	}
	lines, err := in.TaskLog(ctx, id)
	if err != nil || len(lines) != 3 || lines[1].Message != "second ' quote" || lines[2].Level != s3bridge.LevelError {
		t.Fatalf("log: got %+v, %v", lines, err)
	}
	mod := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	files := []s3bridge.FileDetail{
		{FilePath: "/area/a.csv", SizeInBytes: 12, LastModifiedUTC: mod},
		{FilePath: "/area/sub/", IsDirectory: true, LastModifiedUTC: mod},
	}
	if err := in.SaveFileDetails(ctx, id, files); err != nil {
		t.Fatal(err)
	}
	got, err := in.FileDetails(ctx, id)
	if err != nil || len(got) != 2 {
		t.Fatalf("file details: got %+v, %v", got, err)
	}
	for i := range files {
		if got[i].FilePath != files[i].FilePath || got[i].SizeInBytes != files[i].SizeInBytes ||
			got[i].IsDirectory != files[i].IsDirectory || !got[i].LastModifiedUTC.Equal(mod) {
			t.Errorf("file %d: got %+v, want %+v", i, got[i], files[i])
		}
	}
}

// testConcurrent has several agents race for tasks of every kind: each
// task runs exactly once and never more of a kind at a time than its limit.
func testConcurrent(t *testing.T, in instance.Instance) {
	ctx := t.Context()
	limits := map[s3bridge.Kind]int{s3bridge.KindLoad: 1}
	attachLimits(t, in, 2, limits)
	const tasks, agents = 42, 4
	types := []s3bridge.TaskType{s3bridge.TaskUpload, s3bridge.TaskLoadFromS3, s3bridge.TaskExportToS3}
	for i := range tasks {
		enqueue(t, in, types[i%len(types)])
	}
	var (
		running, peak = map[s3bridge.Kind]*atomic.Int32{}, map[s3bridge.Kind]*atomic.Int32{}
		mu            sync.Mutex
		seen          = map[int64]string{}
		wg            sync.WaitGroup
		errs          = make(chan error, agents)
	)
	for _, k := range s3bridge.Kinds() {
		running[k], peak[k] = new(atomic.Int32), new(atomic.Int32)
	}
	for a := range agents {
		agent := fmt.Sprintf("agent-%d", a)
		wg.Go(func() {
			idle := 0
			for idle < 20 {
				task, err := in.Claim(ctx, agent, time.Minute)
				if err != nil {
					errs <- err
					return
				}
				if task == nil {
					idle++
					time.Sleep(10 * time.Millisecond)
					continue
				}
				idle = 0
				k := task.Type.Kind()
				n := running[k].Add(1)
				for p := peak[k].Load(); n > p && !peak[k].CompareAndSwap(p, n); p = peak[k].Load() {
				}
				mu.Lock()
				if prev, dup := seen[task.ID]; dup {
					errs <- fmt.Errorf("task %d claimed by %s and %s", task.ID, prev, agent)
				}
				seen[task.ID] = agent
				mu.Unlock()
				running[k].Add(-1)
				if err := in.Finish(ctx, task.Claim(), s3bridge.Success, s3bridge.Result{}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(seen) != tasks {
		t.Errorf("ran %d tasks, want %d", len(seen), tasks)
	}
	for _, k := range s3bridge.Kinds() {
		if p, limit := peak[k].Load(), cmp.Or(limits[k], 2); int(p) > limit {
			t.Errorf("peak running %s tasks %d, want at most %d", k, p, limit)
		}
	}
}

// testFailureNotNotAttached: a database that fails (here: its connections
// are gone) is reported with its own error, never as "not attached", which
// would send an operator to re-attach a healthy instance.
func testFailureNotNotAttached(t *testing.T, in instance.Instance) {
	if _, err := in.Settings(t.Context()); err != nil {
		t.Fatalf("settings of an attached instance: %v", err)
	}
	in.Close()
	_, err := in.Settings(t.Context())
	if err == nil || errors.Is(err, s3bridge.ErrNotAttached) {
		t.Errorf("settings of a closed instance: got %v, want its failure, not ErrNotAttached", err)
	}
}
