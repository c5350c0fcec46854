package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/s3bridge/s3bridge/internal/faultproxy"
	"github.com/s3bridge/s3bridge/internal/filecheck"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/s3store"
)

// TestPipelineS3Faults (issue 10, "exactly-once, proven … with S3 faults
// injected during uploads"): an agent process runs a stored pipeline whose
// instance's S3 endpoint is a faultproxy in front of MinIO, under a load
// of small transactions (inserts, updates, deletes), three of about 20 MB
// (multipart uploads) and a truncate. For 40 s (S3BRIDGE_SOAK=full: 3
// min) the proxy injects bursts of faults into the pipeline's PutObject,
// UploadPart and CompleteMultipartUpload requests: 500 InternalError, 503
// SlowDown, connection resets, a 200 whose body is an <Error>. Bursts of
// one or two are survived by the S3 client's retries; bursts of three
// (AWS_MAX_ATTEMPTS=3) fail the upload, hence the run, and the agent runs
// the pipeline again from its checkpoint. Once, the agent is killed
// (SIGKILL) with a multipart upload of a big transaction under way.
//
// With the faults off, the pipeline must catch up; then the files, read by
// python3-avro, must hold every committed transaction's changes exactly
// once (counted per transaction against the load's own ledger of rows
// affected), reproduce the table when applied in order (replay, as in
// TestPipelineAgentsKilled), and leave no multipart upload behind.
func TestPipelineS3Faults(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	src := testenv.Postgres(t)
	pg := openDB(t, "pgx", src)
	for _, q := range []string{`CREATE TABLE "orders" ("id" int PRIMARY KEY, "v" text NOT NULL, "n" bigint)`,
		`INSERT INTO "orders" SELECT i, 'v' || i, i * 10 FROM generate_series(1, 1000) i`} {
		if _, err := pg.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	runS3Faults(t, w, ordersSource{name: "e2e_faults_orders", url: src, table: "public.orders", dir: "/public/orders/",
		dialect: pgOrders{pg}})
}

// ordersSource is the source a fault test's pipeline captures: its
// "orders" table (id, v, n) with 1,000 rows.
type ordersSource struct {
	name    string // the pipeline's
	url     string // --source
	table   string // --tables
	dir     string // the table's directory in object keys ("/public/orders/")
	dialect ordersDialect
}

// ordersDialect is what the fault test asks of a source in its SQL.
type ordersDialect interface {
	// small returns a small transaction's statements: 20 inserts of ids
	// from next, the updates of about one row in 1,000, 1 to 3 deletes.
	small(next int, r *rand.Rand) []loadStmt
	// big returns the n-th (from 0) big transaction's statement: 36,000
	// inserts of about 530 bytes of text each that snappy can't shrink.
	big(n int) loadStmt
	// truncate returns the transactions of a truncate and an insert.
	truncate(next int) [][]loadStmt
	// commit runs one transaction and returns its id as the files'
	// source.tx_id carries it, and the changes it made.
	commit(ctx context.Context, stmts []loadStmt) (string, opCounts, error)
	// end returns the end of the log now (after the load); reached
	// whether a checkpoint is at or past it.
	end(t *testing.T) string
	reached(t *testing.T, v pipelineShown, end string) bool
	// rows reads the table as replay gives it: id → "v|n".
	rows(t *testing.T) map[string]string
}

// runS3Faults runs TestPipelineS3Faults's test on src: see there.
func runS3Faults(t *testing.T, w *world, src ordersSource) {
	faultFor := 40 * time.Second
	if os.Getenv("S3BRIDGE_SOAK") == "full" {
		faultFor = 3 * time.Minute
	}
	// Three attempts: a burst of three faults on one request fails it.
	w.env = append(w.env, "AWS_MAX_ATTEMPTS=3")
	proxy := faultproxy.Start(t, w.minio.Endpoint)
	inst := "sqlite://" + t.TempDir() + "/i.db"
	w.mustCLI("attach", "--db", inst, "--endpoint", proxy.URL)
	w.mustCLI("pipeline", "create", src.name, "--db", inst, "--source", src.url, "--tables", src.table,
		"--bucket", w.bucket, "--prefix", "cdc/", "--flush-interval", "500ms")
	t.Cleanup(func() { w.cli("pipeline", "drop", "--db", inst, src.name) })
	show := func() pipelineShown { return showPipeline(t, w, inst, src.name) }
	agentArgs := []string{"--db", inst, "--lease", "3s"}
	agent := w.agent(agentArgs...)
	waitFor(t, "the pipeline to stream", time.Minute, func() bool { return show().State == "STREAMING" })

	start := time.Now()
	saved := strings.Count(w.printed(), `msg="pipeline checkpoint"`)
	load := startOrdersLoad(t, src.dialect, faultFor)
	faults := startFaults(proxy)
	lastErrors, checkpoints := watchUnderFaults(t, w, proxy, load, agent, agentArgs, show, faultFor)
	faults.stop()
	saved = strings.Count(w.printed(), `msg="pipeline checkpoint"`) - saved
	ledger := load.stop()
	t.Logf("faults off after %s: %d transactions committed, %d checkpoints saved (%d seen by pipeline show)",
		time.Since(start).Round(time.Second), len(ledger), saved, len(checkpoints))
	// Faults must not stop the pipeline: it checkpoints between the
	// failed runs (each burst costs seconds of retries, and each failed
	// run a restart, so not every 500 ms).
	if saved < 2 || len(checkpoints) < 2 {
		t.Errorf("%d checkpoints saved in %s of faults (pipeline show saw %v)", saved, faultFor, checkpoints)
	}

	end := src.dialect.end(t)
	caughtUp := time.Now()
	waitFor(t, "the checkpoint to pass the last change with the faults off", 2*time.Minute, func() bool {
		return src.dialect.reached(t, show(), end)
	})
	t.Logf("caught up in %s", time.Since(caughtUp).Round(100*time.Millisecond))

	faults.check(t, w.printed(), lastErrors)
	checkFilesExactlyOnce(t, w, src, ledger)
	if left := leftoverUploads(t, w, "cdc/"); len(left) > 0 {
		t.Errorf("multipart uploads left in the bucket: %v", left)
	}
}

// pgOrders is the PostgreSQL dialect of the fault test.
type pgOrders struct{ db *sql.DB }

func (pgOrders) small(next int, r *rand.Rand) []loadStmt {
	return []loadStmt{
		{"c", fmt.Sprintf(`INSERT INTO "orders" SELECT i, 'n' || i, i FROM generate_series(%d, %d) i`, next, next+19)},
		{"u", fmt.Sprintf(`UPDATE "orders" SET "v" = "v" || '+', "n" = "n" + 1 WHERE "id" %% 997 = %d AND "id" < 1000000`, r.IntN(997))},
		{"d", fmt.Sprintf(`DELETE FROM "orders" WHERE "id" IN (SELECT "id" FROM "orders" ORDER BY "id" LIMIT %d)`, 1+r.IntN(3))},
	}
}

func (pgOrders) big(n int) loadStmt {
	// base64 of SHA-256: text snappy can't shrink much.
	return loadStmt{"c", fmt.Sprintf(`INSERT INTO "orders" SELECT i, (SELECT string_agg(encode(sha256((i || '.' || j)::bytea), 'base64'), '')
		FROM generate_series(1, 12) j), i FROM generate_series(%d, %d) i`, 2000000+n*100000, 2000000+n*100000+35999)}
}

func (pgOrders) truncate(next int) [][]loadStmt {
	return [][]loadStmt{{{"t", `TRUNCATE "orders"`}, {"c", fmt.Sprintf(`INSERT INTO "orders" VALUES (%d, 'after truncate', 0)`, next)}}}
}

// commit returns the transaction's id as the stream carries it: 32 bits.
func (d pgOrders) commit(ctx context.Context, stmts []loadStmt) (string, opCounts, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return "", nil, err
	}
	defer tx.Rollback()
	var xid uint64
	if err := tx.QueryRowContext(ctx, `SELECT pg_current_xact_id()::text::bigint`).Scan(&xid); err != nil {
		return "", nil, err
	}
	counts, err := execCounted(ctx, tx, stmts)
	if err != nil {
		return "", nil, err
	}
	if err := tx.Commit(); err != nil {
		return "", nil, err
	}
	return strconv.FormatUint(xid&0xffffffff, 10), counts, nil
}

