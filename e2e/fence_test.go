package e2e

import (
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestFrozenAgentLoadsOnce (issue 18, item 7): an agent process frozen
// (SIGSTOP) in the middle of a load, past its lease, while another agent
// takes the task over and finishes it, must not commit its rows when it is
// resumed (SIGCONT): the rows appear once. The test holds a lock on the
// table so that the first agent's COPY is surely under way when it is
// frozen.
func TestFrozenAgentLoadsOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	url := testenv.Postgres(t)
	w.mustCLI("attach", "--db", url)
	db := openDB(t, "pgx", url)
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE t (id int, name text)`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id,name\n")
	for i := range 1000 {
		b.WriteString(strconv.Itoa(i) + ",row\n")
	}
	writeFile(t, filepath.Join(dir, "rows.csv"), b.String())
	putObject(t, w, "rows.csv", filepath.Join(dir, "rows.csv"))

	lock, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.ExecContext(t.Context(), `LOCK TABLE t IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(w.mustCLI("load", "--db", url, "--async", "--table", "t", "--format", "csv", "--header", "s3://"+w.bucket+"/rows.csv"))
	first := w.agent("--db", url, "--lease", "1s", "--tick", "100ms")
	waitFor(t, "the first agent's COPY to wait for the table", 30*time.Second, func() bool {
		return scalar[int](t, db, `SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY%' AND wait_event_type = 'Lock'`) == 1
	})
	if err := first.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			first.Process.Signal(syscall.SIGCONT)
		}
	}
	t.Cleanup(resume)
	lock.Rollback()
	time.Sleep(1500 * time.Millisecond) // past the frozen agent's 1 s lease
	w.agent("--db", url, "--lease", "10s", "--tick", "100ms")
	waitFor(t, "the second agent to finish the load", time.Minute, func() bool {
		return strings.Contains(w.mustCLI("status", "--db", url, id), "SUCCESS")
	})
	resume()
	waitFor(t, "the resumed agent to give the task up", 30*time.Second, func() bool {
		return strings.Contains(w.mustCLI("log", "--db", url, id), "lost its lease (attempt 1)")
	})
	if n := scalar[int](t, db, `SELECT count(*) FROM t`); n != 1000 {
		t.Errorf("rows after a frozen agent resumed: %d, want 1000 (each once)", n)
	}
	if n := scalar[int](t, db, `SELECT count(*) FROM s3bridge.load_history`); n != 1 {
		t.Errorf("load history: %d rows, want 1", n)
	}
	contains(t, "status", w.mustCLI("status", "--db", url, id), "SUCCESS", "1000 rows imported")
}
