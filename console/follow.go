package console

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/control"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
)

// follows are the log followers (Server-Sent Events) of one served
// instance. However many streams follow however many of its tasks, one
// poller reads them every Config.Poll in two statements (the followed
// tasks by id, and their log lines after the last one read) and hands
// each stream what changed, encoded once: a thousand followers cost the
// database what one does, and the server a goroutine and a small buffer
// each. The poller runs while a stream follows, and ends with the last.
type follows struct {
	inst  string
	reads taskReads
	poll  time.Duration
	now   func() time.Time
	log   *slog.Logger

	mu      sync.Mutex
	tasks   map[int64]*followed
	polling bool
}

// followed is one followed task: its streams and what the poller has
// read of it.
type followed struct {
	subs map[*follower]struct{}
	// task is the last read, nil before the first poll.
	task *s3bridge.Task
	// lines counts the log lines read, lastLine is the line id of the
	// last; primed once the poller read the whole log.
	lines    int
	lastLine int64
	primed   bool
}

// follower is one stream's mailbox. The poller never waits for it: when
// it is full the poller closes it, and the stream catches up from the
// database and follows again.
type follower struct{ ch chan update }

// followerBuffer is how many polls a stream may fall behind.
const followerBuffer = 16

// update is what one poll found of a task, encoded for the streams.
type update struct {
	// lines are the new log lines as JSON, the first being line number
	// first (1-based: an event's id).
	first int
	lines [][]byte
	// task is the task's JSON when it changed (always when final), as
	// of updated.
	task    []byte
	updated time.Time
	final   bool
	// gone is why the task can no longer be read.
	gone error
}

// pollTimeout bounds one poll's statements.
const pollTimeout = 10 * time.Second

func newFollows(sv served, cfg Config) *follows {
	return &follows{inst: sv.id, reads: sv.reads, poll: cfg.Poll, now: cfg.Now, log: cfg.Log, tasks: map[int64]*followed{}}
}

// subscribe adds a stream following task id, starting the poller if it
// was idle.
func (h *follows) subscribe(id int64) *follower {
	f := &follower{ch: make(chan update, followerBuffer)}
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.tasks[id]
	if e == nil {
		e = &followed{subs: map[*follower]struct{}{}}
		h.tasks[id] = e
	}
	e.subs[f] = struct{}{}
	if !h.polling {
		h.polling = true
		go h.run()
	}
	return f
}

// unsubscribe removes a stream; a task no stream follows is forgotten.
func (h *follows) unsubscribe(id int64, f *follower) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.tasks[id]
	if e == nil {
		return
	}
	delete(e.subs, f)
	if len(e.subs) == 0 {
		delete(h.tasks, id)
	}
}

// followers counts the streams following tasks of the instance.
func (h *follows) followers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, e := range h.tasks {
		n += len(e.subs)
	}
	return n
}

// poll is one poll's question: the followed tasks, which of them are
// read from their first line, and after which line the others are.
type poll struct {
	entries  map[int64]*followed
	ids      []int64
	primed   []int64
	unprimed []int64
	after    int64
}

// snapshot says what to read, or false when no stream follows (the
// poller then stops).
func (h *follows) snapshot() (poll, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.tasks) == 0 {
		h.polling = false
		return poll{}, false
	}
	p := poll{entries: make(map[int64]*followed, len(h.tasks)), after: -1}
	for id, e := range h.tasks {
		p.entries[id] = e
		p.ids = append(p.ids, id)
		if !e.primed {
			p.unprimed = append(p.unprimed, id)
			continue
		}
		p.primed = append(p.primed, id)
		if p.after < 0 || e.lastLine < p.after {
			p.after = e.lastLine
		}
	}
	return p, true
}

