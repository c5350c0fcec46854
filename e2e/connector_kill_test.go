package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestConnectorAgentKilled (issue 9): an agent killed with SIGKILL in the
// middle of a stored connector's run loads nothing; another agent takes
// the run over and loads every object exactly once; later runs, by hand
// and on an @every schedule served by two agents, add only what is new,
// each fire once.
func TestConnectorAgentKilled(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	db := testenv.Postgres(t)
	w.mustCLI("attach", "--db", db)
	admin := w.minio.Admin(t)
	const perObject = 25000
	next := 1
	put := func(objects int) {
		t.Helper()
		for range objects {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			fmt.Fprintln(zw, "id,name,at")
			first := next
			for ; next < first+perObject; next++ {
				fmt.Fprintf(zw, "%d,name %d,2026-01-01 00:00:%02d\n", next, next, next%60)
			}
			zw.Close()
			key := fmt.Sprintf("imp/part-%07d.csv.gz", first)
			if _, err := admin.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(w.bucket), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes())}); err != nil {
				t.Fatal(err)
			}
		}
	}
	put(40)
	dir := t.TempDir()
	seed, load := filepath.Join(dir, "seed.yml"), filepath.Join(dir, "imp.yml")
	writeFile(t, seed, fmt.Sprintf("in:\n  type: s3\n  bucket: %s\n  path_prefix: imp/\n  endpoint: %s\n  region: %s\n"+
		"  access_key_id: ${env:AWS_ACCESS_KEY_ID}\n  secret_access_key: ${env:AWS_SECRET_ACCESS_KEY}\nout:\n  mode: append\n",
		w.bucket, w.minio.Endpoint, w.minio.Region))
	w.mustCLI("connector", "guess", seed, "-o", load)
	w.mustCLI("connector", "create", "imp", "", load, "--db", db, "--table", "imp", "--auto-create-table")
	pg := openDB(t, "pgx", db)
	rows := func() string {
		return scalar[string](t, pg, `SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || coalesce(sum(id), 0) FROM imp`)
	}
	want := func(n int) string { return fmt.Sprintf("%d %d %d", n, n, n*(n+1)/2) }

	first := w.agent("--db", db, "--lease", "2s", "--tick", "100ms")
	id := strings.TrimSpace(w.mustCLI("connector", "run", "--async", "imp", "--db", db))
	waitFor(t, "the first agent to be reading objects", time.Minute, func() bool {
		return scalar[int](t, pg, `SELECT percent_complete FROM s3bridge.tasks WHERE task_id = $1`, id) > 0
	})
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	if lc := scalar[string](t, pg, `SELECT lifecycle FROM s3bridge.tasks WHERE task_id = $1`, id); lc != "IN_PROGRESS" {
		t.Fatalf("the run was %s when its agent was killed; the test proves nothing", lc)
	}
	if got := rows(); got != "0 0 0" {
		t.Fatalf("rows after the kill: %s, want none (one transaction)", got)
	}
	w.agent("--db", db, "--lease", "2s", "--tick", "100ms")
	w.agent("--db", db, "--lease", "2s", "--tick", "100ms")
	waitFor(t, "another agent to finish the run", 2*time.Minute, func() bool {
		return scalar[string](t, pg, `SELECT lifecycle FROM s3bridge.tasks WHERE task_id = $1`, id) == "SUCCESS"
	})
	if got := rows(); got != want(40*perObject) {
		t.Fatalf("rows after the takeover: %s, want %s", got, want(40*perObject))
	}
	if n := scalar[int](t, pg, `SELECT attempt FROM s3bridge.tasks WHERE task_id = $1`, id); n != 2 {
		t.Errorf("the run took %d attempts, want 2 (the killed one, the takeover)", n)
	}
	contains(t, "a run with nothing new", w.mustCLI("connector", "run", "imp", "--db", db), "no new data")

	// Two agents serve an @every 2s schedule while objects arrive.
	w.mustCLI("connector", "update", "imp", "--db", db, "--cron", "@every 2s")
	for range 4 {
		put(1)
		time.Sleep(2 * time.Second)
	}
	time.Sleep(3 * time.Second)
	w.mustCLI("connector", "update", "imp", "--db", db, "--cron", "")
	waitFor(t, "the scheduled runs to finish", time.Minute, func() bool {
		return scalar[int](t, pg, `SELECT count(*) FROM s3bridge.tasks WHERE task_type = 'IMPORT_FROM_S3' AND lifecycle NOT IN ('SUCCESS', 'ERROR', 'CANCELLED')`) == 0
	})
	if got := rows(); got != want(44*perObject) {
		t.Fatalf("rows after the scheduled runs: %s, want %s", got, want(44*perObject))
	}
	if n := scalar[int](t, pg, `SELECT count(*) FROM s3bridge.connector_ledger WHERE connector_name = 'imp'`); n != 44 {
		t.Errorf("%d ledger rows, want 44", n)
	}
	fires := column(t, pg, `SELECT "Scheduled"::text FROM s3bridge.connector_history WHERE "Connector" = 'imp' AND "Scheduled" IS NOT NULL ORDER BY "Scheduled"`)
	if len(fires) < 4 {
		t.Errorf("%d scheduled runs in the history over ~11 s of @every 2s, want at least 4: %v", len(fires), fires)
	}
	seen := map[string]bool{}
	for _, f := range fires {
		if seen[f] {
			t.Errorf("the fire of %s ran twice: %v", f, fires)
		}
		seen[f] = true
	}
	t.Logf("history:\n%s", w.mustCLI("connector", "history", "imp", "--db", db))
}
