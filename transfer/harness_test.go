package transfer_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/agent"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/internal/tasktest"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/policy"
	"github.com/s3bridge/s3bridge/s3store"
	"github.com/s3bridge/s3bridge/transfer"
)

// databases opens a fresh instance of each kind; every transfer test runs
// on all three.
var databases = tasktest.Databases()

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// harness is one attached instance, a MinIO bucket, and an in-process
// agent that runs each task to its end.
type harness struct {
	t      *testing.T
	in     instance.Instance
	minio  testenv.MinIO
	store  *s3store.Client
	bucket string
	area   string
	pump   string // DATA_PUMP_DIR
	set    s3bridge.Settings
	agent  *agent.Agent
}

func newHarness(t *testing.T, open func(t *testing.T) instance.Instance) *harness {
	t.Helper()
	m := testenv.S3(t)
	h := &harness{t: t, in: open(t), minio: m, area: t.TempDir(), pump: t.TempDir()}
	t.Cleanup(func() { h.in.Close() })
	h.bucket = m.Bucket(t)
	var err error
	h.store, err = s3store.New(t.Context(), s3store.Config{Endpoint: m.Endpoint, Region: m.Region,
		AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}, nil)
	must(t, err)
	h.set = s3bridge.Settings{Area: h.area, Directories: map[string]string{"DATA_PUMP_DIR": h.pump}, MaxFiles: 50}
	h.attach()
	h.agent = newAgent(h.store)
	return h
}

func newAgent(store transfer.ObjectStore) *agent.Agent {
	return agent.New(agent.Config{Tick: 50 * time.Millisecond}, runners(store))
}

func runners(store transfer.ObjectStore) map[s3bridge.TaskType]agent.Runner {
	r := &transfer.Runner{Deps: s3bridge.Deps[transfer.ObjectStore]{
		Store: func(context.Context, s3bridge.Settings) (transfer.ObjectStore, error) { return store, nil },
		Guard: func(set s3bridge.Settings, name string) (s3bridge.Guard, error) {
			g, err := policy.NewGuard(set, name, false)
			if g == nil || err != nil {
				return nil, err
			}
			return g, nil
		},
	}}
	return map[s3bridge.TaskType]agent.Runner{s3bridge.TaskUpload: r, s3bridge.TaskDownload: r, s3bridge.TaskListFiles: r, s3bridge.TaskDeleteFiles: r}
}

func (h *harness) attach() { must(h.t, h.in.Attach(h.t.Context(), h.set)) }

// run enqueues a task, runs it in-process and returns its final row.
func (h *harness) run(task s3bridge.Task) s3bridge.Task {
	h.t.Helper()
	return tasktest.Run(h.t, h.in, h.agent, task)
}

func (h *harness) ok(task s3bridge.Task) s3bridge.Task {
	h.t.Helper()
	done := h.run(task)
	if done.Lifecycle != s3bridge.Success || done.PercentComplete != 100 {
		h.t.Fatalf("task %d: got %s %d%% %q, want SUCCESS 100%%", done.ID, done.Lifecycle, done.PercentComplete, done.TaskInfo)
	}
	return done
}

// fails runs a task that must end in ERROR with task_info naming want.
func (h *harness) fails(task s3bridge.Task, want ...string) s3bridge.Task {
	h.t.Helper()
	done := h.run(task)
	if done.Lifecycle != s3bridge.Failed {
		h.t.Fatalf("task %d: got %s %q, want ERROR", done.ID, done.Lifecycle, done.TaskInfo)
	}
	for _, w := range want {
		if !strings.Contains(done.TaskInfo, w) {
			h.t.Errorf("task %d info %q: want it to mention %q", done.ID, done.TaskInfo, w)
		}
	}
	log, err := h.in.TaskLog(h.t.Context(), done.ID)
	must(h.t, err)
	if len(log) == 0 || log[len(log)-1].Level != s3bridge.LevelError {
		h.t.Errorf("task %d log: want a last [ERROR] line, got %v", done.ID, log)
	}
	return done
}

func (h *harness) put(key, body string) {
	h.t.Helper()
	_, err := h.store.Upload(h.t.Context(), h.bucket, key, strings.NewReader(body), s3bridge.PutOptions{})
	must(h.t, err)
}

func (h *harness) get(key string) (string, bool) {
	h.t.Helper()
	r, _, err := h.store.Open(h.t.Context(), h.bucket, key)
	if err != nil {
		return "", false
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	must(h.t, err)
	return string(b), true
}

func (h *harness) keys(prefix string) []string {
	h.t.Helper()
	objs, _, err := h.store.List(h.t.Context(), h.bucket, prefix, "")
	must(h.t, err)
	var out []string
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}

func writeFile(t testing.TB, path, body string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(t, os.WriteFile(path, []byte(body), 0o644))
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	return string(b)
}

// noLeftovers checks no temporary download file stayed behind.
func noLeftovers(t testing.TB, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".s3bridge-") {
			t.Errorf("leftover temporary file %s", p)
		}
		return nil
	})
}

func equalKeys(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}
