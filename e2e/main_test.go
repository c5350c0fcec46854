// Package e2e tests s3bridge as a user runs it: the built binary, agents as
// separate processes, SQL functions called over real PostgreSQL and MariaDB
// connections, and a real MinIO.
package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "s3bridge-e2e-")
	if err != nil {
		panic(err)
	}
	// The database server's own user runs the binary for
	// table_import_from_s3: it must be able to reach it.
	os.Chmod(dir, 0o755)
	binary = filepath.Join(dir, "s3bridge")
	build := exec.Command("go", "build", "-o", binary, "../cmd/s3bridge")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build s3bridge:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// world is one test's MinIO bucket and the environment the binary runs in.
type world struct {
	t      *testing.T
	minio  testenv.MinIO
	bucket string
	env    []string
	mu     sync.Mutex
	output bytes.Buffer // everything every process printed, for secret checks
}

func newWorld(t *testing.T) *world {
	m := testenv.S3(t)
	w := &world{t: t, minio: m, bucket: m.Bucket(t)}
	t.Cleanup(func() {
		if t.Failed() {
			out := w.printed()
			t.Logf("what the processes printed (last 4000 bytes):\n%s", out[max(0, len(out)-4000):])
		}
	})
	w.env = append(os.Environ(),
		"AWS_ACCESS_KEY_ID="+m.AccessKey, "AWS_SECRET_ACCESS_KEY="+m.SecretKey, "AWS_REGION="+m.Region,
		"AWS_ENDPOINT_URL="+m.Endpoint, "S3BRIDGE_DB=")
	return w
}

type syncWriter struct {
	w  *world
	to *bytes.Buffer
}

func (s syncWriter) Write(p []byte) (int, error) {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	s.w.output.Write(p)
	if s.to != nil {
		s.to.Write(p)
	}
	return len(p), nil
}

// cli runs the binary to completion and returns its stdout.
func (w *world) cli(args ...string) (string, error) {
	w.t.Helper()
	// Not the test's context alone: Go cancels it before cleanups run,
	// and a cleanup's CLI call (pipeline drop) must still run.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.t.Context()), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = w.env
	cmd.Stdout, cmd.Stderr = syncWriter{w, &out}, syncWriter{w, &errOut}
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("s3bridge %s: %w: %s", args[0], err, errOut.String())
	}
	return out.String(), err
}

func (w *world) mustCLI(args ...string) string {
	w.t.Helper()
	out, err := w.cli(args...)
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// agent starts an agent process, stopped at cleanup.
func (w *world) agent(args ...string) *exec.Cmd {
	w.t.Helper()
	cmd := exec.Command(binary, append([]string{"agent", "--log-level", "debug"}, args...)...)
	cmd.Env = w.env
	cmd.Stdout, cmd.Stderr = syncWriter{w, nil}, syncWriter{w, nil}
	// An agent must not outlive a test binary that died (timeout, panic).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	before := strings.Count(w.printed(), "msg=serving")
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	// Serving means recorded in the instance: synchronous SQL calls made
	// from now on find a live agent.
	dbs := 0
	for _, a := range args {
		if a == "--db" {
			dbs++
		}
	}
	waitFor(w.t, "the agent to serve its instances", 30*time.Second, func() bool {
		return strings.Count(w.printed(), "msg=serving") >= before+dbs
	})
	w.t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	return cmd
}

func (w *world) printed() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.output.String()
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func openDB(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func contains(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s: %q does not contain %q", what, got, w)
		}
	}
}

func (w *world) dropEnv(key string) {
	out := w.env[:0]
	for _, kv := range w.env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	w.env = out
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sqlTasks reads task status through a database's SQL interface.
type sqlTasks struct {
	t      *testing.T
	db     *sql.DB
	status string // query for one task's lifecycle, task_info, percent_complete
	call   func(query string, args ...any) int64
}

type taskState struct {
	lifecycle, info string
	percent         int
}

func (s *sqlTasks) state(id int64) taskState {
	s.t.Helper()
	var st taskState
	var info sql.NullString
	if err := s.db.QueryRowContext(s.t.Context(), s.status, id).Scan(&st.lifecycle, &info, &st.percent); err != nil {
		s.t.Fatalf("task_status(NULL, %d): %v", id, err)
	}
	st.info = info.String
	return st
}

// wait polls task_status until the task reaches a final lifecycle.
func (s *sqlTasks) wait(id int64) taskState {
	s.t.Helper()
	var st taskState
	waitFor(s.t, fmt.Sprintf("task %d to finish", id), time.Minute, func() bool {
		st = s.state(id)
		return st.lifecycle == "SUCCESS" || st.lifecycle == "ERROR" || st.lifecycle == "CANCELLED"
	})
	return st
}

func (s *sqlTasks) ok(query string, args ...any) int64 {
	s.t.Helper()
	id := s.call(query, args...)
	if st := s.wait(id); st.lifecycle != "SUCCESS" || st.percent != 100 {
		s.t.Fatalf("%s: task %d ended %s (%d%%): %s", query, id, st.lifecycle, st.percent, st.info)
	}
	return id
}

func (s *sqlTasks) fails(want, query string, args ...any) int64 {
	s.t.Helper()
	id := s.call(query, args...)
	st := s.wait(id)
	if st.lifecycle != "ERROR" || !strings.Contains(st.info, want) {
		s.t.Fatalf("%s: task %d ended %s %q, want ERROR mentioning %q", query, id, st.lifecycle, st.info, want)
	}
	return id
}

func scalar[T any](t *testing.T, db *sql.DB, query string, args ...any) T {
	t.Helper()
	var v T
	if err := db.QueryRowContext(t.Context(), query, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v
}

// query runs a query for a helper below, failing the test on error.
func query(t *testing.T, db *sql.DB, q string, args ...any) (*sql.Rows, []string) {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		t.Fatal(err)
	}
	return rows, cols
}

// column returns the first column of every row as text.
func column(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, cols := query(t, db, q, args...)
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out = append(out, vals[0].String)
	}
	return out
}

// columnNames returns the result's column names.
func columnNames(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, cols := query(t, db, q, args...)
	defer rows.Close()
	for rows.Next() {
	}
	return cols
}

// mariaNames returns the database and the s3bridge schema a MariaDB
// instance URL of testenv.MariaDB names.
func mariaNames(t *testing.T, instanceURL string) (db, schema string) {
	t.Helper()
	u, err := url.Parse(instanceURL)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/"), u.Query().Get("s3bridge_schema")
}

// stderrOf runs the CLI, which must succeed, and returns what it wrote
// on standard error.
func (w *world) stderrOf(args ...string) string {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.t.Context(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = w.env
	cmd.Stdout, cmd.Stderr = syncWriter{w, &out}, syncWriter{w, &errOut}
	if err := cmd.Run(); err != nil {
		w.t.Fatalf("s3bridge %s: %v: %s", args[0], err, errOut.String())
	}
	return errOut.String()
}
