// Package console is s3bridge's HTTP surface for operators: a JSON API
// (documented by the OpenAPI document at /api/openapi.json), a
// server-rendered web console and Prometheus metrics, over the instances
// it is given. Every route but /healthz, the login form and the static
// assets needs a token (package token) with a role; the route table says
// which. It reads and changes instances through the same calls as the CLI
// (package control and the instance's store).
package console

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/s3bridge/s3bridge/control"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/token"
)

// Config is what a Server serves and how.
type Config struct {
	// Instances are the attached instances served; their tokens open the
	// server (a token stored in any of them).
	Instances []instance.Instance
	Log       *slog.Logger
	// MetricsPublic serves /metrics without a token.
	MetricsPublic bool
	// Secure marks the session cookie Secure: set when served over TLS.
	Secure bool
	// Poll is how often an instance's log followers (Server-Sent
	// Events) are read again, all at once; default 500ms.
	Poll time.Duration
	// SessionTTL is how long a console login lasts; default 12h.
	SessionTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Check runs check on an instance (its buckets probed with the
	// agents' credentials, or only one): the process wires it to its S3
	// clients. Nil: the check routes answer that this server can't.
	Check func(ctx context.Context, in instance.Instance, bucket string) (control.CheckReport, error)
	// Concurrency is how many requests read the instances at once; the
	// others wait their turn. Default 16.
	Concurrency int
	// LagEvery is how often Run samples every pipeline's lag for the
	// pipeline pages' chart of the last hour; default 30s.
	LagEvery time.Duration
}

// Server serves the API, the console and the metrics.
type Server struct {
	cfg       Config
	instances []served
	sessions  *sessions
	routes    []route
	handler   http.Handler
	pages     map[string]*template.Template
	metrics   *prometheus.Registry
	checks    *checks
	lags      *lags
	busy      chan struct{}
}

// served is an instance and the name it has in URLs: its database name,
// with a suffix when two served instances share it.
type served struct {
	id      string
	in      instance.Instance
	reads   taskReads
	follows *follows
	figures *figures
}

// New returns a Server over cfg.Instances.
func New(cfg Config) (*Server, error) {
	if len(cfg.Instances) == 0 {
		return nil, errors.New("console: no instance to serve")
	}
	cfg.Log = cmp.Or(cfg.Log, slog.New(slog.DiscardHandler))
	cfg.Poll = cmp.Or(cfg.Poll, 500*time.Millisecond)
	cfg.SessionTTL = cmp.Or(cfg.SessionTTL, 12*time.Hour)
	cfg.LagEvery = cmp.Or(cfg.LagEvery, 30*time.Second)
	cfg.Concurrency = cmp.Or(cfg.Concurrency, 16)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, sessions: newSessions(cfg.SessionTTL, cfg.Now), checks: newChecks(), lags: newLags(time.Hour),
		busy: make(chan struct{}, cfg.Concurrency)}
	seen := map[string]int{}
	for _, in := range cfg.Instances {
		id := in.Name()
		if seen[id]++; seen[id] > 1 {
			id += "-" + strconv.Itoa(seen[id])
		}
		reads, ok := in.(taskReads)
		if !ok {
			return nil, fmt.Errorf("console: instance %s (%T) can't list its tasks by page", id, in)
		}
		sv := served{id: id, in: in, reads: reads, figures: &figures{}}
		sv.follows = newFollows(sv, cfg)
		s.instances = append(s.instances, sv)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s.pages = pages
	s.metrics = s.newRegistry()
	s.routes = s.table()
	mux := http.NewServeMux()
	for _, rt := range s.routes {
		mux.Handle(rt.method+" "+rt.pattern, s.guard(rt))
	}
	mux.HandleFunc("/", s.notFound)
	// Cross-origin protection refuses a browser's unsafe request sent from
	// another site (Sec-Fetch-Site, Origin): the login form and any
	// request a browser sends with Basic credentials it remembered. The
	// console's forms carry a CSRF token besides.
	s.handler = http.NewCrossOriginProtection().Handler(securityHeaders(mux))
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Route is a registered route: its method and pattern, the role it needs
// ("" for a public route), and whether it is part of the JSON API.
type Route struct {
	Method, Pattern string
	Role            token.Role
	API             bool
}

// Routes lists the registered routes, for tests and the OpenAPI check.
func (s *Server) Routes() []Route {
	out := make([]Route, 0, len(s.routes))
	for _, rt := range s.routes {
		out = append(out, Route{Method: rt.method, Pattern: rt.pattern, Role: rt.role, API: rt.kind == kindAPI})
	}
	return out
}

// Run serves on ln until ctx ends, then shuts down, letting requests in
// flight finish for up to 5 seconds (log followers end at once). With
// certFile and keyFile it serves HTTPS. While it serves, it samples the
// pipelines' lag every Config.LagEvery (the pipeline pages' chart).
func (s *Server) Run(ctx context.Context, ln net.Listener, certFile, keyFile string) error {
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return base }}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		if certFile != "" {
			err = hs.ServeTLS(ln, certFile, keyFile)
		} else {
			err = hs.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve http on %s: %w", ln.Addr(), err)
	})
	g.Go(func() error { return s.sampleLags(gctx) })
	g.Go(func() error {
		<-gctx.Done()
		cancel() // ends the log followers, whose requests never finish by themselves
		sctx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer stop()
		return hs.Shutdown(sctx)
	})
	return g.Wait()
}

// instance finds a served instance by its URL name.
func (s *Server) instance(id string) (served, error) {
	for _, sv := range s.instances {
		if sv.id == id {
			return sv, nil
		}
	}
	return served{}, notFoundf("instance %q is not served here", id)
}

// securityHeaders sets what every response carries: no framing, no
// sniffing, no referrer leaking task URLs, scripts only from this server.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}
