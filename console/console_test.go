package console

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/sqlite"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
	"github.com/s3bridge/s3bridge/token"
)

// fixture is a server over SQLite instances, with a token of each role.
type fixture struct {
	t      *testing.T
	srv    *Server
	ts     *httptest.Server
	ins    []*sqlite.Instance
	tokens map[token.Role]string
}

// connectorYAML is a stored connector's config: secrets only as
// references, as connector create stores them.
const connectorYAML = `in:
  type: s3
  bucket: bkt
  path_prefix: in/
  endpoint: http://127.0.0.1:1
  region: us-east-1
  access_key_id: ${env:AWS_ACCESS_KEY_ID}
  secret_access_key: ${env:AWS_SECRET_ACCESS_KEY}
  parser:
    type: csv
    skip_header_lines: 1
    columns:
    - {name: id, type: long}
out: {mode: append}
`

func openSQLite(t *testing.T, name string) *sqlite.Instance {
	t.Helper()
	dir := t.TempDir()
	in, err := sqlite.Open(t.Context(), "sqlite://"+filepath.Join(dir, name+".db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	if err := in.Attach(t.Context(), s3bridge.Settings{Area: dir}); err != nil {
		t.Fatal(err)
	}
	return in
}

func newFixture(t *testing.T, cfg Config, names ...string) *fixture {
	t.Helper()
	return newWrappedFixture(t, cfg, nil, names...)
}

// newWrappedFixture is newFixture serving wrap(instance) instead of each
// instance, when wrap is not nil.
func newWrappedFixture(t *testing.T, cfg Config, wrap func(*sqlite.Instance) instance.Instance, names ...string) *fixture {
	t.Helper()
	if len(names) == 0 {
		names = []string{"app"}
	}
	f := &fixture{t: t, tokens: map[token.Role]string{}}
	for _, n := range names {
		in := openSQLite(t, n)
		f.ins = append(f.ins, in)
		var served instance.Instance = in
		if wrap != nil {
			served = wrap(in)
		}
		cfg.Instances = append(cfg.Instances, served)
	}
	for _, r := range []token.Role{token.Viewer, token.Operator, token.Admin} {
		f.tokens[r] = f.addToken(string(r)+"-token", r, nil)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	f.ts = httptest.NewServer(srv)
	t.Cleanup(f.ts.Close)
	return f
}

func (f *fixture) addToken(name string, r token.Role, expires *time.Time) string {
	f.t.Helper()
	secret, err := token.New()
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.ins[0].CreateToken(f.t.Context(), sqlstore.Token{Name: name, Role: string(r), Hash: token.Hash(secret), ExpiresAt: expires}); err != nil {
		f.t.Fatal(err)
	}
	return secret
}

// do sends a request with the secret as a Bearer token ("" for none).
func (f *fixture) do(method, path, secret string, body io.Reader) *http.Response {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.t.Context(), method, f.ts.URL+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	res, err := f.ts.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

// getJSON GETs path with the admin token and decodes the body into v.
func (f *fixture) getJSON(path string, v any) int {
	f.t.Helper()
	res := f.do("GET", path, f.tokens[token.Admin], nil)
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		f.t.Fatalf("GET %s: %d, body is not JSON: %v", path, res.StatusCode, err)
	}
	return res.StatusCode
}

func enqueue(t *testing.T, in instance.Instance, typ s3bridge.TaskType) int64 {
	t.Helper()
	id, err := in.Enqueue(t.Context(), s3bridge.Task{Type: typ, S3ObjectARN: "arn:aws:s3:::b/k", FilePath: "f.csv", Metadata: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// finish runs task id to lc with res, as an agent would.
func finish(t *testing.T, in instance.Instance, id int64, lc s3bridge.Lifecycle, res s3bridge.Result) {
	t.Helper()
	task, err := in.ClaimTask(t.Context(), id, "test-agent", time.Minute)
	if err != nil || task == nil {
		t.Fatalf("claim task %d: %v, %v", id, task, err)
	}
	if err := in.Finish(t.Context(), task.Claim(), lc, res); err != nil {
		t.Fatal(err)
	}
}

// sse reads Server-Sent Events from r: event name and data.
type event struct{ name, id, data string }

func readEvents(r io.Reader, out chan<- event) {
	defer close(out)
	sc := bufio.NewScanner(r)
	var ev event
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.name != "" {
				out <- ev
			}
			ev = event{}
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "id: "):
			ev.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		}
	}
}

func values(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return q.Encode()
}
