package console

import (
	"encoding/json"
	"net/http"

	"github.com/s3bridge/s3bridge/connector"
	"github.com/s3bridge/s3bridge/control"
)

// connectorStore returns the request's instance's stored connectors, for
// a change.
func (s *Server) connectorStore(r *http.Request) (served, control.ConnectorStore, error) {
	sv, err := s.instance(r.PathValue("instance"))
	if err != nil {
		return sv, nil, err
	}
	cs, ok := sv.in.(control.ConnectorStore)
	if !ok {
		return sv, nil, notFoundf("instance %s can't store connectors", sv.id)
	}
	return sv, cs, nil
}

// connectorConfig reads a body's config: the connector's YAML as a JSON
// string, or the same document as a JSON object (JSON is YAML).
func connectorConfig(raw json.RawMessage) (connector.Config, error) {
	text := []byte(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return connector.Config{}, badRequestf("config: %v", err)
		}
		text = []byte(s)
	}
	cfg, err := connector.Parse(text)
	if err != nil {
		return cfg, badRequestf("%v", err)
	}
	return cfg, nil
}

// connectorCreateBody is connector create's parameters and its config.
type connectorCreateBody struct {
	control.ConnectorSpec
	Config json.RawMessage `json:"config"`
}

func (s *Server) apiConnectorCreate(w http.ResponseWriter, r *http.Request, p principal) error {
	sv, cs, err := s.connectorStore(r)
	if err != nil {
		return err
	}
	var body connectorCreateBody
	if err := decodeBody(r, &body, false); err != nil {
		return err
	}
	if len(body.Config) == 0 || string(body.Config) == "null" {
		return badRequestf("config is required: the connector's YAML (secrets only as ${env:NAME} or ${file:/path})")
	}
	cfg, err := connectorConfig(body.Config)
	if err != nil {
		return err
	}
	st, err := control.CreateConnector(r.Context(), cs, sv.in, body.ConnectorSpec, cfg, s.cfg.Now())
	if err != nil {
		return err
	}
	s.cfg.Log.Info("connector created", "instance", sv.id, "connector", st.Name, "by", p.name)
	v, err := control.ShowConnector(r.Context(), cs, st.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, v)
}

// connectorUpdateBody is connector update's parameters: each one given
// changes that.
type connectorUpdateBody struct {
	control.ConnectorChange
	Config json.RawMessage `json:"config,omitempty"`
}

func (s *Server) apiConnectorUpdate(w http.ResponseWriter, r *http.Request, p principal) error {
	sv, cs, err := s.connectorStore(r)
	if err != nil {
		return err
	}
	var body connectorUpdateBody
	if err := decodeBody(r, &body, false); err != nil {
		return err
	}
	ch := body.ConnectorChange
	if len(body.Config) > 0 && string(body.Config) != "null" {
		cfg, err := connectorConfig(body.Config)
		if err != nil {
			return err
		}
		ch.Config = &cfg
	}
	name := r.PathValue("name")
	if _, err := control.UpdateConnector(r.Context(), cs, name, ch, s.cfg.Now()); err != nil {
		return err
	}
	s.cfg.Log.Info("connector updated", "instance", sv.id, "connector", name, "by", p.name)
	v, err := control.ShowConnector(r.Context(), cs, name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (s *Server) apiConnectorDelete(w http.ResponseWriter, r *http.Request, p principal) error {
	sv, cs, err := s.connectorStore(r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := cs.DeleteConnector(r.Context(), name); err != nil {
		return err
	}
	s.cfg.Log.Info("connector deleted", "instance", sv.id, "connector", name, "by", p.name)
	return writeJSON(w, http.StatusOK, map[string]string{"deleted": name})
}
