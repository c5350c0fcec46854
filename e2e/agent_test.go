package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// bigFile makes a sparse file of n bytes: no disk, real bytes to send.
func bigFile(t *testing.T, path string, n int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(n); err != nil {
		t.Fatal(err)
	}
}

func multipartUploads(t *testing.T, w *world) int {
	t.Helper()
	out, err := w.minio.Admin(t).ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(w.bucket)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Uploads)
}

func objectExists(t *testing.T, w *world, key string) (int64, bool) {
	t.Helper()
	out, err := w.minio.Admin(t).HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(w.bucket), Key: aws.String(key)})
	if err != nil {
		return 0, false
	}
	return aws.ToInt64(out.ContentLength), true
}

// TestCancelRunningUpload cancels a 1 GiB upload mid-flight: the task is
// CANCELLED within about a second, no multipart upload is left and no
// object appears. A task queued behind it (max_running 1) is cancelled
// before it starts.
func TestCancelRunningUpload(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.Postgres(t)
	area := t.TempDir()
	w.mustCLI("attach", "--db", url, "--area", area, "--max-running", "1", "--allow-ext", "*")
	bigFile(t, filepath.Join(area, "big.bin"), 1<<30)
	w.agent("--db", url, "--tick", "100ms")
	db := openDB(t, "pgx", url)
	s := &sqlTasks{t: t, db: db, status: `select lifecycle, task_info, percent_complete from s3bridge.task_status(NULL, $1)`}
	id := scalar[int64](t, db, `select s3bridge.upload_file_to_s3('big.bin', $1)`, "arn:aws:s3:::"+w.bucket+"/big.bin")
	queued := scalar[int64](t, db, `select s3bridge.upload_file_to_s3('big.bin', $1)`, "arn:aws:s3:::"+w.bucket+"/queued.bin")
	waitFor(t, "the upload to make progress", 30*time.Second, func() bool { return s.state(id).percent > 0 })
	if st := s.state(queued); st.lifecycle != "CREATED" {
		t.Fatalf("second task with max_running 1: %s, want CREATED", st.lifecycle)
	}
	if lc := scalar[string](t, db, `select s3bridge.cancel_task($1)`, queued); lc != "CANCELLED" {
		t.Errorf("cancel of a queued task: %s", lc)
	}
	start := time.Now()
	if lc := scalar[string](t, db, `select s3bridge.cancel_task($1)`, id); lc != "CANCEL_REQUESTED" {
		t.Fatalf("cancel of a running task: %s", lc)
	}
	st := s.wait(id)
	took := time.Since(start)
	t.Logf("cancel reached the upload in %s (at %d%%)", took, st.percent)
	if st.lifecycle != "CANCELLED" || took > 1500*time.Millisecond {
		t.Errorf("after cancel: %s after %s (%s), want CANCELLED within about a second", st.lifecycle, took, st.info)
	}
	if st.percent >= 100 {
		t.Errorf("the upload finished before the cancel; the test proves nothing")
	}
	if n := multipartUploads(t, w); n != 0 {
		t.Errorf("%d multipart uploads left after cancel", n)
	}
	if _, ok := objectExists(t, w, "big.bin"); ok {
		t.Error("a cancelled upload left an object")
	}
}

// TestTwoAgentsShareQueue has two agent processes drain 200 queued tasks:
// every task runs exactly once.
func TestTwoAgentsShareQueue(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.MariaDB(t)
	area := t.TempDir()
	w.mustCLI("attach", "--db", url, "--area", area, "--max-running", "4", "--max-files", "1000")
	const n = 200
	for i := range n {
		writeFile(t, filepath.Join(area, fmt.Sprintf("f%03d.csv", i)), fmt.Sprintf("row %d\n", i))
		w.mustCLI("upload-file", "--db", url, "--async", fmt.Sprintf("f%03d.csv", i), fmt.Sprintf("s3://%s/out/f%03d.csv", w.bucket, i))
	}
	w.agent("--db", url, "--tick", "100ms")
	w.agent("--db", url, "--tick", "100ms")
	var out string
	waitFor(t, "200 tasks to finish", 2*time.Minute, func() bool {
		out = w.mustCLI("status", "--db", url)
		return strings.Count(out, "SUCCESS") == n
	})
	if strings.Contains(out, " ERROR ") {
		t.Errorf("some tasks failed:\n%s", out)
	}
	agents := map[string]int{}
	for i := 1; i <= n; i++ {
		log := w.mustCLI("log", "--db", url, strconv.Itoa(i))
		if c := strings.Count(log, "started by agent"); c != 1 {
			t.Errorf("task %d started %d times:\n%s", i, c, log)
		}
		if f := strings.Fields(log[strings.Index(log, "started by agent"):]); len(f) > 3 {
			agents[f[3]]++
		}
	}
	t.Logf("tasks per agent: %v", agents)
	objs, err := w.minio.Admin(t).ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(w.bucket), Prefix: aws.String("out/")})
	if err != nil || len(objs.Contents) != n {
		t.Errorf("objects uploaded: %d, %v; want %d", len(objs.Contents), err, n)
	}
}

