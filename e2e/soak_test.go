package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3bridge/s3bridge/internal/agentkill"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestAgentKillSoak (issue 8): mixed tasks (uploads, downloads, loads,
// exports) on a PostgreSQL and a MariaDB instance, enqueued at a steady
// pace while a few agents serve both and one of them is killed with
// SIGKILL every few seconds and replaced (internal/agentkill). At the end:
//
//   - every task is final, once: its lifecycle is SUCCESS (its outcome
//     logged once) or ERROR, and an ERROR is not the trace of a second
//     run, a retry refused because the killed attempt had done the work
//     (counted as "redone"; see redoneIsKnownGap);
//   - every uploaded object has exactly one version (the bucket is
//     versioned: a second PUT would show);
//   - every loaded table has exactly its rows (loads complete their task
//     in their own transaction, so a killed attempt commits nothing);
//   - every export's parts hold exactly its rows, every download its bytes;
//   - no multipart upload or partial download is left: the attempt that
//     takes over a killed one's task cleans them up (see soakLeftovers).
//
// The default run is 60 tasks in about half a minute; S3BRIDGE_SOAK=full
// runs 300 with three agents. -v prints a summary table.
func TestAgentKillSoak(t *testing.T) {
	t.Parallel()
	cfg := soakConfig{tasks: 60, agents: 2, spread: 20 * time.Second, every: 3 * time.Second, deadline: 3 * time.Minute}
	if os.Getenv("S3BRIDGE_SOAK") == "full" {
		cfg = soakConfig{tasks: 300, agents: 3, spread: 40 * time.Second, every: 3 * time.Second, deadline: 10 * time.Minute}
	}
	w := newWorld(t)
	versioned(t, w)
	// The agents reach MinIO through a throttled proxy, as over a real
	// network: each task then lasts a second or two rather than a few
	// milliseconds, so that kills land in the middle of tasks.
	slow := newCutProxy(t, hostOf(t, w.minio.Endpoint))
	slow.throttle(soakRate)
	endpoint := "http://" + slow.addr()
	insts := []*soakInstance{soakPostgres(t, w, endpoint), soakMariaDB(t, w, endpoint)}
	plan := soakPlan(cfg.tasks, insts)
	prepareSoak(t, w, plan)
	seed := rand.Uint64()
	t.Logf("soak: %d tasks over %s, %d agents, a kill every %s on average (seed %d)", cfg.tasks, cfg.spread, cfg.agents, cfg.every, seed)

	h := agentkill.New(agentkill.Config{Agents: cfg.agents, Every: cfg.every, Grace: 10 * time.Second,
		Rand: rand.New(rand.NewPCG(seed, seed)), Logf: t.Logf}, w.agentProcess(insts))
	ctx, stop := context.WithCancel(t.Context())
	var stats agentkill.Stats
	var harnessErr error
	var harness sync.WaitGroup
	// A Fatal below still stops the agents and waits for the harness.
	defer harness.Wait()
	defer stop()
	harness.Go(func() { stats, harnessErr = h.Run(ctx) })
	start := time.Now()
	enqueueErr := enqueueSoak(ctx, w, plan, cfg.spread)
	if enqueueErr == nil {
		waitSoak(t, insts, len(plan), cfg.deadline)
	}
	stop()
	harness.Wait()
	if enqueueErr != nil {
		t.Fatal(enqueueErr)
	}
	if harnessErr != nil {
		t.Fatal(harnessErr)
	}
	t.Logf("soak: all %d tasks final %s after the first was enqueued; %d agents started, %d killed, %d exited on their own",
		len(plan), time.Since(start).Round(time.Second), stats.Started, stats.Killed, stats.Exited)
	if stats.Exited != 0 {
		t.Errorf("%d agents exited on their own during the soak", stats.Exited)
	}
	auditSoak(t, w, insts, plan)
}

type soakConfig struct {
	tasks, agents int
	spread, every time.Duration
	deadline      time.Duration // for every task to be final once all are enqueued
}

