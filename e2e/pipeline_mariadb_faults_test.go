package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestPipelineMariaDBS3Faults is TestPipelineS3Faults on a MariaDB
// source (issue 11, "the same S3 fault cases"): the same load, faults,
// agent killed during a multipart upload, and checks — every committed
// transaction's changes exactly once (by GTID sequence number, the
// files' tx_id) and the files reproducing the table.
func TestPipelineMariaDBS3Faults(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	src, dbName, my := mariaSource(t, w)
	for _, q := range []string{"CREATE TABLE `orders` (`id` int PRIMARY KEY, `v` text NOT NULL, `n` bigint) ENGINE=InnoDB",
		"INSERT INTO `orders` SELECT seq, CONCAT('v', seq), seq * 10 FROM seq_1_to_1000"} {
		if _, err := my.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	runS3Faults(t, w, ordersSource{name: "e2e_maria_faults", url: src, table: dbName + ".orders", dir: "/" + dbName + "/orders/",
		dialect: &mariaOrders{db: my}})
}

// mariaSource makes a private database on the binlog MariaDB
// (testenv.BinlogSource) and returns the pipeline's source URL for it —
// without the password, which w's agents and commands take from MYSQL_PWD
// as a stored URL holds none — its name and a connection to it.
func mariaSource(t *testing.T, w *world) (source, dbName string, db *sql.DB) {
	t.Helper()
	raw, dbName, db := testenv.BinlogSource(t)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if pass, _ := u.User.Password(); pass != "" {
		w.env = append(w.env, "MYSQL_PWD="+pass)
	}
	u.User = url.User(u.User.Username())
	return u.String(), dbName, db
}

// mariaOrders is the MariaDB dialect of the fault test. A transaction's
// id is its GTID's sequence number (@@last_gtid), as the stream's.
type mariaOrders struct {
	db *sql.DB

	mu   sync.Mutex
	last string // the GTID of the last transaction committed
}

func (*mariaOrders) small(next int, r *rand.Rand) []loadStmt {
	return []loadStmt{
		{"c", fmt.Sprintf("INSERT INTO `orders` SELECT seq, CONCAT('n', seq), seq FROM seq_%d_to_%d", next, next+19)},
		{"u", fmt.Sprintf("UPDATE `orders` SET `v` = CONCAT(`v`, '+'), `n` = `n` + 1 WHERE `id` %% 997 = %d AND `id` < 1000000", r.IntN(997))},
		{"d", fmt.Sprintf("DELETE FROM `orders` ORDER BY `id` LIMIT %d", 1+r.IntN(3))},
	}
}

func (*mariaOrders) big(n int) loadStmt {
	// base64 of SHA-256 (44 characters: TO_BASE64 breaks no line), 12
	// times: text snappy can't shrink much.
	parts := make([]string, 12)
	for j := range parts {
		parts[j] = fmt.Sprintf("TO_BASE64(UNHEX(SHA2(CONCAT(seq, '.%d'), 256)))", j+1)
	}
	from := 2000000 + n*100000
	return loadStmt{"c", fmt.Sprintf("INSERT INTO `orders` SELECT seq, CONCAT(%s), seq FROM seq_%d_to_%d",
		strings.Join(parts, ", "), from, from+35999)}
}

// truncate: MariaDB's TRUNCATE is DDL, a transaction of its own.
func (*mariaOrders) truncate(next int) [][]loadStmt {
	return [][]loadStmt{{{"t", "TRUNCATE TABLE `orders`"}},
		{{"c", fmt.Sprintf("INSERT INTO `orders` VALUES (%d, 'after truncate', 0)", next)}}}
}

func (d *mariaOrders) commit(ctx context.Context, stmts []loadStmt) (string, opCounts, error) {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close()
	ddl := len(stmts) == 1 && stmts[0].op == "t"
	if !ddl {
		if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
			return "", nil, err
		}
	}
	counts, err := execCounted(ctx, conn, stmts)
	if err != nil {
		conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return "", nil, err
	}
	if !ddl {
		if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
			return "", nil, err
		}
	}
	var gtid string
	if err := conn.QueryRowContext(ctx, "SELECT @@last_gtid").Scan(&gtid); err != nil {
		return "", nil, err
	}
	i := strings.LastIndexByte(gtid, '-')
	if _, err := strconv.ParseUint(gtid[i+1:], 10, 64); i < 0 || err != nil {
		return "", nil, fmt.Errorf("@@last_gtid %q after a commit", gtid)
	}
	d.mu.Lock()
	d.last = gtid
	d.mu.Unlock()
	return gtid[i+1:], counts, nil
}

// end is the last GTID the load committed.
func (d *mariaOrders) end(t *testing.T) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last == "" {
		t.Fatal("the load committed nothing")
	}
	return d.last
}

func (*mariaOrders) reached(_ *testing.T, v pipelineShown, end string) bool {
	return gtidReached(v.Position, end)
}

func (d *mariaOrders) rows(t *testing.T) map[string]string {
	return ordersRows(t, d.db, "SELECT `id`, `v`, `n` FROM `orders`")
}
