package console

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/control"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
)

// filter is the task list's query: which instance, types and lifecycles,
// created since when, how many, and where the previous page ended.
type filter struct {
	Instance   string
	Types      []string
	Lifecycles []string
	Since      time.Time
	Limit      int
	After      *cursor
}

// Page sizes of the task list.
const (
	defaultLimit = 50
	maxLimit     = 500
)

// cursor is the last task of a page: the list is ordered newest first,
// by creation time, then instance, then id.
type cursor struct {
	created  int64 // unix nanoseconds
	instance int   // index of the served instance
	id       int64
}

func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d.%d.%d", c.created, c.instance, c.id))
}

func parseCursor(s string) (*cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err == nil {
		_, err = fmt.Sscanf(string(raw), "%d.%d.%d", &c.created, &c.instance, &c.id)
	}
	if err != nil {
		return nil, badRequestf("cursor %q: not one this server gave (pass next_cursor as it is)", s)
	}
	return &c, nil
}

// before reports whether a sorts before b: newer first.
func (a cursor) before(b cursor) bool {
	if a.created != b.created {
		return a.created > b.created
	}
	if a.instance != b.instance {
		return a.instance < b.instance
	}
	return a.id > b.id
}

func split(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, strings.ToUpper(p))
		}
	}
	return out
}

// parseFilter reads the task list's query parameters: instance, type and
// lifecycle (comma-separated for several), since (RFC 3339 or a duration
// back from now, such as 24h), limit and cursor.
func parseFilter(q url.Values) (filter, error) {
	f := filter{Instance: q.Get("instance"), Types: split(q.Get("type")), Lifecycles: split(q.Get("lifecycle")), Limit: defaultLimit}
	if v := q.Get("since"); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			f.Since = time.Now().Add(-d)
		} else if t, err := time.Parse(time.RFC3339, v); err == nil {
			f.Since = t
		} else {
			return f, badRequestf("since %q: want an RFC 3339 time (2026-01-02T15:04:05Z) or a duration back from now (24h)", v)
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return f, badRequestf("limit %q: want 1 to %d", v, maxLimit)
		}
		f.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		c, err := parseCursor(v)
		if err != nil {
			return f, err
		}
		f.After = c
	}
	return f, nil
}

// queryFor is the page query f makes of the instance at index i: the
// tasks after the cursor in the list's order (newest first, then by
// instance, then by id), one more than a page so that the merged list
// knows whether another page follows.
func (f filter) queryFor(i int) sqlstore.TaskQuery {
	q := sqlstore.TaskQuery{Since: f.Since, Limit: f.Limit + 1}
	for _, t := range f.Types {
		q.Types = append(q.Types, s3bridge.TaskType(t))
	}
	for _, lc := range f.Lifecycles {
		q.Lifecycles = append(q.Lifecycles, s3bridge.Lifecycle(lc))
	}
	if c := f.After; c != nil {
		key := sqlstore.TaskKey{CreatedAt: time.Unix(0, c.created).UTC(), ID: c.id}
		switch {
		case i < c.instance:
			// Its tasks created at the cursor's time came before it.
			key.ID = math.MinInt64
		case i > c.instance:
			// Its tasks created at the cursor's time come after it.
			key.ID = math.MaxInt64
		}
		q.Before = &key
	}
	return q
}

// listTasks returns a page of the tasks f selects: a page from each
// instance (by index, in parallel), merged.
func (s *Server) listTasks(ctx context.Context, f filter) (taskPage, error) {
	type entry struct {
		c    cursor
		inst string
		t    s3bridge.Task
	}
	found := f.Instance == ""
	pages := make([][]s3bridge.Task, len(s.instances))
	g, gctx := errgroup.WithContext(ctx)
	for i, sv := range s.instances {
		if f.Instance != "" && sv.id != f.Instance {
			continue
		}
		found = true
		g.Go(func() error {
			tasks, err := sv.reads.TaskPage(gctx, f.queryFor(i))
			if err != nil {
				return fmt.Errorf("list the tasks of %s: %w", sv.id, err)
			}
			pages[i] = tasks
			return nil
		})
	}
	if !found {
		return taskPage{}, notFoundf("instance %q is not served here", f.Instance)
	}
	if err := g.Wait(); err != nil {
		return taskPage{}, err
	}
	var all []entry
	for i, tasks := range pages {
		for _, t := range tasks {
			all = append(all, entry{cursor{created: t.CreatedAt.UnixNano(), instance: i, id: t.ID}, s.instances[i].id, t})
		}
	}
	slices.SortFunc(all, func(a, b entry) int {
		switch {
		case a.c.before(b.c):
			return -1
		case b.c.before(a.c):
			return 1
		}
		return 0
	})
	page := taskPage{Tasks: []taskView{}}
	now := s.cfg.Now()
	for i, e := range all {
		if i == f.Limit {
			page.NextCursor = all[i-1].c.String()
			break
		}
		page.Tasks = append(page.Tasks, taskView{Instance: e.inst, Task: control.ViewTask(e.t, now)})
	}
	return page, nil
}
