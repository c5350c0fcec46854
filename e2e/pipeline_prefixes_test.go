package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/internal/filecheck"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/s3store"
)

// TestPipelinesShareABucket (issue 10): two pipelines of one database
// write into one bucket under their own prefixes, one with --all-tables,
// one with a table. A table created later is picked up by the first only.
// Pausing one stops its checkpoint while the other goes on; resuming it
// catches up. A 100,000-row transaction arrives whole; a rolled-back one
// writes nothing. Drop removes each one's slot and publication.
func TestPipelinesShareABucket(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	src := testenv.Postgres(t)
	pg := openDB(t, "pgx", src)
	exec := func(q string) {
		t.Helper()
		if _, err := pg.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE shared (id int PRIMARY KEY, v int); INSERT INTO shared SELECT g, 0 FROM generate_series(1, 100) g`)
	inst := "sqlite://" + t.TempDir() + "/i.db"
	w.mustCLI("attach", "--db", inst)
	w.mustCLI("pipeline", "create", "e2e_share_all", "--db", inst, "--source", src, "--all-tables",
		"--bucket", w.bucket, "--prefix", "all/", "--flush-interval", "300ms")
	t.Cleanup(func() { w.cli("pipeline", "drop", "--db", inst, "e2e_share_all") })
	w.mustCLI("pipeline", "create", "e2e_share_one", "--db", inst, "--source", src, "--tables", "public.shared",
		"--bucket", w.bucket, "--prefix", "one/", "--flush-interval", "300ms")
	t.Cleanup(func() { w.cli("pipeline", "drop", "--db", inst, "e2e_share_one") })
	w.agent("--db", inst, "--lease", "3s")
	type view struct {
		State string `json:"state"`
		LSN   string `json:"checkpoint_lsn"`
	}
	show := func(name string) view {
		var v view
		if err := json.Unmarshal([]byte(w.mustCLI("pipeline", "show", "--db", inst, "--json", name)), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, n := range []string{"e2e_share_all", "e2e_share_one"} {
		waitFor(t, n+" to stream", time.Minute, func() bool { return show(n).State == "STREAMING" })
	}
	past := func(name, lsn string) bool {
		var ok bool
		v := show(name)
		return v.LSN != "" && pg.QueryRow(`SELECT $1::pg_lsn >= $2::pg_lsn`, v.LSN, lsn).Scan(&ok) == nil && ok
	}
	fence := func() string {
		var lsn string
		if err := pg.QueryRow(`SELECT pg_logical_emit_message(false, 'e2e', 'fence')::text`).Scan(&lsn); err != nil {
			t.Fatal(err)
		}
		return lsn
	}

	// Pause one: its checkpoint stays, the other's moves on.
	w.mustCLI("pipeline", "pause", "--db", inst, "e2e_share_one")
	waitFor(t, "the paused pipeline's agent to let it go", 30*time.Second, func() bool {
		return !strings.Contains(w.mustCLI("pipeline", "show", "--db", inst, "--json", "e2e_share_one"), `"agent"`)
	})
	paused := show("e2e_share_one")
	exec(`UPDATE shared SET v = 1 WHERE id <= 10`)
	exec(`CREATE TABLE later (id int PRIMARY KEY, note text); INSERT INTO later SELECT g, 'n' || g FROM generate_series(1, 50) g`)
	exec(`BEGIN; INSERT INTO shared SELECT g, 2 FROM generate_series(1001, 101000) g; COMMIT`)
	exec(`BEGIN; INSERT INTO shared VALUES (-1, -1); UPDATE later SET note = 'gone'; ROLLBACK`)
	end := fence()
	waitFor(t, "the running pipeline to pass the changes", time.Minute, func() bool { return past("e2e_share_all", end) })
	if v := show("e2e_share_one"); v.State != "PAUSED" || v.LSN != paused.LSN {
		t.Errorf("the paused pipeline: %+v, paused at %s", v, paused.LSN)
	}
	w.mustCLI("pipeline", "resume", "--db", inst, "e2e_share_one")
	waitFor(t, "the resumed pipeline to catch up", time.Minute, func() bool { return past("e2e_share_one", end) })

	store, err := s3store.New(t.Context(), s3store.Config{Endpoint: w.minio.Endpoint, Region: w.minio.Region,
		AccessKeyID: w.minio.AccessKey, SecretAccessKey: w.minio.SecretKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	manifest := func(prefix string) (name string, tables map[string]string) {
		rc, _, err := store.Open(t.Context(), w.bucket, prefix+"_pipeline.json")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, _ := io.ReadAll(rc)
		var m struct {
			Pipeline string `json:"pipeline"`
			Tables   []struct {
				Table, Prefix, Snapshot string
			} `json:"tables"`
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		tables = map[string]string{}
		for _, mt := range m.Tables {
			tables[mt.Table] = prefix + mt.Prefix + "|" + mt.Snapshot
		}
		return m.Pipeline, tables
	}
	source := func(q string) map[string]string {
		out := map[string]string{}
		rows, err := pg.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var v string
			rows.Scan(&id, &v)
			out[fmt.Sprint(id)] = v
		}
		return out
	}
	want := map[string]map[string]string{
		"shared": source(`SELECT id, v::text FROM shared`),
		"later":  source(`SELECT id, note FROM later`),
	}
	for _, c := range []struct {
		prefix, name string
		tables       []string
	}{
		{"all/", "e2e_share_all", []string{"later", "shared"}},
		{"one/", "e2e_share_one", []string{"shared"}},
	} {
		name, tables := manifest(c.prefix)
		if name != c.name || len(tables) != len(c.tables) {
			t.Errorf("%s_pipeline.json: pipeline %s, tables %v; want %s, %v", c.prefix, name, tables, c.name, c.tables)
		}
		for _, table := range c.tables {
			dir, id, _ := strings.Cut(tables[table], "|")
			if table == "later" && id != "" {
				t.Errorf("%slater, created after the pipeline, has a snapshot %s", c.prefix, id)
			}
			got := replayLatest(t, filecheck.ReadAll(t, store, w.bucket, dir), dir, id, map[string]string{"shared": "v", "later": "note"}[table])
			if len(got) != len(want[table]) {
				t.Errorf("%s%s: %d rows from the files, %d in the source", c.prefix, table, len(got), len(want[table]))
			}
			bad := 0
			for k, v := range want[table] {
				if got[k] != v && bad < 5 {
					t.Errorf("%s%s row %s: files %q, source %q", c.prefix, table, k, got[k], v)
					bad++
				}
			}
		}
	}
	for _, n := range []string{"e2e_share_all", "e2e_share_one"} {
		w.mustCLI("pipeline", "drop", "--db", inst, n)
		if k := scalar[int](t, pg, `SELECT count(*) FROM pg_replication_slots WHERE slot_name = 's3bridge_`+n+`'`) +
			scalar[int](t, pg, `SELECT count(*) FROM pg_publication WHERE pubname = 's3bridge_`+n+`'`); k != 0 {
			t.Errorf("%s: %d slots and publications left after drop", n, k)
		}
	}
}
