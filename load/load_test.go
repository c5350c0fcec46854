package load_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/agent"
	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/mysql"
	"github.com/s3bridge/s3bridge/instance/postgres"
	"github.com/s3bridge/s3bridge/instance/sqlite"
	"github.com/s3bridge/s3bridge/internal/tasktest"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/load"
	"github.com/s3bridge/s3bridge/s3store"
)

// db is one database kind under test: how to open it, run SQL on its
// tables, and the DDL of the test table.
type db struct {
	name  string
	open  func(t *testing.T) (instance.Instance, *sql.DB)
	table string // CREATE TABLE for t(id, name, amount)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var dbs = []db{
	{"sqlite", func(t *testing.T) (instance.Instance, *sql.DB) {
		in, err := sqlite.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
		must(t, err)
		return in, in.DB()
	}, `CREATE TABLE t (id INTEGER, name TEXT, amount REAL)`},
	{"postgres", func(t *testing.T) (instance.Instance, *sql.DB) {
		u := testenv.Postgres(t)
		in, err := postgres.Open(t.Context(), u)
		must(t, err)
		return in, in.DB()
	}, `CREATE TABLE t (id integer, name text, amount numeric)`},
	{"mariadb", func(t *testing.T) (instance.Instance, *sql.DB) {
		u := testenv.MariaDB(t)
		in, err := mysql.Open(t.Context(), u)
		must(t, err)
		return in, in.DB()
	}, `CREATE TABLE t (id INT PRIMARY KEY, name TEXT, amount DECIMAL(12,2))`},
}

type harness struct {
	t      *testing.T
	in     instance.Instance
	db     *sql.DB
	store  *s3store.Client
	bucket string
	agent  *agent.Agent
}

func newHarness(t *testing.T, d db) *harness {
	m := testenv.S3(t)
	in, sqldb := d.open(t)
	t.Cleanup(func() { in.Close() })
	must(t, in.Attach(t.Context(), s3bridge.Settings{Area: t.TempDir()}))
	_, err := sqldb.ExecContext(t.Context(), d.table)
	must(t, err)
	store, err := s3store.New(t.Context(), s3store.Config{Endpoint: m.Endpoint, Region: m.Region, AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}, nil)
	must(t, err)
	r := &load.Runner{Deps: s3bridge.Deps[load.ObjectStore]{Store: func(context.Context, s3bridge.Settings) (load.ObjectStore, error) { return store, nil }}}
	a := agent.New(agent.Config{Tick: 50 * time.Millisecond}, map[s3bridge.TaskType]agent.Runner{s3bridge.TaskLoadFromS3: r})
	return &harness{t: t, in: in, db: sqldb, store: store, bucket: m.Bucket(t), agent: a}
}

func (h *harness) put(key string, body []byte) string {
	h.t.Helper()
	_, err := h.store.Upload(h.t.Context(), h.bucket, key, bytes.NewReader(body), s3bridge.PutOptions{})
	must(h.t, err)
	return "s3://" + h.bucket + "/" + key
}

func (h *harness) run(p load.Params) s3bridge.Task {
	h.t.Helper()
	task, err := load.Task(p)
	must(h.t, err)
	return tasktest.Run(h.t, h.in, h.agent, task)
}

func (h *harness) ok(p load.Params) s3bridge.Task {
	h.t.Helper()
	done := h.run(p)
	if done.Lifecycle != s3bridge.Success {
		h.t.Fatalf("load %s: %s %s", p.URI, done.Lifecycle, done.TaskInfo)
	}
	return done
}

func (h *harness) fails(p load.Params, want ...string) {
	h.t.Helper()
	done := h.run(p)
	if done.Lifecycle != s3bridge.Failed {
		h.t.Fatalf("load %s: %s %s, want ERROR", p.URI, done.Lifecycle, done.TaskInfo)
	}
	for _, w := range want {
		if !strings.Contains(done.TaskInfo, w) {
			h.t.Errorf("load %s: task_info %q lacks %q", p.URI, done.TaskInfo, w)
		}
	}
}

// rows returns the table as "id|name|amount" lines in id order.
func (h *harness) rows() []string {
	h.t.Helper()
	rs, err := h.db.QueryContext(h.t.Context(), `SELECT id, name, amount FROM t ORDER BY id`)
	must(h.t, err)
	defer rs.Close()
	var out []string
	for rs.Next() {
		var id int
		var name, amount sql.NullString
		must(h.t, rs.Scan(&id, &name, &amount))
		n := name.String
		if !name.Valid {
			n = "NULL"
		}
		a := strings.TrimRight(strings.TrimRight(amount.String, "0"), ".")
		out = append(out, fmt.Sprintf("%d|%s|%s", id, n, a))
	}
	return out
}

func csvOpts() format.Options { return format.Options{Format: "csv", Header: true} }

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func zst(b []byte) []byte {
	zw, _ := zstd.NewWriter(nil)
	return zw.EncodeAll(b, nil)
}

func zipped(name string, b []byte) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create(name)
	w.Write(b)
	zw.Close()
	return buf.Bytes()
}

const sample = "id,name,amount\n1,alpha,10.5\n2,\"be,ta\",20.25\n"
