package load_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/agent"
	"github.com/s3bridge/s3bridge/load"
)

// stallingStore hands out object bodies that block on their first read
// until released: an agent frozen mid-load (a GC pause, SIGSTOP, a stalled
// disk) as far as the database can tell.
type stallingStore struct {
	load.ObjectStore
	reached chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *stallingStore) Open(ctx context.Context, bucket, key string) (io.ReadCloser, s3bridge.Object, error) {
	body, obj, err := s.ObjectStore.Open(ctx, bucket, key)
	if err != nil {
		return nil, obj, err
	}
	return &stallingBody{ReadCloser: body, s: s, ctx: ctx}, obj, nil
}

type stallingBody struct {
	io.ReadCloser
	s   *stallingStore
	ctx context.Context
}

// Read stalls on the first call until released, or until the load is
// cancelled (its context ends), as a read from a stalled S3 would.
func (b *stallingBody) Read(p []byte) (int, error) {
	var err error
	b.s.once.Do(func() {
		close(b.s.reached)
		select {
		case <-b.s.release:
		case <-b.ctx.Done():
			err = b.ctx.Err()
		}
	})
	if err != nil {
		return 0, err
	}
	return b.ReadCloser.Read(p)
}

// TestFencedCommit (issue 18, item 7): an agent whose lease expired while
// its load was stalled, and whose task another agent then ran, must not
// commit its rows when it resumes: the rows appear once. Each claim has an
// attempt number that the load's own transaction checks as it completes
// the task. On SQLite the stalled load holds the write lock, so no one can
// take the task over; there the load commits and completes its task in one
// transaction, and the task is not run again.
func TestFencedCommit(t *testing.T) {
	for _, d := range dbs {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			if d.name == "mariadb" {
				// Without a key the superseded attempt's rows would go in:
				// only the fence can keep them out.
				_, err := h.db.ExecContext(t.Context(), "ALTER TABLE t DROP PRIMARY KEY")
				must(t, err)
			}
			uri := h.put("fence.csv", []byte(sample))
			task, err := load.Task(load.Params{Source: load.SourceFile, URI: uri, Table: "t", Options: csvOpts()})
			must(t, err)
			ctx := t.Context()
			id, err := h.in.Enqueue(ctx, task)
			must(t, err)

			stall := &stallingStore{ObjectStore: h.store, reached: make(chan struct{}), release: make(chan struct{})}
			runner := &load.Runner{Deps: s3bridge.Deps[load.ObjectStore]{Store: func(context.Context, s3bridge.Settings) (load.ObjectStore, error) { return stall, nil }}}
			// Agent a never heartbeats within its lease: frozen, as far as the
			// queue can tell.
			lease := 300 * time.Millisecond
			a := agent.New(agent.Config{ID: "a", Lease: lease, Tick: time.Hour}, map[s3bridge.TaskType]agent.Runner{s3bridge.TaskLoadFromS3: runner})
			first, err := h.in.ClaimTask(ctx, id, "a", lease)
			must(t, err)
			done := make(chan s3bridge.Lifecycle)
			go func() { done <- a.Execute(ctx, h.in, first) }()
			<-stall.reached

			if d.name == "sqlite" {
				time.Sleep(2 * lease) // let the lease run out while the load is stalled
				close(stall.release)
				if lc := <-done; lc != s3bridge.Success {
					t.Fatalf("stalled load on SQLite: %s", lc)
				}
				if again, err := h.in.Claim(ctx, "b", time.Minute); err != nil || again != nil {
					t.Fatalf("a completed task claimed again: %+v, %v", again, err)
				}
			} else {
				var second *s3bridge.Task
				for deadline := time.Now().Add(10 * time.Second); second == nil && time.Now().Before(deadline); {
					if second, err = h.in.Claim(ctx, "b", time.Minute); err != nil {
						t.Fatal(err)
					}
					if second == nil {
						time.Sleep(50 * time.Millisecond) // polling the lease's expiry, with a deadline
					}
				}
				if second == nil || second.ID != id || second.Attempt != first.Attempt+1 {
					t.Fatalf("take-over after the lease: got %+v", second)
				}
				b := agent.New(agent.Config{ID: "b", Tick: 50 * time.Millisecond}, map[s3bridge.TaskType]agent.Runner{
					s3bridge.TaskLoadFromS3: &load.Runner{Deps: s3bridge.Deps[load.ObjectStore]{Store: func(context.Context, s3bridge.Settings) (load.ObjectStore, error) { return h.store, nil }}}})
				if lc := b.Execute(ctx, h.in, second); lc != s3bridge.Success {
					got, _ := h.in.Task(ctx, id)
					t.Fatalf("second attempt: %s %s", lc, got.TaskInfo)
				}
				close(stall.release)
				if lc := <-done; lc != "" {
					t.Errorf("the superseded attempt ended as %q, want no outcome of its own", lc)
				}
				log, err := h.in.TaskLog(ctx, id)
				must(t, err)
				var lines []string
				for _, l := range log {
					lines = append(lines, l.Message)
				}
				if all := strings.Join(lines, "\n"); !strings.Contains(all, "lost its lease (attempt 1)") {
					t.Errorf("task log does not say attempt 1 lost its lease:\n%s", all)
				}
			}
			if got := h.rows(); strings.Join(got, ";") != "1|alpha|10.5;2|be,ta|20.25" {
				t.Errorf("rows after a superseded attempt: %q, want each row once", got)
			}
			final, err := h.in.Task(ctx, id)
			must(t, err)
			if final.Lifecycle != s3bridge.Success {
				t.Errorf("task: %s %s", final.Lifecycle, final.TaskInfo)
			}
			var n int
			must(t, h.db.QueryRowContext(ctx, historyCount(h)).Scan(&n))
			if n != 1 {
				t.Errorf("load history rows: %d, want 1", n)
			}
		})
	}
}
