package connector_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/agent"
	"github.com/s3bridge/s3bridge/connector"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/internal/faultproxy"
	"github.com/s3bridge/s3bridge/internal/tasktest"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/s3store"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// database is one kind of instance under test; databases are the three.
type database = tasktest.Database

var databases = tasktest.Databases()

// harness is a bucket, its S3 client, and (for runs) an attached
// instance with an agent that runs IMPORT_FROM_S3 tasks.
type harness struct {
	t      *testing.T
	m      testenv.MinIO
	store  *s3store.Client
	bucket string
	in     instance.Instance
	db     *sql.DB
	agent  *agent.Agent
	// importer is the agent's IMPORT_FROM_S3 runner.
	importer *connector.Runner
	// held are the literal secrets of the configs, as connector issue
	// holds them in its process.
	held map[string]string
	// wrap, when set, stands between runs and S3.
	wrap func(connector.ObjectStore) connector.ObjectStore
}

func newBucket(t *testing.T) *harness {
	t.Helper()
	m := testenv.S3(t)
	store, err := s3store.New(t.Context(), s3store.Config{Endpoint: m.Endpoint, Region: m.Region, AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}, nil)
	must(t, err)
	return &harness{t: t, m: m, store: store, bucket: m.Bucket(t), held: map[string]string{}}
}

func newHarness(t *testing.T, d database) *harness {
	t.Helper()
	h := newBucket(t)
	h.in = d.Open(t)
	t.Cleanup(func() { h.in.Close() })
	must(t, h.in.Attach(t.Context(), s3bridge.Settings{Area: t.TempDir()}))
	h.db = h.in.(interface{ DB() *sql.DB }).DB()
	r := &connector.Runner{
		Open: func(ctx context.Context, s connector.S3) (connector.ObjectStore, error) {
			store, err := s3store.New(ctx, s3store.Config{Endpoint: s.Endpoint, Region: s.Region, Auth: s.Auth,
				AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey}, nil)
			if err != nil || h.wrap == nil {
				return store, err
			}
			return h.wrap(store), nil
		},
		Env: connector.Env{Getenv: func(k string) string { return h.held[k] }},
	}
	h.importer = r
	h.agent = agent.New(agent.Config{Tick: 50 * time.Millisecond}, map[s3bridge.TaskType]agent.Runner{s3bridge.TaskImportFromS3: r})
	return h
}

func (h *harness) put(key string, body []byte) {
	h.t.Helper()
	_, err := h.store.Upload(h.t.Context(), h.bucket, key, bytes.NewReader(body), s3bridge.PutOptions{})
	must(h.t, err)
}

// seed is a config for the bucket's prefix with the test MinIO's keys in
// clear, as a user writes a one-shot config.
func (h *harness) seed(prefix, extra string) connector.Config {
	h.t.Helper()
	text := fmt.Sprintf(`in:
  type: s3
  bucket: %s
  path_prefix: %q
  endpoint: %s
  region: %s
  auth_method: basic
  access_key_id: %s
  secret_access_key: %s
%sout:
  mode: append
`, h.bucket, prefix, h.m.Endpoint, h.m.Region, h.m.AccessKey, h.m.SecretKey, extra)
	c, err := connector.Parse([]byte(text))
	must(h.t, err)
	return c
}

// run issues one run of connector name into table, as connector issue
// does: literal secrets held in the process, the task run to its end.
func (h *harness) run(name, table string, c connector.Config) s3bridge.Task {
	h.t.Helper()
	task, err := connector.Task(connector.Params{Name: name, Config: h.hold(c), Table: table})
	must(h.t, err)
	return tasktest.Run(h.t, h.in, h.agent, task)
}

// hold keeps c's literal secrets in the harness, as connector issue keeps
// them in its process, and returns c with references in their place.
func (h *harness) hold(c connector.Config) connector.Config {
	stored, held := c.Held()
	for k, v := range held {
		h.held[k] = v
	}
	return stored
}

// retrying is the guessed config of prefix reaching S3 through a fault
// proxy, with three quick retries of a run, its secrets held.
func (h *harness) retrying(prefix string) (connector.Config, *faultproxy.Proxy) {
	h.t.Helper()
	c := h.setup(prefix, "")
	proxy := faultproxy.Start(h.t, h.m.Endpoint)
	c.In.Endpoint = proxy.URL
	three := 3
	c.In.Retry = connector.Retry{MaximumRetries: &three, InitialRetryIntervalMillis: 10, MaximumRetryIntervalMillis: 40}
	return h.hold(c), proxy
}

// claimed queues a run of connector name into table t and claims it, for
// a test that calls the Runner itself.
func (h *harness) claimed(name string, c connector.Config) s3bridge.Task {
	h.t.Helper()
	task, err := connector.Task(connector.Params{Name: name, Config: c, Table: "t"})
	must(h.t, err)
	id, err := h.in.Enqueue(h.t.Context(), task)
	must(h.t, err)
	claimed, err := h.in.ClaimTask(h.t.Context(), id, "retry-test", time.Minute)
	must(h.t, err)
	return *claimed
}

func (h *harness) ok(name, table string, c connector.Config) s3bridge.Task {
	h.t.Helper()
	done := h.run(name, table, c)
	if done.Lifecycle != s3bridge.Success {
		h.t.Fatalf("run of %s: %s %s", name, done.Lifecycle, done.TaskInfo)
	}
	return done
}

func (h *harness) exec(query string) {
	h.t.Helper()
	_, err := h.db.ExecContext(h.t.Context(), query)
	must(h.t, err)
}

// ids returns column id of table in order, as strings.
func (h *harness) ids(table string) []string {
	h.t.Helper()
	rs, err := h.db.QueryContext(h.t.Context(), `SELECT id FROM `+table+` ORDER BY id`)
	must(h.t, err)
	defer rs.Close()
	var out []string
	for rs.Next() {
		var id string
		must(h.t, rs.Scan(&id))
		out = append(out, id)
	}
	must(h.t, rs.Err())
	return out
}

func (h *harness) count(query string) int {
	h.t.Helper()
	var n int
	must(h.t, h.db.QueryRowContext(h.t.Context(), query).Scan(&n))
	return n
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func joined(s []string) string { return strings.Join(s, ",") }

// runner is a Runner called directly rather than through the agent, its
// S3 client making at most sdkAttempts attempts per request (0: the
// default), with the harness's held secrets.
func (h *harness) runner(sdkAttempts int) *connector.Runner {
	return &connector.Runner{
		Open: func(ctx context.Context, s connector.S3) (connector.ObjectStore, error) {
			return s3store.New(ctx, s3store.Config{Endpoint: s.Endpoint, Region: s.Region, Auth: s.Auth,
				AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey, RetryMaxAttempts: sdkAttempts}, nil)
		},
		Env: connector.Env{Getenv: func(k string) string { return h.held[k] }},
	}
}
