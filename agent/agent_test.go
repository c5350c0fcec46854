package agent_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/agent"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/postgres"
	"github.com/s3bridge/s3bridge/instance/sqlite"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

// checkLeaks fails the test if it leaves a goroutine behind. Call it
// first: its check then runs after every other cleanup (instances and
// servers closed). Tests that call it can't be parallel.
func checkLeaks(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

// runnerFunc is an agent.Runner made of a function.
type runnerFunc func(ctx context.Context, t s3bridge.Task) (s3bridge.Result, error)

func (f runnerFunc) Run(ctx context.Context, _ instance.Instance, t s3bridge.Task, _ s3bridge.Settings, _ s3bridge.Reporter) (s3bridge.Result, error) {
	return f(ctx, t)
}

// done succeeds at once.
var done = runnerFunc(func(context.Context, s3bridge.Task) (s3bridge.Result, error) {
	return s3bridge.Result{Info: "done"}, nil
})

// blocked runs until its context ends.
var blocked = runnerFunc(func(ctx context.Context, _ s3bridge.Task) (s3bridge.Result, error) {
	<-ctx.Done()
	return s3bridge.Result{}, ctx.Err()
})

func attach(t *testing.T, in instance.Instance) {
	t.Helper()
	if err := in.Attach(t.Context(), s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatalf("attach %s: %v", in.Name(), err)
	}
}

func openSQLite(t *testing.T, name string) *sqlite.Instance {
	t.Helper()
	in, err := sqlite.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), name+".db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	attach(t, in)
	return in
}

func openPostgres(t *testing.T, url string) *postgres.Instance {
	t.Helper()
	in, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	attach(t, in)
	return in
}

func enqueue(t *testing.T, in instance.Instance, typ s3bridge.TaskType) int64 {
	t.Helper()
	id, err := in.Enqueue(t.Context(), s3bridge.Task{Type: typ, S3ObjectARN: "arn:aws:s3:::b/k", FilePath: "f.csv"})
	if err != nil {
		t.Fatalf("enqueue on %s: %v", in.Name(), err)
	}
	return id
}

// waitLifecycle polls task id until it reaches want, with a deadline.
func waitLifecycle(t *testing.T, in instance.Instance, id int64, want s3bridge.Lifecycle) {
	t.Helper()
	var got s3bridge.Task
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		var err error
		if got, err = in.Task(t.Context(), id); err == nil && got.Lifecycle == want {
			return
		}
		time.Sleep(20 * time.Millisecond) // polling the task's row, with a deadline
	}
	t.Fatalf("task %d on %s: %s (%s), want %s", id, in.Name(), got.Lifecycle, got.TaskInfo, want)
}

// stopAndWait cancels a running Run and waits for it to return.
func stopAndWait(t *testing.T, cancel context.CancelFunc, errc <-chan error) {
	t.Helper()
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

// TestRunTwoInstancesStoppedByContext: one agent serves a PostgreSQL
// instance (with its LISTEN loop) and a SQLite one; when its context ends
// Run returns, having put back the task still running, and nothing of it
// is left running.
func TestRunTwoInstancesStoppedByContext(t *testing.T) {
	checkLeaks(t)
	pg := openPostgres(t, testenv.Postgres(t))
	lite := openSQLite(t, "lite")
	a := agent.New(agent.Config{Tick: 20 * time.Millisecond, Grace: 100 * time.Millisecond},
		map[s3bridge.TaskType]agent.Runner{s3bridge.TaskUpload: done, s3bridge.TaskDownload: blocked})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- a.Run(ctx, pg, lite) }()
	pgTask, liteTask := enqueue(t, pg, s3bridge.TaskUpload), enqueue(t, lite, s3bridge.TaskUpload)
	waitLifecycle(t, pg, pgTask, s3bridge.Success)
	waitLifecycle(t, lite, liteTask, s3bridge.Success)
	running := enqueue(t, lite, s3bridge.TaskDownload)
	waitLifecycle(t, lite, running, s3bridge.InProgress)
	stopAndWait(t, cancel, errc)
	if got, err := lite.Task(t.Context(), running); err != nil || got.Lifecycle != s3bridge.Created {
		t.Errorf("task running at the stop: got %s (%v), want it back in the queue", got.Lifecycle, err)
	}
}

// failing is an instance whose database is gone: every call fails, and
// so does its LISTEN.
type failing struct{ instance.Instance }

func (failing) Listen(context.Context, chan<- struct{}) error {
	return errors.New("listen: connection refused")
}

