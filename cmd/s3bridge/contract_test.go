package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/instance/sqlite"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

// cliWorld is a SQLite instance file, a MinIO bucket and the environment
// the commands read, for tests that run the CLI in-process as a script
// would: its stdout, stderr and exit status.
type cliWorld struct {
	t            *testing.T
	dir, db      string
	area, outDir string
	bucket       string
	m            testenv.MinIO
	vars         map[string]string
}

func newCLIWorld(t *testing.T) *cliWorld {
	t.Helper()
	m := testenv.S3(t)
	dir := t.TempDir()
	w := &cliWorld{t: t, dir: dir, db: "sqlite://" + filepath.Join(dir, "app.db"), area: filepath.Join(dir, "area"),
		outDir: filepath.Join(dir, "out"), bucket: m.Bucket(t), m: m,
		vars: map[string]string{"AWS_ACCESS_KEY_ID": m.AccessKey, "AWS_SECRET_ACCESS_KEY": m.SecretKey, "AWS_REGION": m.Region}}
	return w
}

// run runs the command line and returns stdout, stderr and the error main
// would get.
func (w *cliWorld) run(args ...string) (string, string, error) {
	w.t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdout: &out, stderr: &errOut, getenv: func(k string) string { return w.vars[k] }}
	err := run(w.t.Context(), e, args)
	return out.String(), errOut.String(), err
}

func (w *cliWorld) must(args ...string) string {
	w.t.Helper()
	out, errOut, err := w.run(args...)
	if err != nil {
		w.t.Fatalf("%v: %v\n%s", args, errorText(err), errOut)
	}
	return out
}

func (w *cliWorld) write(rel, body string) {
	w.t.Helper()
	p := filepath.Join(w.area, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o640); err != nil {
		w.t.Fatal(err)
	}
}

// oneJSON decodes out as exactly one JSON document and nothing else.
func oneJSON(t *testing.T, what, out string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: stdout is not JSON: %v\n%s", what, err, out)
	}
	if err := dec.Decode(new(any)); !errors.Is(err, io.EOF) {
		t.Fatalf("%s: stdout holds more than one JSON document (%v):\n%s", what, err, out)
	}
	return v
}

// taskKeys are the members of a task in --json: its id, lifecycle, info
// and figures.
var taskKeys = []string{"task_id", "task_type", "lifecycle", "task_info", "percent_complete", "duration_mins",
	"rows_processed", "files_processed", "bytes_processed", "created_at", "last_updated"}

func hasKeys(t *testing.T, what string, v any, keys ...string) {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: %T, want a JSON object", what, v)
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: no %q in %v", what, k, m)
		}
	}
}

