// Package proxy is s3bridge proxy: a MySQL-protocol proxy that applications
// connect to instead of their MariaDB or MySQL server. It relays every
// packet byte for byte, authentication included (the server's users and
// auth plugins apply; the proxy sees no password, but when it must stand
// in for TLS in caching_sha2_password: see auth.go), except Aurora's S3
// statements sent as COM_QUERY: LOAD DATA FROM S3, LOAD XML FROM S3 and
// SELECT … INTO OUTFILE S3. Those it runs itself on the client's own
// upstream session, so the client's transaction, privileges and warnings
// apply as they would to Aurora's statement, and answers with the OK
// packet Aurora would send.
package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/export"
	"github.com/s3bridge/s3bridge/load"
)

// Config is a proxy's configuration.
type Config struct {
	// Upstream is the server's host:port.
	Upstream string
	// UpstreamTLS, when set, makes the proxy speak TLS to the server (the
	// upstream URL asked for it): after the client's handshake response it
	// sends the server an SSL request, runs the TLS handshake, and relays
	// the response and the authentication over TLS. Its ServerName
	// defaults to Upstream's host; a server that doesn't offer TLS is
	// refused unless UpstreamTLSOptional.
	UpstreamTLS *tls.Config
	// UpstreamTLSOptional reaches a server that doesn't offer TLS in plain
	// text (tls=preferred) instead of refusing the client.
	UpstreamTLSOptional bool
	// TLS, when set, is offered to clients (CLIENT_SSL), which may then
	// speak TLS to the proxy, whatever the proxy speaks to the server.
	// Without it CLIENT_SSL is removed from the server's greeting.
	TLS *tls.Config
	// DialTimeout bounds the connection to the server (default 10s).
	DialTimeout time.Duration
	// Bridge runs the S3 statements.
	Bridge Bridge
	// Log receives one line per connection problem and per S3 statement.
	Log *slog.Logger
}

// Bridge is what the S3 statements need from s3bridge, wired by
// cmd/s3bridge as for the load and export capabilities.
type Bridge struct {
	// Load and Export open the object store and the policy guard for the
	// settings of each statement.
	Load   s3bridge.Deps[load.ObjectStore]
	Export s3bridge.Deps[export.ObjectStore]
	// Settings are the attached instance's (read for every statement, so
	// a change by attach applies at once); nil means none: S3 is reached
	// with the process's environment alone and no s3bridge policy applies.
	Settings func(ctx context.Context) (s3bridge.Settings, error)
	// Instance names the attached instance, for its policy (aws:SourceArn).
	Instance string
	// Schema is the attached instance's s3bridge schema. When set, a
	// client may run LOAD … FROM S3 only if its session may execute
	// Schema.load_data_from_s3 (the s3bridge_load role), and SELECT … INTO
	// OUTFILE S3 only if it may execute Schema.select_into_outfile_s3
	// (s3bridge_export), as with s3bridge's SQL interface.
	Schema string
}

// Validate reports a configuration that can't work.
func (c *Config) Validate() error {
	if c.Upstream == "" {
		return fmt.Errorf("proxy: no upstream server")
	}
	if _, _, err := net.SplitHostPort(c.Upstream); err != nil {
		return fmt.Errorf("proxy: upstream %q: %w", c.Upstream, err)
	}
	if c.UpstreamTLSOptional && c.UpstreamTLS == nil {
		return fmt.Errorf("proxy: UpstreamTLSOptional without UpstreamTLS")
	}
	if c.Bridge.Load.Store == nil || c.Bridge.Export.Store == nil {
		return fmt.Errorf("proxy: no object store is configured")
	}
	return nil
}

// Server accepts clients and proxies each to its own upstream session.
type Server struct {
	cfg  Config
	log  *slog.Logger
	keys *rsaKey // for caching_sha2_password between a plain client and a TLS server
}

// New returns a proxy with cfg, which must validate.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if c := cfg.UpstreamTLS; c != nil && c.ServerName == "" && !c.InsecureSkipVerify {
		cfg.UpstreamTLS = c.Clone()
		cfg.UpstreamTLS.ServerName, _, _ = net.SplitHostPort(cfg.Upstream)
	}
	return &Server{cfg: cfg, log: log, keys: &rsaKey{}}, nil
}

// Serve accepts clients on l until ctx ends, then closes l and every
// client connection and returns once all have ended. It returns nil when
// ctx ended, else the listener's error.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	var wg sync.WaitGroup
	conns := map[net.Conn]struct{}{}
	var mu sync.Mutex
	stop := context.AfterFunc(ctx, func() {
		l.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	defer stop()
	defer wg.Wait()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("proxy: accept: %w", err)
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			c.Close()
			return nil
		}
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
			}()
			s.handle(ctx, c)
		}()
	}
}

// handle proxies one client until either side closes.
func (s *Server) handle(ctx context.Context, client net.Conn) {
	defer client.Close()
	log := s.log.With("client", client.RemoteAddr().String())
	d := net.Dialer{Timeout: s.cfg.DialTimeout}
	up, err := d.DialContext(ctx, "tcp", s.cfg.Upstream)
	if err != nil {
		log.Warn("upstream unreachable", "upstream", s.cfg.Upstream, "err", err)
		refuse(client, fmt.Sprintf("s3bridge proxy: the server %s is unreachable: %v", s.cfg.Upstream, err))
		return
	}
	defer up.Close()
	// Closing both ends any blocked read when ctx ends.
	stop := context.AfterFunc(ctx, func() { client.Close(); up.Close() })
	defer stop()
	ss := newSession(client, up, &s.cfg.Bridge, log)
	ss.tls, ss.upTLS, ss.upOptional, ss.keys = s.cfg.TLS, s.cfg.UpstreamTLS, s.cfg.UpstreamTLSOptional, s.keys
	ss.upstream, ss.dialTimeout = s.cfg.Upstream, s.cfg.DialTimeout
	if err := ss.run(ctx); err != nil && ctx.Err() == nil {
		log.Debug("connection ended", "err", err)
	}
}
