package console

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/s3bridge/s3bridge/control"
)

// connectors returns the request's instance's stored connectors.
func (s *Server) connectors(r *http.Request) (served, control.Connectors, error) {
	sv, err := s.instance(r.PathValue("instance"))
	if err != nil {
		return sv, nil, err
	}
	cs, ok := sv.in.(control.Connectors)
	if !ok {
		return sv, nil, notFoundf("instance %s can't store connectors", sv.id)
	}
	return sv, cs, nil
}

func (s *Server) apiConnectors(w http.ResponseWriter, r *http.Request, _ principal) error {
	_, cs, err := s.connectors(r)
	if err != nil {
		return err
	}
	views, err := control.ListConnectors(r.Context(), cs)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, views)
}

func (s *Server) apiConnector(w http.ResponseWriter, r *http.Request, _ principal) error {
	_, cs, err := s.connectors(r)
	if err != nil {
		return err
	}
	v, err := control.ShowConnector(r.Context(), cs, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiConnectorHistory(w http.ResponseWriter, r *http.Request, _ principal) error {
	_, cs, err := s.connectors(r)
	if err != nil {
		return err
	}
	runs, err := control.History(r.Context(), cs, r.PathValue("name"), 0, s.cfg.Now())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, runs)
}

// queued is what starting a task answers: where to follow it.
type queued struct {
	Instance string `json:"instance"`
	TaskID   int64  `json:"task_id"`
}

func (s *Server) runConnector(r *http.Request, p principal) (queued, error) {
	sv, cs, err := s.connectors(r)
	if err != nil {
		return queued{}, err
	}
	name := r.PathValue("name")
	id, err := control.EnqueueRun(r.Context(), cs, name)
	if err != nil {
		return queued{}, err
	}
	s.cfg.Log.Info("connector run queued", "instance", sv.id, "connector", name, "task", id, "by", p.name)
	return queued{Instance: sv.id, TaskID: id}, nil
}

func (s *Server) apiConnectorRun(w http.ResponseWriter, r *http.Request, p principal) error {
	q, err := s.runConnector(r, p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, q)
}

// pipelines returns the request's instance's stored pipelines.
func (s *Server) pipelines(r *http.Request) (served, control.Pipelines, error) {
	sv, err := s.instance(r.PathValue("instance"))
	if err != nil {
		return sv, nil, err
	}
	ps, ok := sv.in.(control.Pipelines)
	if !ok {
		return sv, nil, notFoundf("instance %s can't store pipelines", sv.id)
	}
	return sv, ps, nil
}

func (s *Server) apiPipelines(w http.ResponseWriter, r *http.Request, _ principal) error {
	_, ps, err := s.pipelines(r)
	if err != nil {
		return err
	}
	views, err := control.ListPipelines(r.Context(), ps)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, views)
}

// slotTimeout bounds how long a pipeline's page waits for its source to
// tell the slot's figures.
const slotTimeout = 3 * time.Second

// pipelineDetail is pipeline show with what the console adds: the
// tables as the pipeline's checkpoint records them (schema versions,
// last change file, snapshot chunks), and this server's samples of its
// lag over the last hour (lags).
type pipelineDetail struct {
	control.Pipeline
	Tables     []control.PipelineTable `json:"tables"`
	LagSamples []lagSample             `json:"lag_samples"`
}

// showPipeline is pipeline show: the stored pipeline with its slot's
// figures when the source answers in time.
func (s *Server) showPipeline(r *http.Request) (pipelineDetail, error) {
	sv, ps, err := s.pipelines(r)
	if err != nil {
		return pipelineDetail{}, err
	}
	p, err := ps.Pipeline(r.Context(), r.PathValue("name"))
	if err != nil {
		return pipelineDetail{}, err
	}
	d := pipelineDetail{Pipeline: control.ViewPipeline(p)}
	now := s.cfg.Now()
	s.lags.record(sv.id, d.Pipeline, now)
	d.LagSamples = s.lags.samples(sv.id, p.Name, now)
	if d.Tables, err = control.PipelineTables(p); err != nil {
		s.cfg.Log.Warn("the pipeline's checkpoint could not be read", "pipeline", p.Name, "error", err)
	}
	if err := control.ReadSlot(r.Context(), &d.Pipeline, slotTimeout); err != nil {
		s.cfg.Log.Warn("the source's slot could not be read", "pipeline", p.Name, "error", err)
	}
	return d, nil
}

func (s *Server) apiPipeline(w http.ResponseWriter, r *http.Request, _ principal) error {
	d, err := s.showPipeline(r)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// changePipeline pauses, resumes or asks a snapshot of the request's
// pipeline, as pipeline pause, resume and snapshot do, and returns it.
func (s *Server) changePipeline(r *http.Request, p principal, action string, tables []string) (control.Pipeline, error) {
	sv, ps, err := s.pipelines(r)
	if err != nil {
		return control.Pipeline{}, err
	}
	name, ctx := r.PathValue("name"), r.Context()
	switch action {
	case "pause":
		err = ps.PausePipeline(ctx, name, "paused by "+p.name+" (console)")
	case "resume":
		err = ps.ResumePipeline(ctx, name)
	case "snapshot":
		_, err = control.RequestSnapshot(ctx, ps, name, tables)
	default:
		return control.Pipeline{}, notFoundf("no pipeline action %q (pause, resume, snapshot)", action)
	}
	if err != nil {
		return control.Pipeline{}, err
	}
	s.cfg.Log.Info("pipeline changed", "instance", sv.id, "pipeline", name, "action", action, "by", p.name)
	st, err := ps.Pipeline(ctx, name)
	if err != nil {
		return control.Pipeline{}, err
	}
	return control.ViewPipeline(st), nil
}

func (s *Server) apiPipelinePause(w http.ResponseWriter, r *http.Request, p principal) error {
	v, err := s.changePipeline(r, p, "pause", nil)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiPipelineResume(w http.ResponseWriter, r *http.Request, p principal) error {
	v, err := s.changePipeline(r, p, "resume", nil)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// snapshotBody is the optional body of a snapshot request.
type snapshotBody struct {
	// Tables are schema.table names; none for every captured table.
	Tables []string `json:"tables"`
}

func (s *Server) apiPipelineSnapshot(w http.ResponseWriter, r *http.Request, p principal) error {
	var body snapshotBody
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		return badRequestf("snapshot body: %v (want {\"tables\": [\"schema.table\", …]} or nothing)", err)
	}
	v, err := s.changePipeline(r, p, "snapshot", body.Tables)
	if err != nil {
		var invalid *control.Invalid
		switch {
		case errors.Is(err, control.ErrInitialOnly):
			return &httpError{status: http.StatusConflict, code: "initial_only", msg: err.Error()}
		case errors.As(err, &invalid):
			return badRequestf("%v", err)
		}
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}
