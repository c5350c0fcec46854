package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"

	"golang.org/x/sync/errgroup"

	"github.com/s3bridge/s3bridge/console"
	"github.com/s3bridge/s3bridge/instance"
)

func serveCommand() command {
	return command{"serve", "--db URL [--db URL]… [--listen ADDR] [--tls-cert FILE --tls-key FILE] [--metrics-public]",
		"serve the HTTP API, the web console and Prometheus /metrics for one or more instances until SIGTERM", nil,
		"s3bridge serve --db " + exampleDB + " --listen 127.0.0.1:8080", runServe}
}

// httpOptions are how serve (and agent --http) serve HTTP.
type httpOptions struct {
	listen          string
	tlsCert, tlsKey string
	metricsPublic   bool
}

func runServe(ctx context.Context, e *env, args []string) error {
	var (
		c   common
		dbs multi
		o   httpOptions
	)
	fs := newFlagSet("serve", e)
	fs.Var(&dbs, "db", "instance `URL` to serve (repeatable; default $S3BRIDGE_DB)")
	c.logLevel = logLevel(slog.LevelInfo)
	fs.Var(&c.logLevel, "log-level", "log `LEVEL`: debug, info, warn or error")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "the `ADDR` (host:port) to listen on")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with the certificate (chain) in `FILE`, PEM")
	fs.StringVar(&o.tlsKey, "tls-key", "", "the private key of --tls-cert, in `FILE`, PEM")
	fs.BoolVar(&o.metricsPublic, "metrics-public", false, "serve /metrics without a token (for a Prometheus on a trusted network)")
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return usageErrorf("serve", "--tls-cert and --tls-key go together")
	}
	if v := e.getenv("S3BRIDGE_DB"); len(dbs) == 0 && v != "" {
		dbs = append(dbs, v)
	}
	if len(dbs) == 0 {
		return fmt.Errorf("serve: pass --db URL (repeatable) or set S3BRIDGE_DB")
	}
	ins, err := openAll(ctx, dbs)
	if err != nil {
		return err
	}
	defer func() {
		for _, in := range ins {
			in.Close()
		}
	}()
	return serveHTTP(ctx, e, c.logger(e.stderr), ins, o, nil)
}

// serveHTTP serves the API, the console and the metrics of ins as o says,
// beside also (an agent's run) when it is not nil, until ctx ends or
// either fails.
func serveHTTP(ctx context.Context, e *env, log *slog.Logger, ins []instance.Instance, o httpOptions, also func(ctx context.Context) error) error {
	if o.tlsCert != "" {
		// Read now, so that a wrong path fails before anything is served.
		for _, f := range []string{o.tlsCert, o.tlsKey} {
			if _, err := os.Stat(f); err != nil {
				return fmt.Errorf("serve HTTPS: %w", err)
			}
		}
	}
	// check from the console probes with this process's S3 clients, as
	// check on the command line does.
	chk := checker(e.getenv)
	srv, err := console.New(console.Config{Instances: ins, Log: log, MetricsPublic: o.metricsPublic, Secure: o.tlsCert != "",
		Check: chk.Check})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w", o.listen, err)
	}
	scheme := "http"
	if o.tlsCert != "" {
		scheme = "https"
	}
	fmt.Fprintf(e.stderr, "s3bridge %s serving %d instance(s) on %s://%s (API /api, console /, metrics /metrics)\n",
		versionString(), len(ins), scheme, ln.Addr())
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(gctx, ln, o.tlsCert, o.tlsKey) })
	if also != nil {
		g.Go(func() error { return also(gctx) })
	}
	return g.Wait()
}
