package chaos_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/agent"
	"github.com/s3bridge/s3bridge/export"
	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/mysql"
	"github.com/s3bridge/s3bridge/instance/postgres"
	"github.com/s3bridge/s3bridge/instance/sqlite"
	fp "github.com/s3bridge/s3bridge/internal/faultproxy"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/load"
	"github.com/s3bridge/s3bridge/transfer"
)

// path is one data path: the S3 operations it sends (of the six the
// faults target), and how to prepare a task on it.
type path struct {
	name string
	ops  []fp.Op
	// prefix is where its objects are: faults on one operation are aimed
	// there, not at the requests around the transfer (the public-access
	// check's probes).
	prefix    string
	versioned bool // its bucket keeps versions, so a double write shows
	setup     func(e *env) *job
}

// job is a prepared task and how to judge what it left.
type job struct {
	in    instance.Instance
	agent *agent.Agent
	task  s3bridge.Task
	names []string // the objects an ERROR may name
	// check reports, after the task, what it lost and left; ok says the
	// task ended in SUCCESS.
	check func(ok bool) outcome
}

// outcome is what a task left: rows or bytes lost (missing or wrong after
// a SUCCESS, changed after an ERROR) and leftovers.
type outcome struct {
	lost      int64
	leftovers []string
}

func (o *outcome) add(p outcome) {
	o.lost += p.lost
	o.leftovers = append(o.leftovers, p.leftovers...)
}

var (
	mpu    = []fp.Op{fp.CreateMultipartUpload, fp.UploadPart, fp.CompleteMultipartUpload}
	listed = []fp.Op{fp.ListObjectsV2, fp.GetObject}
	staged = []fp.Op{fp.ListObjectsV2, fp.CreateMultipartUpload, fp.UploadPart, fp.CompleteMultipartUpload}
)

var paths = []path{
	{"upload file", mpu, "up/", true, uploadFile},
	{"upload directory", append([]fp.Op{fp.PutObject}, mpu...), "dir/", true, uploadDirectory},
	{"download file", []fp.Op{fp.GetObject}, "src/", false, downloadFile},
	{"download prefix", listed, "pre/", false, downloadPrefix},
	{"load postgres", listed, "load/", false, loadInto(loadPostgres)},
	{"load mariadb", listed, "load/", false, loadInto(loadMariaDB)},
	{"load sqlite", listed, "load/", false, loadInto(loadSQLite)},
	{"export csv", staged, "exp/", true, exportAs(export.FormatCSV)},
	{"export parquet", staged, "exp/", true, exportAs(export.FormatParquet)},
}

func newAgent(runners map[s3bridge.TaskType]agent.Runner) *agent.Agent {
	return agent.New(agent.Config{Tick: 50 * time.Millisecond}, runners)
}

func openSQLite(t *testing.T) *sqlite.Instance {
	t.Helper()
	in, err := sqlite.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
	must(t, err)
	t.Cleanup(func() { in.Close() })
	return in
}

// transferJob attaches a SQLite instance with a file area and DATA_PUMP_DIR
// and an agent that runs transfers through the proxy.
func transferJob(e *env) (j *job, area, pump string) {
	area, pump = e.t.TempDir(), e.t.TempDir()
	in := openSQLite(e.t)
	must(e.t, in.Attach(e.t.Context(), s3bridge.Settings{Area: area, Directories: map[string]string{"DATA_PUMP_DIR": pump}, MaxFiles: 50}))
	r := &transfer.Runner{Deps: s3bridge.Deps[transfer.ObjectStore]{
		Store: func(context.Context, s3bridge.Settings) (transfer.ObjectStore, error) { return e.store, nil },
	}}
	a := newAgent(map[s3bridge.TaskType]agent.Runner{s3bridge.TaskUpload: r, s3bridge.TaskDownload: r})
	return &job{in: in, agent: a}, area, pump
}

