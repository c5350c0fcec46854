package console

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/control"
	"github.com/s3bridge/s3bridge/policy"
	"github.com/s3bridge/s3bridge/token"
)

// The console's pages are server-rendered: every page reads without
// JavaScript and has its own URL. assets/app.js only makes the task list
// live, streams a task's log and copies the policy.
var (
	//go:embed templates/*.html
	templateFS embed.FS
	//go:embed assets
	assetFS embed.FS
)

var funcs = template.FuncMap{
	"bytes": func(n int64) string { return humanize.IBytes(uint64(max(n, 0))) },
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "-"
			}
			return v.UTC().Format("2006-01-02 15:04:05")
		case *time.Time:
			if v == nil {
				return "-"
			}
			return v.UTC().Format("2006-01-02 15:04:05")
		}
		return "-"
	},
	"mins": func(m float64) string { return (time.Duration(m * float64(time.Minute))).Round(time.Second).String() },
	"secs": func(s float64) string {
		return (time.Duration(s * float64(time.Second))).Round(100 * time.Millisecond).String()
	},
	"final": func(lc string) bool { return s3bridge.Lifecycle(lc).Final() },
	"lower": strings.ToLower,
	"esc":   url.PathEscape,
	"float": func(v control.Pipeline, k string) string {
		if f, ok := v.Float(k); ok {
			return fmt.Sprintf("%.1f", f)
		}
		return "-"
	},
	"stat": func(v control.Pipeline, k string) string { return v.String(k) },
	"deref": func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	},
	"subf": func(a, b float64) float64 { return a - b },
	"addf": func(a, b float64) float64 { return a + b },
	"json": func(v any) string {
		b, _ := json.MarshalIndent(v, "", "  ")
		return string(b)
	},
}

// parsePages parses each page with the layout, by file name.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", n, err)
		}
		out[base] = t
	}
	return out, nil
}

// view is what every page gets.
type view struct {
	Title      string
	Nav        string
	User       string
	Role       token.Role
	CSRF       string
	CanOperate bool
	CanAdmin   bool
	Data       any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title, nav string, p principal, data any) error {
	v := view{Title: title, Nav: nav, User: p.name, Role: p.role, Data: data,
		CanOperate: p.role.Allows(token.Operator), CanAdmin: p.role.Allows(token.Admin)}
	if p.session != nil {
		v.CSRF = p.session.csrf
	}
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout.html", v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	p, _ := s.authenticate(r)
	if err := s.render(w, r, status, "error.html", http.StatusText(status), "", p, apiError{Code: code, Message: msg}); err != nil {
		http.Error(w, msg, status)
	}
}

// loginData is the login form's.
type loginData struct {
	Next, Message string
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	next := r.URL.RequestURI()
	if r.Method == http.MethodPost {
		next = r.PostFormValue("next")
	}
	if err := s.render(w, r, status, "login.html", "Log in", "", principal{}, loginData{Next: localPath(next), Message: msg}); err != nil {
		http.Error(w, msg, status)
	}
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, _ principal) error {
	s.renderLogin(w, r, http.StatusOK, "")
	return nil
}

