package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/export"
	"github.com/s3bridge/s3bridge/instance/mysql"
	"github.com/s3bridge/s3bridge/load"
	"github.com/s3bridge/s3bridge/proxy"
)

func proxyCommand() command {
	return command{
		name:    "proxy",
		usage:   "--listen ADDR --upstream mysql://HOST:PORT [--db URL] [--tls-cert FILE --tls-key FILE]",
		help:    "MySQL-protocol proxy: Aurora's LOAD DATA|XML FROM S3 and SELECT … INTO OUTFILE S3 run unchanged against MariaDB/MySQL",
		example: "s3bridge proxy --listen 127.0.0.1:3307 --upstream mysql://db:3306 --db mysql://s3bridge:pw@db:3306/app",
		run:     runProxy,
	}
}

func runProxy(ctx context.Context, e *env, args []string) error {
	var (
		c                common
		listen, upstream string
		tlsCert, tlsKey  string
	)
	fs := newFlagSet("proxy", e)
	fs.StringVar(&c.db, "db", "", "the attached MariaDB instance `URL` whose settings, policy and s3bridge roles apply to the S3 statements (default: none; S3 with the environment's credentials)")
	c.logLevel = logLevel(slog.LevelInfo)
	fs.Var(&c.logLevel, "log-level", "log `LEVEL`: debug, info, warn or error")
	fs.StringVar(&listen, "listen", "127.0.0.1:3307", "`ADDR` (host:port) to accept clients on")
	fs.StringVar(&upstream, "upstream", "", "the server, as mysql://HOST:PORT")
	fs.StringVar(&tlsCert, "tls-cert", "", "certificate `FILE` (PEM) for TLS with clients (with --tls-key)")
	fs.StringVar(&tlsKey, "tls-key", "", "private key `FILE` (PEM) for TLS with clients")
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	addr, err := upstreamAddr(upstream)
	if err != nil {
		return usageErrorf("proxy", "%v", err)
	}
	cfg := proxy.Config{Upstream: addr, Log: c.logger(e.stderr)}
	if (tlsCert == "") != (tlsKey == "") {
		return usageErrorf("proxy", "--tls-cert and --tls-key go together")
	}
	if tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(tlsCert, tlsKey)
		if err != nil {
			return fmt.Errorf("proxy: TLS certificate: %w", err)
		}
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	st := newStores(e.getenv, cfg.Log)
	cfg.Bridge = proxy.Bridge{
		Load: deps(st, func(ctx context.Context, set s3bridge.Settings) (load.ObjectStore, error) {
			return st.loadStore(ctx, set)
		}),
		Export: exportRunner(st).(*export.Runner).Deps,
	}
	if c.db != "" {
		in, err := openAttached(ctx, c.db)
		if err != nil {
			return err
		}
		defer in.Close()
		my, ok := in.(*mysql.Instance)
		if !ok {
			return fmt.Errorf("proxy: --db must name a MariaDB or MySQL instance")
		}
		cfg.Bridge.Settings = in.Settings
		cfg.Bridge.Instance, cfg.Bridge.Schema = in.Name(), my.Schema()
	} else {
		// Without an instance the store's defaults apply (path-style
		// addressing where the endpoint needs it, the SDK's region).
		cfg.Bridge.Instance = "proxy"
	}
	srv, err := proxy.New(cfg)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	fmt.Fprintf(e.stderr, "s3bridge proxy listening on %s, upstream %s\n", l.Addr(), addr)
	return srv.Serve(ctx, l)
}

// upstreamAddr reads mysql://HOST[:PORT] (mariadb:// too). Credentials in
// it are refused: the proxy never logs in itself, its clients do.
func upstreamAddr(raw string) (string, error) {
	if raw == "" {
		return "", fmt.Errorf("--upstream mysql://HOST:PORT is required")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "mysql" && u.Scheme != "mariadb") || u.Host == "" {
		return "", fmt.Errorf("--upstream %q: want mysql://HOST:PORT", redactURL(raw))
	}
	if u.User != nil {
		return "", fmt.Errorf("--upstream: no user or password: clients log in themselves, through the proxy")
	}
	if u.Query().Get("tls") != "" && u.Query().Get("tls") != "false" {
		return "", fmt.Errorf("--upstream: TLS to the server is not supported yet")
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "3306"), nil
	}
	return u.Host, nil
}
