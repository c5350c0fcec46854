package testenv

import (
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

var binlogMetadata sync.Once

// BinlogSource is a test's private database on the binlog MariaDB
// (MariaDB), for the pipeline sources' tests: its URL with a replication
// server_id of the test's own (tests of one pipeline name run at once, and
// a second replica with an id cuts off the first), its name, and an SQL
// connection (UTC, strict, multi-statements). The server must log row
// metadata in full: scripts/services.sh starts it so, and a server started
// earlier is set so once (root may; it only adds to what the log holds).
func BinlogSource(t *testing.T) (source, name string, db *sql.DB) {
	t.Helper()
	u, err := url.Parse(MariaDB(t))
	if err != nil {
		t.Fatal(err)
	}
	name = strings.TrimPrefix(u.Path, "/")
	pass, _ := u.User.Password()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = u.User.Username(), pass, "tcp", u.Host, name
	cfg.MultiStatements, cfg.Loc = true, time.UTC
	cfg.Params = map[string]string{"time_zone": "'+00:00'", "sql_mode": "'STRICT_ALL_TABLES'"}
	if db, err = sql.Open("mysql", cfg.FormatDSN()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	binlogMetadata.Do(func() {
		if _, err := db.ExecContext(t.Context(), "SET GLOBAL binlog_row_metadata = FULL"); err != nil {
			t.Fatalf("set binlog_row_metadata: %v", err)
		}
	})
	var id [4]byte
	rand.Read(id[:])
	u.RawQuery = url.Values{"server_id": {fmt.Sprint(binary.LittleEndian.Uint32(id[:]) | 1<<31)}}.Encode()
	return u.String(), name, db
}