// objects judges what landed at want's keys: each must hold its body,
// once (one version); a failed task must have left none of them unless it
// works file by file. Multipart uploads of the keys are leftovers.
func (e *env) objects(want map[string][]byte, ok, fileByFile bool) outcome {
	var o outcome
	var keys []string
	for key, body := range want {
		keys = append(keys, key)
		if n := e.versions(key)[key]; n > 1 {
			o.leftovers = append(o.leftovers, fmt.Sprintf("%d versions of %s (a double write)", n, key))
		}
		got, present := e.object(key)
		switch {
		case present && !bytes.Equal(got, body):
			o.lost += int64(len(body))
			o.leftovers = append(o.leftovers, fmt.Sprintf("%s holds %d bytes (sha %s), not its %d (sha %s)", key, len(got), sum(got), len(body), sum(body)))
		case !present && ok:
			o.lost += int64(len(body))
		case present && !ok && !fileByFile:
			o.leftovers = append(o.leftovers, "object "+key+" left by a failed task")
		}
	}
	o.leftovers = append(o.leftovers, e.uploads(keys...)...)
	return o
}

// files judges what landed in dir, as objects does.
func files(dir string, want map[string][]byte, ok, fileByFile bool) outcome {
	var o outcome
	for rel, body := range want {
		got, err := os.ReadFile(filepath.Join(dir, rel))
		present := err == nil
		switch {
		case present && !bytes.Equal(got, body):
			o.lost += int64(len(body))
			o.leftovers = append(o.leftovers, fmt.Sprintf("%s holds %d bytes, not its %d", rel, len(got), len(body)))
		case !present && ok:
			o.lost += int64(len(body))
		case present && !ok && !fileByFile:
			o.leftovers = append(o.leftovers, "file "+rel+" left by a failed task")
		}
	}
	o.leftovers = append(o.leftovers, tempFiles(dir)...)
	return o
}

// uploadFile: SQL Server's upload_file_to_s3 of an 11 MiB file, three
// parts, without overwrite (so If-None-Match guards the completion).
func uploadFile(e *env) *job {
	j, area, _ := transferJob(e)
	body := randomBytes(11<<20, 1)
	writeFile(e.t, filepath.Join(area, "big.bin"), body)
	const key = "up/big.bin"
	j.task = transfer.UploadFileTask("big.bin", "s3://"+e.bucket+"/"+key, false)
	j.names = []string{key}
	j.check = func(ok bool) outcome { return e.objects(map[string][]byte{key: body}, ok, false) }
	return j
}

// uploadDirectory: Oracle's upload_to_s3 of a directory holding a file
// for a multipart upload and two for PutObject.
func uploadDirectory(e *env) *job {
	j, _, pump := transferJob(e)
	want := map[string][]byte{}
	for i, size := range []int{11 << 20, 300 << 10, 2 << 10} {
		name := string(rune('a'+i)) + ".bin"
		body := randomBytes(size, uint64(10+i))
		writeFile(e.t, filepath.Join(pump, name), body)
		want["dir/"+name] = body
		j.names = append(j.names, "dir/"+name)
	}
	j.task = transfer.UploadDirectoryTask(transfer.DirectoryUpload{Bucket: e.bucket, S3Prefix: "dir/", Directory: "DATA_PUMP_DIR"})
	j.check = func(ok bool) outcome { return e.objects(want, ok, true) }
	return j
}

// downloadFile: SQL Server's download_file_from_s3 of an 11 MiB object,
// three parallel ranged GETs.
func downloadFile(e *env) *job {
	j, area, _ := transferJob(e)
	body := randomBytes(11<<20, 2)
	const key = "src/big.bin"
	e.put(key, body)
	// .dat: the file area takes only SQL Server's extensions.
	j.task = transfer.DownloadFileTask("s3://"+e.bucket+"/"+key, "got/big.dat", false)
	j.names = []string{key}
	j.check = func(ok bool) outcome { return files(area, map[string][]byte{"got/big.dat": body}, ok, false) }
	return j
}

// downloadPrefix: Oracle's download_from_s3 of a prefix holding an object
// for a parallel download and two streamed ones.
func downloadPrefix(e *env) *job {
	j, _, pump := transferJob(e)
	want := map[string][]byte{}
	for i, size := range []int{9 << 20, 300 << 10, 2 << 10} {
		name := string(rune('a'+i)) + ".bin"
		body := randomBytes(size, uint64(20+i))
		e.put("pre/"+name, body)
		want[name] = body
		j.names = append(j.names, "pre/"+name)
	}
	j.task = transfer.DownloadDirectoryTask(transfer.DirectoryDownload{Bucket: e.bucket, Directory: "DATA_PUMP_DIR", S3Prefix: "pre/"})
	j.check = func(ok bool) outcome { return files(pump, want, ok, true) }
	return j
}

