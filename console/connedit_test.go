package console

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/control"
	"github.com/s3bridge/s3bridge/token"
)

// TestConnectorEdit: an admin creates a connector from a config body
// (YAML text, or the same document as a JSON object), with the table made
// when asked; updates its schedule and config; deletes it. The answers
// show the config with its secrets masked; a literal secret, a bad
// schedule and a taken name are refused as connector create refuses them.
func TestConnectorEdit(t *testing.T) {
	f := newFixture(t, Config{})
	admin := f.tokens[token.Admin]
	body := map[string]any{"name": "events", "cron": "@hourly", "timezone": "Asia/Tokyo", "delay_seconds": 30,
		"table": "events", "auto_create_table": true, "config": connectorYAML}
	var c control.Connector
	if status := f.post("POST", "/api/instances/app/connectors", admin, body, &c); status != http.StatusCreated {
		t.Fatalf("create: %d %+v", status, c)
	}
	if c.Name != "events" || c.Cron != "@hourly" || c.Timezone != "Asia/Tokyo" || c.Delay != 30 || c.Table != "events" ||
		c.NextRun == nil || !c.NextRun.After(time.Now()) || !strings.Contains(c.Config, "bucket: bkt") || c.State == nil {
		t.Errorf("created: %+v", c)
	}
	if strings.Contains(c.Config, "AWS_SECRET_ACCESS_KEY") && !strings.Contains(c.Config, "${env:AWS_SECRET_ACCESS_KEY}") {
		t.Errorf("the config shows a secret: %s", c.Config)
	}
	var n int
	if err := f.ins[0].DB().QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'events'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("auto_create_table: table events exists %d time(s), %v", n, err)
	}
	refused := []struct {
		body   map[string]any
		status int
		code   string
		msg    string
	}{
		{body, http.StatusConflict, "exists", "events"},
		{map[string]any{"name": "lit", "table": "t", "config": strings.Replace(connectorYAML, "${env:AWS_SECRET_ACCESS_KEY}", "plain-secret", 1)},
			http.StatusBadRequest, "bad_request", "secret_access_key"},
		{map[string]any{"name": "cron", "cron": "every tuesday", "table": "t", "config": connectorYAML}, http.StatusBadRequest, "bad_request", "every tuesday"},
		{map[string]any{"name": "notable", "config": connectorYAML}, http.StatusBadRequest, "bad_request", "table"},
		{map[string]any{"name": "noconfig", "table": "t"}, http.StatusBadRequest, "bad_request", "config is required"},
		{map[string]any{"name": "badyaml", "table": "t", "config": "in: [unclosed"}, http.StatusBadRequest, "bad_request", "config"},
	}
	for _, r := range refused {
		var e apiError
		if status := f.post("POST", "/api/instances/app/connectors", admin, r.body, &e); status != r.status || e.Code != r.code || !strings.Contains(e.Message, r.msg) {
			t.Errorf("create %v: %d %+v, want %d %s saying %q", r.body["name"], status, e, r.status, r.code, r.msg)
		}
	}
	// Update: the schedule, then the config as a JSON object.
	var u control.Connector
	if status := f.post("PUT", "/api/instances/app/connectors/events", admin, map[string]any{"cron": "0 3 * * *", "delay_seconds": 0}, &u); status != http.StatusOK ||
		u.Cron != "0 3 * * *" || u.Delay != 0 || u.Timezone != "Asia/Tokyo" || u.NextRun == nil || u.NextRun.Equal(*c.NextRun) {
		t.Errorf("update the schedule: %d %+v", status, u)
	}
	cfg := map[string]any{
		"in": map[string]any{"type": "s3", "bucket": "other", "path_prefix": "in/", "endpoint": "http://127.0.0.1:1", "region": "us-east-1",
			"access_key_id": "${env:AWS_ACCESS_KEY_ID}", "secret_access_key": "${env:AWS_SECRET_ACCESS_KEY}",
			"parser": map[string]any{"type": "csv", "columns": []any{map[string]any{"name": "id", "type": "long"}}}},
		"out": map[string]any{"mode": "append"},
	}
	if status := f.post("PUT", "/api/instances/app/connectors/events", admin, map[string]any{"config": cfg, "reset_state": true}, &u); status != http.StatusOK ||
		!strings.Contains(u.Config, "bucket: other") || u.Cron != "0 3 * * *" {
		t.Errorf("update the config: %d %+v", status, u)
	}
	var e apiError
	if status := f.post("PUT", "/api/instances/app/connectors/nope", admin, map[string]any{"cron": "@daily"}, &e); status != http.StatusNotFound {
		t.Errorf("update a connector that doesn't exist: %d %+v", status, e)
	}
	// Delete.
	var del map[string]string
	if status := f.post("DELETE", "/api/instances/app/connectors/events", admin, "", &del); status != http.StatusOK || del["deleted"] != "events" {
		t.Errorf("delete: %d %v", status, del)
	}
	if status := f.getJSON("/api/instances/app/connectors/events", &e); status != http.StatusNotFound {
		t.Errorf("a deleted connector: %d %+v", status, e)
	}
	if status := f.post("DELETE", "/api/instances/app/connectors/events", admin, "", &e); status != http.StatusNotFound {
		t.Errorf("delete twice: %d %+v", status, e)
	}
	// An operator may run connectors, not change them.
	if status := f.post("POST", "/api/instances/app/connectors", f.tokens[token.Operator], body, &e); status != http.StatusForbidden {
		t.Errorf("create as an operator: %d", status)
	}
}
