package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/control"
	"github.com/s3bridge/s3bridge/token"
)

// kind is what a route serves: it decides how its errors are written.
type kind int

const (
	kindAPI     kind = iota // JSON
	kindPage                // HTML
	kindMetrics             // Prometheus exposition
)

// public is the role of a route that needs no token.
const public token.Role = ""

// route is one entry of the route table.
type route struct {
	method, pattern string
	role            token.Role
	kind            kind
	h               func(w http.ResponseWriter, r *http.Request, p principal) error
	// stream is a route whose response lasts (Server-Sent Events): it
	// takes a read slot (Server.acquire) only while it reads.
	stream bool
}

// table is every route the server has: the only place routes are
// registered, so that the authorization test sees each one.
func (s *Server) table() []route {
	api := func(method, pattern string, role token.Role, h func(http.ResponseWriter, *http.Request, principal) error) route {
		return route{method: method, pattern: pattern, role: role, kind: kindAPI, h: h}
	}
	page := func(method, pattern string, role token.Role, h func(http.ResponseWriter, *http.Request, principal) error) route {
		return route{method: method, pattern: pattern, role: role, kind: kindPage, h: h}
	}
	const (
		v, o, a = token.Viewer, token.Operator, token.Admin
		inst    = "/api/instances/{instance}"
		pinst   = "/instances/{instance}"
	)
	metricsRole := v
	if s.cfg.MetricsPublic {
		metricsRole = public
	}
	return []route{
		// Public: liveness, the login form, and the assets the login page
		// needs; none shows an instance's data.
		{method: "GET", pattern: "/healthz", role: public, kind: kindAPI, h: s.healthz},
		page("GET", "/login", public, s.loginPage),
		page("POST", "/login", public, s.login),
		page("GET", "/static/{file}", public, s.static),

		{method: "GET", pattern: "/metrics", role: metricsRole, kind: kindMetrics, h: s.serveMetrics},

		api("GET", "/api/openapi.json", v, s.openAPI),
		api("GET", "/api/instances", v, s.apiInstances),
		api("GET", inst, v, s.apiInstance),
		api("GET", "/api/tasks", v, s.apiTasks),
		api("GET", inst+"/tasks/{id}", v, s.apiTask),
		api("GET", inst+"/tasks/{id}/log", v, s.apiTaskLog),
		{method: "GET", pattern: inst + "/tasks/{id}/events", role: v, kind: kindAPI, h: s.apiTaskEvents, stream: true},
		api("POST", inst+"/tasks/{id}/cancel", o, s.apiCancel),
		api("POST", inst+"/tasks/upload", o, s.apiCreateUpload()),
		api("POST", inst+"/tasks/upload-file", o, s.apiCreateUploadFile()),
		api("POST", inst+"/tasks/download", o, s.apiCreateDownload()),
		api("POST", inst+"/tasks/download-file", o, s.apiCreateDownloadFile()),
		api("POST", inst+"/tasks/load", o, s.apiCreateLoad()),
		api("POST", inst+"/tasks/export", o, s.apiCreateExport()),
		api("GET", inst+"/check", v, s.apiCheck),
		api("POST", inst+"/check", o, s.apiCheckRun),
		api("GET", inst+"/connectors", v, s.apiConnectors),
		api("POST", inst+"/connectors", a, s.apiConnectorCreate),
		api("GET", inst+"/connectors/{name}", v, s.apiConnector),
		api("PUT", inst+"/connectors/{name}", a, s.apiConnectorUpdate),
		api("DELETE", inst+"/connectors/{name}", a, s.apiConnectorDelete),
		api("GET", inst+"/connectors/{name}/history", v, s.apiConnectorHistory),
		api("POST", inst+"/connectors/{name}/run", o, s.apiConnectorRun),
		api("GET", inst+"/pipelines", v, s.apiPipelines),
		api("GET", inst+"/pipelines/{name}", v, s.apiPipeline),
		api("POST", inst+"/pipelines/{name}/pause", a, s.apiPipelinePause),
		api("POST", inst+"/pipelines/{name}/resume", a, s.apiPipelineResume),
		api("POST", inst+"/pipelines/{name}/snapshot", a, s.apiPipelineSnapshot),

		page("GET", "/{$}", v, s.home),
		page("POST", "/logout", v, s.logout),
		page("GET", "/tasks", v, s.tasksPage),
		page("GET", pinst+"/tasks/{id}", v, s.taskPage),
		page("POST", pinst+"/tasks/{id}/cancel", o, s.cancelForm),
		page("GET", "/connectors", v, s.connectorsPage),
		page("GET", pinst+"/connectors/{name}", v, s.connectorPage),
		page("POST", pinst+"/connectors/{name}/run", o, s.connectorRunForm),
		page("GET", "/pipelines", v, s.pipelinesPage),
		page("GET", pinst+"/pipelines/{name}", v, s.pipelinePage),
		page("POST", pinst+"/pipelines/{name}/{action}", a, s.pipelineForm),
		page("GET", "/instances", v, s.instancesPage),
		page("GET", pinst, v, s.instancePage),
		page("POST", pinst+"/check", o, s.checkForm),
	}
}