// row is the text of one row of t, "id|name|amount".
func row(id int) string { return fmt.Sprintf("%d|name %d, \"quoted\"|%d", id, id, id%997) }

// csvRows encodes rows from..to-1 as CSV with a header.
func csvRows(from, to int) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"id", "name", "amount"})
	for i := from; i < to; i++ {
		w.Write(strings.Split(row(i), "|"))
	}
	w.Flush()
	return b.Bytes()
}

// loadDB opens a database for a load test: the instance, its handle, and
// the DDL of t.
type loadDB func(t *testing.T) (instance.Instance, *sql.DB, string)

func loadPostgres(t *testing.T) (instance.Instance, *sql.DB, string) {
	in, err := postgres.Open(t.Context(), testenv.Postgres(t))
	must(t, err)
	t.Cleanup(func() { in.Close() })
	return in, in.DB(), `CREATE TABLE t (id integer, name text, amount integer)`
}

func loadMariaDB(t *testing.T) (instance.Instance, *sql.DB, string) {
	in, err := mysql.Open(t.Context(), testenv.MariaDB(t))
	must(t, err)
	t.Cleanup(func() { in.Close() })
	return in, in.DB(), `CREATE TABLE t (id INT PRIMARY KEY, name TEXT, amount INT)`
}

func loadSQLite(t *testing.T) (instance.Instance, *sql.DB, string) {
	in := openSQLite(t)
	return in, in.DB(), `CREATE TABLE t (id INTEGER, name TEXT, amount INTEGER)`
}

// loadInto: a prefix load of two CSV objects of 8,000 rows each into a
// table that already holds three rows.
func loadInto(open loadDB) func(e *env) *job {
	return func(e *env) *job {
		in, db, ddl := open(e.t)
		must(e.t, in.Attach(e.t.Context(), s3bridge.Settings{Area: e.t.TempDir()}))
		_, err := db.ExecContext(e.t.Context(), ddl)
		must(e.t, err)
		_, err = db.ExecContext(e.t.Context(), `INSERT INTO t VALUES (1, 'name 1, "quoted"', 1), (2, 'name 2, "quoted"', 2), (3, 'name 3, "quoted"', 3)`)
		must(e.t, err)
		before := []string{row(1), row(2), row(3)}
		after := append([]string(nil), before...)
		var names []string
		for i, from := range []int{1001, 9001} {
			key := fmt.Sprintf("load/%d.csv", i+1)
			e.put(key, csvRows(from, from+8000))
			names = append(names, key)
			for id := from; id < from+8000; id++ {
				after = append(after, row(id))
			}
		}
		r := &load.Runner{Deps: s3bridge.Deps[load.ObjectStore]{Store: func(context.Context, s3bridge.Settings) (load.ObjectStore, error) { return e.store, nil }}}
		task, err := load.Task(load.Params{Source: load.SourcePrefix, URI: "s3://" + e.bucket + "/load/", Table: "t",
			Options: format.Options{Format: "csv", Header: true}})
		must(e.t, err)
		return &job{
			in: in, agent: newAgent(map[s3bridge.TaskType]agent.Runner{s3bridge.TaskLoadFromS3: r}), task: task, names: names,
			check: func(ok bool) outcome {
				want := before
				if ok {
					want = after
				}
				return outcome{lost: difference(want, tableRows(e.t, db, `SELECT id, name, amount FROM t`))}
			},
		}
	}
}

// tableRows reads a query's rows as row() prints them.
func tableRows(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rs, err := db.QueryContext(t.Context(), query)
	must(t, err)
	defer rs.Close()
	var out []string
	for rs.Next() {
		var id, amount int64
		var name string
		must(t, rs.Scan(&id, &name, &amount))
		out = append(out, fmt.Sprintf("%d|%s|%d", id, name, amount))
	}
	must(t, rs.Err())
	return out
}

// difference counts the rows of want missing from got plus those of got
// not in want, duplicates included.
func difference(want, got []string) int64 {
	n := map[string]int{}
	for _, r := range want {
		n[r]++
	}
	for _, r := range got {
		n[r]--
	}
	var d int64
	for _, c := range n {
		d += int64(max(c, -c))
	}
	return d
}

