// Package faultproxy is an S3 reverse proxy for tests: it stands between a
// client and MinIO, forwards every request unchanged, and injects the
// faults a test programs. Rules match an S3 operation (told apart by method
// and query string, see Classify) and a key; their actions are an S3 error
// status, a 200 OK whose body is an <Error> (S3 answers CompleteMultipart-
// Upload so), a connection reset in the middle of a request or a response
// body, a response cut short of its Content-Length, and latency.
//
// The client signs its requests (SigV4) for the proxy's address. The proxy
// keeps the Host header as the client sent it and only sends the request on
// to MinIO's address; MinIO checks the signature against that Host header,
// so it matches.
package faultproxy

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Rule says which requests get a fault. Rules are tried in the order they
// were added; the first that matches a request, and has faults left, acts.
type Rule struct {
	// Op is the operation to match; Any matches every request.
	Op Op
	// Key matches requests whose object key, or listing prefix, contains
	// it; empty matches every request, bucket requests too.
	Key string
	// Times is how many matching requests get the fault; 0 means all.
	Times  int
	Action Action
}

// Fault is an added Rule, to ask how often it acted.
type Fault struct {
	rule Rule
	hits atomic.Int64
}

// Hits is how many requests the rule acted on.
func (f *Fault) Hits() int { return int(f.hits.Load()) }

// Request is one request the proxy served, for assertions on what the
// client did and when.
type Request struct {
	Op          Op
	Bucket, Key string
	Start, End  time.Time // End: when the proxy was done with it
	Fault       string    // the action taken, "" when forwarded untouched
}

// Proxy is the fault-injecting reverse proxy. Its zero value is not usable:
// use New or Start.
type Proxy struct {
	// URL is the proxy's base URL when started with Start.
	URL string

	target    *url.URL
	transport *http.Transport
	forward   *httputil.ReverseProxy
	seq       atomic.Int64

	mu     sync.Mutex
	faults []*Fault
	log    []Request
}

// New returns a proxy to the S3 endpoint target (an http URL).
func New(target string) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("faultproxy: target %q is not an http(s) URL", target)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Bodies pass as they are: a transparently gunzipped body would lose
	// its Content-Length and its signature's meaning.
	tr.DisableCompression = true
	tr.MaxIdleConnsPerHost = 64
	p := &Proxy{target: u, transport: tr}
	p.forward = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host // the host the client signed
		},
		Transport: tr,
		// A client that gives up mid-response is what some tests do.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	return p, nil
}

// Start serves a new proxy to target on a loopback port until the test
// ends.
func Start(tb testing.TB, target string) *Proxy {
	tb.Helper()
	p, err := New(target)
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(p)
	p.URL = srv.URL
	tb.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		p.transport.CloseIdleConnections()
	})
	return p
}

// Add installs a rule and returns its Fault.
func (p *Proxy) Add(r Rule) *Fault {
	f := &Fault{rule: r}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, f)
	return f
}

// Clear removes every rule; later requests are forwarded untouched.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = nil
}

// Requests returns the requests served so far, in arrival order.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.log...)
}

// Count is how many requests of op arrived; Any counts them all.
func (p *Proxy) Count(op Op) int {
	n := 0
	for _, r := range p.Requests() {
		if op == Any || r.Op == op {
			n++
		}
	}
	return n
}

// match returns the action for a request, false to forward it untouched,
// and logs the request; the index is its place in the log.
func (p *Proxy) match(req Request) (Action, int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := Action{}, false
	for _, f := range p.faults {
		r := f.rule
		if r.Op != Any && r.Op != req.Op || r.Key != "" && !strings.Contains(req.Key, r.Key) {
			continue
		}
		if r.Times > 0 && f.hits.Load() >= int64(r.Times) {
			continue
		}
		f.hits.Add(1)
		a, ok = r.Action, true
		req.Fault = a.String()
		break
	}
	p.log = append(p.log, req)
	return a, len(p.log) - 1, ok
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, bucket, key := Classify(r)
	a, i, ok := p.match(Request{Op: op, Bucket: bucket, Key: key, Start: time.Now()})
	defer func() {
		p.mu.Lock()
		p.log[i].End = time.Now()
		p.mu.Unlock()
	}()
	if !ok {
		p.forward.ServeHTTP(w, r)
		return
	}
	a.serve(p, w, r)
}
