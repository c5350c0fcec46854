package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/s3bridge/s3bridge/control"
)

// checks keeps the last check this server ran on each instance: check
// probes S3 (a probe object is written and deleted), so reading a result
// doesn't run one; an operator does (POST).
type checks struct {
	mu   sync.Mutex
	last map[string]checkRun
}

// checkRun is one run of check: when, by which token, and its report or
// why it could not run.
type checkRun struct {
	Instance  string               `json:"instance"`
	CheckedAt time.Time            `json:"checked_at"`
	CheckedBy string               `json:"checked_by"`
	Report    *control.CheckReport `json:"report,omitempty"`
	Error     *apiError            `json:"error,omitempty"`
}

func newChecks() *checks { return &checks{last: map[string]checkRun{}} }

func (c *checks) get(inst string) (checkRun, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.last[inst]
	return r, ok
}

func (c *checks) put(r checkRun) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last[r.Instance] = r
}

// checkBody is a check request's optional body.
type checkBody struct {
	// Bucket checks only this bucket, granted or not.
	Bucket string `json:"bucket"`
}

// runCheck runs check on the request's instance, keeps the run, and
// returns it; an error that stopped the check is kept in the run too.
func (s *Server) runCheck(r *http.Request, p principal, bucket string) (checkRun, error) {
	sv, err := s.instance(r.PathValue("instance"))
	if err != nil {
		return checkRun{}, err
	}
	if s.cfg.Check == nil {
		return checkRun{}, &httpError{status: http.StatusNotImplemented, code: "not_implemented",
			msg: "this server was not given S3 access to check with"}
	}
	run := checkRun{Instance: sv.id, CheckedAt: s.cfg.Now().UTC(), CheckedBy: p.name}
	rep, err := s.cfg.Check(r.Context(), sv.in, bucket)
	if err != nil {
		var invalid *control.Invalid
		if errors.As(err, &invalid) {
			err = badRequestf("%v", err)
		}
		_, code, msg := classify(err)
		run.Error = &apiError{Code: code, Message: msg}
	} else {
		run.Report = &rep
	}
	s.checks.put(run)
	s.cfg.Log.Info("instance checked", "instance", sv.id, "by", p.name, "ok", err == nil && rep.OK)
	return run, err
}

func (s *Server) apiCheckRun(w http.ResponseWriter, r *http.Request, p principal) error {
	var body checkBody
	if err := decodeBody(r, &body, true); err != nil {
		return err
	}
	run, err := s.runCheck(r, p, body.Bucket)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, run)
}

func (s *Server) apiCheck(w http.ResponseWriter, r *http.Request, _ principal) error {
	sv, err := s.instance(r.PathValue("instance"))
	if err != nil {
		return err
	}
	run, ok := s.checks.get(sv.id)
	if !ok {
		return notFoundf("no check has run on instance %s since this server started: POST /api/instances/%s/check runs one",
			sv.id, url.PathEscape(sv.id))
	}
	return writeJSON(w, http.StatusOK, run)
}

// checkForm runs check from the instance page, which then shows it.
func (s *Server) checkForm(w http.ResponseWriter, r *http.Request, p principal) error {
	if _, err := s.runCheck(r, p, r.PostFormValue("bucket")); err != nil {
		var he *httpError
		if errors.As(err, &he) && he.code == "not_implemented" {
			return err
		}
		// Kept in the run: the instance page shows it.
	}
	http.Redirect(w, r, fmt.Sprintf("/instances/%s#check", url.PathEscape(r.PathValue("instance"))), http.StatusSeeOther)
	return nil
}

// decodeBody reads a JSON body into v, refusing unknown fields; an empty
// body is v's zero value when optional.
func decodeBody(r *http.Request, v any, optional bool) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) && optional {
			return nil
		}
		if errors.Is(err, io.EOF) {
			return badRequestf("the request has no body: a JSON object is needed")
		}
		return badRequestf("the request's body: %v", err)
	}
	return nil
}
