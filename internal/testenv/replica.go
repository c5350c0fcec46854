package testenv

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Replica is a throw-away MariaDB replicating from the test server: what a
// replica's copy of an attached database may do is tested against it.
type Replica struct {
	// Host is the replica's host:port; root has no password there.
	Host    string
	primary *sql.DB
	db      *sql.DB
}

// MariaDBReplica starts a MariaDB with server_id 2 in a temporary
// directory, replicating from the test server (which must have the binary
// log on) from its current position: call it before creating what is to
// be replicated. It is stopped and removed at cleanup.
func MariaDBReplica(t testing.TB) *Replica {
	t.Helper()
	admin := MariaDBAdminURL()
	primary, err := mariaAdmin(admin)
	if err != nil {
		Unavailable(t, "MariaDB at "+redact(admin), err)
	}
	t.Cleanup(func() { primary.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var logBin bool
	var pos string
	if err := primary.QueryRowContext(ctx, "SELECT @@log_bin, @@gtid_binlog_pos").Scan(&logBin, &pos); err != nil {
		Unavailable(t, "MariaDB at "+redact(admin), err)
	}
	if !logBin {
		Unavailable(t, "a MariaDB with the binary log on", fmt.Errorf("%s has log_bin OFF", redact(admin)))
	}
	host, err := startMariaDB(t, ctx)
	if err != nil {
		Unavailable(t, "a second MariaDB server", err)
	}
	db, err := sql.Open("mysql", "root@tcp("+host+")/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	u, _ := url.Parse(admin)
	pass, _ := u.User.Password()
	src, srcPort, _ := net.SplitHostPort(u.Host)
	for _, q := range []string{
		"SET GLOBAL gtid_slave_pos = '" + pos + "'",
		fmt.Sprintf("CHANGE MASTER TO MASTER_HOST = '%s', MASTER_PORT = %s, MASTER_USER = '%s', MASTER_PASSWORD = '%s', MASTER_USE_GTID = slave_pos",
			src, srcPort, u.User.Username(), pass),
		"START SLAVE",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("replica: %s: %v", q, err)
		}
	}
	return &Replica{Host: host, primary: primary, db: db}
}

// Only restricts the replica to the given databases: other tests create
// and fill their own databases on the same server in parallel, and the
// replica, which starts from a position after some of them were created,
// would stop on their row events. Replication filters are dynamic while
// the replica is stopped; an event the SQL thread failed on is retried
// under the filter.
func (r *Replica) Only(t testing.TB, dbs ...string) {
	t.Helper()
	var pats []string
	for _, d := range dbs {
		pats = append(pats, strings.ReplaceAll(d, "_", `\_`)+".%")
	}
	for _, q := range []string{"STOP SLAVE", "SET GLOBAL replicate_wild_do_table = '" + strings.Join(pats, ",") + "'", "START SLAVE"} {
		if _, err := r.db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("replica: %s: %v", q, err)
		}
	}
}

// CatchUp waits until the replica has applied everything the test server
// has logged so far.
func (r *Replica) CatchUp(t testing.TB) {
	t.Helper()
	var pos string
	if err := r.primary.QueryRowContext(t.Context(), "SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	var got int
	if err := r.db.QueryRowContext(t.Context(), "SELECT MASTER_GTID_WAIT(?, 30)", pos).Scan(&got); err != nil || got != 0 {
		var status string
		rows, qerr := r.db.QueryContext(t.Context(), "SHOW SLAVE STATUS")
		if qerr == nil {
			cols, _ := rows.Columns()
			vals := make([]sql.RawBytes, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			for rows.Next() && rows.Scan(ptrs...) == nil {
				for i, c := range cols {
					if len(vals[i]) > 0 && (c == "Last_Error" || c == "Last_IO_Error" || c == "Slave_SQL_Running" || c == "Slave_IO_Running") {
						status += fmt.Sprintf(" %s=%s", c, vals[i])
					}
				}
			}
			rows.Close()
		}
		t.Fatalf("replica did not reach %s within 30 s (%d, %v):%s", pos, got, err, status)
	}
}

// startMariaDB runs mariadb-install-db and mariadbd (server_id 2) in a
// temporary directory on a free loopback port and returns its host:port.
// Replication starts from the test server's current position, so events
// about what existed before (other tests' tables) fail there: the replica
// skips them, the test looks only at what it created afterwards.
func startMariaDB(t testing.TB, ctx context.Context) (string, error) {
	t.Helper()
	return startPrivateMariaDB(t, ctx, "--server-id=2", "--slave-skip-errors=all")
}

func mariaAdmin(admin string) (*sql.DB, error) {
	u, err := url.Parse(admin)
	if err != nil {
		return nil, err
	}
	pass, _ := u.User.Password()
	db, err := sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(%s)/", u.User.Username(), pass, u.Host))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func lookPath(name, fallback string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if _, err := os.Stat(fallback); err == nil {
		return fallback, nil
	}
	return "", errors.New(name + " not found")
}