// TestRunWithAFailingInstance: an instance that fails (closed under the
// agent) is logged and retried while the other one is served; stopping
// the agent still ends every goroutine.
func TestRunWithAFailingInstance(t *testing.T) {
	checkLeaks(t)
	healthy := openSQLite(t, "healthy")
	gone := openSQLite(t, "gone")
	gone.Close()
	a := agent.New(agent.Config{Tick: 20 * time.Millisecond, Poll: 20 * time.Millisecond},
		map[s3bridge.TaskType]agent.Runner{s3bridge.TaskUpload: done})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- a.Run(ctx, failing{gone}, healthy) }()
	id := enqueue(t, healthy, s3bridge.TaskUpload)
	waitLifecycle(t, healthy, id, s3bridge.Success)
	stopAndWait(t, cancel, errc)
}

// selfCompleting is a runner whose work marks its task SUCCESS itself, as
// a load does in its own transaction, lets the heartbeat see the task no
// longer IN_PROGRESS, and returns err: nil, or the error of a commit whose
// answer the client lost although the server committed it.
type selfCompleting struct{ err error }

func (r selfCompleting) Run(ctx context.Context, in instance.Instance, t s3bridge.Task, _ s3bridge.Settings, _ s3bridge.Reporter) (s3bridge.Result, error) {
	res := s3bridge.Result{Info: "loaded in its own transaction"}
	if err := in.Finish(ctx, t.Claim(), s3bridge.Success, res); err != nil {
		return s3bridge.Result{}, err
	}
	select {
	case <-ctx.Done():
		return s3bridge.Result{}, errors.New("the heartbeat cancelled a work that had completed its task")
	case <-time.After(200 * time.Millisecond): // twenty heartbeats at the test's 10 ms tick
	}
	if r.err != nil {
		return s3bridge.Result{}, r.err
	}
	return res, nil
}

// TestExecuteWorkCompletedItsTask: a heartbeat that races the work's own
// completion of its task sees the task no longer held; that is not a lost
// lease: the task is SUCCESS, its outcome logged once, and its log says
// nothing of a lease, even when the work's commit answer was lost (the
// e2e soak saw a load's commit complete the task while the client got an
// error).
func TestExecuteWorkCompletedItsTask(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
	}{
		{"work returns its result", nil},
		{"commit answer lost", errors.New("commit load into t: unexpected EOF")},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := openSQLite(t, "self")
			id := enqueue(t, in, s3bridge.TaskUpload)
			a := agent.New(agent.Config{ID: "a", Tick: 10 * time.Millisecond}, map[s3bridge.TaskType]agent.Runner{s3bridge.TaskUpload: selfCompleting{c.err}})
			task, err := in.ClaimTask(t.Context(), id, "a", time.Minute)
			if err != nil || task == nil {
				t.Fatalf("claim: %v, %v", task, err)
			}
			if lc := a.Execute(t.Context(), in, task); lc != s3bridge.Success {
				t.Errorf("Execute: %q, want SUCCESS", lc)
			}
			lines, err := in.TaskLog(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			outcomes := 0
			for _, l := range lines {
				if strings.Contains(l.Message, "lease") {
					t.Errorf("task log of a task its work completed: %q", l.Message)
				}
				if l.Message == "loaded in its own transaction" {
					outcomes++
				}
			}
			if outcomes != 1 {
				t.Errorf("outcome in the task log %d times, want once: %v", outcomes, lines)
			}
		})
	}
}

// claimCounter is an instance whose database is gone, counting claims.
type claimCounter struct {
	failing
	claims atomic.Int64
}

func (c *claimCounter) Claim(ctx context.Context, agent string, lease time.Duration) (*s3bridge.Task, error) {
	c.claims.Add(1)
	return c.failing.Claim(ctx, agent, lease)
}

// TestRunBacksOffAFailingInstance: an instance whose database is away is
// retried with backoff, not at every poll: in a second at a 10 ms poll,
// doubling gives about 7 claims where polling would make 100.
func TestRunBacksOffAFailingInstance(t *testing.T) {
	checkLeaks(t)
	gone := openSQLite(t, "gone")
	gone.Close()
	in := &claimCounter{failing: failing{gone}}
	a := agent.New(agent.Config{Poll: 10 * time.Millisecond}, map[s3bridge.TaskType]agent.Runner{s3bridge.TaskUpload: done})
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if err := a.Run(ctx, in); err != nil {
		t.Fatal(err)
	}
	if n := in.claims.Load(); n < 3 || n > 20 {
		t.Errorf("%d claims in a second on a failing instance, want about 7 (backoff from 10ms)", n)
	}
}

