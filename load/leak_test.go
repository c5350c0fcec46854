package load_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/load"
	"github.com/s3bridge/s3bridge/s3store"
)

// trackedStore is a load's object store that counts the bodies it handed
// out and that were not closed yet, and calls at(ctx, point, name) at
// points of a load: "open" before an object's GET, "opened" once it
// answered, "read" at its body's first Read, "closed" when the body is
// closed (name is the key's last element).
type trackedStore struct {
	load.ObjectStore
	at      func(ctx context.Context, point, name string)
	mu      sync.Mutex
	open    map[string]int
	opening int // Open calls running
}

func (s *trackedStore) Open(ctx context.Context, bucket, key string) (io.ReadCloser, s3bridge.Object, error) {
	s.mu.Lock()
	s.opening++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.opening--
		s.mu.Unlock()
	}()
	name := path.Base(key)
	s.at(ctx, "open", name)
	body, obj, err := s.ObjectStore.Open(ctx, bucket, key)
	if err != nil {
		return nil, obj, err
	}
	s.mu.Lock()
	s.open[name]++
	s.mu.Unlock()
	s.at(ctx, "opened", name)
	return &trackedBody{ReadCloser: body, s: s, ctx: ctx, name: name}, obj, nil
}

// unclosed is the bodies not closed, by name, and the Open calls still
// running.
func (s *trackedStore) unclosed() (map[string]int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	left := map[string]int{}
	for name, n := range s.open {
		if n != 0 {
			left[name] = n
		}
	}
	return left, s.opening
}

type trackedBody struct {
	io.ReadCloser
	s         *trackedStore
	ctx       context.Context
	name      string
	readOnce  sync.Once
	closeOnce sync.Once
}

func (b *trackedBody) Read(p []byte) (int, error) {
	b.readOnce.Do(func() { b.s.at(b.ctx, "read", b.name) })
	return b.ReadCloser.Read(p)
}

func (b *trackedBody) Close() error {
	b.closeOnce.Do(func() {
		b.s.mu.Lock()
		b.s.open[b.name]--
		b.s.mu.Unlock()
		b.s.at(b.ctx, "closed", b.name)
	})
	return b.ReadCloser.Close()
}

// quietReporter is a Reporter that keeps nothing.
type quietReporter struct{}

func (quietReporter) Logf(s3bridge.LogLevel, string, ...any)                       {}
func (quietReporter) Progress(int64, int64)                                        {}
func (quietReporter) SaveFileDetails(context.Context, []s3bridge.FileDetail) error { return nil }

// TestLoadLeavesNoGoroutine (issue 20, item 6): a load that fails or is
// cancelled while the next object's GET runs ahead (prefetch) drains that
// GET and closes its body before it returns, and leaves no goroutine: no
// prefetch, no HTTP connection held by a body nobody reads. SQLite, since
// the goroutines under test are the runner's; the HTTP transport is the
// test's own, so its idle connections can be closed before counting.
func TestLoadLeavesNoGoroutine(t *testing.T) {
	h := newHarness(t, dbs[0])
	if dbs[0].name != "sqlite" {
		t.Fatalf("dbs[0] is %s, want sqlite", dbs[0].name)
	}
	// Small files, so each one's GET starts while the one before loads.
	h.put("p/1.csv", []byte("id,name,amount\n1,a,1\n"))
	h.put("p/2.csv", []byte("id,name,amount\n2,b,2\n3,\"unterminated,3\n"))
	h.put("p/3.csv", []byte("id,name,amount\n4,d,4\n"))
	m := testenv.S3(t)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)

	for _, tt := range []struct {
		name string
		// at is the store's hook for a run that cancel cancels.
		at   func(cancel context.CancelFunc) func(ctx context.Context, point, name string)
		want func(error) bool
	}{
		{
			// 2.csv's bad row fails the load while 3.csv's GET is in
			// flight: it is answered only once 2.csv's body is closed.
			name: "bad row",
			at: func(context.CancelFunc) func(context.Context, string, string) {
				failed := make(chan struct{})
				return func(ctx context.Context, point, name string) {
					switch {
					case point == "closed" && name == "2.csv":
						close(failed)
					case point == "open" && name == "3.csv":
						select {
						case <-failed:
						case <-ctx.Done():
						}
					}
				}
			},
			want: func(err error) bool { return err != nil && !errors.Is(err, context.Canceled) },
		},
		{
			// The load is cancelled in 2.csv, once 3.csv's GET has
			// answered: its open body must be closed.
			name: "cancelled",
			at: func(cancel context.CancelFunc) func(context.Context, string, string) {
				ahead := make(chan struct{})
				return func(ctx context.Context, point, name string) {
					switch {
					case point == "opened" && name == "3.csv":
						close(ahead)
					case point == "read" && name == "2.csv":
						select {
						case <-ahead:
						case <-ctx.Done():
						}
						cancel()
					}
				}
			},
			want: func(err error) bool { return errors.Is(err, context.Canceled) },
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			s3, err := s3store.New(t.Context(), s3store.Config{Endpoint: m.Endpoint, Region: m.Region,
				AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey, HTTPClient: &http.Client{Transport: tr}}, nil)
			must(t, err)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			store := &trackedStore{ObjectStore: s3, at: tt.at(cancel), open: map[string]int{}}
			r := &load.Runner{Deps: s3bridge.Deps[load.ObjectStore]{Store: func(context.Context, s3bridge.Settings) (load.ObjectStore, error) { return store, nil }}}
			task, err := load.Task(load.Params{Source: load.SourcePrefix, URI: "s3://" + h.bucket + "/p/", Table: "t", Options: csvOpts()})
			must(t, err)
			id, err := h.in.Enqueue(t.Context(), task)
			must(t, err)
			claimed, err := h.in.ClaimTask(t.Context(), id, "leak", time.Minute)
			must(t, err)

			_, err = r.Run(ctx, h.in, *claimed, s3bridge.Settings{}, quietReporter{})
			left, opening := store.unclosed()
			if opening > 0 {
				// Fatal: goleak v1.3.0 can't parse the deep stack of a
				// goroutine inside an SDK call, and would panic.
				t.Fatalf("%d GETs still running when Run returned: the prefetch was not drained", opening)
			}
			if len(left) > 0 {
				t.Errorf("bodies left open when Run returned: %v", left)
			}
			if !tt.want(err) {
				t.Errorf("Run: %v", err)
			}
			if got := h.rows(); len(got) != 0 {
				t.Errorf("rows after a load that did not complete: %v", got)
			}
			tr.CloseIdleConnections()
			goleak.VerifyNone(t, before)
		})
	}
}