func (s *Server) static(w http.ResponseWriter, r *http.Request, _ principal) error {
	name := r.PathValue("file")
	data, err := assetFS.ReadFile("assets/" + name)
	if err != nil || strings.Contains(name, "/") {
		return notFoundf("no such asset: %s", name)
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err = w.Write(data)
	return err
}

func (s *Server) home(w http.ResponseWriter, r *http.Request, _ principal) error {
	http.Redirect(w, r, "/tasks", http.StatusSeeOther)
	return nil
}

// tasksData is the task list page's.
type tasksData struct {
	Instances  []string
	Types      []string
	Lifecycles []string
	Query      map[string]string
	Page       taskPage
	NextURL    string
}

func (s *Server) tasksPage(w http.ResponseWriter, r *http.Request, p principal) error {
	q := r.URL.Query()
	f, err := parseFilter(q)
	if err != nil {
		return err
	}
	page, err := s.listTasks(r.Context(), f)
	if err != nil {
		return err
	}
	d := tasksData{Page: page, Query: map[string]string{}}
	for _, k := range []string{"instance", "type", "lifecycle", "since"} {
		d.Query[k] = q.Get(k)
	}
	for _, sv := range s.instances {
		d.Instances = append(d.Instances, sv.id)
	}
	for _, t := range []s3bridge.TaskType{s3bridge.TaskUpload, s3bridge.TaskDownload, s3bridge.TaskListFiles, s3bridge.TaskDeleteFiles,
		s3bridge.TaskLoadFromS3, s3bridge.TaskExportToS3, s3bridge.TaskImportFromS3} {
		d.Types = append(d.Types, string(t))
	}
	d.Lifecycles = []string{"CREATED", "IN_PROGRESS", "CANCEL_REQUESTED", "SUCCESS", "ERROR", "CANCELLED"}
	if page.NextCursor != "" {
		nq := url.Values{}
		for k, v := range d.Query {
			if v != "" {
				nq.Set(k, v)
			}
		}
		nq.Set("cursor", page.NextCursor)
		d.NextURL = "/tasks?" + nq.Encode()
	}
	return s.render(w, r, http.StatusOK, "tasks.html", "Tasks", "tasks", p, d)
}

// taskData is a task page's.
type taskData struct {
	Task   taskView
	Log    []control.LogLine
	Events string
}

func (s *Server) taskPage(w http.ResponseWriter, r *http.Request, p principal) error {
	sv, t, err := s.task(r)
	if err != nil {
		return err
	}
	lines, err := sv.in.TaskLog(r.Context(), t.ID)
	if err != nil {
		return err
	}
	d := taskData{Task: taskView{Instance: sv.id, Task: control.ViewTask(t, s.cfg.Now())}, Log: control.ViewLog(lines),
		Events: fmt.Sprintf("/api/instances/%s/tasks/%d/events", url.PathEscape(sv.id), t.ID)}
	return s.render(w, r, http.StatusOK, "task.html", fmt.Sprintf("Task %d", t.ID), "tasks", p, d)
}

func (s *Server) cancelForm(w http.ResponseWriter, r *http.Request, p principal) error {
	c, err := s.cancel(r, p)
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/instances/%s/tasks/%d", url.PathEscape(c.Instance), c.TaskID), http.StatusSeeOther)
	return nil
}

// instanceConnectors are one instance's connectors on the list page.
type instanceConnectors struct {
	Instance   string
	Connectors []control.Connector
}

func (s *Server) connectorsPage(w http.ResponseWriter, r *http.Request, p principal) error {
	var d []instanceConnectors
	for _, sv := range s.instances {
		cs, ok := sv.in.(control.Connectors)
		if !ok {
			continue
		}
		views, err := control.ListConnectors(r.Context(), cs)
		if err != nil {
			return err
		}
		d = append(d, instanceConnectors{Instance: sv.id, Connectors: views})
	}
	return s.render(w, r, http.StatusOK, "connectors.html", "Connectors", "connectors", p, d)
}

// connectorData is a connector page's: the connector, its runs, and the
// chart of its last runs' records and durations.
type connectorData struct {
	Instance  string
	Connector control.Connector
	Runs      []control.Run
	Chart     []bar
}

// bar is one run in the chart: heights in the SVG's units (0-100).
type bar struct {
	X, Records, Duration float64
	Title                string
}

func chart(runs []control.Run) []bar {
	const n = 30
	if len(runs) > n {
		runs = runs[:n]
	}
	var maxRec, maxDur float64
	for _, r := range runs {
		maxRec, maxDur = math.Max(maxRec, float64(r.Records)), math.Max(maxDur, r.Duration)
	}
	out := make([]bar, 0, len(runs))
	// Oldest on the left.
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		b := bar{X: float64(len(out)) * 10, Title: fmt.Sprintf("job %d: %d records in %.1fs", r.JobID, r.Records, r.Duration)}
		if maxRec > 0 {
			b.Records = 100 * float64(r.Records) / maxRec
		}
		if maxDur > 0 {
			b.Duration = 100 * r.Duration / maxDur
		}
		out = append(out, b)
	}
	return out
}

