package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/internal/filecheck"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/s3store"
)

// TestPipelineAddTableAndSnapshot (issue 10): with an agent streaming a
// pipeline, `pipeline add-table` captures one more table — its rows as of
// a snapshot taken beside the stream, then its changes — and `pipeline
// snapshot --tables` takes a new snapshot of a captured table while its
// rows change. The agent picks up both without a restart; show lists a
// request until its snapshot is durable. Rebuilt the way docs/pipelines.md
// tells a reader (the latest snapshot in _pipeline.json, then the changes
// at or after its LSN), each table is the source's, row for row. Mistakes
// (an unknown table, one not captured) are refused and change nothing.
func TestPipelineAddTableAndSnapshot(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	src := testenv.Postgres(t)
	pg := openDB(t, "pgx", src)
	if _, err := pg.Exec(`CREATE TABLE orders (id int PRIMARY KEY, v int); INSERT INTO orders SELECT g, 0 FROM generate_series(1, 2000) g;
		CREATE TABLE refunds (id int PRIMARY KEY, v int); INSERT INTO refunds SELECT g, g FROM generate_series(1, 500) g`); err != nil {
		t.Fatal(err)
	}
	runBeside(t, w, besideSource{name: "e2e_beside", url: src, schema: "public", db: pg,
		// A message in the WAL: the checkpoint passes it once every change
		// before it is durable.
		fence: func() func(besideView) bool {
			var end string
			if err := pg.QueryRow(`SELECT pg_logical_emit_message(false, 'e2e', 'fence')::text`).Scan(&end); err != nil {
				t.Fatal(err)
			}
			return func(v besideView) bool {
				var done bool
				return v.LSN != "" && pg.QueryRow(`SELECT $1::pg_lsn >= $2::pg_lsn`, v.LSN, end).Scan(&done) == nil && done
			}
		}})
}

// besideSource is the source of runBeside's pipeline, whose schema
// holds the tables orders (id, v: 2,000 rows of v 0) and refunds (id, v:
// 500 rows of v = id).
type besideSource struct {
	name   string // the pipeline's
	url    string // --source
	schema string // the tables' schema (MariaDB: database)
	db     *sql.DB
	// fence marks the end of the load in the source's log and returns
	// whether a checkpoint is past it.
	fence func() func(besideView) bool
}

// besideView is what runBeside reads of `pipeline show --json`.
type besideView struct {
	State    string `json:"state"`
	LSN      string `json:"checkpoint_lsn"`
	Position string `json:"checkpoint_position"`
	Pending  []struct {
		Seq int64 `json:"seq"`
	} `json:"pending_snapshots"`
	Config struct {
		Tables []string `json:"tables"`
	} `json:"config"`
}

