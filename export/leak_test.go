package export_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/export"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/bulk"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/s3store"
	"github.com/s3bridge/s3bridge/tuple"
)

// waitedSource is an instance whose export a SQL call waits for, so the
// export's watch goroutine asks WaiterAge on every tick. WaiterAge
// answers only once the export's context ends, and late (a database
// round trip still in flight when the export stops): a watch that is not
// joined is still running when Run returns. beforeQuery runs once the
// watch has asked, before the query.
type waitedSource struct {
	instance.Instance
	src         bulk.Source
	late        time.Duration
	beforeQuery func(ctx context.Context)
	asked       chan struct{}
	askOnce     sync.Once
	inAge       atomic.Int32 // WaiterAge calls running
}

func (s *waitedSource) Query(ctx context.Context, q bulk.Query, fn func(tuple.Rows) error) error {
	select {
	case <-s.asked:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.beforeQuery(ctx)
	return s.src.Query(ctx, q, fn)
}

func (s *waitedSource) WaiterAge(ctx context.Context, _ int64) (time.Duration, error) {
	s.inAge.Add(1)
	defer s.inAge.Add(-1)
	s.askOnce.Do(func() { close(s.asked) })
	<-ctx.Done()
	time.Sleep(s.late)
	return 0, ctx.Err()
}

// safeReporter is a Reporter the run and its watch may call at once.
type safeReporter struct{}

func (safeReporter) Logf(s3bridge.LogLevel, string, ...any)                       {}
func (safeReporter) Progress(int64, int64)                                        {}
func (safeReporter) SaveFileDetails(context.Context, []s3bridge.FileDetail) error { return nil }

// TestExportLeavesNoGoroutine (issue 20, item 6): an export that fails or
// is cancelled returns only once its watch goroutine has returned, and
// leaves no goroutine behind: none of its own, no upload's, no HTTP
// connection held by an unclosed body. SQLite, since the goroutines under
// test are the runner's; the HTTP transport is the test's own, so its
// idle connections can be closed before counting.
func TestExportLeavesNoGoroutine(t *testing.T) {
	d := dbNamed("sqlite")
	m := testenv.S3(t)
	in := d.open(t)
	t.Cleanup(func() { in.Close() })
	must(t, in.Attach(t.Context(), s3bridge.Settings{Area: t.TempDir()}))
	bucket := m.Bucket(t)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	const late = time.Second // longer than goleak's retries (~0.5 s)

	for _, tt := range []struct {
		name        string
		query       string
		beforeQuery func(cancel context.CancelFunc) func(context.Context)
		want        func(error) bool
	}{
		{"query fails mid-stream", d.series(30000, 20000),
			func(context.CancelFunc) func(context.Context) { return func(context.Context) {} },
			func(err error) bool { return err != nil && !errors.Is(err, context.Canceled) }},
		{"cancelled", d.series(30000, 0),
			func(cancel context.CancelFunc) func(context.Context) { return func(context.Context) { cancel() } },
			func(err error) bool { return errors.Is(err, context.Canceled) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			store, err := s3store.New(t.Context(), s3store.Config{Endpoint: m.Endpoint, Region: m.Region,
				AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey, HTTPClient: &http.Client{Transport: tr}}, nil)
			must(t, err)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			src := &waitedSource{Instance: in, src: in.(bulk.Source), late: late, beforeQuery: tt.beforeQuery(cancel), asked: make(chan struct{})}
			r := &export.Runner{
				Deps:          s3bridge.Deps[export.ObjectStore]{Store: func(context.Context, s3bridge.Settings) (export.ObjectStore, error) { return store, nil }},
				WaiterTimeout: 40 * time.Millisecond, // the watch asks every 10 ms
			}
			task := export.Task(export.Params{Query: tt.query, URI: "s3://" + bucket + "/leak/" + t.Name(), Format: export.FormatCSV,
				MaxFileSize: 16 << 10, Waiting: true})
			id, err := in.Enqueue(t.Context(), task)
			must(t, err)
			claimed, err := in.ClaimTask(t.Context(), id, "leak", time.Minute)
			must(t, err)

			_, err = r.Run(ctx, src, *claimed, s3bridge.Settings{}, safeReporter{})
			if n := src.inAge.Load(); n != 0 {
				t.Errorf("%d WaiterAge calls still running when Run returned: the watch goroutine was not joined", n)
			}
			if !tt.want(err) {
				t.Errorf("Run: %v", err)
			}
			tr.CloseIdleConnections()
			goleak.VerifyNone(t, before)
		})
	}
}
