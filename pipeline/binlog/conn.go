package binlog

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/s3bridge/s3bridge/mysqlproto"
)

// Client capabilities: protocol 4.1 with plugin auth, nothing a
// replication client doesn't use. CLIENT_DEPRECATE_EOF is left out, so
// result sets end with EOF packets.
const clientCaps = mysqlproto.ClientMySQL | mysqlproto.ClientProtocol41 | mysqlproto.ClientSecureConnection |
	mysqlproto.ClientPluginAuth | mysqlproto.ClientPluginAuthLenencData | mysqlproto.ClientTransactions

// charsetUTF8MB4 is utf8mb4_general_ci, the session character set: the
// text of queries and of their results is UTF-8.
const charsetUTF8MB4 = 45

// maxOwnPacket bounds the packets of the client's own small queries.
const maxOwnPacket = 16 << 20

// conn is one client connection to a server.
type conn struct {
	nc     net.Conn
	r      *mysqlproto.Reader
	w      *mysqlproto.Writer
	secure bool
	// server is the greeting's version string, "5.5.5-10.11.6-MariaDB-…"
	// from MariaDB.
	server string
}

// dial connects and authenticates.
func dial(ctx context.Context, cfg *Config) (*conn, error) {
	d := net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("connect to MariaDB at %s: %w", cfg.Addr, err)
	}
	c := &conn{nc: nc}
	c.buffers()
	// The handshake is bounded by ctx: a server that accepts and says
	// nothing must not hang the caller.
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	err = c.handshake(cfg)
	if !stop() || ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect to MariaDB at %s as %s: %w", cfg.Addr, cfg.User, err)
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

func (c *conn) buffers() {
	c.r = mysqlproto.NewReader(c.nc, 256<<10)
	c.w = mysqlproto.NewWriter(c.nc, 16<<10)
}

func (c *conn) handshake(cfg *Config) error {
	seq, p, err := c.r.Packet(maxOwnPacket)
	if err != nil {
		return fmt.Errorf("read the greeting: %w", err)
	}
	h, err := mysqlproto.ParseHandshake(p)
	if err != nil {
		return err
	}
	c.server = h.ServerVersion
	caps := clientCaps & (h.Capabilities | mysqlproto.ClientMySQL)
	seq++
	if cfg.TLS != nil {
		if h.Capabilities&mysqlproto.ClientSSL == 0 {
			return fmt.Errorf("the server does not offer TLS")
		}
		caps |= mysqlproto.ClientSSL
		if seq, err = c.w.Packet(seq, mysqlproto.AppendSSLRequest(nil, caps, mysqlproto.MaxPayload, charsetUTF8MB4)); err != nil {
			return err
		}
		if err := c.w.Flush(); err != nil {
			return err
		}
		tc := tls.Client(c.nc, cfg.TLS)
		if err := tc.Handshake(); err != nil {
			return fmt.Errorf("TLS handshake: %w", err)
		}
		c.nc, c.secure = tc, true
		c.buffers()
	}
	plugin := h.AuthPlugin
	if plugin == "" {
		plugin = pluginNative
	}
	resp, err := authResponse(plugin, []byte(cfg.Password), h.AuthData, c.secure)
	if err != nil {
		// The server may switch to another plugin; answer the first
		// with nothing and let it.
		resp = nil
	}
	b := binary.LittleEndian.AppendUint32(nil, uint32(caps))
	b = binary.LittleEndian.AppendUint32(b, mysqlproto.MaxPayload)
	b = append(b, charsetUTF8MB4)
	b = append(b, make([]byte, 23)...)
	b = append(append(b, cfg.User...), 0)
	b = mysqlproto.AppendLenenc(b, uint64(len(resp)))
	b = append(b, resp...)
	b = append(append(b, plugin...), 0)
	if _, err := c.w.Packet(seq, b); err != nil {
		return err
	}
	if err := c.w.Flush(); err != nil {
		return err
	}
	return c.authenticate(cfg, plugin, h.AuthData)
}