// TestAgentKilled kills an agent with SIGKILL mid-task: a second agent takes
// the task over once the lease expires and finishes it.
func TestAgentKilled(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := "sqlite://" + filepath.Join(t.TempDir(), "inst.db")
	area := t.TempDir()
	w.mustCLI("attach", "--db", url, "--area", area, "--allow-ext", "*")
	bigFile(t, filepath.Join(area, "big.bin"), 512<<20)
	first := w.agent("--db", url, "--lease", "2s", "--tick", "100ms")
	id := strings.TrimSpace(w.mustCLI("upload-file", "--db", url, "--async", "big.bin", "s3://"+w.bucket+"/big.bin"))
	waitFor(t, "the first agent to start the task", 30*time.Second, func() bool {
		return strings.Contains(w.mustCLI("status", "--db", url, id), "IN_PROGRESS")
	})
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	killedAt := time.Now()
	w.agent("--db", url, "--lease", "2s", "--tick", "100ms")
	waitFor(t, "the second agent to finish the task", time.Minute, func() bool {
		return strings.Contains(w.mustCLI("status", "--db", url, id), "SUCCESS")
	})
	t.Logf("taken over and finished %s after the kill", time.Since(killedAt))
	log := w.mustCLI("log", "--db", url, id)
	if c := strings.Count(log, "started by agent"); c != 2 {
		t.Errorf("task started %d times, want 2 (killed agent, then the other):\n%s", c, log)
	}
	if size, ok := objectExists(t, w, "big.bin"); !ok || size != 512<<20 {
		t.Errorf("object after takeover: %d bytes, %v", size, ok)
	}
}

// TestAgentGracefulStop sends SIGTERM to an agent with a short grace: the
// running task goes back to the queue and another agent completes it.
func TestAgentGracefulStop(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := "sqlite://" + filepath.Join(t.TempDir(), "inst.db")
	area := t.TempDir()
	w.mustCLI("attach", "--db", url, "--area", area, "--allow-ext", "*")
	bigFile(t, filepath.Join(area, "big.bin"), 1<<30)
	first := w.agent("--db", url, "--grace", "10ms", "--tick", "100ms")
	id := strings.TrimSpace(w.mustCLI("upload-file", "--db", url, "--async", "big.bin", "s3://"+w.bucket+"/big.bin"))
	waitFor(t, "the agent to start the task", 30*time.Second, func() bool {
		return strings.Contains(w.mustCLI("status", "--db", url, id), "IN_PROGRESS")
	})
	first.Process.Signal(syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- first.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("agent exit after SIGTERM: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("agent did not stop within 10s of SIGTERM")
	}
	if st := w.mustCLI("status", "--db", url, id); !strings.Contains(st, "CREATED") {
		t.Fatalf("task after graceful stop: %s, want CREATED (back in the queue)", st)
	}
	if n := multipartUploads(t, w); n != 0 {
		t.Errorf("%d multipart uploads left by the stopped agent", n)
	}
	w.agent("--db", url, "--tick", "100ms")
	waitFor(t, "another agent to finish it", time.Minute, func() bool {
		return strings.Contains(w.mustCLI("status", "--db", url, id), "SUCCESS")
	})
}

// TestAgentServesSeveralInstances: one agent process, --db twice.
func TestAgentServesSeveralInstances(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	lite := "sqlite://" + filepath.Join(t.TempDir(), "inst.db")
	pg := testenv.Postgres(t)
	ids := map[string]string{}
	for _, db := range []string{lite, pg} {
		area := t.TempDir()
		w.mustCLI("attach", "--db", db, "--area", area)
		writeFile(t, filepath.Join(area, "a.csv"), db)
		ids[db] = strings.TrimSpace(w.mustCLI("upload-file", "--db", db, "--async", "a.csv", "s3://"+w.bucket+"/"+testenv.Name("k")+".csv"))
	}
	w.agent("--db", lite, "--db", pg, "--tick", "100ms")
	for db, id := range ids {
		waitFor(t, "the task on "+db, 30*time.Second, func() bool {
			return strings.Contains(w.mustCLI("status", "--db", db, id), "SUCCESS")
		})
	}
}
