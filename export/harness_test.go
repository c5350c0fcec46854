package export_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/zstd"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/agent"
	"github.com/s3bridge/s3bridge/export"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/mysql"
	"github.com/s3bridge/s3bridge/instance/postgres"
	"github.com/s3bridge/s3bridge/instance/sqlite"
	"github.com/s3bridge/s3bridge/internal/tasktest"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/s3store"
)

// db is one database kind under test: how to open it and the SQL its tests
// need, since the three spell things differently.
type db struct {
	name string
	open func(t *testing.T) instance.Instance
	// table creates t(id, name, amount) with rows 1..n: name is "name-<id>"
	// and amount id*1.5, except row 3's name, NULL, and row 4's, a string
	// full of characters the formats must escape.
	table func(n int) []string
	// series is a query of n rows (i) that fails at row fail when fail > 0.
	series func(n, fail int) string
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// nasty holds every character the delimited formats treat specially.
const nasty = "a,b\t\"q\" 'x' \\ back\nnew\rline \\N NULL é ✓"

func rowsSQL(n int, quote func(string) string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		name := quote("name-" + itoa(i))
		switch i {
		case 3:
			name = "NULL"
		case 4:
			name = quote(nasty)
		}
		b.WriteString("(" + itoa(i) + ", " + name + ", " + itoa(i) + " * 1.5)")
	}
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

var dbs = []db{
	{
		name: "sqlite",
		open: func(t *testing.T) instance.Instance {
			in, err := sqlite.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
			must(t, err)
			return in
		},
		table: func(n int) []string {
			q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
			return []string{`CREATE TABLE t (id INTEGER, name TEXT, amount REAL)`, `INSERT INTO t VALUES ` + rowsSQL(n, q)}
		},
		series: func(n, fail int) string {
			return "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < " + itoa(n) + ") " +
				"SELECT i, CASE WHEN i = " + itoa(fail) + " THEN abs(-9223372036854775807 - 1) ELSE i * 2 END AS v FROM s"
		},
	},
	{
		name: "postgres",
		open: func(t *testing.T) instance.Instance {
			in, err := postgres.Open(t.Context(), testenv.Postgres(t))
			must(t, err)
			return in
		},
		table: func(n int) []string {
			q := func(s string) string {
				return "E'" + strings.NewReplacer(`\`, `\\`, "'", "''", "\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s) + "'"
			}
			return []string{`CREATE TABLE t (id integer, name text, amount numeric(12,2))`, `INSERT INTO t VALUES ` + rowsSQL(n, q)}
		},
		series: func(n, fail int) string {
			return "SELECT i, 10 / (i - " + itoa(fail) + ") AS v FROM generate_series(1, " + itoa(n) + ") AS i"
		},
	},
	{
		name: "mariadb",
		open: func(t *testing.T) instance.Instance {
			in, err := mysql.Open(t.Context(), testenv.MariaDB(t))
			must(t, err)
			return in
		},
		table: func(n int) []string {
			q := func(s string) string {
				return "'" + strings.NewReplacer(`\`, `\\`, "'", "''", "\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s) + "'"
			}
			return []string{`CREATE TABLE t (id INT, name TEXT, amount DECIMAL(12,2))`, `INSERT INTO t VALUES ` + rowsSQL(n, q)}
		},
		series: func(n, fail int) string {
			// MariaDB stops recursive CTEs at 1000 rows; its sequence engine
			// has any length. The correlated subquery fails only at row fail.
			return "SELECT seq AS i, IF(seq = " + itoa(fail) + ", (SELECT s.seq UNION SELECT s.seq + 1), seq * 2) AS v FROM seq_1_to_" + itoa(n) + " AS s"
		},
	},
}

// forEachDB runs body once per database, in parallel.
func forEachDB(t *testing.T, body func(t *testing.T, d db)) {
	for _, d := range dbs {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			body(t, d)
		})
	}
}

type harness struct {
	t      *testing.T
	in     instance.Instance
	db     *sql.DB
	minio  testenv.MinIO
	store  *s3store.Client
	bucket string
	runner *export.Runner
	agent  *agent.Agent
}

func newHarness(t *testing.T, d db) *harness {
	m := testenv.S3(t)
	in := d.open(t)
	t.Cleanup(func() { in.Close() })
	must(t, in.Attach(t.Context(), s3bridge.Settings{Area: t.TempDir()}))
	store, err := s3store.New(t.Context(), s3store.Config{Endpoint: m.Endpoint, Region: m.Region,
		AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}, nil)
	must(t, err)
	r := &export.Runner{
		Deps:          s3bridge.Deps[export.ObjectStore]{Store: func(context.Context, s3bridge.Settings) (export.ObjectStore, error) { return store, nil }},
		WaiterTimeout: 2 * time.Second,
	}
	a := agent.New(agent.Config{Tick: 50 * time.Millisecond}, map[s3bridge.TaskType]agent.Runner{s3bridge.TaskExportToS3: r})
	h := &harness{t: t, in: in, db: in.(interface{ DB() *sql.DB }).DB(), minio: m, store: store, bucket: m.Bucket(t), runner: r, agent: a}
	return h
}

func (h *harness) exec(stmts ...string) {
	h.t.Helper()
	for _, s := range stmts {
		if _, err := h.db.ExecContext(h.t.Context(), s); err != nil {
			h.t.Fatalf("%.80s: %v", s, err)
		}
	}
}

// run enqueues an export and runs it in this process, as the CLI does.
func (h *harness) run(p export.Params) s3bridge.Task {
	h.t.Helper()
	return tasktest.Run(h.t, h.in, h.agent, export.Task(p))
}

func (h *harness) ok(p export.Params) s3bridge.Task {
	h.t.Helper()
	done := h.run(p)
	if done.Lifecycle != s3bridge.Success {
		h.t.Fatalf("export %s: %s %s", p.URI, done.Lifecycle, done.TaskInfo)
	}
	return done
}

func (h *harness) fails(p export.Params, want ...string) s3bridge.Task {
	h.t.Helper()
	done := h.run(p)
	if done.Lifecycle != s3bridge.Failed {
		h.t.Fatalf("export %s: %s %s, want ERROR", p.URI, done.Lifecycle, done.TaskInfo)
	}
	for _, w := range want {
		if !strings.Contains(done.TaskInfo, w) {
			h.t.Errorf("task_info %q does not say %q", done.TaskInfo, w)
		}
	}
	return done
}

func (h *harness) uri(key string) string { return "s3://" + h.bucket + "/" + key }

// keys lists the bucket's keys under prefix, sorted.
func (h *harness) keys(prefix string) []string {
	h.t.Helper()
	objs, _, err := h.store.List(h.t.Context(), h.bucket, prefix, "")
	must(h.t, err)
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	slices.Sort(keys)
	return keys
}

// get reads an object, decompressing it by its name.
func (h *harness) get(key string) []byte {
	h.t.Helper()
	r, _, err := h.store.Open(h.t.Context(), h.bucket, key)
	must(h.t, err)
	defer r.Close()
	var body io.Reader = r
	switch {
	case strings.HasSuffix(key, ".gz"):
		zr, err := gzip.NewReader(r)
		must(h.t, err)
		body = zr
	case strings.HasSuffix(key, ".zst"):
		zr, err := zstd.NewReader(r)
		must(h.t, err)
		defer zr.Close()
		body = zr
	}
	b, err := io.ReadAll(body)
	must(h.t, err)
	return b
}

// noUploads fails the test if a multipart upload was left in the bucket.
func (h *harness) noUploads() {
	h.t.Helper()
	out, err := h.minio.Admin(h.t).ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(h.bucket)})
	must(h.t, err)
	for _, u := range out.Uploads {
		h.t.Errorf("multipart upload of %s left behind", aws.ToString(u.Key))
	}
}

// sent reports whether an export has finished a part: its log says so
// (the part itself appears only when the export completes).
func (h *harness) sent(id int64) bool {
	h.t.Helper()
	lines, err := h.in.TaskLog(h.t.Context(), id)
	must(h.t, err)
	for _, l := range lines {
		if strings.Contains(l.String(), "sent s3://") {
			return true
		}
	}
	return false
}

// lastTask is the id of the newest task.
func (h *harness) lastTask() int64 {
	h.t.Helper()
	tasks, err := h.in.Tasks(h.t.Context())
	must(h.t, err)
	if len(tasks) == 0 {
		return 0
	}
	return tasks[len(tasks)-1].ID
}

// uploadsOf fails the test if a multipart upload of one of keys is left.
// MinIO lists uploads only for an exact key, so noUploads alone can't see
// them.
func (h *harness) uploadsOf(keys ...string) {
	h.t.Helper()
	admin := h.minio.Admin(h.t)
	for _, k := range keys {
		out, err := admin.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(h.bucket), Prefix: aws.String(k)})
		must(h.t, err)
		for _, u := range out.Uploads {
			h.t.Errorf("multipart upload of %s left behind", aws.ToString(u.Key))
		}
	}
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
