package console

import (
	"io"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/token"
)

// TestPagesRender: every console page renders for a viewer, as HTML
// readable without JavaScript (the data is in the page), with the
// navigation, and without the buttons a viewer may not use.
func TestPagesRender(t *testing.T) {
	f := newFixture(t, Config{})
	stock(t, f)
	want := map[string][]string{
		"/tasks":                           {"UPLOAD_TO_S3", "CANCELLED", `href="/instances/app/tasks/1"`},
		"/instances/{instance}/tasks/{id}": {"UPLOAD_TO_S3", "CANCELLED", `id="log"`},
		"/connectors":                      {`href="/instances/app/connectors/c1"`},
		"/instances/{instance}/connectors/{name}": {"No run yet", "secret_access_key"},
		"/pipelines":                             {`href="/instances/app/pipelines/p1"`, "s3://b/"},
		"/instances/{instance}/pipelines/{name}": {"CREATED", "public.t"},
		"/instances":                             {`href="/instances/app"`},
		"/instances/{instance}":                  {"DATA_PUMP_DIR", "Least-privilege policy"},
	}
	rendered := 0
	for _, rt := range f.srv.Routes() {
		if rt.API || rt.Method != "GET" || rt.Role == public || rt.Pattern == "/metrics" || rt.Pattern == "/{$}" {
			continue
		}
		rendered++
		pattern := rt.Pattern
		if pattern == "/instances/{instance}/pipelines/{name}" {
			pattern = strings.Replace(pattern, "{name}", "p1", 1)
		}
		res := f.do("GET", concrete(f, pattern), f.tokens[token.Viewer], nil)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		page := string(body)
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %s\n%s", rt.Pattern, res.StatusCode, res.Header.Get("Content-Type"), page)
			continue
		}
		for _, w := range append(want[rt.Pattern], `<nav>`, "viewer-token (viewer)") {
			if !strings.Contains(page, w) {
				t.Errorf("%s lacks %q", rt.Pattern, w)
			}
		}
		for _, button := range []string{">Cancel<", ">Run now<", ">Pause<"} {
			if strings.Contains(page, button) {
				t.Errorf("%s shows a viewer the %s button", rt.Pattern, button)
			}
		}
	}
	if rendered != len(want) {
		t.Errorf("rendered %d pages, want %d: a new page needs its line here", rendered, len(want))
	}
}
