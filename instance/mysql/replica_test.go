package mysql_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/agent"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/mysql"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

// TestCopyNotServed (issue 15): a server whose server_id is not the one
// attach recorded is a copy of the attached server; no claim is made
// there, and the waiting procedures say so at once.
func TestCopyNotServed(t *testing.T) {
	in := open(t)
	defer in.Close()
	ctx := t.Context()
	if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if err := in.Beat(ctx, s3bridge.AgentInfo{ID: "a", Host: "h", Version: "v", StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	due := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	if err := in.CreateConnector(ctx, sqlstore.Connector{Name: "c1", Cron: "@every 1s", Table: "t", Config: "in: {}",
		Metadata: "{}", NextFire: &due}); err != nil {
		t.Fatal(err)
	}
	if err := in.CreatePipeline(ctx, sqlstore.Pipeline{Name: "p1", Source: "postgres://u@h/db", Config: `{"tables":["public.t"]}`}); err != nil {
		t.Fatal(err)
	}
	s := "`" + in.Schema() + "`"
	var self string
	if err := in.DB().QueryRowContext(ctx, "SELECT @@server_id").Scan(&self); err != nil {
		t.Fatal(err)
	}
	if _, err := in.DB().ExecContext(ctx, "UPDATE "+s+".settings SET value = '4242' WHERE name = 'server_id'"); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Enqueue(ctx, s3bridge.Task{Type: s3bridge.TaskListFiles}); err != nil {
		t.Fatal(err)
	}
	want := "this server (server_id " + self + ") is a copy of the attached one (server_id 4242)"
	task, err := in.Claim(ctx, "a", time.Minute)
	if !errors.Is(err, sqlstore.ErrOtherServer) || !strings.Contains(err.Error(), want) || task != nil {
		t.Errorf("claim on a copy: %v, %v; want %q, ErrOtherServer", task, err, want)
	}
	// Nor does a copy fire a schedule, take a pipeline or record an
	// agent: each would write rows that are the attached server's.
	if _, ok, err := in.FireConnector(ctx, sqlstore.Fire{Name: "c1", Due: due, Next: due.Add(time.Second),
		Task: s3bridge.Task{Type: s3bridge.TaskImportFromS3}}); !errors.Is(err, sqlstore.ErrOtherServer) || ok {
		t.Errorf("fire a schedule on a copy: %v, %v; want ErrOtherServer", ok, err)
	}
	if c, err := in.Connector(ctx, "c1"); err != nil || c.NextFire == nil || !c.NextFire.Equal(due) {
		t.Errorf("connector on a copy after a fire: %+v, %v; want next_fire %s unchanged", c.NextFire, err, due)
	}
	if p, err := in.ClaimPipeline(ctx, "a", time.Minute); !errors.Is(err, sqlstore.ErrOtherServer) || p != nil {
		t.Errorf("claim a pipeline on a copy: %v, %v; want ErrOtherServer", p, err)
	}
	if err := in.Beat(ctx, s3bridge.AgentInfo{ID: "b", Host: "h", Version: "v", StartedAt: time.Now()}); !errors.Is(err, sqlstore.ErrOtherServer) {
		t.Errorf("record an agent on a copy: %v; want ErrOtherServer", err)
	}
	var tasks int
	if err := in.DB().QueryRowContext(ctx, "SELECT count(*) FROM "+s+".tasks").Scan(&tasks); err != nil || tasks != 1 {
		t.Errorf("tasks on the copy: %d, %v; want only the one enqueued", tasks, err)
	}
	_, err = in.DB().ExecContext(ctx, "CALL "+s+".load_data_from_s3('LOAD DATA FROM S3 ''s3://b/x'' INTO TABLE t')")
	if state, msg := sqlState(t, err); state != "HY000" || !strings.Contains(msg, want+": s3bridge serves only the server it was attached to") {
		t.Errorf("load_data_from_s3 on a copy: %s %q", state, msg)
	}
	// Attaching this server makes it the one served.
	if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if task, err := in.Claim(ctx, "a", time.Minute); err != nil || task == nil {
		t.Errorf("claim after attaching this server: %v, %v", task, err)
	}
}

// TestReplicaNotServed (issue 15): tasks enqueued on a primary reach a
// replica (whatever the binary log's format), with their owner as on the
// primary, and can't be claimed there: an agent pointed at the replica
// refuses, the primary's agent runs them once.
func TestReplicaNotServed(t *testing.T) {
	replica := testenv.MariaDBReplica(t)
	in := open(t)
	defer in.Close()
	replica.Only(t, in.Name(), in.Schema())
	ctx := t.Context()
	if err := in.Attach(ctx, s3bridge.Settings{Area: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	s := "`" + in.Schema() + "`"
	conn, err := in.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var ids []int64
	for _, format := range []string{"ROW", "STATEMENT"} {
		if _, err := conn.ExecContext(ctx, "SET SESSION binlog_format = "+format); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, calls(t, conn, s)...)
	}
	replica.CatchUp(t)

	// The replica's URL names the primary's databases: they are copied.
	u, err := url.Parse(testenv.MariaDBAdminURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Host, u.Path, u.RawQuery = replica.Host, "/"+in.Name(), url.Values{mysql.SchemaParam: {in.Schema()}}.Encode()
	u.User = url.User("root")
	rep, err := mysql.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close()
	for _, id := range ids {
		var owner, lc string
		if err := rep.DB().QueryRowContext(ctx, "SELECT owner, lifecycle FROM "+s+".tasks WHERE task_id = ?", id).Scan(&owner, &lc); err != nil || owner != "root" || lc != "CREATED" {
			t.Errorf("task %d on the replica: owner %q, %s (%v); want root, CREATED", id, owner, lc, err)
		}
	}
	task, err := rep.Claim(ctx, "replica-agent", time.Minute)
	if !errors.Is(err, sqlstore.ErrOtherServer) || !strings.Contains(err.Error(), "(server_id 2) is a copy of the attached one (server_id 1)") || task != nil {
		t.Fatalf("claim on the replica: %v, %v; want ErrOtherServer", task, err)
	}
	if ran := serveBriefly(t, rep, "is a copy of the attached one"); ran > 0 {
		t.Errorf("an agent on the replica ran %d tasks", ran)
	}
	claimed, err := in.ClaimTask(ctx, ids[0], "primary-agent", time.Minute)
	if err != nil || claimed == nil {
		t.Fatalf("claim on the primary: %v, %v", claimed, err)
	}
	replica.CatchUp(t)
	var lc, agent string
	if err := rep.DB().QueryRowContext(ctx, "SELECT lifecycle, agent_id FROM "+s+".tasks WHERE task_id = ?", ids[0]).Scan(&lc, &agent); err != nil || lc != "IN_PROGRESS" || agent != "primary-agent" {
		t.Errorf("claimed task on the replica: %s by %s (%v)", lc, agent, err)
	}
}

// serveBriefly runs an agent on in until its log says want, and returns
// how many tasks it ran.
func serveBriefly(t *testing.T, in *mysql.Instance, want string) int64 {
	t.Helper()
	var log syncBuffer
	var ran atomic.Int64
	runners := map[s3bridge.TaskType]agent.Runner{}
	for _, typ := range []s3bridge.TaskType{s3bridge.TaskUpload, s3bridge.TaskDownload, s3bridge.TaskListFiles, s3bridge.TaskDeleteFiles} {
		runners[typ] = countRunner{&ran}
	}
	a := agent.New(agent.Config{ID: "replica-agent", Poll: 20 * time.Millisecond, Log: slog.New(slog.NewTextHandler(&log, nil))}, runners)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, in) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log.String(), want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if !strings.Contains(log.String(), want) {
		t.Errorf("the agent's log does not say %q:\n%s", want, log.String())
	}
	return ran.Load()
}

type countRunner struct{ n *atomic.Int64 }

func (r countRunner) Run(context.Context, instance.Instance, s3bridge.Task, s3bridge.Settings, s3bridge.Reporter) (s3bridge.Result, error) {
	r.n.Add(1)
	return s3bridge.Result{}, nil
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
