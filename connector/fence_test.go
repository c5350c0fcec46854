package connector_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/connector"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/bulk"
	"github.com/s3bridge/s3bridge/s3store"
)

type quiet struct{}

func (quiet) Logf(s3bridge.LogLevel, string, ...any)                       {}
func (quiet) Progress(int64, int64)                                        {}
func (quiet) SaveFileDetails(context.Context, []s3bridge.FileDetail) error { return nil }

// TestIssueFenced: an agent whose claim was taken over (frozen past its
// lease) commits neither rows nor ledger rows; the agent holding the task
// now loads every file once. A killed run is the same case seen from the
// successor.
func TestIssueFenced(t *testing.T) {
	for _, d := range databases {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			h.put("k/a.csv", []byte("id,v\n1,x\n"))
			h.put("k/b.csv", []byte("id,v\n2,y\n"))
			c := h.setup("k/", "")
			stored := h.hold(c)
			task, err := connector.Task(connector.Params{Name: "k", Config: stored, Table: "t"})
			must(t, err)
			ctx := t.Context()
			id, err := h.in.Enqueue(ctx, task)
			must(t, err)
			// The first claim's lease is already over: the next claim wins.
			stale, err := h.in.ClaimTask(ctx, id, "frozen", -time.Second)
			must(t, err)
			current, err := h.in.ClaimTask(ctx, id, "successor", time.Minute)
			must(t, err)
			if stale == nil || current == nil {
				t.Fatal("claims failed")
			}
			r := &connector.Runner{
				Open: func(ctx context.Context, s connector.S3) (connector.ObjectStore, error) {
					return s3store.New(ctx, s3store.Config{Endpoint: s.Endpoint, Region: s.Region, Auth: s.Auth,
						AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey}, nil)
				},
				Env: connector.Env{Getenv: func(k string) string { return h.held[k] }},
			}
			if _, err := r.Run(ctx, h.in, *stale, s3bridge.Settings{}, quiet{}); !errors.Is(err, s3bridge.ErrLeaseLost) {
				t.Fatalf("the stale claim's run: %v, want ErrLeaseLost", err)
			}
			if n := h.count(`SELECT count(*) FROM t`); n != 0 || h.ledger("k") != 0 {
				t.Fatalf("the stale claim committed: %d rows, %d ledger rows", n, h.ledger("k"))
			}
			if _, err := r.Run(ctx, h.in, *current, s3bridge.Settings{}, quiet{}); err != nil {
				t.Fatal(err)
			}
			h.ok("k", "t", c) // and a later run finds nothing new
			if got := joined(h.ids("t")); got != "1,2" {
				t.Errorf("ids %s", got)
			}
			// The task row holds no secret: the literal was held in-process.
			row, err := h.in.Task(ctx, id)
			must(t, err)
			if bytes.Contains(row.Metadata, []byte(h.m.SecretKey)) {
				t.Errorf("the task's metadata holds the secret key: %s", row.Metadata)
			}
		})
	}
}

// racing is an instance whose ledger read runs another run to its end
// before returning: two runs of one connector that chose the same files.
type racing struct {
	instance.Instance
	after func()
}

func (r racing) Begin(ctx context.Context, t bulk.Target) (bulk.Tx, error) {
	return r.Instance.(bulk.Sink).Begin(ctx, t)
}

func (r racing) Ledger(ctx context.Context, name string, window time.Duration) ([]bulk.LedgerEntry, time.Time, error) {
	es, newest, err := r.Instance.(connector.Ledger).Ledger(ctx, name, window)
	r.after()
	return es, newest, err
}

func (r racing) DialectName() string { return r.Instance.(connector.Ledger).DialectName() }

// TestIssueConcurrentRuns: of two runs that chose the same files, the one
// that commits second fails on the ledger's key instead of loading them
// again, for new keys and for a changed one being reloaded.
func TestIssueConcurrentRuns(t *testing.T) {
	for _, d := range databases {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			h.put("r/a.csv", []byte("id,v\n1,x\n"))
			c := h.setup("r/", "")
			race := func() {
				t.Helper()
				stored := h.hold(c)
				task, err := connector.Task(connector.Params{Name: "r", Config: stored, Table: "t"})
				must(t, err)
				id, err := h.in.Enqueue(t.Context(), task)
				must(t, err)
				claimed, err := h.in.ClaimTask(t.Context(), id, "second", time.Minute)
				must(t, err)
				r := &connector.Runner{
					Open: func(ctx context.Context, s connector.S3) (connector.ObjectStore, error) {
						return s3store.New(ctx, s3store.Config{Endpoint: s.Endpoint, Region: s.Region, Auth: s.Auth,
							AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey}, nil)
					},
					Env: connector.Env{Getenv: func(k string) string { return h.held[k] }},
				}
				in := racing{Instance: h.in, after: func() { h.ok("r", "t", c) }}
				_, err = r.Run(t.Context(), in, *claimed, s3bridge.Settings{}, quiet{})
				if err == nil {
					t.Fatal("the second of two runs that chose the same files committed")
				}
				must(t, h.in.Finish(t.Context(), claimed.Claim(), s3bridge.Failed, s3bridge.Result{Info: err.Error()}))
			}
			race()
			if got := joined(h.ids("t")); got != "1" {
				t.Fatalf("new key: ids %s", got)
			}
			h.put("r/a.csv", []byte("id,v\n2,x\n"))
			race()
			if got := joined(h.ids("t")); got != "1,2" {
				t.Fatalf("changed key: ids %s", got)
			}
		})
	}
}
