package main

import (
	"bytes"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/agent"
	"github.com/s3bridge/s3bridge/instance/sqlite"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/s3store"
	"github.com/s3bridge/s3bridge/statement"
)

// exportWorld is a SQLite instance attached to the test MinIO, with a table
// to export and the environment the commands read.
type exportWorld struct {
	t      *testing.T
	db     string
	in     *sqlite.Instance
	bucket string
	store  *s3store.Client
	env    func(string) string
}

func newExportWorld(t *testing.T) *exportWorld {
	m := testenv.S3(t)
	w := &exportWorld{t: t, db: "sqlite://" + filepath.Join(t.TempDir(), "x.db"), bucket: m.Bucket(t)}
	vars := map[string]string{"AWS_ACCESS_KEY_ID": m.AccessKey, "AWS_SECRET_ACCESS_KEY": m.SecretKey}
	w.env = func(k string) string { return vars[k] }
	in, err := sqlite.Open(t.Context(), w.db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	w.in = in
	set := s3bridge.Settings{Area: t.TempDir(), Endpoint: m.Endpoint, Region: m.Region, Auth: "basic"}
	if err := in.Attach(t.Context(), set); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`CREATE TABLE sales (id INTEGER, name TEXT, amount REAL)`,
		`INSERT INTO sales VALUES (1, 'apple', 1.5), (2, 'pear, ripe', 2.25), (3, NULL, 3)`} {
		if _, err := in.DB().ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	w.store, err = s3store.New(t.Context(), s3store.Config{Endpoint: m.Endpoint, Region: m.Region, AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// export runs the export verb (directly: main.go's command list may not
// have it yet) and returns its stdout.
func (w *exportWorld) export(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	err := runExport(w.t.Context(), &env{stdout: &out, stderr: &errOut, getenv: w.env}, args)
	if err != nil {
		w.t.Logf("stderr: %s", errOut.String())
	}
	return out.String(), err
}

// runQueued runs an enqueued task with the export runner the agent and the
// CLI are given, as an agent would.
func (w *exportWorld) runQueued(idText string) s3bridge.Task {
	w.t.Helper()
	id, err := strconv.ParseInt(strings.TrimSpace(idText), 10, 64)
	if err != nil {
		w.t.Fatalf("task id %q: %v", idText, err)
	}
	st := newStores(w.env, nil)
	a := agent.New(agent.Config{}, map[s3bridge.TaskType]agent.Runner{s3bridge.TaskExportToS3: exportRunner(st)})
	task, err := w.in.ClaimTask(w.t.Context(), id, a.ID(), time.Minute)
	if err != nil || task == nil {
		w.t.Fatalf("claim task %d: %v", id, err)
	}
	a.Execute(w.t.Context(), w.in, task)
	done, err := w.in.Task(w.t.Context(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return done
}

func (w *exportWorld) object(key string) string {
	w.t.Helper()
	r, _, err := w.store.Open(w.t.Context(), w.bucket, key)
	if err != nil {
		w.t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		w.t.Fatal(err)
	}
	return string(b)
}

// TestExportCommand: the export verb's flags become the task an agent runs.
func TestExportCommand(t *testing.T) {
	w := newExportWorld(t)
	id, err := w.export("--db", w.db, "--async", "--query", "SELECT * FROM sales ORDER BY id", "--header",
		"--max-file-size", "20B", "--manifest", "s3://"+w.bucket+"/out/sales")
	if err != nil {
		t.Fatal(err)
	}
	done := w.runQueued(id)
	if done.Lifecycle != s3bridge.Success {
		t.Fatalf("%s: %s", done.Lifecycle, done.TaskInfo)
	}
	if !strings.Contains(done.TaskInfo, "exported 3 rows in 3 files") {
		t.Errorf("task_info %q", done.TaskInfo)
	}
	if got, want := w.object("out/sales.part_00001"), "id,name,amount\n2,\"pear, ripe\",2.25\n"; got != want {
		t.Errorf("part 1 = %q, want %q", got, want)
	}
	if got := w.object("out/sales.manifest"); !strings.Contains(got, `"url":"s3://`+w.bucket+`/out/sales.part_00002"`) {
		t.Errorf("manifest %s", got)
	}
}

// TestExportStatement: the sql verb's SELECT … INTO OUTFILE S3, with its
// FIELDS and LINES clauses.
func TestExportStatement(t *testing.T) {
	w := newExportWorld(t)
	st, err := statement.ParseExport("SELECT id, name FROM sales WHERE id < 3 ORDER BY id INTO OUTFILE S3 's3://" + w.bucket +
		"/stmt/s' FIELDS TERMINATED BY '|' LINES STARTING BY '>' TERMINATED BY '\\r\\n' OVERWRITE ON")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c := &common{async: true, logLevel: logLevel(slog.LevelWarn)}
	if err := runExportStatement(t.Context(), &env{stdout: &out, stderr: io.Discard, getenv: w.env}, c, w.in, st); err != nil {
		t.Fatal(err)
	}
	if done := w.runQueued(out.String()); done.Lifecycle != s3bridge.Success {
		t.Fatalf("%s: %s", done.Lifecycle, done.TaskInfo)
	}
	if got, want := w.object("stmt/s.part_00000"), ">1|apple\r\n>2|pear, ripe\r\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	st.Encryption = statement.EncryptionSSEKMS
	if err := runExportStatement(t.Context(), &env{stdout: io.Discard, stderr: io.Discard, getenv: w.env}, c, w.in, st); err == nil {
		t.Error("ENCRYPTION SSE_KMS was accepted; s3bridge can't honour it")
	}
}

// TestExportRefusals: bad input fails before any task exists.
func TestExportRefusals(t *testing.T) {
	e := &env{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	for name, args := range map[string][]string{
		"not a select":    {"--query", "DELETE FROM sales", "s3://b-x1/p"},
		"two statements":  {"--query", "SELECT 1; DROP TABLE sales", "s3://b-x1/p"},
		"locking clause":  {"--query", "SELECT * FROM sales FOR UPDATE", "s3://b-x1/p"},
		"no query":        {"s3://b-x1/p"},
		"bad size":        {"--query", "SELECT 1", "--max-file-size", "lots", "s3://b-x1/p"},
		"no destination":  {"--query", "SELECT 1"},
		"data-modifying":  {"--query", "WITH d AS (DELETE FROM sales RETURNING *) SELECT * FROM d", "s3://b-x1/p"},
		"into in a query": {"--query", "SELECT 1 INTO @x", "s3://b-x1/p"},
		"query and table": {"--query", "SELECT 1", "--table", "sales", "s3://b-x1/p"},
		"three-part name": {"--table", "a.b.c", "s3://b-x1/p"},
		"empty schema":    {"--table", ".sales", "s3://b-x1/p"},
	} {
		err := runExport(t.Context(), e, append([]string{"--db", "sqlite:///nonexistent/never-opened.db"}, args...))
		if err == nil {
			t.Errorf("%s: export %q succeeded", name, args)
		}
	}
}

// TestExportSync runs the verb in-process like a user does; it needs the
// export runner among runners() (open.go).
func TestExportSync(t *testing.T) {
	if _, ok := newStores(func(string) string { return "" }, nil).runners()[s3bridge.TaskExportToS3]; !ok {
		t.Fatal("EXPORT_TO_S3 is not among runners() (open.go)")
	}
	w := newExportWorld(t)
	out, err := w.export("--db", w.db, "--query", "SELECT * FROM sales", "--format", "parquet", "s3://"+w.bucket+"/sync/s")
	if err != nil || !strings.Contains(out, "SUCCESS: exported 3 rows in 1 files") {
		t.Fatalf("export: %q, %v", out, err)
	}
}

// TestExportTable: --table T exports SELECT * FROM T, each part of the
// name quoted as the instance's database quotes identifiers.
func TestExportTable(t *testing.T) {
	for _, tt := range []struct{ db, table, want string }{
		{"postgres://u@h/d", "orders", `SELECT * FROM "orders"`},
		{"postgres://u@h/d", "sales.Orders", `SELECT * FROM "sales"."Orders"`},
		{"postgresql://u@h/d", `a"b`, `SELECT * FROM "a""b"`},
		{"mysql://u@h/d", "shop.orders", "SELECT * FROM `shop`.`orders`"},
		{"mariadb://u@h/d", "a`b", "SELECT * FROM `a``b`"},
		{"sqlite:///x.db", "sales", `SELECT * FROM "sales"`},
		{"", "sales; DROP TABLE x", `SELECT * FROM "sales; DROP TABLE x"`},
	} {
		got, err := wholeTableQuery(tt.db, tt.table)
		if err != nil || got != tt.want {
			t.Errorf("wholeTableQuery(%q, %q) = %q, %v; want %q", tt.db, tt.table, got, err, tt.want)
		}
	}
	w := newExportWorld(t)
	out, err := w.export("--db", w.db, "--table", "sales", "s3://"+w.bucket+"/table/s")
	if err != nil || !strings.Contains(out, "SUCCESS: exported 3 rows in 1 files") {
		t.Fatalf("export --table: %q, %v", out, err)
	}
	if got, want := w.object("table/s.part_00000"), "1,apple,1.5\n2,\"pear, ripe\",2.25\n3,,3\n"; got != want {
		t.Errorf("export --table sales = %q, want %q", got, want)
	}
}
