package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/s3bridge/s3bridge/agent"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/pipeline/serve"
	"github.com/s3bridge/s3bridge/pipeline/writer"
)

func runAgent(ctx context.Context, e *env, args []string) error {
	var (
		c                  common
		dbs                multi
		lease, grace, tick time.Duration
		httpAddr           string
	)
	fs := newFlagSet("agent", e)
	fs.Var(&dbs, "db", "instance `URL` to serve (repeatable; default $S3BRIDGE_DB)")
	c.logLevel = logLevel(slog.LevelInfo)
	fs.Var(&c.logLevel, "log-level", "log `LEVEL`: debug, info, warn or error")
	fs.DurationVar(&lease, "lease", 15*time.Second, "lease on a running task; another agent takes it over after this without a heartbeat")
	fs.DurationVar(&grace, "grace", 30*time.Second, "on SIGTERM, how long running tasks may finish before they go back to the queue")
	fs.DurationVar(&tick, "tick", 250*time.Millisecond, "heartbeat and cancel check interval")
	fs.StringVar(&httpAddr, "http", "", "also serve the HTTP API, the console and /metrics on `ADDR`, as s3bridge serve does")
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	if v := e.getenv("S3BRIDGE_DB"); len(dbs) == 0 && v != "" {
		dbs = append(dbs, v)
	}
	if len(dbs) == 0 {
		return fmt.Errorf("agent: pass --db URL (repeatable) or set S3BRIDGE_DB")
	}
	log := c.logger(e.stderr)
	ins, err := openAll(ctx, dbs)
	if err != nil {
		return err
	}
	defer func() {
		for _, in := range ins {
			in.Close()
		}
	}()
	st := newStores(e.getenv, log)
	pipelines := &serve.Service{Lease: max(lease, 3*time.Second), Log: log,
		Open: func(ctx context.Context, in instance.Instance) (writer.Store, error) {
			set, err := in.Settings(ctx)
			if err != nil {
				return nil, err
			}
			store, err := st.client(ctx, set, "PIPELINE")
			if err != nil {
				return nil, err
			}
			g, err := guard(set, in.Name())
			if err != nil {
				return nil, err
			}
			return serve.Guarded(store, g), nil
		}}
	a := agent.New(agent.Config{Lease: lease, Grace: grace, Tick: tick, Log: log, Version: versionString(),
		Services: []agent.Service{pipelines}}, st.runners())
	fmt.Fprintf(e.stderr, "agent %s (s3bridge %s) serving %d instance(s)\n", a.ID(), versionString(), len(ins))
	if httpAddr != "" {
		return serveHTTP(ctx, e, log, ins, httpOptions{listen: httpAddr}, func(ctx context.Context) error { return a.Run(ctx, ins...) })
	}
	return a.Run(ctx, ins...)
}

// openAll opens every instance and checks that it is attached before any
// is served; when one fails, those already open are closed.
func openAll(ctx context.Context, urls []string) ([]instance.Instance, error) {
	var ins []instance.Instance
	closeAll := func() {
		for _, in := range ins {
			in.Close()
		}
	}
	for _, u := range urls {
		in, err := openAttached(ctx, u)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("serve %s: %w", redactURL(u), err)
		}
		ins = append(ins, in)
	}
	return ins, nil
}
