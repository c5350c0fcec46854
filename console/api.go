package console

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/control"
)

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// instanceView is an instance in the API: its name in URLs, its settings
// (which hold no secret: credentials come from the agent's environment)
// and the agents recorded in it.
type instanceView struct {
	Name     string             `json:"name"`
	Settings *s3bridge.Settings `json:"settings,omitempty"`
	Agents   []agentView        `json:"agents,omitempty"`
}

type agentView struct {
	ID        string    `json:"id"`
	Host      string    `json:"host"`
	Version   string    `json:"version"`
	StartedAt time.Time `json:"started_at"`
	LastSeen  time.Time `json:"last_seen"`
}

func (s *Server) apiInstances(w http.ResponseWriter, _ *http.Request, _ principal) error {
	out := []instanceView{}
	for _, sv := range s.instances {
		out = append(out, instanceView{Name: sv.id})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) instanceView(r *http.Request, sv served) (instanceView, error) {
	set, err := sv.in.Settings(r.Context())
	if err != nil {
		return instanceView{}, err
	}
	agents, err := sv.in.Agents(r.Context())
	if err != nil {
		return instanceView{}, err
	}
	v := instanceView{Name: sv.id, Settings: &set, Agents: []agentView{}}
	for _, a := range agents {
		v.Agents = append(v.Agents, agentView{ID: a.ID, Host: a.Host, Version: a.Version, StartedAt: a.StartedAt, LastSeen: a.LastSeen})
	}
	return v, nil
}

func (s *Server) apiInstance(w http.ResponseWriter, r *http.Request, _ principal) error {
	sv, err := s.instance(r.PathValue("instance"))
	if err != nil {
		return err
	}
	v, err := s.instanceView(r, sv)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// taskView is a task in the API: control.Task and the instance it is in.
type taskView struct {
	Instance string `json:"instance"`
	control.Task
}

// taskPage is a page of the task list.
type taskPage struct {
	Tasks []taskView `json:"tasks"`
	// NextCursor continues the list; empty on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

func (s *Server) apiTasks(w http.ResponseWriter, r *http.Request, _ principal) error {
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := s.listTasks(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, page)
}

// task reads the task the request's {instance} and {id} name.
func (s *Server) task(r *http.Request) (served, s3bridge.Task, error) {
	sv, err := s.instance(r.PathValue("instance"))
	if err != nil {
		return sv, s3bridge.Task{}, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 0 {
		return sv, s3bridge.Task{}, badRequestf("task id %q: want a number", r.PathValue("id"))
	}
	t, err := sv.in.Task(r.Context(), id)
	return sv, t, err
}

func (s *Server) apiTask(w http.ResponseWriter, r *http.Request, _ principal) error {
	sv, t, err := s.task(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, taskView{Instance: sv.id, Task: control.ViewTask(t, s.cfg.Now())})
}

func (s *Server) apiTaskLog(w http.ResponseWriter, r *http.Request, _ principal) error {
	sv, t, err := s.task(r)
	if err != nil {
		return err
	}
	lines, err := sv.in.TaskLog(r.Context(), t.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, control.ViewLog(lines))
}

// cancelled is what a cancel answers: the task's new lifecycle, as
// cancel --json prints it.
type cancelled struct {
	Instance  string `json:"instance"`
	TaskID    int64  `json:"task_id"`
	Lifecycle string `json:"lifecycle"`
}

func (s *Server) cancel(r *http.Request, p principal) (cancelled, error) {
	sv, err := s.instance(r.PathValue("instance"))
	if err != nil {
		return cancelled{}, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 0 {
		return cancelled{}, badRequestf("task id %q: want a number", r.PathValue("id"))
	}
	lc, err := sv.in.Cancel(r.Context(), id)
	if err != nil {
		return cancelled{}, err
	}
	s.cfg.Log.Info("task cancel requested", "instance", sv.id, "task", id, "lifecycle", lc, "by", p.name)
	return cancelled{Instance: sv.id, TaskID: id, Lifecycle: string(lc)}, nil
}

func (s *Server) apiCancel(w http.ResponseWriter, r *http.Request, p principal) error {
	c, err := s.cancel(r, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}
