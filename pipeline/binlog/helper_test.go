package binlog

import (
	"context"
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

	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/pipeline"
)

// env is one test's private database on the binlog server, a Source on
// it with a server id of its own, and an SQL connection.
type env struct {
	t    *testing.T
	url  string // the source URL
	name string // the database
	db   *sql.DB
	src  *Source
}

var fullMetadata sync.Once

// newEnv creates a private database. The server must log row metadata
// (binlog_row_metadata=FULL), which scripts/services.sh does not set: the
// first test to run sets it globally, as root may (it only adds to what
// the log holds).
func newEnv(t *testing.T, ddl ...string) *env {
	t.Helper()
	raw := testenv.MariaDB(t)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := u.User.Password()
	name := strings.TrimPrefix(u.Path, "/")
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = u.User.Username(), pass, "tcp", u.Host, name
	cfg.MultiStatements, cfg.Loc = true, time.UTC
	cfg.Params = map[string]string{"time_zone": "'+00:00'", "sql_mode": "'STRICT_ALL_TABLES'"}
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	fullMetadata.Do(func() {
		if _, err := db.ExecContext(t.Context(), "SET GLOBAL binlog_row_metadata = FULL"); err != nil {
			t.Fatalf("set binlog_row_metadata: %v", err)
		}
	})
	var id [4]byte
	rand.Read(id[:])
	q := url.Values{"server_id": {fmt.Sprint(binary.LittleEndian.Uint32(id[:]) | 1<<31)}}
	u.RawQuery = q.Encode()
	src, err := New(u.String(), name)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, url: u.String(), name: name, db: db, src: src}
	for _, s := range ddl {
		e.exec(s)
	}
	return e
}

func (e *env) exec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.db.ExecContext(e.t.Context(), sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

// stream streams from the server's current position, only the env's
// database (other tests write to the same server meanwhile).
func (e *env) stream(opts StreamOptions) *Stream {
	e.t.Helper()
	if opts.Include == nil {
		opts.Include = func(db, _ string) bool { return db == e.name }
	}
	st, err := e.src.Stream(e.t.Context(), opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close(context.Background()) })
	return st
}

// changes reads events until n changes have come and the transaction
// of the last is committed, and returns the changes and the transactions.
func changes(t *testing.T, st *Stream, n int) ([]pipeline.Change, []*pipeline.Tx) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var cs []pipeline.Change
	var txs []*pipeline.Tx
	var open *pipeline.Tx
	var opened []pipeline.Change
	for {
		ev, err := st.Next(ctx)
		if err != nil {
			t.Fatalf("after %d of %d changes: %v", len(cs), n, err)
		}
		switch {
		case ev.Begin != nil:
			if open != nil {
				t.Fatalf("begin %d inside %d", ev.Begin.ID, open.ID)
			}
			open, opened = ev.Begin, nil
		case ev.Change != nil:
			if open == nil {
				t.Fatalf("change outside a transaction")
			}
			opened = append(opened, *ev.Change)
		case ev.Commit != nil:
			if open == nil || ev.Commit.ID != open.ID {
				t.Fatalf("commit %d of no open transaction", ev.Commit.ID)
			}
			if len(opened) > 0 {
				cs = append(cs, opened...)
				txs = append(txs, ev.Commit)
			}
			open = nil
			if len(cs) >= n {
				return cs, txs
			}
		}
	}
}

// rawTableMap parses ev when it is a TABLE_MAP event (checksummed, as
// the test server writes them).
func rawTableMap(t *testing.T, ev []byte) *tableMap {
	t.Helper()
	h, body, _, err := split(ev, checksumCRC32, "", 0)
	if err != nil || h.Type != TableMapEvent {
		return nil
	}
	tm, err := parseTableMap(body, 8)
	if err != nil {
		t.Errorf("TABLE_MAP: %v", err)
		return nil
	}
	return tm
}
