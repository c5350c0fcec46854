package proxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/go-sql-driver/mysql"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/export"
	"github.com/s3bridge/s3bridge/internal/testenv"
	"github.com/s3bridge/s3bridge/load"
	"github.com/s3bridge/s3bridge/s3store"
)

// harness is a database of the test's own on the live MariaDB, a user
// with a password, a bucket on MinIO and a proxy in front of the server.
type harness struct {
	t        *testing.T
	s3       *s3.Client
	bucket   string
	server   string // host:port of MariaDB
	proxy    string // host:port of the proxy
	db       string // the test's database
	user, pw string
	admin    *sql.DB // a direct connection as the admin
}

func newHarness(t *testing.T) *harness {
	return newHarnessWith(t, nil)
}

// newHarnessWith starts the proxy after configure changes its Config.
func newHarnessWith(t *testing.T, configure func(*Config)) *harness {
	t.Helper()
	m := testenv.S3(t)
	u, err := url.Parse(testenv.MariaDB(t))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, s3: m.Admin(t), bucket: m.Bucket(t), server: u.Host, db: strings.TrimPrefix(u.Path, "/")}
	pass, _ := u.User.Password()
	h.admin, err = sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(%s)/%s", u.User.Username(), pass, u.Host, h.db))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.admin.Close() })
	b := make([]byte, 4)
	rand.Read(b)
	h.user, h.pw = "px_"+hex.EncodeToString(b), "pw-"+hex.EncodeToString(b)
	h.exec(fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", h.user, h.pw))
	t.Cleanup(func() { h.admin.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", h.user)) })
	h.exec(fmt.Sprintf("GRANT ALL ON `%s`.* TO '%s'@'%%'", h.db, h.user))

	store, err := s3store.New(t.Context(), s3store.Config{Endpoint: m.Endpoint, Region: m.Region, AccessKeyID: m.AccessKey, SecretAccessKey: m.SecretKey}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Upstream: h.server, Bridge: Bridge{
		Load:   s3bridge.Deps[load.ObjectStore]{Store: func(context.Context, s3bridge.Settings) (load.ObjectStore, error) { return store, nil }},
		Export: s3bridge.Deps[export.ObjectStore]{Store: func(context.Context, s3bridge.Settings) (export.ObjectStore, error) { return store, nil }},
	}}
	if configure != nil {
		configure(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.proxy = l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("proxy: %v", err)
		}
	})
	return h
}

func (h *harness) exec(q string, args ...any) {
	h.t.Helper()
	if _, err := h.admin.ExecContext(h.t.Context(), q, args...); err != nil {
		h.t.Fatalf("%s: %v", q, err)
	}
}

// dsn is the go-sql-driver DSN of the test's user at addr.
func (h *harness) dsn(addr, params string) string {
	return fmt.Sprintf("%s:%s@tcp(%s)/%s?%s", h.user, h.pw, addr, h.db, params)
}

// open connects through the proxy (or directly, with the server's address).
func (h *harness) open(addr, params string) *sql.DB {
	h.t.Helper()
	db, err := sql.Open("mysql", h.dsn(addr, params))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { db.Close() })
	return db
}

func (h *harness) put(key, body string) string {
	h.t.Helper()
	_, err := h.s3.PutObject(h.t.Context(), &s3.PutObjectInput{Bucket: aws.String(h.bucket), Key: aws.String(key), Body: strings.NewReader(body)})
	if err != nil {
		h.t.Fatalf("put %s: %v", key, err)
	}
	return "s3://" + h.bucket + "/" + key
}

func (h *harness) get(key string) string {
	h.t.Helper()
	out, err := h.s3.GetObject(h.t.Context(), &s3.GetObjectInput{Bucket: aws.String(h.bucket), Key: aws.String(key)})
	if err != nil {
		h.t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, out.Body); err != nil {
		h.t.Fatal(err)
	}
	return b.String()
}

func (h *harness) keys() []string {
	h.t.Helper()
	out, err := h.s3.ListObjectsV2(h.t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(h.bucket)})
	if err != nil {
		h.t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, *o.Key)
	}
	return keys
}

// rows returns a query's rows as "a|b" lines, NULL as such.
func rows(t *testing.T, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, q string, args ...any) []string {
	t.Helper()
	rs, err := db.QueryContext(t.Context(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var out []string
	for rs.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, v := range vals {
			if v.Valid {
				parts = append(parts, v.String)
			} else {
				parts = append(parts, "NULL")
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}