func (d pgOrders) end(t *testing.T) string {
	t.Helper()
	var end string
	if err := d.db.QueryRowContext(t.Context(), `SELECT pg_current_wal_lsn()::text`).Scan(&end); err != nil {
		t.Fatal(err)
	}
	return end
}

func (d pgOrders) reached(t *testing.T, v pipelineShown, end string) bool {
	var done bool
	return v.LSN != "" && d.db.QueryRowContext(t.Context(), `SELECT $1::pg_lsn >= $2::pg_lsn`, v.LSN, end).Scan(&done) == nil && done
}

func (d pgOrders) rows(t *testing.T) map[string]string {
	return ordersRows(t, d.db, `SELECT "id", "v", "n" FROM "orders"`)
}

// execCounted runs stmts and counts the changes they made by op.
func execCounted(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, stmts []loadStmt) (opCounts, error) {
	counts := opCounts{}
	for _, s := range stmts {
		res, err := db.ExecContext(ctx, s.sql)
		if err != nil {
			return nil, fmt.Errorf("%.80s: %w", s.sql, err)
		}
		n, _ := res.RowsAffected()
		if s.op == "t" {
			n = 1 // one truncate record for the one table
		}
		if n > 0 {
			counts[s.op] += n
		}
	}
	return counts, nil
}

