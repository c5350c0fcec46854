package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/internal/cdctest"
	"github.com/s3bridge/s3bridge/internal/filecheck"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/s3store"
)

// parquetRecord and jsonRecord are DuckDB queries that make of each
// record of a file the same text for both formats: op|before id|before
// v|after id|after v|amount|tags|at, with NULL as "".
const (
	parquetRecord = `SELECT op || '|' || coalesce(CAST(before.id AS VARCHAR), '') || '|' || coalesce(before.v, '')
		|| '|' || coalesce(CAST(after.id AS VARCHAR), '') || '|' || coalesce(after.v, '') || '|' || coalesce(CAST(after.amount AS VARCHAR), '')
		|| '|' || coalesce(array_to_string(after.tags, ','), '') || '|' || coalesce(CAST(after."at" AS VARCHAR), '')
		FROM read_parquet(%s)`
	jsonRecord = `SELECT json_extract_string(json, '$.op') || '|' || coalesce(json_extract_string(json, '$.before.id'), '')
		|| '|' || coalesce(json_extract_string(json, '$.before.v'), '') || '|' || coalesce(json_extract_string(json, '$.after.id'), '')
		|| '|' || coalesce(json_extract_string(json, '$.after.v'), '') || '|' || coalesce(json_extract_string(json, '$.after.amount'), '')
		|| '|' || coalesce(array_to_string(CAST(json_extract(json, '$.after.tags') AS VARCHAR[]), ','), '')
		|| '|' || coalesce(CAST(CAST(json_extract_string(json, '$.after.at') AS TIMESTAMPTZ) AS VARCHAR), '')
		FROM read_ndjson_objects(%s)`
)

