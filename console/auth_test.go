package console

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
	"github.com/s3bridge/s3bridge/token"
)

// stock fills the instance with one of everything a route names: task 1
// (cancelled, so that its event stream ends), connector c1, pipeline p1.
func stock(t *testing.T, f *fixture) {
	t.Helper()
	in := f.ins[0]
	id := enqueue(t, in, s3bridge.TaskUpload)
	if _, err := in.Cancel(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if err := in.CreateConnector(t.Context(), sqlstore.Connector{Name: "c1", Timezone: "UTC", Table: "t", Config: connectorYAML, Metadata: "{}"}); err != nil {
		t.Fatal(err)
	}
	// The source refuses connections at once: the page shows no slot
	// figures.
	if err := in.CreatePipeline(t.Context(), sqlstore.Pipeline{Name: "p1", Source: "postgres://u@127.0.0.1:1/db",
		Config: `{"tables":["public.t"],"bucket":"b","format":"avro"}`}); err != nil {
		t.Fatal(err)
	}
}

// concrete fills a route pattern's wildcards with what stock made.
func concrete(f *fixture, pattern string) string {
	return strings.NewReplacer("{instance}", f.srv.instances[0].id, "{id}", "1", "{name}", "c1", "{file}", "app.css",
		"{action}", "pause", "{$}", "").Replace(pattern)
}

// publicRoutes are the only routes that need no token: none shows an
// instance's data.
var publicRoutes = []string{"GET /healthz", "GET /login", "POST /login", "GET /static/{file}"}

// TestEveryRouteAuthorized (issue 12): for every route of the table, no
// token and a wrong, expired or revoked one get 401, a token whose role is
// too low 403, and the role the route needs neither. A route added
// without a role fails here.
func TestEveryRouteAuthorized(t *testing.T) {
	f := newFixture(t, Config{})
	stock(t, f)
	past := time.Now().Add(-time.Hour)
	expired := f.addToken("expired", token.Admin, &past)
	revoked := f.addToken("revoked", token.Admin, nil)
	if err := f.ins[0].RevokeToken(t.Context(), "revoked"); err != nil {
		t.Fatal(err)
	}
	wrong, _ := token.New()
	roles := []token.Role{token.Viewer, token.Operator, token.Admin}
	seen := 0
	for _, rt := range f.srv.Routes() {
		name := rt.Method + " " + rt.Pattern
		if rt.Role == public {
			if !slices.Contains(publicRoutes, name) {
				t.Errorf("%s needs no token, and is not one of the public routes %v", name, publicRoutes)
			}
			continue
		}
		seen++
		path := concrete(f, rt.Pattern)
		t.Run(name, func(t *testing.T) {
			status := func(secret string) int {
				res := f.do(rt.Method, path, secret, nil)
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				return res.StatusCode
			}
			for what, secret := range map[string]string{"no token": "", "wrong token": wrong, "expired token": expired, "revoked token": revoked} {
				if got := status(secret); got != http.StatusUnauthorized {
					t.Errorf("%s: %d, want 401", what, got)
				}
			}
			for _, r := range roles {
				got := status(f.tokens[r])
				switch {
				case !r.Allows(rt.Role) && got != http.StatusForbidden:
					t.Errorf("role %s (needs %s): %d, want 403", r, rt.Role, got)
				case r.Allows(rt.Role) && (got == http.StatusUnauthorized || got == http.StatusForbidden):
					t.Errorf("role %s (needs %s): %d", r, rt.Role, got)
				}
			}
		})
	}
	if seen < 20 {
		t.Fatalf("only %d routes need a token", seen)
	}
	// Basic auth: any user, the token as password.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", f.ts.URL+"/api/instances", nil)
	req.SetBasicAuth("anyone", f.tokens[token.Viewer])
	res, err := f.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("Basic auth with a viewer token: %d", res.StatusCode)
	}
}

// TestErrorsAreJSON: API errors are {code, message}, with a challenge on
// 401.
func TestErrorsAreJSON(t *testing.T) {
	f := newFixture(t, Config{})
	tests := []struct {
		method, path string
		secret       string
		status       int
		code         string
		msg          string
	}{
		{"GET", "/api/instances", "", 401, "unauthenticated", "a valid token is needed"},
		{"POST", "/api/instances/app/tasks/1/cancel", f.tokens[token.Viewer], 403, "forbidden", "token viewer-token has the role viewer; this needs operator"},
		{"GET", "/api/instances/app/tasks/42", f.tokens[token.Viewer], 404, "not_found", "task 42"},
		{"GET", "/api/instances/nope", f.tokens[token.Viewer], 404, "not_found", `instance "nope" is not served here`},
		{"GET", "/api/instances/app/tasks/x", f.tokens[token.Viewer], 400, "bad_request", `task id "x": want a number`},
		{"GET", "/api/tasks?limit=0", f.tokens[token.Viewer], 400, "bad_request", "limit"},
		{"GET", "/api/nothing", f.tokens[token.Viewer], 404, "not_found", "no such page"},
	}
	for _, tt := range tests {
		res := f.do(tt.method, tt.path, tt.secret, nil)
		var e apiError
		err := json.NewDecoder(res.Body).Decode(&e)
		res.Body.Close()
		if err != nil || res.StatusCode != tt.status || e.Code != tt.code || !strings.Contains(e.Message, tt.msg) {
			t.Errorf("%s %s: %d %+v (%v), want %d %s %q", tt.method, tt.path, res.StatusCode, e, err, tt.status, tt.code, tt.msg)
		}
		if tt.status == 401 && !strings.Contains(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate %q", tt.path, res.Header.Get("WWW-Authenticate"))
		}
	}
}