// exportAs: an export of 20,000 rows from SQLite in several files, to a
// versioned bucket.
func exportAs(f string) func(e *env) *job {
	return func(e *env) *job {
		in := openSQLite(e.t)
		must(e.t, in.Attach(e.t.Context(), s3bridge.Settings{Area: e.t.TempDir()}))
		db := in.DB()
		const n = 20000
		_, err := db.ExecContext(e.t.Context(), `CREATE TABLE src (id INTEGER, name TEXT, amount INTEGER)`)
		must(e.t, err)
		tx, err := db.BeginTx(e.t.Context(), nil)
		must(e.t, err)
		var want []string
		for id := 1; id <= n; id++ {
			_, err := tx.ExecContext(e.t.Context(), `INSERT INTO src VALUES (?, ?, ?)`, id, fmt.Sprintf("name %d, \"quoted\"", id), id%997)
			must(e.t, err)
			want = append(want, row(id))
		}
		must(e.t, tx.Commit())
		r := &export.Runner{
			Deps:          s3bridge.Deps[export.ObjectStore]{Store: func(context.Context, s3bridge.Settings) (export.ObjectStore, error) { return e.store, nil }},
			WaiterTimeout: 2 * time.Second,
		}
		// Two files of CSV, three of Parquet (whose size the writer counts
		// before page compression).
		const maxFile = 400 << 10
		p := export.Params{Query: "SELECT id, name, amount FROM src ORDER BY id", URI: "s3://" + e.bucket + "/exp/data",
			Format: f, Header: f == export.FormatCSV, MaxFileSize: maxFile}
		return &job{
			in: in, agent: newAgent(map[s3bridge.TaskType]agent.Runner{s3bridge.TaskExportToS3: r}), task: export.Task(p),
			names: []string{"exp/data"},
			check: func(ok bool) outcome { return e.exported(f, want, ok) },
		}
	}
}

// exported judges an export's files: their rows against want after a
// SUCCESS (each file written once), no file at all after an ERROR, and no
// multipart upload of any part name.
func (e *env) exported(f string, want []string, ok bool) outcome {
	var o outcome
	keys := e.keys("exp/")
	versions := e.versions("exp/")
	var got []string
	for _, k := range keys {
		if n := versions[k]; n > 1 {
			o.leftovers = append(o.leftovers, fmt.Sprintf("%d versions of %s (a double write)", n, k))
		}
		body, _ := e.object(k)
		got = append(got, exportedRows(e.t, f, body)...)
	}
	if ok {
		o.lost = difference(want, got)
	} else {
		for _, k := range keys {
			o.leftovers = append(o.leftovers, "object "+k+" left by a failed export")
		}
	}
	var names []string
	for i := range 64 {
		names = append(names, fmt.Sprintf("exp/data.part_%05d", i))
	}
	o.leftovers = append(o.leftovers, e.uploads(append(names, "exp/data.manifest")...)...)
	return o
}

// exportedRows decodes one exported file into row() lines; a file that
// doesn't decode yields a marker row, which counts as lost.
func exportedRows(t *testing.T, f string, body []byte) []string {
	var out []string
	switch f {
	case export.FormatCSV:
		recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil || len(recs) == 0 {
			return []string{"undecodable CSV"}
		}
		for _, r := range recs[1:] {
			out = append(out, strings.Join(r, "|"))
		}
	case export.FormatParquet:
		pf, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
		if err != nil {
			return []string{"undecodable Parquet"}
		}
		col := map[string]int{}
		for i, fl := range pf.Schema().Fields() {
			col[fl.Name()] = i
		}
		r := parquet.NewReader(pf)
		defer r.Close()
		buf := make([]parquet.Row, 256)
		for {
			n, err := r.ReadRows(buf)
			for _, pr := range buf[:n] {
				cell := func(name string) string {
					v := pr[col[name]]
					if v.Kind() == parquet.ByteArray {
						return string(v.ByteArray())
					}
					return v.String()
				}
				out = append(out, cell("id")+"|"+cell("name")+"|"+cell("amount"))
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Logf("read Parquet: %v", err)
				return append(out, "undecodable Parquet")
			}
		}
	}
	return out
}
