package connector_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/connector"
	"github.com/s3bridge/s3bridge/internal/faultproxy"
)

// logged is a Reporter that keeps the task log's lines.
type logged struct {
	quiet
	mu    sync.Mutex
	lines []string
}

func (l *logged) Logf(_ s3bridge.LogLevel, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logged) count(part string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, part) {
			n++
		}
	}
	return n
}

// TestRunRetried: GetObject answering 503 SlowDown for a while fails the
// first attempts; the run is retried whole, each attempt logged, and ends
// with every row and ledger row once. A bad row fails at once.
func TestRunRetried(t *testing.T) {
	h := newHarness(t, databases[1])
	h.put("r/a.csv", []byte("id,v\n1,x\n2,y\n"))
	h.put("r/b.csv", []byte("id,v\n3,z\n"))
	stored, proxy := h.retrying("r/")
	// The SDK gives up at once (one attempt per request): the retries
	// under test are the run's.
	r := h.runner(1)
	run := func(name string, cfg connector.Config, rep s3bridge.Reporter) (s3bridge.Result, error) {
		t.Helper()
		return r.Run(t.Context(), h.in, h.claimed(name, cfg), s3bridge.Settings{}, rep)
	}

	// The second file's GetObject fails twice: attempts 1 and 2 fail
	// after loading a.csv in their (rolled back) transactions.
	fault := proxy.Add(faultproxy.Rule{Op: faultproxy.GetObject, Key: "r/b.csv", Times: 2, Action: faultproxy.SlowDown()})
	rep := &logged{}
	res, err := run("r", stored, rep)
	if err != nil {
		t.Fatalf("the run failed after retries: %v", err)
	}
	if fault.Hits() != 2 || rep.count("retrying the run") != 2 {
		t.Errorf("%d faults, %d retries logged; want 2, 2: %q", fault.Hits(), rep.count("retrying the run"), rep.lines)
	}
	if res.Rows != 3 || res.Files != 2 {
		t.Errorf("result: %d rows, %d files; want 3, 2", res.Rows, res.Files)
	}
	if got := joined(h.ids("t")); got != "1,2,3" {
		t.Errorf("ids %s, want 1,2,3 (each row once)", got)
	}
	if n := h.ledger("r"); n != 2 {
		t.Errorf("%d ledger rows, want 2", n)
	}

	// A run whose faults outlast its retries fails, naming its attempts.
	h.put("r/c.csv", []byte("id,v\n4,w\n"))
	proxy.Add(faultproxy.Rule{Op: faultproxy.GetObject, Key: "r/c.csv", Action: faultproxy.SlowDown()})
	if _, err := run("r", stored, &logged{}); err == nil || !strings.Contains(err.Error(), "attempt 4 of 4") {
		t.Errorf("a run failing every attempt: %v", err)
	}
	proxy.Clear()

	// A bad row is not retried: one GetObject of the bad file.
	h.put("bad/a.csv", []byte("id,v\nnot-a-number,x\n"))
	bad := stored
	bad.In.PathPrefix = ptr("bad/")
	before := proxy.Count(faultproxy.GetObject)
	rep = &logged{}
	if _, err := run("bad", bad, rep); err == nil {
		t.Fatal("a bad row's run succeeded")
	}
	if n := proxy.Count(faultproxy.GetObject) - before; n != 1 || rep.count("retrying") != 0 {
		t.Errorf("a bad row: %d GetObject, %d retries logged; want 1, 0", n, rep.count("retrying"))
	}
	if got := joined(h.ids("t")); got != "1,2,3" {
		t.Errorf("ids %s after the failed runs, want 1,2,3", got)
	}
}

func ptr[T any](v T) *T { return &v }
