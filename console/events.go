package console

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/s3bridge/s3bridge/control"
)

// apiTaskEvents follows a task as Server-Sent Events until it ends or the
// client leaves: "log" events carry each new log line (the event id is
// the number of lines sent so far, so a reconnecting EventSource resumes
// after the last one it got), "task" events the task whenever its
// lifecycle, progress or figures change, and a final "end" event the
// finished task. The task is read again every Config.Poll.
func (s *Server) apiTaskEvents(w http.ResponseWriter, r *http.Request, _ principal) error {
	sv, t, err := s.task(r)
	if err != nil {
		return err
	}
	sent := 0
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			sent = n
		}
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // a proxy in front must not hold events back
	w.WriteHeader(http.StatusOK)
	ctx := r.Context()
	tick := time.NewTicker(s.cfg.Poll)
	defer tick.Stop()
	var last control.Task
	quiet := 0
	for {
		lines, err := sv.in.TaskLog(ctx, t.ID)
		if err != nil {
			return sseError(w, rc, err)
		}
		for ; sent < len(lines); sent++ {
			if err := sseEvent(w, "log", strconv.Itoa(sent+1), control.ViewLog(lines[sent : sent+1])[0]); err != nil {
				return nil // the client left
			}
		}
		v := control.ViewTask(t, s.cfg.Now())
		if changed(last, v) {
			last = v
			if err := sseEvent(w, "task", "", taskView{Instance: sv.id, Task: v}); err != nil {
				return nil
			}
			quiet = 0
		}
		if t.Lifecycle.Final() {
			sseEvent(w, "end", "", taskView{Instance: sv.id, Task: v})
			rc.Flush()
			return nil
		}
		// A comment now and then keeps idle connections open through
		// proxies, and finds a client that left.
		if quiet++; quiet*int(s.cfg.Poll) >= int(15*time.Second) {
			quiet = 0
			if _, err := io.WriteString(w, ": still here\n\n"); err != nil {
				return nil
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if t, err = sv.in.Task(ctx, t.ID); err != nil {
			return sseError(w, rc, err)
		}
	}
}

// changed reports whether the task moved since it was last sent.
func changed(a, b control.Task) bool {
	return a.Lifecycle != b.Lifecycle || a.PercentComplete != b.PercentComplete || a.TaskInfo != b.TaskInfo ||
		a.RowsProcessed != b.RowsProcessed || a.BytesProcessed != b.BytesProcessed || a.FilesProcessed != b.FilesProcessed ||
		!a.LastUpdated.Equal(b.LastUpdated)
}

func sseEvent(w io.Writer, event, id string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if id != "" {
		if _, err := fmt.Fprintf(w, "id: %s\n", id); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data)
	return err
}

// sseError ends a stream that already started with an "error" event: the
// status line is gone.
func sseError(w io.Writer, rc *http.ResponseController, err error) error {
	if r := classifyEvent(err); r != nil {
		sseEvent(w, "error", "", r)
		rc.Flush()
	}
	return nil
}

func classifyEvent(err error) *apiError {
	if err == nil {
		return nil
	}
	_, code, msg := classify(err)
	return &apiError{Code: code, Message: msg}
}
