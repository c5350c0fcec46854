package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestPipelineCLI (issue 10): create checks the source's prerequisites and
// says how to fix each; a source URL with a password is refused; list,
// show, pause, resume and drop work on the stored pipeline.
func TestPipelineCLI(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	src := testenv.Postgres(t)
	pg := openDB(t, "pgx", src)
	if _, err := pg.Exec(`CREATE TABLE orders (id int PRIMARY KEY, v text); CREATE TABLE nopk (a int)`); err != nil {
		t.Fatal(err)
	}
	inst := "sqlite://" + t.TempDir() + "/i.db"
	w.mustCLI("attach", "--db", inst)
	_, err := w.cli("pipeline", "create", "e2e_cli_shop", "--db", inst, "--source", src, "--tables", "public.orders,public.nopk", "--bucket", w.bucket)
	if err == nil || !strings.Contains(err.Error(), `table "public"."nopk" has no primary key`) || !strings.Contains(err.Error(), "REPLICA IDENTITY FULL") {
		t.Fatalf("create over a table without a key: %v", err)
	}
	if out := w.mustCLI("pipeline", "list", "--db", inst, "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("a refused create stored something: %s", out)
	}
	withPassword := strings.Replace(src, "postgres@", "postgres:hunter2@", 1)
	if _, err := w.cli("pipeline", "create", "e2e_cli_shop", "--db", inst, "--source", withPassword, "--tables", "public.orders", "--bucket", w.bucket); err == nil ||
		!strings.Contains(err.Error(), "holds a password") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("a source with a password: %v", err)
	}
	contains(t, "create", w.mustCLI("pipeline", "create", "e2e_cli_shop", "--db", inst, "--source", src, "--tables", "public.orders,public.nopk",
		"--bucket", w.bucket, "--prefix", "shop/", "--replica-identity-full"), "pipeline e2e_cli_shop created", "State      : CREATED")
	if got := scalar[string](t, pg, `SELECT string_agg(relname || ':' || relreplident::text, ',' ORDER BY relname) FROM pg_class WHERE relname IN ('orders', 'nopk')`); got != "nopk:f,orders:f" {
		t.Errorf("replica identities after --replica-identity-full: %s", got)
	}
	contains(t, "list", w.mustCLI("pipeline", "list", "--db", inst), "e2e_cli_shop  CREATED  public.orders,public.nopk  s3://"+w.bucket+"/shop/")
	contains(t, "show --json", w.mustCLI("pipeline", "show", "--db", inst, "--json", "e2e_cli_shop"), `"state":"CREATED"`, `"codec":"snappy"`, `"flush_interval":"5s"`)
	contains(t, "pause", w.mustCLI("pipeline", "pause", "--db", inst, "e2e_cli_shop"), "State      : PAUSED")
	contains(t, "resume", w.mustCLI("pipeline", "resume", "--db", inst, "e2e_cli_shop"), "State      : CREATED")
	contains(t, "drop", w.mustCLI("pipeline", "drop", "--db", inst, "e2e_cli_shop"), "pipeline e2e_cli_shop dropped")
	if _, err := w.cli("pipeline", "show", "--db", inst, "e2e_cli_shop"); err == nil {
		t.Error("show after drop succeeded")
	}
}

// TestPipelineStatusView (issue 10): s3bridge.pipeline_status shows each
// pipeline with the figures of `pipeline show`, and the slot's WAL when
// the source is the instance's own database.
func TestPipelineStatusView(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	db := testenv.Postgres(t)
	pg := openDB(t, "pgx", db)
	if _, err := pg.Exec(`CREATE TABLE items (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	w.mustCLI("attach", "--db", db)
	w.mustCLI("pipeline", "create", "e2e_status_items", "--db", db, "--source", db, "--tables", "public.items", "--bucket", w.bucket, "--prefix", "it/")
	t.Cleanup(func() { w.cli("pipeline", "drop", "--db", db, "e2e_status_items") })
	got := strings.Join(column(t, pg, `SELECT name || ' ' || state || ' ' || tables || ' ' || target || ' ' || coalesce(checkpoint_lsn, '-') || ' ' || (retained_wal_bytes IS NULL)::text FROM s3bridge.pipeline_status`), ";")
	if want := "e2e_status_items CREATED public.items s3://" + w.bucket + "/it/ - true"; got != want {
		t.Errorf("pipeline_status before an agent: %q, want %q", got, want)
	}
	w.agent("--db", db)
	waitFor(t, "the pipeline to stream", time.Minute, func() bool {
		return scalar[string](t, pg, `SELECT state FROM s3bridge.pipeline_status WHERE name = 'e2e_status_items'`) == "STREAMING"
	})
	if n := scalar[int64](t, pg, `SELECT coalesce(retained_wal_bytes, -1) FROM s3bridge.pipeline_status WHERE name = 'e2e_status_items'`); n < 0 {
		t.Errorf("retained_wal_bytes of a slot in this database: %d", n)
	}
	// Changes give the agent's figures: the last file, a rate, a lag.
	if _, err := pg.Exec(`INSERT INTO items SELECT generate_series(1, 5000)`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pipeline's figures", time.Minute, func() bool {
		return scalar[string](t, pg, `SELECT coalesce(last_file, '') FROM s3bridge.pipeline_status WHERE name = 'e2e_status_items'`) != ""
	})
	got = strings.Join(column(t, pg, `SELECT (last_file LIKE '%/public/items/changes/%.avro')::text || ' ' || (rows_per_second > 0)::text || ' ' || (lag_seconds >= 0 AND lag_seconds < 60)::text
		FROM s3bridge.pipeline_status WHERE name = 'e2e_status_items'`), ";")
	if got != "true true true" {
		t.Errorf("pipeline_status's last file, rate and lag: %s", got)
	}
	contains(t, "show", w.mustCLI("pipeline", "show", "--db", db, "e2e_status_items"), "Throughput : ", "Lag        : ", "Last file  : ")
}

// TestPipelineDropAfterAgentDied (issue 10): drop of a pipeline whose
// agent was killed waits for its lease to run out, not forever, then
// removes the slot and the publication.
func TestPipelineDropAfterAgentDied(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	src := testenv.Postgres(t)
	pg := openDB(t, "pgx", src)
	if _, err := pg.Exec(`CREATE TABLE items (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	inst := "sqlite://" + t.TempDir() + "/i.db"
	w.mustCLI("attach", "--db", inst)
	w.mustCLI("pipeline", "create", "e2e_drop_items", "--db", inst, "--source", src, "--tables", "public.items", "--bucket", w.bucket)
	agent := w.agent("--db", inst, "--lease", "3s")
	waitFor(t, "the pipeline to stream", time.Minute, func() bool {
		return strings.Contains(w.mustCLI("pipeline", "show", "--db", inst, "--json", "e2e_drop_items"), `"state":"STREAMING"`)
	})
	agent.Process.Signal(syscall.SIGKILL)
	agent.Wait()
	start := time.Now()
	contains(t, "drop", w.mustCLI("pipeline", "drop", "--db", inst, "e2e_drop_items"), "pipeline e2e_drop_items dropped")
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("drop after the agent died took %s", took)
	}
	if n := scalar[int](t, pg, `SELECT count(*) FROM pg_replication_slots WHERE slot_name = 's3bridge_e2e_drop_items'`); n != 0 {
		t.Errorf("%d slots left after drop", n)
	}
	if n := scalar[int](t, pg, `SELECT count(*) FROM pg_publication WHERE pubname = 's3bridge_e2e_drop_items'`); n != 0 {
		t.Errorf("%d publications left after drop", n)
	}
}
