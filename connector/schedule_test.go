package connector_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/agent"
	"github.com/s3bridge/s3bridge/connector"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
	"github.com/s3bridge/s3bridge/s3store"
)

func TestParseSchedule(t *testing.T) {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		cron, zone string
		want       time.Time // the first fire after base; zero: refused
	}{
		{"@every 2s", "", base.Add(2 * time.Second)},
		{"@hourly", "UTC", base.Add(time.Hour)},
		{"@daily", "Asia/Tokyo", time.Date(2024, 1, 1, 15, 0, 0, 0, time.UTC)},
		{"0 12 * * *", "America/Los_Angeles", time.Date(2024, 1, 1, 20, 0, 0, 0, time.UTC)},
		{"@weekly", "", time.Date(2024, 1, 7, 0, 0, 0, 0, time.UTC)},
		{"@monthly", "", time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)},
		{"@yearly", "", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"0 12 * * *", "PST", time.Time{}},
		{"0 12 * * *", "Mars/Olympus", time.Time{}},
		{"0 0 12 * * *", "", time.Time{}}, // six fields
		{"CRON_TZ=Asia/Tokyo 0 12 * * *", "", time.Time{}},
	}
	for _, tt := range tests {
		s, err := connector.ParseSchedule(tt.cron, tt.zone)
		if tt.want.IsZero() {
			if !errors.Is(err, connector.ErrSchedule) {
				t.Errorf("ParseSchedule(%q, %q): err %v, want ErrSchedule", tt.cron, tt.zone, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSchedule(%q, %q): %v", tt.cron, tt.zone, err)
			continue
		}
		if got := s.Next(base); !got.Equal(tt.want) {
			t.Errorf("%q in %q: next %v, want %v", tt.cron, tt.zone, got, tt.want)
		}
	}
}

// storedConfig is a config whose secret is a reference, as a stored
// connector's must be.
func (h *harness) storedConfig(prefix string) connector.Config {
	h.t.Helper()
	c, err := connector.Guess(h.t.Context(), h.store, h.seed(prefix, ""))
	must(h.t, err)
	c.In.SecretAccessKey = "${env:TEST_S3_SECRET}"
	h.held["TEST_S3_SECRET"] = h.m.SecretKey
	return c
}

type stores interface {
	connector.Schedules
	CreateConnector(ctx context.Context, c sqlstore.Connector) error
	UpdateConnector(ctx context.Context, c sqlstore.Connector, forget bool) error
	DeleteConnector(ctx context.Context, name string) error
	Connector(ctx context.Context, name string) (sqlstore.Connector, error)
	ConnectorRuns(ctx context.Context, name string, limit int) ([]sqlstore.ConnectorRun, error)
	EnqueueConnector(ctx context.Context, name string, t s3bridge.Task) (int64, error)
}

// TestStoredConnector drives a stored connector's life and its schedule
// with a clock of its own: fires on time, a fire skipped while the
// previous run waits, fires missed while no agent ran (one late run).
func TestStoredConnector(t *testing.T) {
	for _, d := range databases {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			ctx := t.Context()
			s := h.in.(stores)
			h.put("sc/a.csv", []byte("id,name\n1,a\n2,b\n"))
			cfg := h.storedConfig("sc/")
			t0 := time.Date(2030, 1, 1, 0, 0, 10, 0, time.UTC)

			// A secret in clear is refused, naming the reference syntax.
			literal := cfg
			literal.In.SecretAccessKey = connector.Secret(h.m.SecretKey)
			if _, err := connector.Stored(sqlstore.Connector{Name: "c", Cron: "@hourly", Table: "t"}, literal, t0); !errors.Is(err, connector.ErrLiteralSecret) {
				t.Fatalf("a literal secret: err %v, want ErrLiteralSecret", err)
			}
			st, err := connector.Stored(sqlstore.Connector{Name: "c", Cron: "@hourly", Table: "t", Delay: 30 * time.Second}, cfg, t0)
			must(t, err)
			must(t, s.CreateConnector(ctx, st))
			if err := s.CreateConnector(ctx, st); !errors.Is(err, s3bridge.ErrExists) {
				t.Fatalf("create twice: err %v, want ErrExists", err)
			}
			got, err := s.Connector(ctx, "c")
			must(t, err)
			t1 := time.Date(2030, 1, 1, 1, 0, 0, 0, time.UTC)
			if got.NextFire == nil || !got.NextFire.Equal(t1) || got.Delay != 30*time.Second || got.Table != "t" {
				t.Fatalf("stored: next %v delay %v table %q", got.NextFire, got.Delay, got.Table)
			}

			fire := func(now time.Time) []sqlstore.Fired {
				t.Helper()
				fired, err := connector.FireDue(ctx, s, now, time.Minute)
				must(t, err)
				return fired
			}
			// Not before its delay; then once, however often asked.
			if f := fire(t1.Add(29 * time.Second)); len(f) != 0 {
				t.Fatalf("fired before the delay: %v", f)
			}
			first := fire(t1.Add(30 * time.Second))
			if len(first) != 1 || first[0].Skipped {
				t.Fatalf("the first fire: %v", first)
			}
			if f := fire(t1.Add(31 * time.Second)); len(f) != 0 {
				t.Fatalf("fired twice: %v", f)
			}
			// The first run is still queued (no agent): the next fire is skipped.
			skipped := fire(t1.Add(time.Hour + 30*time.Second))
			if len(skipped) != 1 || !skipped[0].Skipped {
				t.Fatalf("the overlapping fire: %v, want skipped", skipped)
			}
			// The first run ends; fires are missed for hours; one run, late.
			_, err = h.in.Cancel(ctx, first[0].TaskID)
			must(t, err)
			late := fire(t1.Add(5*time.Hour + 40*time.Minute))
			if len(late) != 1 || late[0].Skipped {
				t.Fatalf("after missed fires: %v, want one run", late)
			}
			if f := fire(t1.Add(5*time.Hour + 41*time.Minute)); len(f) != 0 {
				t.Fatalf("missed fires ran one by one: %v", f)
			}
			got, err = s.Connector(ctx, "c")
			must(t, err)
			if want := t1.Add(6 * time.Hour); !got.NextFire.Equal(want) {
				t.Errorf("next fire after the late run: %v, want %v", got.NextFire, want)
			}
			runs, err := s.ConnectorRuns(ctx, "c", 0)
			must(t, err)
			if len(runs) != 3 {
				t.Fatalf("%d runs, want 3", len(runs))
			}
			var p connector.Params
			must(t, runs[0].Task.Params(&p))
			if !p.Late || runs[0].Scheduled == nil || !runs[0].Scheduled.Equal(t1.Add(2*time.Hour)) {
				t.Errorf("the late run: late %v scheduled %v", p.Late, runs[0].Scheduled)
			}
			if r := runs[1]; r.Task.Lifecycle != s3bridge.Cancelled || r.Task.TaskInfo != sqlstore.SkippedInfo || !r.Scheduled.Equal(t1.Add(time.Hour)) {
				t.Errorf("the skipped run: %s %q %v", r.Task.Lifecycle, r.Task.TaskInfo, r.Scheduled)
			}

			// A run now, by hand, and its load.
			h.exec(`CREATE TABLE t (id bigint, name text)`)
			_, err = h.in.Cancel(ctx, late[0].TaskID)
			must(t, err)
			p, err = connector.RunTask(got, nil, false)
			must(t, err)
			task, err := connector.Task(p)
			must(t, err)
			id, err := s.EnqueueConnector(ctx, "c", task)
			must(t, err)
			done := runQueued(t, h, id)
			if done.Lifecycle != s3bridge.Success || done.Rows != 2 {
				t.Fatalf("run by hand: %s %q, %d rows", done.Lifecycle, done.TaskInfo, done.Rows)
			}
			if n := h.ledger("c"); n != 1 {
				t.Fatalf("ledger: %d files, want 1", n)
			}
			// Update: a new schedule; reset forgets the ledger.
			got.Cron, got.Timezone = "0 12 * * *", "Asia/Tokyo"
			got, err = connector.Stored(got, cfg, t0)
			must(t, err)
			must(t, s.UpdateConnector(ctx, got, true))
			if n := h.ledger("c"); n != 0 {
				t.Errorf("ledger after a reset: %d files", n)
			}
			got, err = s.Connector(ctx, "c")
			must(t, err)
			if want := time.Date(2030, 1, 1, 3, 0, 0, 0, time.UTC); !got.NextFire.Equal(want) || got.Timezone != "Asia/Tokyo" {
				t.Errorf("updated: next %v zone %s, want %v", got.NextFire, got.Timezone, want)
			}
			must(t, s.DeleteConnector(ctx, "c"))
			if _, err := s.Connector(ctx, "c"); !errors.Is(err, s3bridge.ErrNotFound) {
				t.Errorf("deleted: err %v, want ErrNotFound", err)
			}
			if err := s.DeleteConnector(ctx, "c"); !errors.Is(err, s3bridge.ErrNotFound) {
				t.Errorf("delete twice: err %v, want ErrNotFound", err)
			}
		})
	}
}