// TestConsoleSession: the login form makes a session cookie (HttpOnly,
// SameSite=Strict, Secure under TLS); its forms need the CSRF token; a
// cross-site POST is refused; revoking the token ends the session.
func TestConsoleSession(t *testing.T) {
	for _, secure := range []bool{false, true} {
		f := newFixture(t, Config{Secure: secure})
		id := enqueue(t, f.ins[0], s3bridge.TaskUpload)
		client := f.ts.Client()
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		post := func(path string, form url.Values, header ...string) *http.Response {
			t.Helper()
			req, _ := http.NewRequestWithContext(t.Context(), "POST", f.ts.URL+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res
		}
		if res := post("/login", url.Values{"token": {"s3b_wrong"}}); res.StatusCode != 401 || len(res.Cookies()) != 0 {
			t.Fatalf("login with a wrong token: %d, cookies %v", res.StatusCode, res.Cookies())
		}
		if res := post("/login", url.Values{"token": {f.tokens[token.Operator]}}, "Sec-Fetch-Site", "cross-site"); res.StatusCode != 403 {
			t.Errorf("cross-site login: %d, want 403", res.StatusCode)
		}
		res := post("/login", url.Values{"token": {f.tokens[token.Operator]}, "next": {"//evil.example/"}})
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/tasks" {
			t.Fatalf("login: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		var c *http.Cookie
		for _, k := range res.Cookies() {
			if k.Name == sessionCookie {
				c = k
			}
		}
		if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != secure || strings.Contains(c.Value, f.tokens[token.Operator]) {
			t.Fatalf("session cookie %+v (secure %v)", c, secure)
		}
		get := func(path string) (int, string) {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", f.ts.URL+path, nil)
			req.AddCookie(c)
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(b)
		}
		status, page := get("/instances/app/tasks/1")
		if status != 200 || !strings.Contains(page, `name="csrf_token"`) {
			t.Fatalf("task page: %d", status)
		}
		csrf := page[strings.Index(page, `name="csrf_token" value="`)+len(`name="csrf_token" value="`):]
		csrf = csrf[:strings.Index(csrf, `"`)]
		cancel := "/instances/app/tasks/" + itoa(id) + "/cancel"
		withCookie := func(form url.Values) *http.Response {
			req, _ := http.NewRequestWithContext(t.Context(), "POST", f.ts.URL+cancel, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(c)
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res
		}
		if res := withCookie(url.Values{}); res.StatusCode != 403 {
			t.Errorf("cancel form without a CSRF token: %d, want 403", res.StatusCode)
		}
		if res := withCookie(url.Values{"csrf_token": {"x" + csrf}}); res.StatusCode != 403 {
			t.Errorf("cancel form with a wrong CSRF token: %d, want 403", res.StatusCode)
		}
		if task, _ := f.ins[0].Task(t.Context(), id); task.Lifecycle != s3bridge.Created {
			t.Fatalf("a refused form changed the task: %s", task.Lifecycle)
		}
		if res := withCookie(url.Values{"csrf_token": {csrf}}); res.StatusCode != http.StatusSeeOther {
			t.Errorf("cancel form: %d, want 303", res.StatusCode)
		}
		if task, _ := f.ins[0].Task(t.Context(), id); task.Lifecycle != s3bridge.Cancelled {
			t.Errorf("after the cancel form: %s", task.Lifecycle)
		}
		if err := f.ins[0].RevokeToken(t.Context(), "operator-token"); err != nil {
			t.Fatal(err)
		}
		if status, page := get("/tasks"); status != 401 || !strings.Contains(page, `action="/login"`) {
			t.Errorf("the session of a revoked token: %d", status)
		}
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestMetricsPublic: /metrics needs a token unless MetricsPublic.
func TestMetricsPublic(t *testing.T) {
	for _, public := range []bool{false, true} {
		f := newFixture(t, Config{MetricsPublic: public})
		res := f.do("GET", "/metrics", "", nil)
		res.Body.Close()
		if want := map[bool]int{false: 401, true: 200}[public]; res.StatusCode != want {
			t.Errorf("metrics public %v without a token: %d, want %d", public, res.StatusCode, want)
		}
	}
}