// pipelineShown is what the test reads of `pipeline show --json`.
type pipelineShown struct {
	State    string         `json:"state"`
	Agent    string         `json:"agent"`
	LSN      string         `json:"checkpoint_lsn"`
	Position string         `json:"checkpoint_position"`
	Stats    map[string]any `json:"stats"`
}

func showPipeline(t *testing.T, w *world, inst, name string) pipelineShown {
	t.Helper()
	var v pipelineShown
	if err := json.Unmarshal([]byte(w.mustCLI("pipeline", "show", "--db", inst, "--json", name)), &v); err != nil {
		t.Fatalf("pipeline show --json: %v", err)
	}
	return v
}

// watchUnderFaults polls the pipeline every second for d, collecting the
// errors its stats show and the checkpoints it saves. Meanwhile another
// goroutine kills the agent once, during the second big transaction's
// upload (killDuringMultipart); another agent is started then.
func watchUnderFaults(t *testing.T, w *world, proxy *faultproxy.Proxy, load *ordersLoad, agent *exec.Cmd, agentArgs []string,
	show func() pipelineShown, d time.Duration) (lastErrors, checkpoints []string) {
	t.Helper()
	start := time.Now()
	killed := make(chan bool, 1)
	go func() {
		for !load.bigCommitted(2) && time.Since(start) < d {
			time.Sleep(2 * time.Millisecond)
		}
		killed <- load.bigCommitted(2) && killDuringMultipart(t, proxy, agent.Process, load.bigAt(2))
	}()
	restart := func(ok bool) {
		if !ok {
			t.Error("no agent was killed during the second big transaction's upload")
			return
		}
		agent.Wait()
		w.agent(agentArgs...)
	}
	waiting := true
	for ; time.Since(start) < d; time.Sleep(time.Second) {
		select {
		case ok := <-killed:
			restart(ok)
			waiting = false
		default:
		}
		v := show()
		if e, _ := v.Stats["last_error"].(string); e != "" && !slices.Contains(lastErrors, e) {
			lastErrors = append(lastErrors, e)
		}
		if !slices.Contains(checkpoints, v.LSN) {
			checkpoints = append(checkpoints, v.LSN)
		}
	}
	if waiting {
		restart(<-killed)
	}
	return lastErrors, checkpoints
}

// killDuringMultipart SIGKILLs the agent while it sends a part of a
// multipart upload it created after since (the big transaction committed
// then): the killed agent can neither complete nor abort it, the next
// holder must. After 30 s without one (the pipeline waiting out a failed
// run), it kills the agent all the same. It reports whether it killed it.
func killDuringMultipart(t *testing.T, proxy *faultproxy.Proxy, agent *os.Process, since time.Time) bool {
	sending := func() string {
		open := map[string]bool{}
		for _, r := range proxy.Requests() {
			switch {
			case r.Op == faultproxy.CreateMultipartUpload && r.Start.After(since) && r.Fault == "":
				open[r.Key] = true
			case r.Op == faultproxy.AbortMultipartUpload || r.Op == faultproxy.CompleteMultipartUpload:
				delete(open, r.Key)
			case r.Op == faultproxy.UploadPart && r.End.IsZero() && open[r.Key]:
				return r.Key
			}
		}
		return ""
	}
	deadline := time.Now().Add(30 * time.Second)
	key := sending()
	for ; key == "" && time.Now().Before(deadline); key = sending() {
		time.Sleep(2 * time.Millisecond)
	}
	if err := agent.Signal(syscall.SIGKILL); err != nil {
		t.Errorf("kill the agent: %v", err)
		return false
	}
	t.Logf("agent killed %s after the big transaction's commit, sending a part of %q",
		time.Since(since).Round(100*time.Millisecond), key)
	return true
}