// soakInstance is one attached database of the soak.
type soakInstance struct {
	name, url, area string
	db              *sql.DB // the test's own connection
	schema          string  // where s3bridge's tables are, quoted
	createTable     string  // CREATE TABLE for a load's table, %s its name
}

// soakRate is the agents' bandwidth to S3, each way on each connection.
const soakRate = 8 << 20

func soakPostgres(t *testing.T, w *world, endpoint string) *soakInstance {
	url := testenv.Postgres(t)
	in := &soakInstance{name: "postgres", url: url, area: t.TempDir(), db: openDB(t, "pgx", url),
		schema: "s3bridge", createTable: `CREATE TABLE %s (id int, name text)`}
	in.attach(t, w, endpoint, `CREATE TABLE src AS SELECT g AS id, md5(g::text) AS name FROM generate_series(1, 150000) AS g`)
	return in
}

func soakMariaDB(t *testing.T, w *world, endpoint string) *soakInstance {
	url := testenv.MariaDB(t)
	dbName, schema := mariaNames(t, url)
	in := &soakInstance{name: "mariadb", url: url, area: t.TempDir(), db: openDB(t, "mysql", "root@tcp("+testenv.MariaDBHost()+")/"+dbName+"?parseTime=true"),
		schema: "`" + schema + "`", createTable: `CREATE TABLE %s (id int, name text) ENGINE=InnoDB`}
	in.attach(t, w, endpoint, `CREATE TABLE src ENGINE=InnoDB AS SELECT seq AS id, md5(seq) AS name FROM seq_1_to_150000`)
	return in
}

func (in *soakInstance) attach(t *testing.T, w *world, endpoint, src string) {
	t.Helper()
	w.mustCLI("attach", "--db", in.url, "--area", in.area, "--endpoint", endpoint, "--max-running", "2", "--allow-ext", "*", "--max-files", "100000")
	in.exec(t, src)
}

func (in *soakInstance) exec(t *testing.T, q string) {
	t.Helper()
	if _, err := in.db.ExecContext(t.Context(), q); err != nil {
		t.Fatalf("%s: %s: %v", in.name, q, err)
	}
}

// soakTask is one task of the soak and what it must leave behind.
type soakTask struct {
	in   *soakInstance
	n    int
	kind string // upload, download, load, export
	id   int64
	key  string // the object uploaded or downloaded, the export's prefix, the load's object
	file string // the area file uploaded or written
	size int64  // of the file or object
	rows int    // loaded or exported
}

func (s *soakTask) table() string { return "l" + strconv.Itoa(s.n) }

// soakPlan spreads n tasks over the instances and the four kinds.
func soakPlan(n int, insts []*soakInstance) []*soakTask {
	kinds := []string{"upload", "download", "load", "export"}
	plan := make([]*soakTask, n)
	for i := range plan {
		s := &soakTask{in: insts[i%len(insts)], n: i, kind: kinds[(i/len(insts))%len(kinds)]}
		switch s.kind {
		case "upload":
			// Every third upload is multipart (16 MiB parts).
			s.size = 4<<20 + int64(i)
			if i%3 == 0 {
				s.size = 20<<20 + int64(i)
			}
			s.file, s.key = fmt.Sprintf("up/u%03d.bin", i), fmt.Sprintf("up/%s/u%03d.bin", s.in.name, i)
		case "download":
			s.size, s.file, s.key = 4<<20+int64(i), fmt.Sprintf("down/d%03d.bin", i), fmt.Sprintf("down/d%03d.bin", i)
		case "load":
			s.rows, s.key = 40000+37*i, fmt.Sprintf("load/l%03d.csv", i)
		case "export":
			s.rows, s.key = 100000+101*i, fmt.Sprintf("exp/%s/e%03d", s.in.name, i)
		}
		plan[i] = s
	}
	return plan
}