// slowListener is an instance whose LISTEN loop takes a while to close
// its connection once its context ends.
type slowListener struct {
	instance.Instance
	returned atomic.Bool
}

func (l *slowListener) Listen(ctx context.Context, wake chan<- struct{}) error {
	wake <- struct{}{}
	<-ctx.Done()
	time.Sleep(50 * time.Millisecond) // a goodbye to the server
	l.returned.Store(true)
	return nil
}

// TestRunJoinsListen: Run returns only after the LISTEN loop has.
func TestRunJoinsListen(t *testing.T) {
	checkLeaks(t)
	in := &slowListener{Instance: openSQLite(t, "slow")}
	a := agent.New(agent.Config{Poll: 20 * time.Millisecond}, map[s3bridge.TaskType]agent.Runner{s3bridge.TaskUpload: done})
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- a.Run(ctx, in) }()
	id := enqueue(t, in, s3bridge.TaskUpload)
	waitLifecycle(t, in, id, s3bridge.Success)
	stopAndWait(t, cancel, errc)
	if !in.returned.Load() {
		t.Error("Run returned before the LISTEN loop")
	}
}

// TestBookkeepingDeadline: a database that stops answering mid-task (a
// proxy that holds every byte) can't hang the agent: heartbeats, the log
// and the finish give up within their deadline, the lease, and Execute
// returns.
func TestBookkeepingDeadline(t *testing.T) {
	checkLeaks(t)
	target, err := url.Parse(testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, target.Host)
	target.Host = p.addr()
	in := openPostgres(t, target.String())
	t.Cleanup(p.close) // before in.Close, which would wait on the paused proxy
	id := enqueue(t, in, s3bridge.TaskUpload)
	const lease = 500 * time.Millisecond
	task, err := in.ClaimTask(t.Context(), id, "a", time.Minute)
	if err != nil || task == nil {
		t.Fatalf("claim: %v, %v", task, err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	a := agent.New(agent.Config{ID: "a", Lease: lease, Tick: 20 * time.Millisecond},
		map[s3bridge.TaskType]agent.Runner{s3bridge.TaskUpload: runnerFunc(func(context.Context, s3bridge.Task) (s3bridge.Result, error) {
			close(started)
			<-release
			return s3bridge.Result{Info: "done"}, nil
		})})
	finished := make(chan s3bridge.Lifecycle, 1)
	go func() { finished <- a.Execute(context.Background(), in, task) }()
	<-started
	p.pause()
	// A heartbeat reaches the proxy, which keeps it.
	for deadline := time.Now().Add(10 * time.Second); p.held.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no heartbeat reached the paused proxy")
		}
		time.Sleep(10 * time.Millisecond) // polling the proxy, with a deadline
	}
	begin := time.Now()
	close(release)
	select {
	case lc := <-finished:
		// The finish could not be recorded: the lifecycle is unknown.
		if lc != "" {
			t.Errorf("Execute against a database that doesn't answer: got %s, want \"\"", lc)
		}
		// A heartbeat in flight, the log and the finish: a lease each,
		// with room for a loaded 2-core machine; what matters is that it
		// returns at all (the hang this guards against is forever).
		if took := time.Since(begin); took > 10*lease+5*time.Second {
			t.Errorf("Execute took %s after the work ended, want a few leases of %s at most", took, lease)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Execute hung on a database that doesn't answer")
	}
}

// proxy forwards TCP connections to a server until paused: then it holds
// every byte, as a database that stopped answering would.
type proxy struct {
	ln     net.Listener
	target string
	held   atomic.Int64 // chunks from the client held while paused
	mu     sync.Mutex
	cond   *sync.Cond
	paused bool
	closed bool
	conns  []net.Conn
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Go(p.accept)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) pause() {
	p.mu.Lock()
	p.paused = true
	p.mu.Unlock()
}

// close stops accepting, drops every connection and waits for its
// goroutines.
func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for _, c := range p.conns {
		c.Close()
	}
	p.cond.Broadcast()
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *proxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			client.Close()
			server.Close()
			return
		}
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		p.wg.Go(func() { p.copy(server, client, true) })
		p.wg.Go(func() { p.copy(client, server, false) })
	}
}

// copy forwards src to dst, holding each chunk while the proxy is paused.
func (p *proxy) copy(dst, src net.Conn, fromClient bool) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.paused && fromClient {
			p.held.Add(1)
		}
		for p.paused && !p.closed {
			p.cond.Wait()
		}
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}
