package e2e

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/internal/filecheck"
	"github.com/s3bridge/s3bridge/s3store"
)

// TestPipelineMariaDBAddTableAndSnapshot is TestPipelineAddTableAndSnapshot
// on a MariaDB source (issue 11): `pipeline add-table` and `pipeline
// snapshot --tables` while the agent streams, the tables rebuilt from the
// latest snapshot and the changes after it.
func TestPipelineMariaDBAddTableAndSnapshot(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	src, dbName, my := mariaSource(t, w)
	if _, err := my.Exec(`CREATE TABLE orders (id int PRIMARY KEY, v int); INSERT INTO orders SELECT seq, 0 FROM seq_1_to_2000;
		CREATE TABLE refunds (id int PRIMARY KEY, v int); INSERT INTO refunds SELECT seq, seq FROM seq_1_to_500`); err != nil {
		t.Fatal(err)
	}
	runBeside(t, w, besideSource{name: "e2e_maria_beside", url: src, schema: dbName, db: my,
		// A transaction of its own: the checkpoint's GTIDs reach it once
		// every change before it is durable.
		fence: func() func(besideView) bool {
			last := lastGTID(t, my, "CREATE TABLE fence (id int PRIMARY KEY)")
			return func(v besideView) bool { return gtidReached(v.Position, last) }
		}})
}

// lastGTID runs q in a session of its own and returns the GTID the
// server logged it with.
func lastGTID(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	var gtid string
	if err := conn.QueryRowContext(t.Context(), "SELECT @@last_gtid").Scan(&gtid); err != nil || gtid == "" {
		t.Fatalf("the GTID of %s: %q, %v", q, gtid, err)
	}
	return gtid
}

// TestPipelineMariaDBSnapshotModes: on a MariaDB source, --snapshot never
// streams from the pipeline's start with no copy, and its records say
// where the server logged each change (source.gtid, server_id, file and
// pos as the server reports them); --snapshot initial_only copies the
// table — records carrying the snapshot's seam — and streams nothing,
// and refuses `pipeline snapshot`.
func TestPipelineMariaDBSnapshotModes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	src, dbName, my := mariaSource(t, w)
	if _, err := my.Exec(`CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT seq, seq FROM seq_1_to_100`); err != nil {
		t.Fatal(err)
	}
	inst := "sqlite://" + t.TempDir() + "/i.db"
	w.mustCLI("attach", "--db", inst)
	for _, p := range []struct{ name, mode string }{{"e2e_maria_never", "never"}, {"e2e_maria_once", "initial_only"}} {
		w.mustCLI("pipeline", "create", p.name, "--db", inst, "--source", src, "--tables", dbName+".t",
			"--bucket", w.bucket, "--prefix", p.mode+"/", "--flush-interval", "300ms", "--snapshot", p.mode)
		t.Cleanup(func() { w.cli("pipeline", "drop", "--db", inst, p.name) })
	}
	if _, err := w.cli("pipeline", "snapshot", "--db", inst, "e2e_maria_once"); err == nil || !strings.Contains(err.Error(), "initial_only") {
		t.Errorf("pipeline snapshot of an initial_only pipeline: %v", err)
	}
	w.agent("--db", inst, "--lease", "3s")
	show := func(name string) pipelineShown { return showPipeline(t, w, inst, name) }
	waitFor(t, "the never pipeline to stream", time.Minute, func() bool {
		v := show("e2e_maria_never")
		return v.State == "STREAMING" && v.Position != ""
	})
	store, err := s3store.New(t.Context(), s3store.Config{Endpoint: w.minio.Endpoint, Region: w.minio.Region,
		AccessKeyID: w.minio.AccessKey, SecretAccessKey: w.minio.SecretKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := "/" + dbName + "/t/"
	var once []filecheck.File
	waitFor(t, "the initial_only copy", time.Minute, func() bool {
		once = filecheck.ReadAll(t, store, w.bucket, "initial_only/")
		n := 0
		for _, f := range once {
			if strings.Contains(f.Key, dir+"snapshot/") {
				n += len(f.Records)
			}
		}
		return n == 100
	})

	// Changes after both started: the never pipeline's only records.
	var gtids []string
	for _, q := range []string{"INSERT INTO t VALUES (101, 1)", "UPDATE t SET v = -v WHERE id = 5", "DELETE FROM t WHERE id = 6"} {
		gtids = append(gtids, lastGTID(t, my, q))
	}
	waitFor(t, "the never pipeline to pass the changes", time.Minute, func() bool {
		return gtidReached(show("e2e_maria_never").Position, gtids[len(gtids)-1])
	})
	var serverID int64
	if err := my.QueryRow("SELECT @@server_id").Scan(&serverID); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range filecheck.ReadAll(t, store, w.bucket, "never/") {
		if strings.Contains(f.Key, dir+"snapshot/") {
			t.Errorf("--snapshot never wrote a snapshot file %s", f.Key)
		}
		for _, rec := range f.Records {
			s := rec["source"].(map[string]any)
			got = append(got, fmt.Sprintf("%s %v", rec["op"], s["gtid"]))
			if fmt.Sprint(s["server_id"]) != fmt.Sprint(serverID) {
				t.Errorf("%s: server_id %v, the server's is %d", f.Key, s["server_id"], serverID)
			}
			// The server's own account of the transaction's first event.
			var typ, info string
			var server int64
			var name, end string
			var at int64
			q := fmt.Sprintf("SHOW BINLOG EVENTS IN '%s' FROM %v LIMIT 1", s["file"], s["pos"])
			if err := my.QueryRow(q).Scan(&name, &at, &typ, &server, &end, &info); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if typ != "Gtid" || info != fmt.Sprintf("BEGIN GTID %v", s["gtid"]) || server != serverID {
				t.Errorf("%s: %s of server %d at %v:%v, the record says GTID %v", f.Key, info, server, s["file"], s["pos"], s["gtid"])
			}
		}
	}
	if want := []string{"c " + gtids[0], "u " + gtids[1], "d " + gtids[2]}; strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("--snapshot never wrote %v, want %v", got, want)
	}

	// initial_only: the copy, each record with its seam, and nothing since.
	var seams []string
	for _, f := range filecheck.ReadAll(t, store, w.bucket, "initial_only/") {
		if strings.Contains(f.Key, dir+"changes/") {
			t.Errorf("--snapshot initial_only wrote changes: %s", f.Key)
		}
		for _, rec := range f.Records {
			s := rec["source"].(map[string]any)
			if seam := fmt.Sprintf("%v %v:%v", s["gtid"], s["file"], s["pos"]); len(seams) == 0 || seams[len(seams)-1] != seam {
				seams = append(seams, seam)
			}
			if s["snapshot"] != true || s["server_id"] != nil || s["gtid"] == nil || s["file"] == nil {
				t.Errorf("%s: a snapshot record's source %v", f.Key, s)
			}
		}
	}
	if len(seams) != 1 {
		t.Errorf("the copy's records carry %d seams %v, want one", len(seams), seams)
	}
}