// TestPipelineFormat (issue 10): two pipelines on one table, one writing
// Parquet (the default codec, snappy) and one JSON Lines (zstd), snapshot
// then inserts, updates, deletes and a transaction of two statements.
// DuckDB reads every file of both: the keys have the format's extension,
// the records their ops, before and after images and values, and the
// snapshot with the changes applied in order is the source table. After
// the agent is killed and another takes over, the files a checkpoint
// recorded are all still there and the union of the files is again the
// source, no change twice. --format jsonl with the CLI's default codec
// (snappy) is refused with the codecs to give instead.
func TestPipelineFormat(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	src := testenv.Postgres(t)
	pg := openDB(t, "pgx", src)
	run := func(q string) {
		t.Helper()
		if _, err := pg.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	run(`CREATE TABLE orders (id int PRIMARY KEY, v text, amount numeric(10,2), tags text[], "at" timestamptz);
		ALTER TABLE orders REPLICA IDENTITY FULL;
		INSERT INTO orders VALUES (1, 'a', 1.5, '{x,y}', '2024-02-29 13:14:15.123456+02'), (2, 'b', NULL, '{}', NULL),
			(3, 'c', -3, NULL, '2000-01-01 00:00:00.000001+00')`)
	inst := "sqlite://" + t.TempDir() + "/i.db"
	w.mustCLI("attach", "--db", inst)
	// JSON Lines has no snappy: its default codec is null, and snappy is
	// refused with the choices.
	if _, err := w.cli("pipeline", "create", "e2e_fmt_bad", "--db", inst, "--source", src, "--tables", "public.orders",
		"--bucket", w.bucket, "--format", "jsonl", "--codec", "snappy"); err == nil || !strings.Contains(err.Error(), "give --codec zstd (.jsonl.zst), deflate (gzip, .jsonl.gz) or null") {
		t.Errorf("--format jsonl --codec snappy: %v", err)
	}
	contains(t, "jsonl's default codec", w.mustCLI("pipeline", "create", "e2e_fmt_default", "--db", inst, "--source", src, "--tables", "public.orders",
		"--bucket", w.bucket, "--prefix", "def/", "--format", "jsonl", "--json"), `"format":"jsonl","codec":"null"`)
	w.mustCLI("pipeline", "drop", "--db", inst, "e2e_fmt_default")
	pipelines := []struct{ name, prefix, ext, query string }{
		{"e2e_fmt_parquet", "pq/", ".parquet", parquetRecord},
		{"e2e_fmt_jsonl", "js/", ".jsonl.zst", jsonRecord},
	}
	w.mustCLI("pipeline", "create", pipelines[0].name, "--db", inst, "--source", src, "--tables", "public.orders",
		"--bucket", w.bucket, "--prefix", pipelines[0].prefix, "--flush-interval", "300ms", "--format", "parquet")
	w.mustCLI("pipeline", "create", pipelines[1].name, "--db", inst, "--source", src, "--tables", "public.orders",
		"--bucket", w.bucket, "--prefix", pipelines[1].prefix, "--flush-interval", "300ms", "--format", "jsonl", "--codec", "zstd")
	t.Cleanup(func() {
		// After the agents stopped, and not with w.cli: the test's
		// context is over by now, and the slots must go.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, p := range pipelines {
			cmd := exec.CommandContext(ctx, binary, "pipeline", "drop", "--db", inst, p.name)
			cmd.Env = w.env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("drop %s: %v: %s", p.name, err, out)
			}
		}
	})
	type shown struct {
		State string `json:"state"`
		LSN   string `json:"checkpoint_lsn"`
	}
	show := func(name string) shown {
		var v shown
		json.Unmarshal([]byte(w.mustCLI("pipeline", "show", "--db", inst, "--json", name)), &v)
		return v
	}
	// durable waits until both pipelines' checkpoints pass every commit.
	durable := func() {
		t.Helper()
		var end string
		if err := pg.QueryRow(`SELECT pg_current_wal_lsn()::text`).Scan(&end); err != nil {
			t.Fatal(err)
		}
		for _, p := range pipelines {
			waitFor(t, p.name+"'s checkpoint to pass the last change", time.Minute, func() bool {
				v := show(p.name)
				var done bool
				pg.QueryRow(`SELECT $1::pg_lsn >= $2::pg_lsn`, v.LSN, end).Scan(&done)
				return v.State == "STREAMING" && done
			})
		}
	}
	agent := w.agent("--db", inst, "--lease", "3s")
	for _, p := range pipelines {
		waitFor(t, p.name+" to stream", time.Minute, func() bool { return show(p.name).State == "STREAMING" })
	}
	run(`INSERT INTO orders VALUES (4, 'd', 4.25, '{"z w",NULL}', '1999-12-31 23:59:59.999999+00')`)
	run(`UPDATE orders SET v = 'a2', amount = 1.01 WHERE id = 1`)
	run(`DELETE FROM orders WHERE id = 2`)
	run(`BEGIN; INSERT INTO orders VALUES (5, 'e', 0, '{}', NULL); UPDATE orders SET tags = '{q}' WHERE id = 3; COMMIT`)
	durable()

	store, err := s3store.New(t.Context(), s3store.Config{Endpoint: w.minio.Endpoint, Region: w.minio.Region,
		AccessKeyID: w.minio.AccessKey, SecretAccessKey: w.minio.SecretKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	u, err := url.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	// records reads a pipeline's files with DuckDB, in key order (change
	// files sort by their first commit), and returns the records of its
	// snapshot parts and those of its change files.
	records := func(p struct{ name, prefix, ext, query string }) (snapshot, changes []string) {
		t.Helper()
		keys := filecheck.Keys(t, store, w.bucket, p.prefix)
		for _, k := range keys {
			if strings.HasSuffix(k, ".avro") {
				t.Errorf("%s wrote an Avro file: %s", p.name, k)
			}
			if !strings.HasSuffix(k, p.ext) {
				continue
			}
			local := filepath.Join(dir, strings.ReplaceAll(k, "/", "_"))
			rc, _, err := store.Open(t.Context(), w.bucket, k)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(local, b, 0o600); err != nil {
				t.Fatal(err)
			}
			_, rows := cdctest.DuckDB(t, fmt.Sprintf(p.query, cdctest.Quote(local)))
			for _, r := range rows {
				rec := fmt.Sprint(r[0])
				if strings.Contains(k, "/snapshot/") {
					snapshot = append(snapshot, rec)
				} else {
					changes = append(changes, rec)
				}
			}
		}
		if !slices.Contains(keys, p.prefix+db+"/public/orders/_schemas/v1.avsc") || !slices.Contains(keys, p.prefix+"_pipeline.json") {
			t.Errorf("%s: no _schemas/v1.avsc or _pipeline.json in %v", p.name, keys)
		}
		return snapshot, changes
	}
	wantSnapshot := []string{
		"r|||1|a|1.50|x,y|2024-02-29 11:14:15.123456+00",
		"r|||2|b|||",
		"r|||3|c|-3.00||2000-01-01 00:00:00.000001+00",
	}
	wantChanges := []string{
		"c|||4|d|4.25|z w|1999-12-31 23:59:59.999999+00",
		"u|1|a|1|a2|1.01|x,y|2024-02-29 11:14:15.123456+00",
		"d|2|b|||||",
		"c|||5|e|0.00||",
		"u|3|c|3|c|-3.00|q|2000-01-01 00:00:00.000001+00",
	}
	for _, p := range pipelines {
		snapshot, changes := records(p)
		if !slices.Equal(snapshot, wantSnapshot) {
			t.Errorf("%s: snapshot\n%s\nwant\n%s", p.name, strings.Join(snapshot, "\n"), strings.Join(wantSnapshot, "\n"))
		}
		if !slices.Equal(changes, wantChanges) {
			t.Errorf("%s: changes\n%s\nwant\n%s", p.name, strings.Join(changes, "\n"), strings.Join(wantChanges, "\n"))
		}
		checkReplay(t, pg, p.name, snapshot, changes)
	}
	// JSON Lines carries timestamps as ISO 8601 text and decimals as
	// exact strings: the raw line of the insert.
	_, rows := cdctest.DuckDB(t, `SELECT json_extract_string(json, '$.after.at'), json_extract(json, '$.after.amount'), json_extract(json, '$.after.tags')
		FROM read_ndjson_objects(`+cdctest.Quote(filepath.Join(dir, "*.jsonl.zst"))+`) WHERE json_extract_string(json, '$.after.id') = '4'`)
	if got := fmt.Sprint(rows); got != `[[1999-12-31T23:59:59.999999Z "4.25" ["z w",null]]]` {
		t.Errorf("the JSON Lines insert: %s", got)
	}

	// A crash: the agent is killed and another takes over; the files the
	// checkpoints recorded (the snapshot parts among them) stay, and the
	// next changes follow without any twice.
	if err := agent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	agent.Wait()
	w.agent("--db", inst, "--lease", "3s")
	run(`INSERT INTO orders VALUES (6, 'f', 6, '{}', NULL)`)
	durable()
	for _, p := range pipelines {
		snapshot, changes := records(p)
		if !slices.Equal(snapshot, wantSnapshot) {
			t.Errorf("%s after a restart: snapshot\n%s\nwant\n%s", p.name, strings.Join(snapshot, "\n"), strings.Join(wantSnapshot, "\n"))
		}
		if want := append(slices.Clone(wantChanges), "c|||6|f|6.00||"); !slices.Equal(changes, want) {
			t.Errorf("%s after a restart: changes\n%s\nwant\n%s", p.name, strings.Join(changes, "\n"), strings.Join(want, "\n"))
		}
		checkReplay(t, pg, p.name, snapshot, changes)
	}
}

// checkReplay applies a pipeline's records (as parquetRecord makes them)
// to an empty table, the snapshot then the changes, and compares it with
// the source table row by row.
func checkReplay(t *testing.T, pg *sql.DB, name string, snapshot, changes []string) {
	t.Helper()
	table := map[string]string{}
	for _, rec := range append(slices.Clone(snapshot), changes...) {
		f := strings.Split(rec, "|")
		if len(f) != 8 {
			t.Fatalf("%s: record %q", name, rec)
		}
		switch f[0] {
		case "r", "c":
			table[f[3]] = strings.Join(f[4:], "|")
		case "u":
			delete(table, f[1])
			table[f[3]] = strings.Join(f[4:], "|")
		case "d":
			delete(table, f[1])
		case "t":
			clear(table)
		}
	}
	want := map[string]string{}
	rows, err := pg.Query(`SELECT id::text, coalesce(v, ''), coalesce(amount::text, ''), coalesce(array_to_string(tags, ','), ''),
		coalesce(to_char("at" AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00', '') FROM orders`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, v, amount, tags, at string
		if err := rows.Scan(&id, &v, &amount, &tags, &at); err != nil {
			t.Fatal(err)
		}
		want[id] = strings.Join([]string{v, amount, tags, at}, "|")
	}
	if !maps.Equal(table, want) {
		t.Errorf("%s: the files replayed give\n%v\nthe source has\n%v", name, table, want)
	}
}