// authenticate reads the server's answers to the handshake response until
// OK, switching plugins and finishing caching_sha2_password's exchange as
// the server asks.
func (c *conn) authenticate(cfg *Config, plugin string, scramble []byte) error {
	pw := []byte(cfg.Password)
	for {
		seq, p, err := c.r.Packet(maxOwnPacket)
		if err != nil {
			return fmt.Errorf("read the authentication result: %w", err)
		}
		var reply []byte
		switch {
		case mysqlproto.IsOK(p):
			return nil
		case mysqlproto.IsErr(p):
			return serverError(p)
		case len(p) > 0 && p[0] == mysqlproto.AuthSwitch:
			name, data, _ := mysqlproto.ParseAuthSwitch(p)
			plugin, scramble = name, data
			if reply, err = authResponse(plugin, pw, scramble, c.secure); err != nil {
				return err
			}
			if reply == nil {
				reply = []byte{} // an empty packet: no password
			}
		case len(p) == 2 && p[0] == mysqlproto.AuthMoreData && p[1] == mysqlproto.SHA2FastAuthOK:
			continue // the OK follows
		case len(p) == 2 && p[0] == mysqlproto.AuthMoreData && p[1] == mysqlproto.SHA2PerformFullAuth:
			if c.secure {
				reply = append(append([]byte(nil), pw...), 0)
				break
			}
			if reply, err = c.rsaPassword(seq, pw, scramble); err != nil {
				return err
			}
			seq += 2
		default:
			return fmt.Errorf("auth plugin %s: unexpected packet %#x", plugin, p[:min(len(p), 1)])
		}
		if _, err := c.w.Packet(seq+1, reply); err != nil {
			return err
		}
		if err := c.w.Flush(); err != nil {
			return err
		}
	}
}

// rsaPassword asks the server for its RSA key (caching_sha2_password's
// full authentication over a connection that is not secure) and returns
// the password encrypted with it.
func (c *conn) rsaPassword(seq byte, pw, scramble []byte) ([]byte, error) {
	if _, err := c.w.Packet(seq+1, []byte{mysqlproto.SHA2RequestPublicKey}); err != nil {
		return nil, err
	}
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	_, p, err := c.r.Packet(maxOwnPacket)
	if err != nil {
		return nil, fmt.Errorf("read the server's RSA key: %w", err)
	}
	key, err := mysqlproto.ParsePublicKey(p)
	if err != nil {
		return nil, err
	}
	return mysqlproto.EncryptPassword(pw, scramble, key)
}

func serverError(p []byte) error {
	e, err := mysqlproto.ParseErr(p)
	if err != nil {
		return err
	}
	return e
}

// command sends one command packet (sequence 0).
func (c *conn) command(payload []byte) error {
	if _, err := c.w.Packet(0, payload); err != nil {
		return err
	}
	return c.w.Flush()
}

// query runs sql and returns its rows as text ("" for NULL too: the
// client's own queries never need to tell them apart). A server error is
// a *mysqlproto.Error.
func (c *conn) query(ctx context.Context, sql string) ([][]string, error) {
	if d, ok := ctx.Deadline(); ok {
		c.nc.SetDeadline(d)
		defer c.nc.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	rows, err := c.readQuery(sql)
	if err != nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", sql, err)
	}
	return rows, nil
}

func (c *conn) readQuery(sql string) ([][]string, error) {
	if err := c.command(append([]byte{mysqlproto.ComQuery}, sql...)); err != nil {
		return nil, err
	}
	_, p, err := c.r.Packet(maxOwnPacket)
	if err != nil {
		return nil, err
	}
	switch {
	case mysqlproto.IsErr(p):
		return nil, serverError(p)
	case mysqlproto.IsOK(p):
		return nil, nil
	}
	n, err := mysqlproto.ColumnCount(p)
	if err != nil {
		return nil, err
	}
	for i := 0; i <= n; i++ { // the definitions, then an EOF
		if _, _, err := c.r.Packet(maxOwnPacket); err != nil {
			return nil, err
		}
	}
	var rows [][]string
	var vals [][]byte
	for {
		_, p, err := c.r.Packet(maxOwnPacket)
		if err != nil {
			return nil, err
		}
		if mysqlproto.IsErr(p) {
			return nil, serverError(p)
		}
		if mysqlproto.IsEOF(p) {
			return rows, nil
		}
		if vals, err = mysqlproto.TextRow(vals[:0], p, n); err != nil {
			return nil, err
		}
		row := make([]string, n)
		for i, v := range vals {
			row[i] = string(v)
		}
		rows = append(rows, row)
	}
}

// exec runs statements that return no rows.
func (c *conn) exec(ctx context.Context, sqls ...string) error {
	for _, s := range sqls {
		if _, err := c.query(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// close sends COM_QUIT and closes the connection.
func (c *conn) close() error {
	c.nc.SetDeadline(time.Now().Add(time.Second))
	c.command([]byte{mysqlproto.ComQuit})
	return c.nc.Close()
}
