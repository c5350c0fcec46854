package binlog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/s3bridge/s3bridge/mysqlproto"
)

// ErrLogUnavailable means the server no longer has (or never had) the
// binary log at the position a stream asked for: the logs were purged
// past it (binlog_expire_logs_seconds, PURGE BINARY LOGS, RESET MASTER),
// or the position is another server's. The changes in between are gone;
// the pipeline needs a new snapshot.
var ErrLogUnavailable = errors.New("the binary log at the requested position is no longer available")

// Config says how to reach a server and who to replicate as.
type Config struct {
	Addr     string // host:port
	User     string
	Password string `json:"-"`
	// Database is the pipeline's name for the server's tables: the
	// Database of the schemas and changes it streams (their Schema is
	// the MariaDB database, "schema" being its synonym there). The
	// database of the URL, "" when it names none.
	Database string
	// TLS, when set, is used for the connection; nil: plain TCP.
	TLS *tls.Config
	// ServerID is the id the client registers with: unique among the
	// server's replicas and the servers of its topology (a second client
	// with the same id makes the server drop the first).
	ServerID uint32
}

// ParseURL reads mysql://user:password@host:port/database with the
// options server_id=N and tls=true|skip-verify|false. The port defaults
// to 3306.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("parse MariaDB URL: %w", err)
	}
	if u.Scheme != "mysql" && u.Scheme != "mariadb" {
		return Config{}, fmt.Errorf("parse MariaDB URL: scheme %q, want mysql://", u.Scheme)
	}
	cfg := Config{Addr: u.Host, User: u.User.Username(), Database: strings.TrimPrefix(u.Path, "/")}
	cfg.Password, _ = u.User.Password()
	if u.Port() == "" {
		cfg.Addr = net.JoinHostPort(u.Hostname(), "3306")
	}
	q := u.Query()
	if v := q.Get("server_id"); v != "" {
		id, err := strconv.ParseUint(v, 10, 32)
		if err != nil || id == 0 {
			return Config{}, fmt.Errorf("parse MariaDB URL: server_id %q: want 1 to 4294967295", v)
		}
		cfg.ServerID = uint32(id)
	}
	switch v := q.Get("tls"); v {
	case "", "false":
	case "true":
		cfg.TLS = &tls.Config{ServerName: u.Hostname()}
	case "skip-verify":
		cfg.TLS = &tls.Config{InsecureSkipVerify: true}
	default:
		return Config{}, fmt.Errorf("parse MariaDB URL: tls=%q, want true, skip-verify or false", v)
	}
	return cfg, nil
}

// Source is one pipeline's view of a MariaDB server's binary log.
type Source struct {
	cfg  Config
	name string
}

// New returns the source of pipeline name on the server at url (see
// ParseURL). Without a server_id in the URL the client registers with
// one derived from the name, in the upper half of the id space, away
// from the small ids servers are usually given.
func New(url, name string) (*Source, error) {
	cfg, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	return NewFromConfig(cfg, name), nil
}

// NewFromConfig is New with a Config.
func NewFromConfig(cfg Config, name string) *Source {
	if cfg.ServerID == 0 {
		h := fnv.New32a()
		h.Write([]byte("s3bridge_" + name))
		cfg.ServerID = h.Sum32() | 1<<31
	}
	return &Source{cfg: cfg, name: name}
}

// ServerID returns the id the source registers with.
func (s *Source) ServerID() uint32 { return s.cfg.ServerID }

// Database returns the pipeline's name for the server (Config.Database).
func (s *Source) Database() string { return s.cfg.Database }

func (s *Source) connect(ctx context.Context) (*conn, error) {
	return dial(ctx, &s.cfg)
}

// Current returns the server's current position: the end of its binary
// log. The GTIDs and the file offset are read one after the other, not
// atomically: a transaction committed in between is after the file
// offset but in the GTIDs. A stream started from it uses the GTIDs.
func (s *Source) Current(ctx context.Context) (Position, error) {
	c, err := s.connect(ctx)
	if err != nil {
		return Position{}, err
	}
	defer c.close()
	return current(ctx, c)
}

func current(ctx context.Context, c *conn) (Position, error) {
	var pos Position
	rows, err := c.query(ctx, "SELECT @@global.gtid_binlog_pos")
	if err != nil {
		return pos, err
	}
	if len(rows) == 1 {
		if pos.GTIDs, err = ParseGTIDSet(rows[0][0]); err != nil {
			return pos, err
		}
	}
	rows, err = c.query(ctx, "SHOW MASTER STATUS")
	if err != nil {
		return pos, err
	}
	if len(rows) == 0 || len(rows[0]) < 2 {
		return pos, fmt.Errorf("SHOW MASTER STATUS: no binary log (is log_bin on?)")
	}
	p, err := strconv.ParseUint(rows[0][1], 10, 32)
	if err != nil {
		return pos, fmt.Errorf("SHOW MASTER STATUS: position %q: %w", rows[0][1], err)
	}
	pos.File, pos.Pos = rows[0][0], uint32(p)
	return pos, nil
}

// collations reads the server's collation ids and their charsets. From
// MariaDB 10.10 the UCA 14.0.0 collations, one per charset, have their ids
// only in COLLATION_CHARACTER_SET_APPLICABILITY, which older servers have
// without an ID column.
func collations(ctx context.Context, c *conn) (Collations, error) {
	rows, err := c.query(ctx, "SELECT ID, CHARACTER_SET_NAME FROM information_schema.COLLATIONS WHERE ID IS NOT NULL")
	if err != nil {
		return nil, err
	}
	more, err := c.query(ctx, "SELECT ID, CHARACTER_SET_NAME FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY WHERE ID IS NOT NULL")
	if err == nil {
		rows = append(rows, more...)
	} else if !errors.As(err, new(*mysqlproto.Error)) {
		return nil, err
	}
	m := make(Collations, len(rows))
	for _, r := range rows {
		id, err := strconv.ParseUint(r[0], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("collation id %q: %w", r[0], err)
		}
		m[uint32(id)] = r[1]
	}
	return m, nil
}

// serverErr turns the server's errors a stream branches on into this
// package's.
func serverErr(err error) error {
	var e *mysqlproto.Error
	if errors.As(err, &e) && e.Code == 1236 { // ER_MASTER_FATAL_ERROR_READING_BINLOG
		return fmt.Errorf("%w: %w", ErrLogUnavailable, err)
	}
	return err
}
