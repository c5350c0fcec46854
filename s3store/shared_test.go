package s3store

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// regionServer answers HeadBucket of "bkt" with region eu-west-3 once
// release is closed, counting the requests; a request whose client gave
// up stops waiting.
type regionServer struct {
	heads   atomic.Int32
	arrived chan struct{} // gets a value as each HeadBucket arrives
	release chan struct{}
}

func (s *regionServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodHead || r.URL.Path != "/bkt" {
		writeS3Error(w, http.StatusNotImplemented, "NotImplemented")
		return
	}
	s.heads.Add(1)
	select {
	case s.arrived <- struct{}{}:
	default:
	}
	select {
	case <-s.release:
	case <-r.Context().Done():
		return
	}
	w.Header().Set("X-Amz-Bucket-Region", "eu-west-3")
}

// TestRegionAskedOnce: callers asking a bucket's region at the same time
// share one detection, and one whose context ends doesn't fail the others
// (a CLI's warm-up cancelled under the runner that waits for it).
func TestRegionAskedOnce(t *testing.T) {
	t.Run("together", func(t *testing.T) {
		srv := &regionServer{arrived: make(chan struct{}, 1), release: make(chan struct{})}
		hs := httptest.NewServer(srv)
		defer hs.Close()
		c := newClient(t, fakeConfig(hs.URL))
		var wg sync.WaitGroup
		got := make([]string, 4)
		errs := make([]error, 4)
		for i := range got {
			wg.Go(func() { got[i], errs[i] = c.BucketRegion(t.Context(), "bkt") })
		}
		<-srv.arrived
		close(srv.release)
		wg.Wait()
		for i := range got {
			if got[i] != "eu-west-3" || errs[i] != nil {
				t.Errorf("caller %d: %q, %v; want eu-west-3", i, got[i], errs[i])
			}
		}
		// A caller that came after the detection ended found its answer
		// cached, before or inside a call of its own.
		if n := srv.heads.Load(); n != 1 {
			t.Errorf("%d HeadBucket requests for 4 callers at once, want 1", n)
		}
	})
	t.Run("first caller gives up", func(t *testing.T) {
		srv := &regionServer{arrived: make(chan struct{}, 1), release: make(chan struct{})}
		hs := httptest.NewServer(srv)
		defer hs.Close()
		c := newClient(t, fakeConfig(hs.URL))
		first, cancel := context.WithCancel(t.Context())
		firstDone := make(chan error, 1)
		go func() {
			_, err := c.BucketRegion(first, "bkt")
			firstDone <- err
		}()
		<-srv.arrived
		second := make(chan string, 1)
		go func() {
			r, err := c.BucketRegion(t.Context(), "bkt")
			if err != nil {
				r = "error: " + err.Error()
			}
			second <- r
		}()
		cancel()
		if err := <-firstDone; err == nil {
			t.Error("the cancelled caller got a region, want its context's error")
		}
		close(srv.release)
		select {
		case r := <-second:
			if r != "eu-west-3" {
				t.Errorf("the caller that waited on: %s, want eu-west-3", r)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the caller that waited on got no answer")
		}
	})
}