// TestJSONEveryCommand (issue 19 item 1): every command that takes --json
// prints one JSON document on stdout and nothing else; the shapes are
// README's (Scripting).
func TestJSONEveryCommand(t *testing.T) {
	w := newCLIWorld(t)
	b := w.bucket
	pol := filepath.Join(w.dir, "policy.json")
	w.write("a.csv", "id,name,amount\n1,apple,1.5\n2,pear,2\n")
	if err := os.MkdirAll(w.outDir, 0o750); err != nil {
		t.Fatal(err)
	}
	task := func(lifecycle string) func(t *testing.T, v any) {
		return func(t *testing.T, v any) {
			hasKeys(t, "task", v, taskKeys...)
			if got := v.(map[string]any)["lifecycle"]; got != lifecycle {
				t.Errorf("lifecycle %v, want %s: %v", got, lifecycle, v)
			}
		}
	}
	list := func(keys ...string) func(t *testing.T, v any) {
		return func(t *testing.T, v any) {
			l, ok := v.([]any)
			if !ok || len(l) == 0 {
				t.Fatalf("%T %v, want a non-empty JSON array", v, v)
			}
			hasKeys(t, "element", l[0], keys...)
		}
	}
	object := func(keys ...string) func(t *testing.T, v any) {
		return func(t *testing.T, v any) { hasKeys(t, "document", v, keys...) }
	}
	steps := []struct {
		cmd   string
		args  []string
		check func(t *testing.T, v any)
		fails bool // exits non-zero, still with its document
	}{
		{"attach", []string{"--area", w.area, "--create-area", "--dir", "OUT=" + w.outDir, "--endpoint", w.m.Endpoint, "--auth", "basic", "--allow-ext", "*"},
			object("instance", "settings"), false},
		{"upload-file", []string{"a.csv", "s3://" + b + "/in/a.csv"}, task("SUCCESS"), false},
		{"upload-file", []string{"--async", "a.csv", "s3://" + b + "/in/queued.csv"}, task("CREATED"), false},
		{"cancel", []string{"{last}"}, object("task_id", "lifecycle"), false},
		{"upload", []string{"--bucket", b, "--s3-prefix", "up/"}, task("SUCCESS"), false},
		{"download-file", []string{"s3://" + b + "/in/a.csv", "copies/"}, task("SUCCESS"), false},
		{"download-file", []string{"s3://" + b + "/in/a.csv", "copies/"}, task("ERROR"), true},
		{"download", []string{"--bucket", b, "--s3-prefix", "in/", "--directory", "OUT"}, task("SUCCESS"), false},
		{"list-files", nil, list("filepath", "size_in_bytes", "last_modified_utc", "is_directory"), false},
		{"list-file-details", []string{"{gather}"}, list("filepath", "size_in_bytes"), false},
		{"delete-file", []string{"--force", "copies/"}, task("SUCCESS"), false},
		{"load", []string{"--table", "sales", "--header", "s3://" + b + "/in/a.csv"}, task("SUCCESS"), false},
		{"export", []string{"--query", "SELECT * FROM sales", "s3://" + b + "/exp/s"}, task("SUCCESS"), false},
		{"sql", []string{"SELECT * FROM sales INTO OUTFILE S3 's3://" + b + "/exp/t' OVERWRITE ON"}, task("SUCCESS"), false},
		{"status", nil, list(taskKeys...), false},
		{"status", []string{"1"}, list(taskKeys...), false},
		{"log", []string{"1"}, list("time", "level", "message"), false},
		{"check", []string{"--bucket", b}, object("instance", "ok", "problems", "buckets", "probes"), false},
		{"policy", []string{"--feature", "LOAD", "--bucket", b, "--trust-principal", "arn:aws:iam::123456789012:role/agent"},
			object("PolicyDocument", "AssumeRolePolicyDocument"), false},
		{"policy simulate", []string{"--policy", pol, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::" + b + "/x"},
			object("decision", "action", "resource", "detail"), false},
		{"connector issue", []string{"--table", "imported", "--auto-create-table", "{connector}"}, task("SUCCESS"), false},
		{"connector preview", []string{"{connector}"}, object("columns", "rows"), false},
		{"connector create", []string{"--table", "imported", "s1", "@hourly", "{connector}"}, object("name", "cron", "timezone", "next_run"), false},
		{"connector list", nil, list("name", "cron", "timezone", "delay_seconds", "table", "next_run", "last_status"), false},
		{"connector show", []string{"s1"}, object("name", "config", "state"), false},
		{"connector update", []string{"--delay", "5", "s1"}, object("name", "delay_seconds"), false},
		{"connector run", []string{"s1"}, task("SUCCESS"), false},
		{"connector history", []string{"s1"}, list("job_id", "status", "records", "files", "table", "scheduled", "started", "duration_seconds"), false},
		{"connector delete", []string{"s1"}, object("deleted"), false},
		{"pipeline create", []string{"--source", "{pgsource}", "--tables", "public.orders", "--bucket", b, "--prefix", "cdc/", "contract_p1"},
			object("name", "state", "source", "config", "created_at"), false},
		{"pipeline list", nil, list("name", "state", "source", "config"), false},
		{"pipeline show", []string{"contract_p1"}, object("name", "state", "config"), false},
		{"pipeline pause", []string{"contract_p1"}, object("name", "state"), false},
		{"pipeline resume", []string{"contract_p1"}, object("name", "state"), false},
		{"pipeline snapshot", []string{"contract_p1"}, object("name", "state", "pending_snapshots"), false},
		{"pipeline add-table", []string{"contract_p1", "public.refunds"}, object("name", "state", "config", "pending_snapshots"), false},
		{"pipeline drop", []string{"contract_p1"}, object("name", "dropped", "slot_kept"), false},
		{"token create", []string{"--name", "ci", "--role", "viewer", "--expires", "90d"}, object("name", "role", "created_at", "expires_at", "token"), false},
		{"token list", nil, list("name", "role", "created_at", "expires_at", "expired"), false},
		{"token revoke", []string{"ci"}, object("revoked"), false},
		{"version", nil, object("version", "go"), false},
		{"detach", nil, object("instance", "detached"), false},
	}
	covered := map[string]bool{}
	var last float64
	for i, st := range steps {
		covered[st.cmd] = true
		args := strings.Fields(st.cmd)
		for _, a := range st.args {
			switch a {
			case "{last}":
				a = fmt.Sprint(last)
			case "{gather}":
				a = fmt.Sprint(last + 1) // list-files ran the task after the last one printed
			case "{connector}":
				a = connectorConfig(t, w)
			case "{pgsource}":
				a = pipelineSource(t)
			}
			args = append(args, a)
		}
		switch st.cmd {
		case "policy simulate", "version", "connector preview":
		default:
			args = append(args, "--db", w.db)
		}
		args = append(args, "--json")
		if st.cmd == "load" {
			mustExec(t, w.db, "CREATE TABLE sales (id INTEGER, name TEXT, amount REAL)")
		}
		out, errOut, err := w.run(args...)
		if (err != nil) != st.fails {
			t.Fatalf("step %d %v: %v (want failure: %v)\n%s", i, args, errorText(err), st.fails, errOut)
		}
		v := oneJSON(t, strings.Join(args, " "), out)
		t.Run(st.cmd, func(t *testing.T) { st.check(t, v) })
		if m, ok := v.(map[string]any); ok && m["task_type"] != nil {
			last = m["task_id"].(float64)
		}
		if st.cmd == "policy" {
			if err := os.WriteFile(pol, []byte(out), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range commands() {
		if c.run == nil {
			continue
		}
		help, _, _ := w.run(append(strings.Fields(c.name), "--help")...)
		if strings.Contains(help, "  --json") && !covered[c.name] {
			t.Errorf("%s takes --json but is not in this test", c.name)
		}
	}
}

func mustExec(t *testing.T, db, query string) {
	t.Helper()
	in, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if _, err := in.DB().ExecContext(t.Context(), query); err != nil {
		t.Fatal(err)
	}
}

// connectorConfig writes a connector config reading in/a.csv, with the
// keys as references to the environment.
func connectorConfig(t *testing.T, w *cliWorld) string {
	t.Helper()
	p := filepath.Join(w.dir, "load.yml")
	text := "in:\n  type: s3\n  bucket: " + w.bucket + "\n  path: in/a.csv\n  endpoint: " + w.m.Endpoint +
		"\n  region: " + w.m.Region + "\n  access_key_id: ${env:AWS_ACCESS_KEY_ID}\n  secret_access_key: ${env:AWS_SECRET_ACCESS_KEY}\n" +
		"  parser:\n    type: csv\n    skip_header_lines: 1\n    columns:\n" +
		"    - {name: id, type: long}\n    - {name: name, type: string}\n    - {name: amount, type: double}\nout: {mode: append}\n"
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// pipelineSource is a PostgreSQL database with a table a pipeline can
// capture.
func pipelineSource(t *testing.T) string {
	t.Helper()
	url := testenv.Postgres(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE orders (id int PRIMARY KEY); CREATE TABLE refunds (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	return url
}
