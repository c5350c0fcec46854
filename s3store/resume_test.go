package s3store

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/s3bridge/s3bridge/internal/testenv"
)

// cutProxy is a loopback TCP proxy in front of MinIO that breaks
// connections: the first cuts connections to reach after bytes of responses
// are closed right there, mid-body for any response that large.
type cutProxy struct {
	ln     net.Listener
	target string
	after  int64
	left   atomic.Int32 // cuts still to make
	onCut  func()       // runs before a cut connection is closed
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  []net.Conn // closed at cleanup: idle keep-alives would block relays
	closed bool
}

// startCutProxy returns the proxy; its endpoint is proxy.URL().
func startCutProxy(t *testing.T, minioEndpoint string, after int64, cuts int32, onCut func()) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: strings.TrimPrefix(minioEndpoint, "http://"), after: after, onCut: onCut}
	p.left.Store(cuts)
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		p.closed = true
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) URL() string { return "http://" + p.ln.Addr().String() }

// cuts reports how many cuts were made.
func (p *cutProxy) made(total int32) int32 { return total - max(p.left.Load(), 0) }

func (p *cutProxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // listener closed at cleanup
		}
		p.wg.Go(func() { p.relay(client) })
	}
}

func (p *cutProxy) relay(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	p.mu.Lock()
	closed := p.closed
	p.conns = append(p.conns, client, server)
	p.mu.Unlock()
	if closed {
		return
	}
	go func() {
		io.Copy(server, client)
		server.Close() // unblocks the copy below when the client hangs up
	}()
	if n, err := io.CopyN(client, server, p.after); err != nil || n < p.after {
		return
	}
	if p.left.Add(-1) >= 0 {
		if p.onCut != nil {
			p.onCut()
		}
		return // deferred closes cut both sides mid-response
	}
	io.Copy(client, server)
}

// TestOpenResumes reads objects through connections cut mid-body: the
// reader resumes with Range + If-Match and returns the identical object, a
// changed object fails with ErrChanged, and a connection that keeps breaking
// is given up on.
func TestOpenResumes(t *testing.T) {
	m := testenv.S3(t)
	tests := []struct {
		name     string
		size     int
		after    int64
		cuts     int32
		change   bool  // overwrite the object at the first cut
		wantErr  error // nil = identical bytes
		wantGive bool  // want a "gave up" error
	}{
		{"one cut", 3 << 20, 256 << 10, 1, false, nil, false},
		{"three cuts", 3 << 20, 512 << 10, 3, false, nil, false},
		{"object changed at the cut", 3 << 20, 256 << 10, 1, true, ErrChanged, false},
		{"keeps breaking", 3 << 20, 64 << 10, 1000, false, nil, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bucket := m.Bucket(t)
			admin := m.Admin(t)
			data := randomBytes(tt.size, uint64(100+i))
			adminPut(t, admin, bucket, "obj", data)
			var onCut func()
			if tt.change {
				var once sync.Once
				onCut = func() { once.Do(func() { adminPut(t, admin, bucket, "obj", randomBytes(tt.size, 999)) }) }
			}
			proxy := startCutProxy(t, m.Endpoint, tt.after, tt.cuts, onCut)
			cfg := minioConfig(m)
			cfg.Endpoint = proxy.URL()
			c := newClient(t, cfg)
			body, obj, err := c.Open(t.Context(), bucket, "obj")
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer body.Close()
			got, err := io.ReadAll(body)
			switch {
			case tt.wantGive:
				if err == nil || !strings.Contains(err.Error(), "gave up after") {
					t.Fatalf("read = %v, want to give up", err)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("read = %v, want %v", err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				if sum(got) != sum(data) || obj.Size != int64(len(data)) {
					t.Fatalf("read %d bytes, want %d identical bytes", len(got), len(data))
				}
				if made := proxy.made(tt.cuts); made != tt.cuts {
					t.Errorf("proxy cut %d connections, want %d", made, tt.cuts)
				}
			}
		})
	}
}

// TestOpenCancelNotResumed proves a cancelled read ends with ctx's error
// instead of reconnecting.
func TestOpenCancelNotResumed(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	adminPut(t, m.Admin(t), bucket, "obj", randomBytes(8<<20, 5))
	c := newClient(t, minioConfig(m))
	ctx, cancel := context.WithCancel(t.Context())
	body, _, err := c.Open(ctx, bucket, "obj")
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	if _, err := io.ReadFull(body, make([]byte, 1<<10)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.ReadAll(body); !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel = %v, want context.Canceled", err)
	}
}

// TestDownloadResumes downloads through cut connections: parts resume and
// the file is identical.
func TestDownloadResumes(t *testing.T) {
	m := testenv.S3(t)
	bucket := m.Bucket(t)
	data := randomBytes(22<<20, 11)
	adminPut(t, m.Admin(t), bucket, "big", data)
	const cuts = 4
	proxy := startCutProxy(t, m.Endpoint, 1<<20, cuts, nil)
	cfg := transferConfig(m)
	cfg.Endpoint = proxy.URL()
	c := newClient(t, cfg)
	f, err := os.Create(filepath.Join(t.TempDir(), "big"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := c.Download(t.Context(), bucket, "big", f, nil); err != nil {
		t.Fatalf("Download: %v", err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if sum(got) != sum(data) {
		t.Fatalf("downloaded %d bytes, want %d identical bytes", len(got), len(data))
	}
	if made := proxy.made(cuts); made != cuts {
		t.Errorf("proxy cut %d connections, want %d", made, cuts)
	}
}
