package connector_test

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/mysql"
	"github.com/s3bridge/s3bridge/internal/faultproxy"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

// cutter forwards TCP connections to a database server and cuts them all
// on demand, as a network cut would: only this test's sessions, never
// another test's on the same server.
type cutter struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func startCutter(t *testing.T, target string) *cutter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	c := &cutter{ln: ln, target: target}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, in, up)
			c.mu.Unlock()
			go func() { io.Copy(up, in); up.Close() }()
			go func() { io.Copy(in, up); in.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); c.cut() })
	return c
}

// cut closes every forwarded connection and says how many pairs it cut.
func (c *cutter) cut() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	n := len(c.conns) / 2
	c.conns = nil
	return n
}

// terminateLoad ends the PostgreSQL sessions of the test's own database
// that are in a transaction: the load's.
const terminateLoad = `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	WHERE datname = current_database() AND pid <> pg_backend_pid() AND (state = 'idle in transaction' OR query ILIKE 'COPY%')`

// TestRunRetriedLostConnection: the database session of a run's load is
// killed in the middle of the load; the attempt fails, the run is
// retried whole, and every row and ledger row is there once.
func TestRunRetriedLostConnection(t *testing.T) {
	var cut *cutter
	through := database{Name: "mariadb", Open: func(t *testing.T) instance.Instance {
		u, err := url.Parse(testenv.MariaDB(t))
		must(t, err)
		cut = startCutter(t, u.Host)
		u.Host = cut.ln.Addr().String()
		in, err := mysql.Open(t.Context(), u.String())
		must(t, err)
		return in
	}}
	for _, d := range []database{databases[1], through} {
		t.Run(d.Name, func(t *testing.T) {
			h := newHarness(t, d)
			h.put("lc/a.csv", []byte("id,v\n1,x\n2,y\n"))
			h.put("lc/b.csv", []byte("id,v\n3,z\n"))
			stored, proxy := h.retrying("lc/")
			r := h.runner(0)
			claimed := h.claimed("lc", stored)
			// b.csv's GET waits while a.csv's rows are in the open load.
			fault := proxy.Add(faultproxy.Rule{Op: faultproxy.GetObject, Key: "lc/b.csv", Times: 1, Action: faultproxy.Delay(2 * time.Second)})
			type outcome struct {
				res s3bridge.Result
				err error
			}
			done := make(chan outcome, 1)
			rep := &logged{}
			go func() {
				res, err := r.Run(t.Context(), h.in, claimed, s3bridge.Settings{}, rep)
				done <- outcome{res, err}
			}()
			// Kill the loading session once it shows, while b.csv waits.
			kill := func() int {
				if d.Name == "postgres" {
					return h.count(terminateLoad)
				}
				return cut.cut()
			}
			for deadline := time.Now().Add(20 * time.Second); fault.Hits() == 0 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond) // a.csv loaded, b.csv's GET waiting
			killed := kill()
			if killed == 0 {
				t.Fatalf("killed no session; the test proves nothing")
			}
			var got outcome
			select {
			case got = <-done:
			case <-time.After(time.Minute):
				t.Fatal("the run did not end within a minute of its connection's loss")
			}
			if got.err != nil {
				t.Fatalf("the run failed: %v (log %q)", got.err, rep.lines)
			}
			if rep.count("retrying the run") != 1 {
				t.Errorf("%d retries logged, want 1: %q", rep.count("retrying the run"), rep.lines)
			}
			if got.res.Rows != 3 || got.res.Files != 2 {
				t.Errorf("result: %d rows, %d files; want 3, 2", got.res.Rows, got.res.Files)
			}
			if ids := joined(h.ids("t")); ids != "1,2,3" {
				t.Errorf("ids %s, want 1,2,3 (each row once)", ids)
			}
			if n := h.ledger("lc"); n != 2 {
				t.Errorf("%d ledger rows, want 2", n)
			}
		})
	}
}