// run polls until no stream follows.
func (h *follows) run() {
	tick := time.NewTicker(h.poll)
	defer tick.Stop()
	for range tick.C {
		p, ok := h.snapshot()
		if !ok {
			return
		}
		tasks, lines, err := h.read(p)
		if err != nil {
			// The streams stay open: the next poll tries again.
			h.log.Warn("log followers: reading the followed tasks failed", "instance", h.inst, "error", err)
			continue
		}
		h.deliver(p, tasks, lines)
	}
}

// read reads the tasks first, then the log: a task read final has every
// line it logged before it finished in the log read after.
func (h *follows) read(p poll) ([]s3bridge.Task, []sqlstore.TaskLogLine, error) {
	ctx, cancel := context.WithTimeout(context.Background(), pollTimeout)
	defer cancel()
	tasks, err := h.reads.TasksByID(ctx, p.ids)
	if err != nil {
		return nil, nil, err
	}
	var lines []sqlstore.TaskLogLine
	if len(p.primed) > 0 {
		if lines, err = h.reads.TaskLogAfter(ctx, p.primed, p.after); err != nil {
			return nil, nil, err
		}
	}
	if len(p.unprimed) > 0 {
		more, err := h.reads.TaskLogAfter(ctx, p.unprimed, 0)
		if err != nil {
			return nil, nil, err
		}
		lines = append(lines, more...)
	}
	return tasks, lines, nil
}

// deliver hands each followed task's news to its streams. An entry
// replaced since the snapshot (all its streams left, then one came) is
// left to the next poll.
func (h *follows) deliver(p poll, tasks []s3bridge.Task, lines []sqlstore.TaskLogLine) {
	now := h.now()
	ups := make(map[int64]*update, len(p.ids))
	h.mu.Lock()
	defer h.mu.Unlock()
	current := func(id int64) *followed {
		if e := p.entries[id]; e != nil && h.tasks[id] == e {
			return e
		}
		return nil
	}
	for _, l := range lines {
		e := current(l.TaskID)
		if e == nil || (e.primed && l.LineID <= e.lastLine) {
			continue
		}
		e.lines++
		e.lastLine = l.LineID
		u := ups[l.TaskID]
		if u == nil {
			u = &update{first: e.lines}
			ups[l.TaskID] = u
		}
		data, _ := json.Marshal(control.ViewLogLine(l.LogLine))
		u.lines = append(u.lines, data)
	}
	read := map[int64]bool{}
	for _, t := range tasks {
		read[t.ID] = true
		e := current(t.ID)
		if e == nil {
			continue
		}
		e.primed = true
		if e.task != nil && !taskMoved(*e.task, t) {
			continue
		}
		e.task = &t
		u := ups[t.ID]
		if u == nil {
			u = &update{}
			ups[t.ID] = u
		}
		u.task, _ = json.Marshal(taskView{Instance: h.inst, Task: control.ViewTask(t, now)})
		u.updated, u.final = t.LastUpdated, t.Lifecycle.Final()
	}
	for _, id := range p.ids {
		if e := current(id); e != nil && !read[id] {
			ups[id] = &update{gone: notFoundf("task %d on %s: it is gone", id, h.inst)}
		}
	}
	for id, u := range ups {
		e := current(id)
		if e == nil {
			continue
		}
		for f := range e.subs {
			select {
			case f.ch <- *u:
			default:
				// Behind by followerBuffer polls: the stream catches up
				// from the database and subscribes again.
				close(f.ch)
				delete(e.subs, f)
			}
		}
		if u.final || u.gone != nil || len(e.subs) == 0 {
			delete(h.tasks, id)
		}
	}
}

// taskMoved reports whether the task changed in what a follower shows.
func taskMoved(a, b s3bridge.Task) bool {
	return a.Lifecycle != b.Lifecycle || a.PercentComplete != b.PercentComplete || a.TaskInfo != b.TaskInfo ||
		a.Rows != b.Rows || a.Bytes != b.Bytes || a.Files != b.Files || !a.LastUpdated.Equal(b.LastUpdated)
}