func (s *Server) connectorPage(w http.ResponseWriter, r *http.Request, p principal) error {
	sv, cs, err := s.connectors(r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	v, err := control.ShowConnector(r.Context(), cs, name)
	if err != nil {
		return err
	}
	runs, err := control.History(r.Context(), cs, name, 200, s.cfg.Now())
	if err != nil {
		return err
	}
	d := connectorData{Instance: sv.id, Connector: v, Runs: runs, Chart: chart(runs)}
	return s.render(w, r, http.StatusOK, "connector.html", "Connector "+name, "connectors", p, d)
}

func (s *Server) connectorRunForm(w http.ResponseWriter, r *http.Request, p principal) error {
	q, err := s.runConnector(r, p)
	if err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/instances/%s/tasks/%d", url.PathEscape(q.Instance), q.TaskID), http.StatusSeeOther)
	return nil
}

// instancePipelines are one instance's pipelines on the list page.
type instancePipelines struct {
	Instance  string
	Pipelines []control.Pipeline
}

func (s *Server) pipelinesPage(w http.ResponseWriter, r *http.Request, p principal) error {
	var d []instancePipelines
	for _, sv := range s.instances {
		ps, ok := sv.in.(control.Pipelines)
		if !ok {
			continue
		}
		views, err := control.ListPipelines(r.Context(), ps)
		if err != nil {
			return err
		}
		d = append(d, instancePipelines{Instance: sv.id, Pipelines: views})
	}
	return s.render(w, r, http.StatusOK, "pipelines.html", "Pipelines", "pipelines", p, d)
}

// pipelineData is a pipeline page's: the pipeline, its tables, and the
// chart of its lag over the last hour.
type pipelineData struct {
	Instance string
	Pipeline control.Pipeline
	Tables   []control.PipelineTable
	Lag      lagChart
}

func (s *Server) pipelinePage(w http.ResponseWriter, r *http.Request, p principal) error {
	d, err := s.showPipeline(r)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "pipeline.html", "Pipeline "+d.Name, "pipelines", p,
		pipelineData{Instance: r.PathValue("instance"), Pipeline: d.Pipeline, Tables: d.Tables,
			Lag: chartLag(d.LagSamples, s.cfg.Now(), s.lags.window)})
}

func (s *Server) pipelineForm(w http.ResponseWriter, r *http.Request, p principal) error {
	var tables []string
	for _, t := range strings.Split(r.PostFormValue("tables"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			tables = append(tables, t)
		}
	}
	if _, err := s.changePipeline(r, p, r.PathValue("action"), tables); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/instances/%s/pipelines/%s", url.PathEscape(r.PathValue("instance")), url.PathEscape(r.PathValue("name"))), http.StatusSeeOther)
	return nil
}

func (s *Server) instancesPage(w http.ResponseWriter, r *http.Request, p principal) error {
	var d []instanceView
	for _, sv := range s.instances {
		v, err := s.instanceView(r, sv)
		if err != nil {
			return err
		}
		d = append(d, v)
	}
	return s.render(w, r, http.StatusOK, "instances.html", "Instances", "instances", p, d)
}

// instanceData is an instance page's: the instance, the least-privilege
// policy its grants need (policy --db), and the last check this server
// ran on it.
type instanceData struct {
	Instance    instanceView
	Policy      string
	PolicyError string
	Check       *checkRun
	CanCheck    bool
}

func (s *Server) instancePage(w http.ResponseWriter, r *http.Request, p principal) error {
	sv, err := s.instance(r.PathValue("instance"))
	if err != nil {
		return err
	}
	v, err := s.instanceView(r, sv)
	if err != nil {
		return err
	}
	d := instanceData{Instance: v, CanCheck: s.cfg.Check != nil}
	if run, ok := s.checks.get(sv.id); ok {
		d.Check = &run
	}
	if len(v.Settings.Grants) > 0 {
		needs, err := policy.Needs(v.Settings.Grants)
		if err != nil {
			d.PolicyError = err.Error()
		} else {
			b, _ := json.MarshalIndent(policy.Generate(needs), "", "  ")
			d.Policy = string(b)
		}
	}
	return s.render(w, r, http.StatusOK, "instance.html", "Instance "+sv.id, "instances", p, d)
}
