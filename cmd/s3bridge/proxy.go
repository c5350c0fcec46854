package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/export"
	"github.com/s3bridge/s3bridge/instance/mysql"
	"github.com/s3bridge/s3bridge/load"
	"github.com/s3bridge/s3bridge/proxy"
)

func proxyCommand() command {
	return command{
		name:    "proxy",
		usage:   "--listen ADDR --upstream mysql://HOST:PORT[?tls=…] [--db URL] [--tls-cert FILE --tls-key FILE]",
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
	fs.StringVar(&upstream, "upstream", "", "the server, as mysql://HOST:PORT[?tls=true|skip-verify|preferred&tls-ca=FILE&tls-server-name=NAME]")
	fs.StringVar(&tlsCert, "tls-cert", "", "certificate `FILE` (PEM) for TLS with clients (with --tls-key)")
	fs.StringVar(&tlsKey, "tls-key", "", "private key `FILE` (PEM) for TLS with clients")
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	up, err := parseUpstream(upstream)
	if err != nil {
		return usageErrorf("proxy", "%v", err)
	}
	cfg := proxy.Config{Upstream: up.addr, UpstreamTLS: up.tls, UpstreamTLSOptional: up.tlsOptional, Log: c.logger(e.stderr)}
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
	over := "plain text"
	if up.tls != nil {
		over = "TLS"
	}
	fmt.Fprintf(e.stderr, "s3bridge proxy listening on %s, upstream %s (%s)\n", l.Addr(), up.addr, over)
	return srv.Serve(ctx, l)
}

// upstream is the server the proxy relays to, and how it speaks TLS to it.
type upstream struct {
	addr        string      // host:port
	tls         *tls.Config // nil: plain text
	tlsOptional bool        // tls=preferred: plain text when the server offers no TLS
}

// parseUpstream reads mysql://HOST[:PORT][?tls=…&tls-ca=FILE&tls-server-name=NAME]
// (mariadb:// too). Credentials in it are refused: the proxy never logs
// in itself, its clients do. tls follows go-sql-driver's parameter: true
// (verified against the system's CAs or tls-ca's), skip-verify (not
// verified), preferred (TLS when the server offers it, verified only
// against a tls-ca), false (the default).
func parseUpstream(raw string) (upstream, error) {
	var up upstream
	if raw == "" {
		return up, fmt.Errorf("--upstream mysql://HOST:PORT is required")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "mysql" && u.Scheme != "mariadb") || u.Host == "" {
		return up, fmt.Errorf("--upstream %q: want mysql://HOST:PORT", redactURL(raw))
	}
	if u.User != nil {
		return up, fmt.Errorf("--upstream: no user or password: clients log in themselves, through the proxy")
	}
	up.addr = u.Host
	if u.Port() == "" {
		up.addr = net.JoinHostPort(u.Hostname(), "3306")
	}
	q := u.Query()
	for k := range q {
		if k != "tls" && k != "tls-ca" && k != "tls-server-name" {
			return up, fmt.Errorf("--upstream: unknown parameter %q: want tls, tls-ca or tls-server-name", k)
		}
	}
	mode, ca, name := q.Get("tls"), q.Get("tls-ca"), q.Get("tls-server-name")
	if mode == "" && ca != "" {
		mode = "true"
	}
	switch mode {
	case "", "false":
		if ca != "" || name != "" {
			return up, fmt.Errorf("--upstream: tls-ca and tls-server-name need tls=true, skip-verify or preferred")
		}
		return up, nil
	case "true", "preferred":
		up.tls = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cmp.Or(name, u.Hostname())}
		up.tlsOptional = mode == "preferred"
		// go-sql-driver's preferred doesn't verify; with a CA to verify
		// against there is no reason not to.
		up.tls.InsecureSkipVerify = mode == "preferred" && ca == ""
	case "skip-verify":
		if ca != "" {
			return up, fmt.Errorf("--upstream: tls=skip-verify verifies nothing: drop tls-ca or use tls=true")
		}
		up.tls = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}
	default:
		return up, fmt.Errorf("--upstream: tls=%q: want true, skip-verify, preferred or false", mode)
	}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return up, fmt.Errorf("--upstream: tls-ca: %w", err)
		}
		up.tls.RootCAs = x509.NewCertPool()
		if !up.tls.RootCAs.AppendCertsFromPEM(pem) {
			return up, fmt.Errorf("--upstream: tls-ca %s: no PEM certificate in it", ca)
		}
	}
	return up, nil
}