// prepareSoak writes what the tasks start from: area files to upload,
// objects to download and load, tables to load into.
func prepareSoak(t *testing.T, w *world, plan []*soakTask) {
	t.Helper()
	for _, s := range plan {
		switch s.kind {
		case "upload":
			path := filepath.Join(s.in.area, s.file)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			bigFile(t, path, s.size)
		case "download":
			w.put(s.key, make([]byte, s.size))
		case "load":
			var b strings.Builder
			b.WriteString("id,name\n")
			for i := range s.rows {
				fmt.Fprintf(&b, "%d,row %d of %d\n", i, i, s.n)
			}
			w.put(s.key, []byte(b.String()))
			s.in.exec(t, fmt.Sprintf(s.in.createTable, s.table()))
		}
	}
}

// agentProcess starts an agent serving every instance, for the harness,
// which owns it; its output joins the world's.
func (w *world) agentProcess(insts []*soakInstance) agentkill.Start {
	args := []string{"agent", "--lease", "2s", "--tick", "100ms", "--grace", "5s", "--log-level", "info"}
	for _, in := range insts {
		args = append(args, "--db", in.url)
	}
	return func(ctx context.Context, slot int) (*exec.Cmd, error) {
		cmd := exec.Command(binary, args...)
		cmd.Env = w.env
		cmd.Stdout, cmd.Stderr = syncWriter{w, nil}, syncWriter{w, nil}
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		return cmd, cmd.Start()
	}
}

// enqueueSoak enqueues the plan's tasks with the CLI, evenly over spread,
// and records their ids.
func enqueueSoak(ctx context.Context, w *world, plan []*soakTask, spread time.Duration) error {
	gap := spread / time.Duration(len(plan))
	for i, s := range plan {
		var args []string
		b := "s3://" + w.bucket + "/"
		switch s.kind {
		case "upload":
			args = []string{"upload-file", s.file, b + s.key}
		case "download":
			args = []string{"download-file", b + s.key, s.file}
		case "load":
			args = []string{"load", "--table", s.table(), "--format", "csv", "--header", b + s.key}
		case "export":
			args = []string{"export", "--query", fmt.Sprintf("SELECT * FROM src WHERE id <= %d ORDER BY id", s.rows), b + s.key}
		}
		out, err := w.cli(append(args, "--db", s.in.url, "--async")...)
		if err != nil {
			return fmt.Errorf("enqueue task %d: %w", i, err)
		}
		if s.id, err = strconv.ParseInt(strings.TrimSpace(out), 10, 64); err != nil {
			return fmt.Errorf("enqueue task %d: id %q: %w", i, out, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(gap):
		}
	}
	return nil
}

// waitSoak waits until every instance holds its share of tasks, all final.
func waitSoak(t *testing.T, insts []*soakInstance, total int, deadline time.Duration) {
	t.Helper()
	waitFor(t, fmt.Sprintf("all %d tasks to be final", total), deadline, func() bool {
		final := 0
		for _, in := range insts {
			final += scalar[int](t, in.db, `SELECT count(*) FROM `+in.schema+`.tasks WHERE lifecycle IN ('SUCCESS', 'ERROR', 'CANCELLED')`)
		}
		return final == total
	})
}

// versioned turns versioning on for the world's bucket and, at cleanup,
// deletes every version and delete marker so that the bucket's own
// cleanup (which deletes current objects only) can remove it.
func versioned(t *testing.T, w *world) {
	t.Helper()
	admin := w.minio.Admin(t)
	if _, err := admin.PutBucketVersioning(t.Context(), &s3.PutBucketVersioningInput{Bucket: aws.String(w.bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatalf("turn versioning on: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		pages := s3.NewListObjectVersionsPaginator(admin, &s3.ListObjectVersionsInput{Bucket: aws.String(w.bucket)})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				t.Errorf("list versions to empty %s: %v", w.bucket, err)
				return
			}
			var ids []types.ObjectIdentifier
			for _, v := range page.Versions {
				ids = append(ids, types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
			}
			for _, m := range page.DeleteMarkers {
				ids = append(ids, types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
			}
			if len(ids) == 0 {
				continue
			}
			if _, err := admin.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(w.bucket),
				Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
				t.Errorf("delete versions in %s: %v", w.bucket, err)
				return
			}
		}
	})
}
