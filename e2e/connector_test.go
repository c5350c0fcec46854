package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestConnectorCLI (issue 9): guess, preview and issue as a user runs
// them against PostgreSQL, with keys in clear in a one-shot config (never
// stored) and, for an agent, as references.
func TestConnectorCLI(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	db := testenv.Postgres(t)
	w.mustCLI("attach", "--db", db)
	admin := w.minio.Admin(t)
	put := func(key, body string) {
		t.Helper()
		_, err := admin.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(w.bucket), Key: aws.String(key), Body: bytes.NewReader([]byte(body))})
		if err != nil {
			t.Fatal(err)
		}
	}
	put("ev/2024-01-02.csv", "id,user,amount,paid,at\n1,ann,9.5,true,2024-01-02 10:00:00\n2,bob,3,false,2024-01-02 11:00:00\n")
	dir := t.TempDir()
	seed, load := filepath.Join(dir, "seed.yml"), filepath.Join(dir, "events.yml")
	writeFile(t, seed, fmt.Sprintf("in:\n  type: s3\n  bucket: %s\n  path_prefix: ev/\n  endpoint: %s\n  region: %s\n  access_key_id: %s\n  secret_access_key: %s\nout:\n  mode: append\n",
		w.bucket, w.minio.Endpoint, w.minio.Region, w.minio.AccessKey, w.minio.SecretKey))
	contains(t, "guess", w.mustCLI("connector", "guess", seed, "-o", load), "wrote "+load, "5 columns")
	contains(t, "preview", w.mustCLI("connector", "preview", load),
		"| id   | user   | amount | paid    | at", "| long | string | double | boolean | timestamp (%Y-%m-%d %H:%M:%S) |", "| 2    | bob    | 3      | false   | 2024-01-02 11:00:00 UTC       |")
	contains(t, "preview --json", w.mustCLI("connector", "preview", "--json", load), `"rows":[[1,"ann",9.5,true,"2024-01-02T10:00:00Z"]`)
	contains(t, "issue", w.mustCLI("connector", "issue", load, "--db", db, "--table", "events", "--auto-create-table"), "SUCCESS", "2 rows imported")
	put("ev/2024-01-01.csv", "id,user,amount,paid,at\n3,cat,1,true,2024-01-01 09:00:00\n")
	contains(t, "issue again", w.mustCLI("connector", "issue", load, "--db", db, "--table", "events"), "SUCCESS", "1 rows imported")
	contains(t, "issue with nothing new", w.mustCLI("connector", "issue", load, "--db", db, "--table", "events"), "no new data")
	pg := openDB(t, "pgx", db)
	if got := strings.Join(column(t, pg, `SELECT id || ':' || paid || ':' || to_char(at AT TIME ZONE 'UTC', 'HH24') FROM events ORDER BY id`), " "); got != "1:true:10 2:false:11 3:true:09" {
		t.Errorf("events: %s", got)
	}
	if n := scalar[int](t, pg, `SELECT count(*) FROM s3bridge.tasks WHERE task_metadata::text LIKE '%' || $1 || '%'`, w.minio.SecretKey); n != 0 {
		t.Errorf("%d task rows hold the secret key", n)
	}
	if n := scalar[int](t, pg, `SELECT count(*) FROM s3bridge.connector_ledger WHERE connector_name = 'events'`); n != 2 {
		t.Errorf("%d ledger rows, want 2", n)
	}
	if _, err := w.cli("connector", "issue", "--async", load, "--db", db, "--table", "events"); err == nil || !strings.Contains(err.Error(), "${env:NAME}") {
		t.Errorf("issue --async with keys in clear: %v", err)
	}
	// An agent runs a config whose keys are references to its environment.
	refs := filepath.Join(dir, "agent.yml")
	text := strings.Replace(strings.Replace(string(mustRead(t, load)), w.minio.SecretKey, "${env:AWS_SECRET_ACCESS_KEY}", 1), w.minio.AccessKey, "${env:AWS_ACCESS_KEY_ID}", 1)
	writeFile(t, refs, text)
	w.agent("--db", db)
	put("ev/2024-01-03.csv", "id,user,amount,paid,at\n4,dan,2,false,2024-01-03 08:00:00\n")
	id := strings.TrimSpace(w.mustCLI("connector", "issue", "--async", refs, "--name", "events", "--db", db, "--table", "events"))
	waitFor(t, "the agent to run the import", time.Minute, func() bool {
		return scalar[string](t, pg, `SELECT lifecycle FROM s3bridge.tasks WHERE task_id = $1`, id) == "SUCCESS"
	})
	if got := strings.Join(column(t, pg, `SELECT id::text FROM events ORDER BY id`), ","); got != "1,2,3,4" {
		t.Errorf("after the agent's run: %s", got)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