// leftoverUploads lists the unfinished multipart uploads under prefix.
// MinIO lists a bucket's uploads only without a prefix (a prefix must be
// an exact key there), so the prefix is applied here.
func leftoverUploads(t *testing.T, w *world, prefix string) []string {
	t.Helper()
	out, err := w.minio.Admin(t).ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(w.bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, u := range out.Uploads {
		if k := aws.ToString(u.Key); strings.HasPrefix(k, prefix) {
			left = append(left, fmt.Sprintf("%s (initiated %s)", k, aws.ToTime(u.Initiated).Format(time.TimeOnly)))
		}
	}
	return left
}

// checkFilesExactlyOnce reads the pipeline's files with python3-avro and
// checks them against the load's ledger and the source table: one
// snapshot; change files whose commit LSNs never go back (a transaction
// written again after a later one would); each transaction's changes, per
// operation, exactly as many as its statements affected; and the files,
// applied in order, reproducing the table.
func checkFilesExactlyOnce(t *testing.T, w *world, src ordersSource, ledger map[string]opCounts) {
	t.Helper()
	store, err := s3store.New(t.Context(), s3store.Config{Endpoint: w.minio.Endpoint, Region: w.minio.Region,
		AccessKeyID: w.minio.AccessKey, SecretAccessKey: w.minio.SecretKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	files := filecheck.ReadAll(t, store, w.bucket, "cdc/")
	snapshots := map[string]bool{}
	inFiles := map[string]opCounts{}
	var last uint64
	for _, f := range files {
		if _, rest, ok := strings.Cut(f.Key, src.dir+"snapshot/"); ok {
			id, _, _ := strings.Cut(rest, "/")
			snapshots[id] = true
			continue
		}
		for _, rec := range f.Records {
			src := rec["source"].(map[string]any)
			lsn, err := strconv.ParseUint(fmt.Sprint(src["lsn"]), 10, 64)
			if err != nil {
				t.Fatalf("%s: source.lsn %v: %v", f.Key, src["lsn"], err)
			}
			if lsn < last {
				t.Errorf("%s: a change committed at %d after one committed at %d", f.Key, lsn, last)
			}
			last = lsn
			xid := fmt.Sprint(src["tx_id"])
			if inFiles[xid] == nil {
				inFiles[xid] = opCounts{}
			}
			inFiles[xid][fmt.Sprint(rec["op"])]++
		}
	}
	if len(snapshots) != 1 {
		t.Errorf("snapshots in the bucket: %v, want one", slices.Sorted(maps.Keys(snapshots)))
	}
	bad := 0
	for xid, want := range ledger {
		if got := inFiles[xid]; !maps.Equal(got, want) && bad < 10 {
			t.Errorf("transaction %s: the files hold %v, it made %v", xid, got, want)
			bad++
		}
	}
	for xid, got := range inFiles {
		if _, ok := ledger[xid]; !ok && bad < 10 {
			t.Errorf("the files hold changes %v of transaction %s, which the load never committed", got, xid)
			bad++
		}
	}
	got, stats := replayTable(t, files, src.dir, "v", "n")
	want := src.dialect.rows(t)
	t.Logf("%d files, %s; %d transactions; source has %d rows, the files give %d", len(files), stats, len(ledger), len(want), len(got))
	if len(got) != len(want) {
		t.Errorf("the files give %d rows, the source has %d", len(got), len(want))
	}
	for id, v := range want {
		if got[id] != v && bad < 20 {
			t.Errorf("row %s: files %.40q, source %.40q", id, got[id], v)
			bad++
		}
	}
}

// ordersRows reads the source table (query selects id, v and n) as
// replay gives it: id → "v|n".
func ordersRows(t *testing.T, db *sql.DB, query string) map[string]string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, n int64
		var v string
		if err := rows.Scan(&id, &v, &n); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprint(id)] = fmt.Sprintf("%s|%d", v, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// opCounts counts a transaction's changes by Avro op: c, u, d, t.
type opCounts map[string]int64

// loadStmt is one statement of a load transaction and the op of the
// changes it makes.
type loadStmt struct{ op, sql string }

// ordersLoad commits transactions on "orders" and keeps a ledger of what
// each made, by transaction id (as the stream carries it).
type ordersLoad struct {
	t    *testing.T
	halt atomic.Bool
	wg   sync.WaitGroup

	mu     sync.Mutex
	ledger map[string]opCounts
	bigs   []time.Time // commit times of the big transactions
	err    error
}

// Big transactions (about 20 MB of Avro, more than a 16 MiB part) at these
// fractions of the load's run; the truncate at half of it.
var bigAt = []float64{0.15, 0.35, 0.7}

// startOrdersLoad commits, until stop, a small transaction every 20 ms,
// the big ones of bigAt, and at half of d, a truncate and an insert.
func startOrdersLoad(t *testing.T, d ordersDialect, dur time.Duration) *ordersLoad {
	l := &ordersLoad{t: t, ledger: map[string]opCounts{}}
	l.wg.Go(func() {
		start := time.Now()
		r := rand.New(rand.NewPCG(3, 4))
		next, bigs, truncated := 1001, 0, false
		for !l.halt.Load() {
			at := time.Since(start)
			var txs [][]loadStmt
			kind := "small"
			switch {
			case bigs < len(bigAt) && at >= time.Duration(bigAt[bigs]*float64(dur)):
				kind = "big"
				txs = [][]loadStmt{{d.big(bigs)}}
			case !truncated && at >= dur/2:
				kind = "truncate"
				txs = d.truncate(next)
			default:
				txs = [][]loadStmt{d.small(next, r)}
			}
			next += 20
			for _, stmts := range txs {
				xid, counts, err := d.commit(t.Context(), stmts)
				l.mu.Lock()
				if err != nil {
					l.err = err
					l.mu.Unlock()
					return
				}
				l.ledger[xid] = counts
				l.mu.Unlock()
			}
			l.mu.Lock()
			switch kind {
			case "big":
				bigs++
				l.bigs = append(l.bigs, time.Now())
			case "truncate":
				truncated = true
			}
			l.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	})
	return l
}

func (l *ordersLoad) bigCommitted(n int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.bigs) >= n
}

func (l *ordersLoad) bigAt(n int) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bigs[n-1]
}

// stop ends the load after its current transaction and returns the ledger.
func (l *ordersLoad) stop() map[string]opCounts {
	l.t.Helper()
	l.halt.Store(true)
	l.wg.Wait()
	if l.err != nil {
		l.t.Fatalf("load generator: %v", l.err)
	}
	if len(l.bigs) < len(bigAt) {
		l.t.Errorf("the load committed %d big transactions, want %d", len(l.bigs), len(bigAt))
	}
	return l.ledger
}

// burst is a fault given to the next times requests of an operation.
type burst struct {
	times  int
	action faultproxy.Action
	kind   string
}

// faultPlan is, per operation, the bursts given in turn. Bursts of three
// exhaust AWS_MAX_ATTEMPTS=3 and fail the upload; the others are retried
// by the client. The resets of a request never reach S3; the reset of a
// CompleteMultipartUpload's response comes after S3 completed it.
var faultPlan = map[faultproxy.Op][]burst{
	faultproxy.PutObject: {
		{1, faultproxy.InternalError(), "500"}, {3, faultproxy.InternalError(), "500"},
		{2, faultproxy.SlowDown(), "503 SlowDown"}, {1, faultproxy.ResetRequest(512), "reset"},
		{3, faultproxy.ResetRequest(4096), "reset"}, {1, faultproxy.SlowDown(), "503 SlowDown"},
		{2, faultproxy.ResetRequest(0), "reset"}, {3, faultproxy.SlowDown(), "503 SlowDown"},
	},
	faultproxy.UploadPart: {
		{1, faultproxy.ResetRequest(64 << 10), "reset"}, {2, faultproxy.SlowDown(), "503 SlowDown"},
		{1, faultproxy.InternalError(), "500"}, {3, faultproxy.InternalError(), "500"},
		{2, faultproxy.ResetRequest(1 << 20), "reset"},
	},
	faultproxy.CompleteMultipartUpload: {
		{1, faultproxy.Error200("InternalError"), "200 <Error>"}, {1, faultproxy.ResetResponse(0), "reset"},
		{2, faultproxy.SlowDown(), "503 SlowDown"}, {1, faultproxy.InternalError(), "500"},
		{3, faultproxy.Error200("InternalError"), "200 <Error>"},
	},
}

// faultPause is the time between the end of one burst and the next: a
// few seconds for PutObject, which every flush sends, more for the parts
// and completions of the rare multipart uploads, so that most uploads
// pass and the pipeline moves on between failures.
var faultPause = map[faultproxy.Op][2]time.Duration{
	faultproxy.PutObject:               {time.Second, 3 * time.Second},
	faultproxy.UploadPart:              {2 * time.Second, 6 * time.Second},
	faultproxy.CompleteMultipartUpload: {2 * time.Second, 6 * time.Second},
}

// faultInjector gives each operation of faultPlan its bursts in turn, the
// next one a moment after the last is used up, until stop.
type faultInjector struct {
	p    *faultproxy.Proxy
	halt chan struct{}
	wg   sync.WaitGroup

	mu    sync.Mutex
	added []injected
}

type injected struct {
	op faultproxy.Op
	burst
	f *faultproxy.Fault
}

func startFaults(p *faultproxy.Proxy) *faultInjector {
	fi := &faultInjector{p: p, halt: make(chan struct{})}
	for op, plan := range faultPlan {
		r := rand.New(rand.NewPCG(uint64(len(op)), 5))
		fi.wg.Go(func() { fi.run(op, plan, r) })
	}
	return fi
}

func (fi *faultInjector) run(op faultproxy.Op, plan []burst, r *rand.Rand) {
	wait := func(d time.Duration) bool {
		select {
		case <-fi.halt:
			return false
		case <-time.After(d):
			return true
		}
	}
	for i := 0; ; i++ {
		b := plan[i%len(plan)]
		f := fi.p.Add(faultproxy.Rule{Op: op, Key: "cdc/", Times: b.times, Action: b.action})
		fi.mu.Lock()
		fi.added = append(fi.added, injected{op, b, f})
		fi.mu.Unlock()
		for f.Hits() < b.times {
			if !wait(20 * time.Millisecond) {
				return
			}
		}
		pause := faultPause[op]
		if !wait(pause[0] + time.Duration(r.Int64N(int64(pause[1]-pause[0])))) {
			return
		}
	}
}

// stop ends the injection: from now on every request is forwarded.
func (fi *faultInjector) stop() {
	close(fi.halt)
	fi.wg.Wait()
	fi.p.Clear()
}

// check asserts that faults of every kind hit every operation, that the
// client retried requests that got one, and that some uploads failed
// outright: the agent logged failed runs and the pipeline's stats showed
// their errors.
func (fi *faultInjector) check(t *testing.T, printed string, lastErrors []string) {
	t.Helper()
	byKind, byOp := map[string]int{}, map[faultproxy.Op]int{}
	exhausted := 0
	for _, a := range fi.added {
		byKind[a.kind] += a.f.Hits()
		byOp[a.op] += a.f.Hits()
		if a.times >= 3 && a.f.Hits() >= 3 {
			exhausted++
		}
	}
	reqs := fi.p.Requests()
	faulted, retried := 0, 0
	for i, r := range reqs {
		if r.Fault == "" {
			continue
		}
		faulted++
		if slices.ContainsFunc(reqs[i+1:], func(n faultproxy.Request) bool { return n.Op == r.Op && n.Key == r.Key }) {
			retried++
		}
	}
	var waits []string
	for _, line := range strings.Split(printed, "\n") {
		if strings.Contains(line, "running it again") {
			_, in, _ := strings.Cut(line, `" in=`)
			waits = append(waits, in)
		}
	}
	failedRuns := len(waits)
	t.Logf("faults injected: %d (by kind %v, by operation %v), %d bursts long enough to fail a request; %d of %d requests retried; %d pipeline runs failed (run again after %v)",
		faulted, byKind, byOp, exhausted, retried, faulted, failedRuns, waits)
	for _, e := range lastErrors {
		t.Logf("stats.last_error seen: %.300s", e)
	}
	for _, k := range []string{"500", "503 SlowDown", "reset", "200 <Error>"} {
		if byKind[k] == 0 {
			t.Errorf("no %s fault was injected", k)
		}
	}
	for op := range faultPlan {
		if byOp[op] == 0 {
			t.Errorf("no fault hit a %s request", op)
		}
	}
	if retried == 0 {
		t.Error("no request that got a fault was sent again")
	}
	if failedRuns < 2 || len(lastErrors) == 0 {
		t.Errorf("%d pipeline runs failed, stats.last_error seen %d times: want uploads failed outright, several times", failedRuns, len(lastErrors))
	}
}
