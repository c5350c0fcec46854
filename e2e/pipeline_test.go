package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/s3bridge/s3bridge/internal/filecheck"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/s3store"
)

// TestPipelineAgentsKilled (issue 10): agents run a stored pipeline while
// a load generator commits inserts, updates and deletes (about 2,000 rows
// a second), transactions with a logical message, a COPY of 10,000 rows
// and a truncate; the agent running it is killed with SIGKILL several
// times — during the initial snapshot (resumed by chunk), right after the
// COPY's commit, and at random — and another one takes over. Afterwards
// the files, read by python3-avro and applied in order to the snapshot,
// reproduce the source table row by row, and no transaction is in two
// files. S3BRIDGE_SOAK=full kills it ten times.
func TestPipelineAgentsKilled(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	src := testenv.Postgres(t)
	pg := openDB(t, "pgx", src)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := pg.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`CREATE TABLE orders (id int PRIMARY KEY, v text NOT NULL, n bigint)`)
	// FULL: a snapshot cut short goes on by chunk (see pgsource.Resumable).
	exec(`ALTER TABLE orders REPLICA IDENTITY FULL`)
	exec(`INSERT INTO orders SELECT i, 'v' || i, i * 10 FROM generate_series(1, 400000) i; ANALYZE orders`)
	inst := "sqlite://" + t.TempDir() + "/i.db"
	w.mustCLI("attach", "--db", inst)
	w.mustCLI("pipeline", "create", "e2e_kill_orders", "--db", inst, "--source", src, "--tables", "public.orders",
		"--bucket", w.bucket, "--prefix", "cdc/", "--flush-interval", "500ms", "--codec", "zstd", "--flush-rows", "20000")
	t.Cleanup(func() { w.cli("pipeline", "drop", "--db", inst, "e2e_kill_orders") })
	agentArgs := []string{"--db", inst, "--lease", "3s"}
	agent := w.agent(agentArgs...)
	// The first kill: while the initial snapshot is copied.
	waitFor(t, "the pipeline to snapshot", time.Minute, func() bool {
		return strings.Contains(w.mustCLI("pipeline", "show", "--db", inst, "--json", "e2e_kill_orders"), `"state":"SNAPSHOTTING"`)
	})
	time.Sleep(time.Duration(300+rand.IntN(500)) * time.Millisecond)
	if err := agent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	agent.Wait()
	t.Logf("kill during the snapshot: state %s", w.mustCLI("pipeline", "show", "--db", inst, "--json", "e2e_kill_orders")[:60])
	agent = w.agent(agentArgs...)
	waitFor(t, "the pipeline to stream", 2*time.Minute, func() bool {
		return strings.Contains(w.mustCLI("pipeline", "show", "--db", inst, "--json", "e2e_kill_orders"), `"state":"STREAMING"`)
	})
	copier, err := pgx.Connect(t.Context(), src)
	if err != nil {
		t.Fatal(err)
	}
	defer copier.Close(context.WithoutCancel(t.Context()))
	copied := make(chan struct{})

	// The load: small transactions of inserts, updates and deletes, a
	// big one, and a truncate followed by new rows.
	ctx, stopLoad := context.WithCancel(t.Context())
	var load sync.WaitGroup
	var loadErr error
	load.Go(func() {
		next := 400001
		r := rand.New(rand.NewPCG(1, 2))
		for i := 0; ctx.Err() == nil; i++ {
			tx, err := pg.BeginTx(ctx, nil)
			if err != nil {
				if ctx.Err() == nil { // not the end of the load
					loadErr = err
				}
				return
			}
			stmts := []string{
				fmt.Sprintf(`INSERT INTO orders SELECT i, 'n' || i, i FROM generate_series(%d, %d) i`, next, next+39),
				fmt.Sprintf(`UPDATE orders SET v = v || '+', n = n + 1 WHERE id BETWEEN %[1]d AND %[1]d + 19`, 1+r.IntN(400000)),
				fmt.Sprintf(`DELETE FROM orders WHERE id IN (SELECT id FROM orders ORDER BY id LIMIT %d)`, 1+r.IntN(3)),
			}
			if i%10 == 5 {
				stmts = append(stmts, `SELECT pg_logical_emit_message(true, 'e2e', 'in a transaction')`)
			}
			if i == 40 {
				tx.Rollback()
				rows := make([][]any, 10000)
				for j := range rows {
					rows[j] = []any{int32(2000000 + j), "copied", int64(j)}
				}
				if _, err := copier.CopyFrom(ctx, pgx.Identifier{"orders"}, []string{"id", "v", "n"}, pgx.CopyFromRows(rows)); err != nil {
					if ctx.Err() == nil {
						loadErr = err
					}
					return
				}
				close(copied)
				continue
			}
			if i == 80 {
				stmts = []string{`TRUNCATE orders`, fmt.Sprintf(`INSERT INTO orders VALUES (%d, 'after truncate', 0)`, next)}
			}
			next += 40
			for _, s := range stmts {
				if _, err = tx.ExecContext(ctx, s); err != nil {
					break
				}
			}
			if err == nil {
				err = tx.Commit()
			} else {
				tx.Rollback()
			}
			if err != nil && ctx.Err() == nil {
				loadErr = err
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	kills := 3
	if os.Getenv("S3BRIDGE_SOAK") == "full" {
		kills = 10
	}
	type shown struct {
		State string `json:"state"`
		Agent string `json:"agent"`
		LSN   string `json:"checkpoint_lsn"`
	}
	show := func() shown {
		var v shown
		json.Unmarshal([]byte(w.mustCLI("pipeline", "show", "--db", inst, "--json", "e2e_kill_orders")), &v)
		return v
	}
	for k := range kills {
		// Kill the agent once it holds the pipeline and has moved its
		// checkpoint on: a kill mid-stream, not of an idle agent.
		before := show().LSN
		waitFor(t, "the new agent to stream", time.Minute, func() bool {
			v := show()
			return v.Agent != "" && v.State == "STREAMING" && v.LSN != before
		})
		if k == 0 {
			// Right after the COPY's commit: mid-way through writing it.
			select {
			case <-copied:
				time.Sleep(time.Duration(rand.IntN(100)) * time.Millisecond)
			case <-time.After(time.Minute):
				t.Fatal("the load's COPY did not commit within a minute")
			}
		} else {
			time.Sleep(time.Duration(200+rand.IntN(800)) * time.Millisecond)
		}
		if err := agent.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		agent.Wait()
		t.Logf("kill %d at checkpoint %s", k+1, show().LSN)
		agent = w.agent(agentArgs...)
	}
	time.Sleep(time.Second)
	stopLoad()
	load.Wait()
	if loadErr != nil {
		t.Fatalf("load generator: %v", loadErr)
	}
	var end string
	if err := pg.QueryRow(`SELECT pg_current_wal_lsn()::text`).Scan(&end); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the checkpoint to pass the last change", 2*time.Minute, func() bool {
		v := show()
		if v.LSN == "" {
			return false
		}
		var done bool
		pg.QueryRow(`SELECT $1::pg_lsn >= $2::pg_lsn`, v.LSN, end).Scan(&done)
		return done
	})

	store, err := s3store.New(t.Context(), s3store.Config{Endpoint: w.minio.Endpoint, Region: w.minio.Region,
		AccessKeyID: w.minio.AccessKey, SecretAccessKey: w.minio.SecretKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	files := filecheck.ReadAll(t, store, w.bucket, "cdc/")
	got, stats := replay(t, files)
	want := map[string]string{}
	rows, err := pg.Query(`SELECT id, v, n FROM orders`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, n int64
		var v string
		rows.Scan(&id, &v, &n)
		want[fmt.Sprint(id)] = fmt.Sprintf("%s|%d", v, n)
	}
	rows.Close()
	t.Logf("%d files, %s; source has %d rows, the files give %d", len(files), stats, len(want), len(got))
	sameRows(t, "", got, want)
}

// replay applies the pipeline's files for public.orders to an empty
// table (replayTable): its rows as "v|n" by id.
func replay(t *testing.T, files []filecheck.File) (map[string]string, string) {
	t.Helper()
	return replayTable(t, files, "/public/orders/", "v", "n")
}