// guard authenticates and authorizes a request for rt, checks the CSRF
// token of a console form, and writes rt's error, if any.
func (s *Server) guard(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		release, err := s.acquire(r.Context())
		if err != nil {
			return // the client left while waiting
		}
		defer release()
		var p principal
		if rt.role != public {
			var err error
			p, err = s.authenticate(r)
			if err != nil {
				s.writeError(w, r, rt.kind, err)
				return
			}
			if !p.role.Allows(rt.role) {
				s.writeError(w, r, rt.kind, &httpError{status: http.StatusForbidden, code: "forbidden",
					msg: fmt.Sprintf("token %s has the role %s; this needs %s", p.name, p.role, rt.role)})
				return
			}
			if r.Method != http.MethodGet && p.session != nil && !p.session.checkCSRF(r) {
				s.writeError(w, r, rt.kind, &httpError{status: http.StatusForbidden, code: "csrf",
					msg: "the form's CSRF token is missing or wrong: reload the page and try again"})
				return
			}
		}
		if rt.stream {
			release() // the stream takes a slot for each of its reads
		}
		if err := rt.h(w, r, p); err != nil {
			s.writeError(w, r, rt.kind, err)
		}
	})
}

// acquire takes one of the Config.Concurrency read slots, waiting while
// all are taken, and returns its release (safe to call twice): a burst of
// requests (a thousand log followers connecting at once) waits here
// rather than opening as many database connections.
func (s *Server) acquire(ctx context.Context) (func(), error) {
	select {
	case s.busy <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() { once.Do(func() { <-s.busy }) }, nil
}

// httpError is an error with its HTTP status and stable code.
type httpError struct {
	status int
	code   string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func notFoundf(format string, args ...any) error {
	return &httpError{status: http.StatusNotFound, code: s3bridge.CodeNotFound, msg: fmt.Sprintf(format, args...)}
}

func badRequestf(format string, args ...any) error {
	return &httpError{status: http.StatusBadRequest, code: "bad_request", msg: fmt.Sprintf(format, args...)}
}

// errUnauthenticated is a request without a valid token.
var errUnauthenticated = &httpError{status: http.StatusUnauthorized, code: "unauthenticated",
	msg: "a valid token is needed: Authorization: Bearer TOKEN, HTTP Basic auth with the token as password, or the console's login"}

// classify turns an error into what the response says: a status, a
// stable code (an httpError's, else the task error codes of
// s3bridge.ErrorCode) and a message.
func classify(err error) (int, string, string) {
	var he *httpError
	if errors.As(err, &he) {
		return he.status, he.code, he.msg
	}
	// A request its task or connector would refuse: the caller's
	// mistake, in the CLI's words.
	var invalid *control.Invalid
	if errors.As(err, &invalid) {
		return http.StatusBadRequest, "bad_request", err.Error()
	}
	code := s3bridge.ErrorCode(err)
	switch {
	case errors.Is(err, s3bridge.ErrNotFound):
		return http.StatusNotFound, code, err.Error()
	case errors.Is(err, s3bridge.ErrExists):
		return http.StatusConflict, code, err.Error()
	case errors.Is(err, s3bridge.ErrNotCancellable):
		return http.StatusConflict, "not_cancellable", err.Error()
	case errors.Is(err, s3bridge.ErrNotAttached):
		return http.StatusServiceUnavailable, code, err.Error()
	}
	return http.StatusInternalServerError, code, err.Error()
}

// writeError writes err as the route's kind writes errors: JSON
// {code, message} for the API and metrics, an HTML page for the console
// (the login form for a request without a token).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, k kind, err error) {
	status, code, msg := classify(err)
	if status >= 500 {
		s.cfg.Log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "error", msg)
	}
	if status == http.StatusUnauthorized && k != kindPage {
		w.Header().Set("WWW-Authenticate", `Bearer realm="s3bridge", Basic realm="s3bridge"`)
	}
	if k != kindPage {
		writeJSON(w, status, apiError{Code: code, Message: msg})
		return
	}
	if status == http.StatusUnauthorized {
		s.renderLogin(w, r, status, "")
		return
	}
	s.renderError(w, r, status, code, msg)
}

// apiError is the body of every API error.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	k := kindPage
	if strings.HasPrefix(r.URL.Path, "/api/") {
		k = kindAPI
	}
	s.writeError(w, r, k, notFoundf("no such page: %s %s", r.Method, r.URL.Path))
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request, _ principal) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err := w.Write([]byte("ok\n"))
	return err
}
