package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/agent"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/sqlite"
)

// TestSubmitRunsItsOwnTask (issue 14, item 2): a task command runs the
// task it enqueues even while an agent polls the instance as fast as it
// can: the task is claimed in the transaction that enqueues it, so no
// agent takes it first and leaves the command following it, which cost a
// short task a poll interval. A wrapper that enqueues its own way (a
// connector's run) still has its task claimed, in a second step.
func TestSubmitRunsItsOwnTask(t *testing.T) {
	ctx := t.Context()
	in, err := sqlite.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	serving, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		a := agent.New(agent.Config{ID: "eager-agent", Poll: time.Millisecond}, newStores(func(string) string { return "" }, nil).runners())
		a.Serve(serving, in)
	})
	defer func() { stop(); wg.Wait() }()

	for _, tc := range []struct {
		name string
		in   instance.Instance
	}{
		{"instance", in},
		{"wrapper without EnqueueClaim", enqueueOnly{in}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 10 {
				var out, errOut bytes.Buffer
				e := &env{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
				id, err := submitID(ctx, e, &common{}, tc.in, s3bridge.Task{Type: s3bridge.TaskListFiles})
				if err != nil {
					t.Fatalf("submit: %v (stderr %q)", err, errOut.String())
				}
				task, err := in.Task(ctx, id)
				if err != nil || task.Lifecycle != s3bridge.Success {
					t.Fatalf("task %d: %+v, %v", id, task, err)
				}
				if tc.name == "instance" && (task.Agent == "eager-agent" || strings.Contains(errOut.String(), "following it")) {
					t.Fatalf("task %d was run by %s, not by the command that enqueued it (stderr %q)", id, task.Agent, errOut.String())
				}
			}
		})
	}
}

// enqueueOnly is an instance wrapped as connectorRunQueue wraps one: it
// has no EnqueueClaim of its own.
type enqueueOnly struct{ instance.Instance }

func TestEnqueueClaimFallback(t *testing.T) {
	ctx := t.Context()
	in, err := sqlite.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "f.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		in          instance.Instance
		wantClaimed bool
	}{
		{"instance: enqueued claimed", in, true},
		{"wrapper: enqueued through its Enqueue, claimed later", enqueueOnly{in}, false},
	} {
		id, task, err := enqueueClaim(ctx, tc.in, s3bridge.Task{Type: s3bridge.TaskListFiles}, "cli")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		stored, err := in.Task(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := task != nil; got != tc.wantClaimed {
			t.Errorf("%s: claimed %v, want %v", tc.name, got, tc.wantClaimed)
		}
		if want := map[bool]s3bridge.Lifecycle{true: s3bridge.InProgress, false: s3bridge.Created}[tc.wantClaimed]; stored.Lifecycle != want {
			t.Errorf("%s: stored %s, want %s", tc.name, stored.Lifecycle, want)
		}
		if tc.wantClaimed && (task.ID != id || task.Agent != "cli") {
			t.Errorf("%s: claimed %+v, want task %d held by cli", tc.name, task, id)
		}
	}
}

// TestWarm: while the database enqueues a load, the command asks S3 the
// bucket's region, the runner's first question, unless the instance has
// a policy of its own to check before any request; for an export it also
// asks whether the bucket is public, unless public buckets are allowed.
func TestWarm(t *testing.T) {
	policy := []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	for _, tc := range []struct {
		name       string
		task       s3bridge.Task
		set        s3bridge.Settings
		wantRegion bool
		wantPublic bool
	}{
		{"load", s3bridge.Task{Type: s3bridge.TaskLoadFromS3, S3ObjectARN: "s3://bkt/in/a.csv"}, s3bridge.Settings{}, true, false},
		{"export", s3bridge.Task{Type: s3bridge.TaskExportToS3, S3ObjectARN: "arn:aws:s3:::bkt/out/a"}, s3bridge.Settings{}, true, true},
		{"export, public buckets allowed", s3bridge.Task{Type: s3bridge.TaskExportToS3, S3ObjectARN: "arn:aws:s3:::bkt/out/a"},
			s3bridge.Settings{AllowPublicBuckets: true}, true, false},
		{"load, instance policy", s3bridge.Task{Type: s3bridge.TaskLoadFromS3, S3ObjectARN: "s3://bkt/in/a.csv"}, s3bridge.Settings{Policy: policy}, false, false},
		{"upload", s3bridge.Task{Type: s3bridge.TaskUpload, S3ObjectARN: "arn:aws:s3:::bkt/up/a.csv"}, s3bridge.Settings{}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var asked []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				asked = append(asked, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
				mu.Unlock()
				if r.Method == http.MethodHead {
					w.Header().Set("X-Amz-Bucket-Region", "eu-west-3")
					return
				}
				w.WriteHeader(http.StatusForbidden)
				io.WriteString(w, `<Error><Code>AccessDenied</Code></Error>`)
			}))
			defer srv.Close()
			getenv := func(k string) string {
				return map[string]string{"AWS_ACCESS_KEY_ID": "AKIDWARM", "AWS_SECRET_ACCESS_KEY": "warm-secret"}[k]
			}
			set := tc.set
			set.Endpoint, set.Auth = srv.URL, "basic"
			st := newStores(getenv, nil)
			st.warm(t.Context(), set, "db", tc.task)()
			mu.Lock()
			defer mu.Unlock()
			region, public := false, false
			for _, a := range asked {
				region = region || a == "HEAD /bkt?"
				public = public || strings.Contains(a, "policyStatus")
			}
			if region != tc.wantRegion || public != tc.wantPublic {
				t.Errorf("asked %q: region %v, public check %v; want %v, %v", asked, region, public, tc.wantRegion, tc.wantPublic)
			}
		})
	}
}

// TestStoresBuildOnce: callers asking for the same client at the same
// time (the warm-up and the runner) get the one client, built once.
func TestStoresBuildOnce(t *testing.T) {
	st := newStores(func(string) string { return "" }, nil)
	set := s3bridge.Settings{Endpoint: "http://127.0.0.1:1"}
	clients := make([]any, 8)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			c, err := st.loadStore(t.Context(), set)
			if err != nil {
				t.Error(err)
			}
			clients[i] = c
		})
	}
	wg.Wait()
	for i, c := range clients {
		if c != clients[0] {
			t.Fatalf("caller %d got client %p, caller 0 %p: want one client", i, c, clients[0])
		}
	}
	if other, _ := st.client(t.Context(), set, "EXPORT"); any(other) == clients[0] {
		t.Error("another feature's client is the load's")
	}
}