// runBeside runs TestPipelineAddTableAndSnapshot's test on src: see there.
func runBeside(t *testing.T, w *world, src besideSource) {
	pg := src.db
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := pg.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	inst := "sqlite://" + t.TempDir() + "/i.db"
	w.mustCLI("attach", "--db", inst)
	name := src.name
	table := func(t string) string { return src.schema + "." + t }
	w.mustCLI("pipeline", "create", name, "--db", inst, "--source", src.url, "--tables", table("orders"),
		"--bucket", w.bucket, "--prefix", "side/", "--flush-interval", "300ms")
	t.Cleanup(func() { w.cli("pipeline", "drop", "--db", inst, name) })
	w.agent("--db", inst, "--lease", "3s")
	show := func() besideView {
		var v besideView
		if err := json.Unmarshal([]byte(w.mustCLI("pipeline", "show", "--db", inst, "--json", name)), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	waitFor(t, "the pipeline to stream", time.Minute, func() bool { return show().State == "STREAMING" })
	exec(`UPDATE refunds SET v = -v WHERE id <= 50`) // before it is captured

	// Refused, changing nothing.
	if _, err := w.cli("pipeline", "add-table", "--db", inst, name, table("nope")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("add-table of a missing table: %v", err)
	}
	if _, err := w.cli("pipeline", "snapshot", "--db", inst, "--tables", table("refunds"), name); err == nil || !strings.Contains(err.Error(), "not captured") {
		t.Errorf("snapshot of a table not captured: %v", err)
	}
	if _, err := w.cli("pipeline", "add-table", "--db", inst, name, table("orders")); err == nil || !strings.Contains(err.Error(), "captured already") {
		t.Errorf("add-table of a captured table: %v", err)
	}
	if v := show(); len(v.Config.Tables) != 1 || len(v.Pending) != 0 {
		t.Fatalf("refused commands changed the pipeline: %+v", v)
	}

	// Rows change all along.
	stop := make(chan struct{})
	loadDone := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				loadDone <- nil
				return
			default:
			}
			_, err := pg.Exec(fmt.Sprintf(`BEGIN; UPDATE orders SET v = v + 1 WHERE id = %[1]d; UPDATE refunds SET v = v + 1 WHERE id = %[2]d;
				INSERT INTO refunds VALUES (%[3]d, 1); DELETE FROM orders WHERE id = %[4]d; COMMIT`, 1+i%2000, 1+i%500, 1000+i, 3000+i))
			if err != nil {
				loadDone <- err
				return
			}
			if i%7 == 0 {
				pg.Exec(fmt.Sprintf(`INSERT INTO orders VALUES (%d, 0)`, 3000+i+7))
			}
		}
	}()
	contains(t, "add-table", w.mustCLI("pipeline", "add-table", "--db", inst, name, table("refunds")),
		"pipeline "+name+" now captures "+table("refunds")+" (its snapshot is request 1)", "Pending    : snapshot request 1 ("+table("refunds")+")")
	waitFor(t, "the added table's snapshot", time.Minute, func() bool { return len(show().Pending) == 0 })
	out := w.mustCLI("pipeline", "snapshot", "--db", inst, "--tables", table("orders"), "--json", name)
	if !strings.Contains(out, `"pending_snapshots":[{"seq":2,"tables":["`+table("orders")+`"]}]`) {
		t.Errorf("snapshot --json: %s", out)
	}
	waitFor(t, "the requested snapshot", time.Minute, func() bool { return len(show().Pending) == 0 })
	time.Sleep(500 * time.Millisecond)
	close(stop)
	if err := <-loadDone; err != nil {
		t.Fatalf("load: %v", err)
	}
	reached := src.fence()
	waitFor(t, "the checkpoint to pass the last change", time.Minute, func() bool { return reached(show()) })

	store, err := s3store.New(t.Context(), s3store.Config{Endpoint: w.minio.Endpoint, Region: w.minio.Region,
		AccessKeyID: w.minio.AccessKey, SecretAccessKey: w.minio.SecretKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rc, _, err := store.Open(t.Context(), w.bucket, "side/_pipeline.json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	var manifest struct {
		Tables []struct {
			Table     string `json:"table"`
			Prefix    string `json:"prefix"`
			Snapshot  string `json:"snapshot"`
			Snapshots []struct {
				ID string `json:"id"`
			} `json:"snapshots"`
		} `json:"tables"`
	}
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatal(err)
	}
	for _, mt := range manifest.Tables {
		wantSnaps := map[string]int{"orders": 2, "refunds": 1}[mt.Table]
		if len(mt.Snapshots) != wantSnaps {
			t.Errorf("%s has %d snapshots in the manifest, want %d: %s", mt.Table, len(mt.Snapshots), wantSnaps, b)
		}
		got := replayLatest(t, filecheck.ReadAll(t, store, w.bucket, "side/"+mt.Prefix), "side/"+mt.Prefix, mt.Snapshot, "v")
		want := map[string]string{}
		rows, err := pg.Query(fmt.Sprintf(`SELECT id, v FROM %s`, mt.Table))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, v int64
			rows.Scan(&id, &v)
			want[fmt.Sprint(id)] = fmt.Sprint(v)
		}
		rows.Close()
		sameRows(t, mt.Table, got, want)
	}
	if len(manifest.Tables) != 2 {
		t.Errorf("manifest tables: %s", b)
	}
}

// replayLatest rebuilds an (id, col) table from its files under dir: the
// parts of snapshot id, then the changes committed at or after its LSN
// (the snapshot id's hex digits), in key order; with no snapshot (id ""),
// every change.
func replayLatest(t *testing.T, files []filecheck.File, dir, id, col string) map[string]string {
	t.Helper()
	var from uint64
	if id != "" {
		var err error
		if from, err = strconv.ParseUint(id, 16, 64); err != nil {
			t.Fatalf("snapshot id %q: %v", id, err)
		}
	}
	table := map[string]string{}
	var changes []filecheck.File
	row := func(m any) (string, string) {
		r := m.(map[string]any)
		return fmt.Sprint(r["id"]), fmt.Sprint(r[col])
	}
	for _, f := range files {
		switch {
		case strings.HasPrefix(f.Key, dir+"snapshot/"+id+"/"):
			for _, rec := range f.Records {
				k, v := row(rec["after"])
				table[k] = v
			}
		case strings.HasPrefix(f.Key, dir+"changes/"):
			changes = append(changes, f)
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Key < changes[j].Key })
	for _, f := range changes {
		for _, rec := range f.Records {
			lsn, err := strconv.ParseUint(fmt.Sprint(rec["source"].(map[string]any)["lsn"]), 10, 64)
			if err != nil {
				t.Fatalf("%s: lsn: %v", f.Key, err)
			}
			if lsn < from {
				continue
			}
			switch rec["op"] {
			case "c", "u":
				k, v := row(rec["after"])
				table[k] = v
			case "d":
				k, _ := row(rec["before"])
				delete(table, k)
			case "t":
				clear(table)
			}
		}
	}
	return table
}
