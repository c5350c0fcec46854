package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/control"
)

// keepAlive is how often an idle stream gets a comment: it keeps the
// connection open through proxies and finds a client that left.
const keepAlive = 15 * time.Second

// apiTaskEvents follows a task as Server-Sent Events until it ends or the
// client leaves: "log" events carry each new log line (the event id is
// the number of lines sent so far, so a reconnecting EventSource resumes
// after the last one it got), "task" events the task whenever its
// lifecycle, progress or figures change, and a final "end" event the
// finished task. The stream first catches up from the database itself,
// then takes what the instance's shared poller (follows) reads every
// Config.Poll.
func (s *Server) apiTaskEvents(w http.ResponseWriter, r *http.Request, _ principal) error {
	release, err := s.acquire(r.Context())
	if err != nil {
		return nil
	}
	sv, t, err := s.task(r)
	if err != nil {
		release()
		return err
	}
	st := &stream{w: w, rc: http.NewResponseController(w), inst: sv.id}
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			st.sent = n
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // a proxy in front must not hold events back
	w.WriteHeader(http.StatusOK)
	ctx := r.Context()
	f := sv.follows.subscribe(t.ID)
	defer func() { sv.follows.unsubscribe(t.ID, f) }()
	// Subscribed first, then caught up: a line the poller reads from now
	// on comes to f, one read before is in the catch-up.
	done, err := st.catchUp(ctx, s, sv, t.ID)
	release()
	if done || err != nil {
		return st.end(err)
	}
	idle := time.NewTicker(keepAlive)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-idle.C:
			if _, err := io.WriteString(w, ": still here\n\n"); err != nil {
				return nil
			}
		case u, ok := <-f.ch:
			if !ok {
				// Dropped for falling behind: catch up and follow again.
				f = sv.follows.subscribe(t.ID)
				if done, err := s.catchUp(ctx, st, sv, t.ID); done || err != nil {
					return st.end(err)
				}
				continue
			}
			if u.first > st.sent+1 {
				// Lines are missing between: read them.
				if done, err := s.catchUp(ctx, st, sv, t.ID); done || err != nil {
					return st.end(err)
				}
				continue
			}
			if done, err := st.apply(u); done || err != nil {
				return st.end(err)
			}
		}
		if err := st.rc.Flush(); err != nil {
			return nil // the client left
		}
	}
}

// stream is one follower's Server-Sent Events response.
type stream struct {
	w    io.Writer
	rc   *http.ResponseController
	inst string
	// sent counts the log lines sent; updated is the time of the task
	// last sent, so that an older read never follows a newer one.
	sent    int
	updated time.Time
	last    s3bridge.Task
}

// catchUp sends what the database holds beyond what was sent: the task
// (read first: if it is final, its last lines are in the log read after)
// and the lines. It reports whether the task is final (the end event was
// sent).
func (st *stream) catchUp(ctx context.Context, s *Server, sv served, id int64) (bool, error) {
	t, err := sv.in.Task(ctx, id)
	if err != nil {
		return false, err
	}
	lines, err := sv.in.TaskLog(ctx, id)
	if err != nil {
		return false, err
	}
	for ; st.sent < len(lines); st.sent++ {
		data, _ := json.Marshal(control.ViewLogLine(lines[st.sent]))
		if err := st.event("log", strconv.Itoa(st.sent+1), data); err != nil {
			return true, nil // the client left
		}
	}
	v := control.ViewTask(t, s.cfg.Now())
	data, _ := json.Marshal(taskView{Instance: sv.id, Task: v})
	if t.LastUpdated.Before(st.updated) {
		return false, st.rc.Flush()
	}
	if taskMoved(st.last, t) {
		st.last, st.updated = t, t.LastUpdated
		if err := st.event("task", "", data); err != nil {
			return true, nil
		}
	}
	if t.Lifecycle.Final() {
		return true, st.event("end", "", data)
	}
	return false, st.rc.Flush()
}

// catchUp is stream.catchUp in a read slot.
func (s *Server) catchUp(ctx context.Context, st *stream, sv served, id int64) (bool, error) {
	release, err := s.acquire(ctx)
	if err != nil {
		return true, nil // the client left
	}
	defer release()
	return st.catchUp(ctx, s, sv, id)
}

// apply sends a poll's update; it reports whether the stream ends.
func (st *stream) apply(u update) (bool, error) {
	if u.gone != nil {
		return true, u.gone
	}
	for i, data := range u.lines {
		n := u.first + i
		if n <= st.sent {
			continue
		}
		if err := st.event("log", strconv.Itoa(n), data); err != nil {
			return true, nil
		}
		st.sent = n
	}
	if u.task == nil || u.updated.Before(st.updated) {
		return false, nil
	}
	st.updated = u.updated
	if err := st.event("task", "", u.task); err != nil {
		return true, nil
	}
	if u.final {
		return true, st.event("end", "", u.task)
	}
	return false, nil
}

// end closes a stream: with an "error" event when err says why (the
// status line is gone).
func (st *stream) end(err error) error {
	if err != nil {
		_, code, msg := classify(err)
		data, _ := json.Marshal(apiError{Code: code, Message: msg})
		st.event("error", "", data)
	}
	st.rc.Flush()
	return nil
}

func (st *stream) event(name, id string, data []byte) error {
	if id != "" {
		if _, err := fmt.Fprintf(st.w, "id: %s\n", id); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(st.w, "event: %s\ndata: %s\n\n", name, data)
	return err
}
