package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/s3bridge/s3bridge/internal/filecheck"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/s3store"
)

// TestPipelineMariaDB (issue 11): a stored pipeline on the binlog MariaDB
// (S3BRIDGE_TEST_MARIADB): create checks the server, an agent snapshots
// the table and streams multi-row inserts, updates, deletes,
// multi-statement transactions, a LOAD DATA LOCAL INFILE of 10,000 rows
// and an ALTER TABLE … ADD COLUMN (a new schema version); the agent is
// killed with SIGKILL at random moments mid-stream (3 times,
// S3BRIDGE_SOAK=full 10) and another takes over from the checkpoint's
// resume token each time. The files, read by python3-avro and applied in
// order to the snapshot, reproduce the source table row by row, and no
// transaction is in two files.
func TestPipelineMariaDB(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	raw := testenv.MariaDB(t)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	dbName := strings.TrimPrefix(u.Path, "/")
	pass, _ := u.User.Password()
	if pass != "" {
		// The stored URL holds no password: the agents take MYSQL_PWD.
		w.env = append(w.env, "MYSQL_PWD="+pass)
	}
	u.User = url.User(u.User.Username())
	// A server id of the test's own: a second replica registering with
	// the same id would cut the first off.
	u.RawQuery = url.Values{"server_id": {strconv.Itoa(1<<30 + rand.IntN(1<<29))}}.Encode()
	source := u.String()
	my := openDB(t, "mysql", fmt.Sprintf("%s:%s@tcp(%s)/%s?multiStatements=true", u.User.Username(), pass, u.Host, dbName))
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := my.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// The stream needs the columns' names in the log (create checks it);
	// root may set it, and it only adds to what the log holds.
	exec("SET GLOBAL binlog_row_metadata = FULL")
	exec("CREATE TABLE `orders` (`id` int PRIMARY KEY, `v` varchar(200) NOT NULL, `n` bigint) ENGINE=InnoDB")
	exec("INSERT INTO `orders` SELECT seq, CONCAT('v', seq), seq * 10 FROM seq_1_to_5000")

	inst := "sqlite://" + t.TempDir() + "/i.db"
	const name = "e2e_maria_orders"
	w.mustCLI("attach", "--db", inst)
	w.mustCLI("pipeline", "create", name, "--db", inst, "--source", source, "--tables", dbName+".orders",
		"--bucket", w.bucket, "--prefix", "cdc/", "--flush-interval", "300ms", "--flush-rows", "1000")
	t.Cleanup(func() { w.cli("pipeline", "drop", "--db", inst, name) })
	type shown struct {
		State    string `json:"state"`
		Agent    string `json:"agent"`
		LSN      string `json:"checkpoint_lsn"`
		Position string `json:"checkpoint_position"`
	}
	show := func() shown {
		var v shown
		json.Unmarshal([]byte(w.mustCLI("pipeline", "show", "--db", inst, "--json", name)), &v)
		return v
	}
	agentArgs := []string{"--db", inst, "--lease", "3s"}
	agent := w.agent(agentArgs...)
	waitFor(t, "the pipeline to stream", 2*time.Minute, func() bool { return show().State == "STREAMING" })

	// The load: multi-row inserts, updates, deletes and multi-statement
	// transactions, with once each a TRUNCATE, a LOAD DATA LOCAL INFILE of
	// 10,000 rows (one transaction) and an ALTER TABLE … ADD COLUMN (a new
	// schema version), each after loadSpecial iterations.
	const loadSpecial = 40
	ctx, stopLoad := context.WithCancel(t.Context())
	var load sync.WaitGroup
	var loadErr error
	var iterations atomic.Int64
	load.Go(func() {
		next := 5001
		altered := false
		cols := "`id`, `v`, `n`"
		r := rand.New(rand.NewPCG(3, 4))
		for i := 0; ctx.Err() == nil; i++ {
			var stmts []string
			var infile func() io.Reader
			switch {
			case i == loadSpecial:
				// MariaDB logs it as a statement; the pipeline writes it
				// as a truncate record.
				stmts = []string{"TRUNCATE TABLE `orders`"}
			case i == 2*loadSpecial:
				// A reader handler, as instance/mysql's loads: no local file.
				var b strings.Builder
				for id := next; id < next+10000; id++ {
					fmt.Fprintf(&b, "%d,loaded%d,%d\n", id, id, id%97)
				}
				data := b.String()
				infile = func() io.Reader { return strings.NewReader(data) }
				stmts = []string{"LOAD DATA LOCAL INFILE 'Reader::e2e_maria_load' INTO TABLE `orders` FIELDS TERMINATED BY ',' (" + cols + ")"}
				next += 10000
			case i == 3*loadSpecial:
				stmts = []string{"ALTER TABLE `orders` ADD COLUMN `extra` varchar(40) NULL"}
				altered, cols = true, "`id`, `v`, `n`, `extra`"
			default:
				extra := ""
				if altered {
					extra = fmt.Sprintf(", 'x%d'", i)
				}
				switch i % 4 {
				case 0:
					stmts = []string{fmt.Sprintf("INSERT INTO `orders` (%s) VALUES (%d, 'multi', %d%s), (%d, 'multi', NULL%s), (%d, 'multi', %d%s)",
						cols, next, i, extra, next+1, extra, next+2, -i, extra)}
				case 1:
					set := ""
					if altered {
						set = fmt.Sprintf(", `extra` = 'u%d'", i)
					}
					l := lo(r, next)
					stmts = []string{fmt.Sprintf("UPDATE `orders` SET `v` = CONCAT(`v`, '+'), `n` = `n` + 1%s WHERE `id` BETWEEN %d AND %d", set, l, l+4)}
				case 2:
					l := lo(r, next)
					stmts = []string{fmt.Sprintf("DELETE FROM `orders` WHERE `id` BETWEEN %d AND %d", l, l+2)}
				default:
					l := lo(r, next)
					stmts = []string{
						fmt.Sprintf("INSERT INTO `orders` (`id`, `v`, `n`) SELECT seq, CONCAT('tx', seq), seq FROM seq_%d_to_%d", next, next+19),
						fmt.Sprintf("UPDATE `orders` SET `v` = CONCAT(`v`, '*'), `n` = NULL WHERE `id` BETWEEN %d AND %d", l, l+9),
						fmt.Sprintf("DELETE FROM `orders` WHERE `id` BETWEEN %d AND %d", l+20, l+22),
					}
				}
				next += 20
			}
			if infile != nil {
				mysql.RegisterReaderHandler("e2e_maria_load", infile)
			}
			tx, err := my.BeginTx(ctx, nil)
			if err == nil {
				for _, s := range stmts {
					if _, err = tx.ExecContext(ctx, s); err != nil {
						err = fmt.Errorf("%.80s: %w", s, err)
						break
					}
				}
				if err == nil {
					err = tx.Commit()
				} else {
					tx.Rollback()
				}
			}
			if infile != nil {
				mysql.DeregisterReaderHandler("e2e_maria_load")
			}
			if err != nil {
				if ctx.Err() == nil {
					loadErr = err
				}
				return
			}
			iterations.Add(1)
			time.Sleep(5 * time.Millisecond)
		}
	})
	// Kill the agent each time it has moved its checkpoint on while the
	// load runs: kills mid-stream, at random moments.
	kills := 3
	if os.Getenv("S3BRIDGE_SOAK") == "full" {
		kills = 10
	}
	for k := range kills {
		before := show().LSN
		waitFor(t, "the checkpoint to move on", time.Minute, func() bool {
			v := show()
			return v.Agent != "" && v.State == "STREAMING" && v.LSN != before && v.LSN != ""
		})
		time.Sleep(time.Duration(200+rand.IntN(1500)) * time.Millisecond)
		if err := agent.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		agent.Wait()
		t.Logf("kill %d at checkpoint %s (%s), %d load iterations", k+1, show().LSN, show().Position, iterations.Load())
		agent = w.agent(agentArgs...)
	}
	killed := show().LSN
	waitFor(t, "the new agent to stream", time.Minute, func() bool {
		v := show()
		return v.Agent != "" && v.State == "STREAMING" && v.LSN != killed
	})
	waitFor(t, "the load to pass its DELETE of every row, LOAD DATA and ALTER", time.Minute, func() bool {
		return iterations.Load() > 3*loadSpecial+20 || loadErr != nil
	})
	time.Sleep(time.Second)
	stopLoad()
	load.Wait()
	if loadErr != nil {
		t.Fatalf("load generator: %v", loadErr)
	}
	// The last transaction, whose GTID the checkpoint's token must reach.
	exec("INSERT INTO `orders` (`id`, `v`, `n`, `extra`) VALUES (999999999, 'last', 0, 'end')")
	var last string
	if err := my.QueryRow("SELECT @@last_gtid").Scan(&last); err != nil || last == "" {
		t.Fatalf("the last transaction's GTID: %q, %v", last, err)
	}
	waitFor(t, "the checkpoint to pass the last transaction "+last, 2*time.Minute, func() bool {
		return gtidReached(show().Position, last)
	})
	t.Logf("checkpoint %s, position %s", show().LSN, show().Position)
	// show reads the binary log from the checkpoint to its end.
	contains(t, "pipeline show", w.mustCLI("pipeline", "show", "--db", inst, name), "Position   : 0-", "Binary log : ")

	store, err := s3store.New(t.Context(), s3store.Config{Endpoint: w.minio.Endpoint, Region: w.minio.Region,
		AccessKeyID: w.minio.AccessKey, SecretAccessKey: w.minio.SecretKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	files := filecheck.ReadAll(t, store, w.bucket, "cdc/")
	got, stats := replayTable(t, files, "/"+dbName+"/orders/", "v", "n", "extra")
	want := map[string]string{}
	rows, err := my.Query("SELECT `id`, `v`, `n`, `extra` FROM `orders`")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		var v string
		var n *int64
		var extra *string
		if err := rows.Scan(&id, &v, &n, &extra); err != nil {
			t.Fatal(err)
		}
		nv := "<nil>"
		if n != nil {
			nv = fmt.Sprint(*n)
		}
		ev := "<nil>"
		if extra != nil {
			ev = *extra
		}
		want[fmt.Sprint(id)] = v + "|" + nv + "|" + ev
	}
	rows.Close()
	t.Logf("%d files, %s; source has %d rows, the files give %d", len(files), stats, len(want), len(got))
	sameRows(t, "", got, want)
}

// sameRows checks that the files' rows (a replay's, id → values) are the
// source's, naming at most 10 rows that differ; what prefixes the
// messages (a table's name, or "").
func sameRows(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if what != "" {
		what += ": "
	}
	if len(got) != len(want) {
		t.Errorf("%sthe files give %d rows, the source has %d", what, len(got), len(want))
	}
	bad := 0
	for id, v := range want {
		if got[id] != v && bad < 10 {
			t.Errorf("%srow %s: files %q, source %q", what, id, got[id], v)
			bad++
		}
	}
}

// gtidReached reports whether token's GTID set (mysource's resume token:
// "D-S-N,… file:offset") holds gtid's domain at gtid's sequence number or
// later.
func gtidReached(token, gtid string) bool {
	parts := strings.Split(gtid, "-")
	if len(parts) != 3 {
		return false
	}
	want, _ := strconv.ParseUint(parts[2], 10, 64)
	for field := range strings.FieldsSeq(token) {
		if strings.Contains(field, ":") {
			continue
		}
		for g := range strings.SplitSeq(field, ",") {
			p := strings.Split(g, "-")
			if len(p) == 3 && p[0] == parts[0] {
				seq, _ := strconv.ParseUint(p[2], 10, 64)
				return seq >= want
			}
		}
	}
	return false
}

// replayTable applies the pipeline's files of the table under dir (a
// key fragment, "/<schema>/<table>/") to an empty table: snapshot parts,
// then change files in key order, each file's records in order, failing
// when a transaction is in two files. A row is its cols' values joined by
// "|", by id.
func replayTable(t *testing.T, files []filecheck.File, dir string, cols ...string) (map[string]string, string) {
	t.Helper()
	table := map[string]string{}
	var snaps, changes []filecheck.File
	for _, f := range files {
		switch {
		case strings.Contains(f.Key, dir+"snapshot/"):
			snaps = append(snaps, f)
		case strings.Contains(f.Key, dir+"changes/"):
			changes = append(changes, f)
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Key < changes[j].Key })
	row := func(m any) (string, string) {
		r := m.(map[string]any)
		// A record of a schema version before a column was added lacks it.
		vals := make([]string, len(cols))
		for i, c := range cols {
			vals[i] = fmt.Sprint(r[c])
		}
		return fmt.Sprint(r["id"]), strings.Join(vals, "|")
	}
	for _, f := range snaps {
		for _, rec := range f.Records {
			id, v := row(rec["after"])
			table[id] = v
		}
	}
	ops := map[string]int{}
	seen := map[string]string{}
	for _, f := range changes {
		for _, rec := range f.Records {
			op := fmt.Sprint(rec["op"])
			ops[op]++
			lsn := fmt.Sprint(rec["source"].(map[string]any)["lsn"])
			if other, ok := seen[lsn]; ok && other != f.Key {
				t.Errorf("the transaction committed at %s is in %s and in %s", lsn, other, f.Key)
			}
			seen[lsn] = f.Key
			switch op {
			case "c":
				id, v := row(rec["after"])
				table[id] = v
			case "u":
				if rec["before"] != nil {
					id, _ := row(rec["before"])
					delete(table, id)
				}
				id, v := row(rec["after"])
				table[id] = v
			case "d":
				id, _ := row(rec["before"])
				delete(table, id)
			case "t":
				clear(table)
			}
		}
	}
	return table, fmt.Sprintf("%d snapshot part(s), %d change file(s), ops %v", len(snaps), len(changes), ops)
}

// lo is a random id below next for the load's updates and deletes.
func lo(r *rand.Rand, next int) int { return 1 + r.IntN(next) }