// runQueued runs a queued task with the harness's agent to its end.
func runQueued(t *testing.T, h *harness, id int64) s3bridge.Task {
	t.Helper()
	task, err := h.in.ClaimTask(t.Context(), id, h.agent.ID(), time.Minute)
	must(t, err)
	if task == nil {
		t.Fatalf("task %d not claimable", id)
	}
	h.agent.Execute(t.Context(), h.in, task)
	done, err := h.in.Task(t.Context(), id)
	must(t, err)
	return done
}

// TestScheduleTwoAgents runs an @every 2s connector under two agents for
// a few seconds: each fire is queued once, whoever takes it.
func TestScheduleTwoAgents(t *testing.T) {
	for _, d := range databases {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			s := h.in.(stores)
			h.put("two/a.csv", []byte("id,name\n1,a\n2,b\n"))
			cfg := h.storedConfig("two/")
			h.exec(`CREATE TABLE t (id bigint, name text)`)
			st, err := connector.Stored(sqlstore.Connector{Name: "every", Cron: "@every 2s", Table: "t"}, cfg, time.Now())
			must(t, err)
			must(t, s.CreateConnector(t.Context(), st))
			r := &connector.Runner{
				Open: func(ctx context.Context, s connector.S3) (connector.ObjectStore, error) {
					return s3store.New(ctx, s3store.Config{Endpoint: s.Endpoint, Region: s.Region, AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey}, nil)
				},
				Env: connector.Env{Getenv: func(k string) string { return h.held[k] }},
			}
			ctx, stop := context.WithTimeout(t.Context(), 7*time.Second)
			defer stop()
			g, ctx := errgroup.WithContext(ctx)
			for i := range 2 {
				a := agent.New(agent.Config{ID: fmt.Sprintf("agent-%d", i), Tick: 50 * time.Millisecond, Poll: 100 * time.Millisecond,
					FireEvery: 100 * time.Millisecond, Grace: 5 * time.Second}, map[s3bridge.TaskType]agent.Runner{s3bridge.TaskImportFromS3: r})
				g.Go(func() error { return a.Serve(ctx, h.in) })
			}
			must(t, g.Wait())
			runs, err := s.ConnectorRuns(t.Context(), "every", 0)
			must(t, err)
			seen := map[time.Time]int{}
			ok := 0
			for _, r := range runs {
				if r.Scheduled == nil {
					t.Fatalf("task %d: no scheduled time", r.Task.ID)
				}
				if seen[*r.Scheduled]++; seen[*r.Scheduled] > 1 {
					t.Errorf("fire %v queued twice", r.Scheduled)
				}
				if r.Task.Lifecycle == s3bridge.Success {
					ok++
				}
			}
			if len(seen) < 2 || ok < 1 {
				t.Errorf("%d fires in 7s of @every 2s (%d succeeded), want 3 or so", len(seen), ok)
			}
			// Every fire loaded what was new: the file once.
			if n := h.count(`SELECT count(*) FROM t`); n != 2 {
				t.Errorf("%d rows, want 2", n)
			}
		})
	}
}
