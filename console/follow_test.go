package console

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/sqlite"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
	"github.com/s3bridge/s3bridge/token"
)

// counted is an instance that counts the reads log followers make.
type counted struct {
	*sqlite.Instance
	byID, logAfter, task, taskLog atomic.Int64
}

func (c *counted) TasksByID(ctx context.Context, ids []int64) ([]s3bridge.Task, error) {
	c.byID.Add(1)
	return c.Instance.TasksByID(ctx, ids)
}

func (c *counted) TaskLogAfter(ctx context.Context, ids []int64, after int64) ([]sqlstore.TaskLogLine, error) {
	c.logAfter.Add(1)
	return c.Instance.TaskLogAfter(ctx, ids, after)
}

func (c *counted) Task(ctx context.Context, id int64) (s3bridge.Task, error) {
	c.task.Add(1)
	return c.Instance.Task(ctx, id)
}

func (c *counted) TaskLog(ctx context.Context, id int64) ([]s3bridge.LogLine, error) {
	c.taskLog.Add(1)
	return c.Instance.TaskLog(ctx, id)
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFollowersSharePoller (issue 12's 1,000 followers): many streams on
// a task and a few on another each get every line, the task's moves and
// the end, while the instance is polled once per interval for all of
// them, not once per stream; the poller stops with the last stream.
func TestFollowersSharePoller(t *testing.T) {
	const poll = 20 * time.Millisecond
	var c *counted
	f := newWrappedFixture(t, Config{Poll: poll}, func(in *sqlite.Instance) instance.Instance {
		c = &counted{Instance: in}
		return c
	})
	in := f.ins[0]
	claim := func(id int64) *s3bridge.Task {
		task, err := in.ClaimTask(t.Context(), id, "agent-1", time.Minute)
		if err != nil || task == nil {
			t.Fatalf("claim task %d: %v, %v", id, task, err)
		}
		return task
	}
	a, b := claim(enqueue(t, in, s3bridge.TaskUpload)), claim(enqueue(t, in, s3bridge.TaskDownload))
	type result struct {
		lines []string
		moved bool
		end   taskView
		err   error
	}
	follow := func(id int64) <-chan result {
		out := make(chan result, 1)
		res := f.do("GET", "/api/instances/app/tasks/"+itoa(id)+"/events", f.tokens[token.Viewer], nil)
		go func() {
			defer res.Body.Close()
			var r result
			events := make(chan event, 100)
			go readEvents(res.Body, events)
			for ev := range events {
				switch ev.name {
				case "log":
					var l struct{ Message string }
					json.Unmarshal([]byte(ev.data), &l)
					r.lines = append(r.lines, ev.id+":"+l.Message)
				case "task":
					var v taskView
					json.Unmarshal([]byte(ev.data), &v)
					r.moved = r.moved || v.PercentComplete == 50
				case "end":
					json.Unmarshal([]byte(ev.data), &r.end)
					out <- r
					return
				case "error":
					r.err = errors.New(ev.data)
				}
			}
			if r.err == nil {
				r.err = errors.New("the stream ended without an end event")
			}
			out <- r
		}()
		return out
	}
	const many = 60
	var streams []<-chan result
	for i := range many + 5 {
		id := a.ID
		if i >= many {
			id = b.ID
		}
		streams = append(streams, follow(id))
	}
	sv := f.srv.instances[0]
	waitFor(t, "every stream subscribed", func() bool { return sv.follows.followers() == many+5 })
	start, catchUps := time.Now(), c.task.Load()
	polls := c.byID.Load()
	for _, task := range []*s3bridge.Task{a, b} {
		for _, msg := range []string{"one", "two", "three"} {
			if err := in.Log(t.Context(), task.ID, s3bridge.LogLine{Level: s3bridge.LevelInfo, Message: msg}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(poll / 2)
		}
		if _, err := in.Heartbeat(t.Context(), task.Claim(), time.Minute, 50); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(3 * poll)
	for _, task := range []*s3bridge.Task{a, b} {
		if err := in.FinishLogged(t.Context(), task.Claim(), s3bridge.Success, s3bridge.Result{Info: "done", Bytes: 5},
			[]s3bridge.LogLine{{Level: s3bridge.LevelInfo, Message: "last"}}); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range streams {
		select {
		case r := <-s:
			// Line 1 is the claim's own ("started by agent …"), the
			// last the finish's; every line once, numbered in order.
			want := "2:one 3:two 4:three 5:last"
			numbered := true
			for n, l := range r.lines {
				numbered = numbered && strings.HasPrefix(l, itoa(int64(n+1))+":")
			}
			if r.err != nil || !strings.Contains(strings.Join(r.lines, " "), want) || !numbered || !r.moved ||
				r.end.Lifecycle != "SUCCESS" || r.end.BytesProcessed != 5 {
				t.Errorf("stream %d: lines %v (want …%s…), moved %v, end %s %d, err %v", i, r.lines, want, r.moved, r.end.Lifecycle, r.end.BytesProcessed, r.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("stream %d: no end within 10s", i)
		}
	}
	elapsed := time.Since(start)
	// One read of the followed tasks per poll for every stream (a few
	// more for timer slack), and no per-stream reads after the catch-up.
	if n, max := c.byID.Load()-polls, int64(elapsed/poll)+3; n > max {
		t.Errorf("%d reads of the followed tasks in %s (a poll every %s): want at most %d, one per poll", n, elapsed, poll, max)
	}
	if n := c.task.Load() - catchUps; n != 0 {
		t.Errorf("%d single-task reads while following: the streams poll on their own", n)
	}
	waitFor(t, "the poller stops", func() bool {
		sv.follows.mu.Lock()
		defer sv.follows.mu.Unlock()
		return !sv.follows.polling && len(sv.follows.tasks) == 0
	})
}

// fakeReads is a taskReads whose answers the test sets.
type fakeReads struct {
	taskReads
	mu    sync.Mutex
	tasks map[int64]s3bridge.Task
	lines []sqlstore.TaskLogLine
}

func (f *fakeReads) TasksByID(_ context.Context, ids []int64) ([]s3bridge.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []s3bridge.Task
	for _, id := range ids {
		if t, ok := f.tasks[id]; ok {
			out = append(out, t)
		}
	}
	return out, nil
}

func (f *fakeReads) TaskLogAfter(_ context.Context, ids []int64, after int64) ([]sqlstore.TaskLogLine, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sqlstore.TaskLogLine
	for _, l := range f.lines {
		for _, id := range ids {
			if l.TaskID == id && l.LineID > after {
				out = append(out, l)
			}
		}
	}
	return out, nil
}

// TestFollowsDeliver: the poller numbers lines from the task's first
// (the whole log at the first poll, then the lines after the last read),
// sends a task only when it moved, drops a stream that fell a buffer
// behind (closing its mailbox), and forgets a task that ended or is gone.
func TestFollowsDeliver(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	fr := &fakeReads{tasks: map[int64]s3bridge.Task{
		7: {ID: 7, Type: s3bridge.TaskUpload, Lifecycle: s3bridge.InProgress, LastUpdated: now},
		8: {ID: 8, Type: s3bridge.TaskUpload, Lifecycle: s3bridge.InProgress, LastUpdated: now},
	}}
	line := func(task, id int64, msg string) sqlstore.TaskLogLine {
		return sqlstore.TaskLogLine{TaskID: task, LineID: id, LogLine: s3bridge.LogLine{Time: now, Level: s3bridge.LevelInfo, Message: msg}}
	}
	fr.lines = []sqlstore.TaskLogLine{line(7, 1, "a"), line(8, 2, "x"), line(7, 3, "b")}
	h := &follows{inst: "app", reads: fr, poll: time.Hour, now: func() time.Time { return now },
		log: slog.New(slog.DiscardHandler), tasks: map[int64]*followed{}, polling: true} // polled by hand
	pollOnce := func() {
		t.Helper()
		p, ok := h.snapshot()
		if !ok {
			t.Fatal("nothing to poll")
		}
		tasks, lines, err := h.read(p)
		if err != nil {
			t.Fatal(err)
		}
		h.deliver(p, tasks, lines)
	}
	next := func(f *follower) update {
		t.Helper()
		select {
		case u, ok := <-f.ch:
			if !ok {
				t.Fatal("the mailbox is closed")
			}
			return u
		default:
			t.Fatal("no update")
		}
		return update{}
	}
	messages := func(u update) (out []string) {
		for _, l := range u.lines {
			var v struct{ Message string }
			json.Unmarshal(l, &v)
			out = append(out, v.Message)
		}
		return out
	}
	f7, f8 := h.subscribe(7), h.subscribe(8)
	pollOnce()
	if u := next(f7); u.first != 1 || strings.Join(messages(u), ",") != "a,b" || u.task == nil || u.final {
		t.Errorf("first poll, task 7: first %d, lines %v, task %s", u.first, messages(u), u.task)
	}
	if u := next(f8); u.first != 1 || strings.Join(messages(u), ",") != "x" || u.task == nil {
		t.Errorf("first poll, task 8: first %d, lines %v", u.first, messages(u))
	}
	// A new line of 7, and 8 unchanged: nothing for 8.
	fr.lines = append(fr.lines, line(7, 4, "c"))
	pollOnce()
	if u := next(f7); u.first != 3 || strings.Join(messages(u), ",") != "c" || u.task != nil {
		t.Errorf("second poll, task 7: first %d, lines %v, task %s", u.first, messages(u), u.task)
	}
	if len(f8.ch) != 0 {
		t.Errorf("task 8 did not move, yet its stream got %d update(s)", len(f8.ch))
	}
	// 7 moves at every poll while its stream reads nothing: a buffer
	// later the stream is dropped, its mailbox closed.
	for i := range followerBuffer + 1 {
		fr.mu.Lock()
		t7 := fr.tasks[7]
		t7.PercentComplete, t7.LastUpdated = i+1, now.Add(time.Duration(i+1)*time.Second)
		fr.tasks[7] = t7
		fr.mu.Unlock()
		pollOnce()
	}
	for range followerBuffer {
		<-f7.ch
	}
	if _, ok := <-f7.ch; ok {
		t.Error("a stream a buffer behind was not dropped")
	}
	if _, ok := h.tasks[7]; ok {
		t.Error("task 7 is still followed with no stream left")
	}
	// 8 ends: its stream gets the final task, and 8 is forgotten.
	fr.mu.Lock()
	t8 := fr.tasks[8]
	t8.Lifecycle, t8.LastUpdated = s3bridge.Success, now.Add(time.Minute)
	fr.tasks[8] = t8
	fr.mu.Unlock()
	pollOnce()
	if u := next(f8); !u.final || u.task == nil {
		t.Errorf("final poll, task 8: final %v, task %s", u.final, u.task)
	}
	if _, ok := h.tasks[8]; ok {
		t.Error("task 8 is still followed after it ended")
	}
	// A followed task that can no longer be read ends its streams.
	f9 := h.subscribe(9)
	pollOnce()
	if u := next(f9); u.gone == nil {
		t.Errorf("a task that is gone: %+v", u)
	}
	if _, ok := h.snapshot(); ok {
		t.Error("the poller would go on with no stream")
	}
}

// TestEventsEndOnFinalTask: a stream on a task already final sends its
// lines and the end at once, without the poller.
func TestEventsEndOnFinalTask(t *testing.T) {
	f := newFixture(t, Config{Poll: time.Hour})
	in := f.ins[0]
	id := enqueue(t, in, s3bridge.TaskUpload)
	finish(t, in, id, s3bridge.Success, s3bridge.Result{Info: "ok"})
	res := f.do("GET", "/api/instances/app/tasks/"+itoa(id)+"/events", f.tokens[token.Viewer], nil)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "event: log") || !strings.HasSuffix(strings.TrimSpace(string(body)), "}") ||
		!strings.Contains(string(body), "event: end") {
		t.Errorf("events of a finished task: %d\n%s", res.StatusCode, body)
	}
}
