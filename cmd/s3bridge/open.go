package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/agent"
	"github.com/s3bridge/s3bridge/export"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/mysql"
	"github.com/s3bridge/s3bridge/instance/postgres"
	"github.com/s3bridge/s3bridge/instance/sqlite"
	"github.com/s3bridge/s3bridge/load"
	"github.com/s3bridge/s3bridge/policy"
	"github.com/s3bridge/s3bridge/s3store"
	"github.com/s3bridge/s3bridge/transfer"
)

// openInstance opens the database an instance URL names. A SQLite file is
// created when it doesn't exist: attach is the one caller that wants that.
func openInstance(ctx context.Context, raw string) (instance.Instance, error) {
	if raw == "" {
		return nil, fmt.Errorf("no instance: pass --db URL or set S3BRIDGE_DB")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("instance URL: cannot parse it (not shown, it may hold a password)")
	}
	var in instance.Instance
	switch u.Scheme {
	case "postgres", "postgresql":
		in, err = postgres.Open(ctx, raw)
	case "mysql", "mariadb":
		in, err = mysql.Open(ctx, raw)
	case "sqlite":
		in, err = sqlite.Open(ctx, raw)
	default:
		return nil, fmt.Errorf("instance URL scheme %q: want postgres, mysql or sqlite", u.Scheme)
	}
	if err != nil {
		return nil, explainOpen(raw, err)
	}
	return in, nil
}

// openAttached opens an instance s3bridge is attached to: every command but
// attach. It creates nothing, not even a SQLite file, and says
// errNotAttached for a database without s3bridge's tables. A SQLite file is
// asked read-only first: opening it as an instance switches it to WAL,
// which only attach may do to an application's database.
func openAttached(ctx context.Context, raw string) (instance.Instance, error) {
	in, _, err := openAttachedSettings(ctx, raw)
	return in, err
}

// openAttachedSettings is openAttached returning the settings it read to
// tell that the database is attached.
func openAttachedSettings(ctx context.Context, raw string) (instance.Instance, s3bridge.Settings, error) {
	var none s3bridge.Settings
	if strings.HasPrefix(raw, "sqlite:") {
		ok, err := sqlite.Attached(ctx, raw)
		if err != nil {
			return nil, none, err
		}
		if !ok {
			return nil, none, errNotAttached{}
		}
	}
	in, err := openInstance(ctx, raw)
	if err != nil {
		return nil, none, err
	}
	set, err := in.Settings(ctx)
	if err != nil {
		in.Close()
		if errors.Is(err, s3bridge.ErrNotAttached) {
			return nil, none, errNotAttached{}
		}
		return nil, none, err
	}
	return in, set, nil
}

// errNotAttached is what every command says of a database s3bridge is not
// attached to, instead of the SQL error of a missing table.
type errNotAttached struct{}

func (errNotAttached) Error() string {
	return "s3bridge is not attached to this database (run: s3bridge attach --db …)"
}

func (errNotAttached) Unwrap() error { return s3bridge.ErrNotAttached }

// stores makes object store clients from instance settings plus the
// process's credentials, one client per distinct configuration.
type stores struct {
	// base carries what the process, not the instance, decides: static
	// credentials for basic/session auth, taken from the environment.
	base s3store.Config
	log  *slog.Logger
	// getenv resolves a connector's secret references (${env:NAME}).
	getenv func(string) string
	mu     sync.Mutex
	cache  map[string]*storeEntry
}

// storeEntry is a client being built or built: whoever asks for it
// meanwhile waits for the one build (warm's, say) instead of starting
// another.
type storeEntry struct {
	ready chan struct{} // closed once c and err are set
	c     *s3store.Client
	err   error
}

func newStores(getenv func(string) string, log *slog.Logger) *stores {
	// AWS_MAX_ATTEMPTS bounds retries as it does for the AWS tools.
	attempts, _ := strconv.Atoi(getenv("AWS_MAX_ATTEMPTS"))
	return &stores{
		base: s3store.Config{
			AccessKeyID:      getenv("AWS_ACCESS_KEY_ID"),
			SecretAccessKey:  getenv("AWS_SECRET_ACCESS_KEY"),
			SessionToken:     getenv("AWS_SESSION_TOKEN"),
			RetryMaxAttempts: max(attempts, 0),
		},
		log:    log,
		getenv: getenv,
		cache:  map[string]*storeEntry{},
	}
}

// config merges an instance's settings for a feature into the base.
func (s *stores) config(set s3bridge.Settings, feature string) s3store.Config {
	cfg := s.base
	cfg.Endpoint = set.Endpoint
	cfg.Region = set.Region
	if set.PathStyle {
		t := true
		cfg.PathStyle = &t
	}
	cfg.RoleARN = set.Roles[feature]
	cfg.Auth = set.Auth
	if cfg.Auth == "" || cfg.Auth == s3store.AuthDefault {
		// Without an explicit method the environment's keys are used
		// through the SDK's default chain, which reads them itself.
		cfg.Auth = ""
		if cfg.RoleARN == "" {
			cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken = "", "", ""
			cfg.Auth = s3store.AuthDefault
		}
	}
	return cfg
}

func (s *stores) client(ctx context.Context, set s3bridge.Settings, feature string) (*s3store.Client, error) {
	return s.clientFor(ctx, s.config(set, feature), feature)
}

// clientFor returns the client of cfg for feature, built once. A failed
// build is not kept: the next caller tries again, and so does a caller
// that waited for a build its builder's context ended.
func (s *stores) clientFor(ctx context.Context, cfg s3store.Config, feature string) (*s3store.Client, error) {
	// Secrets are tagged json:"-", so the key never holds them; they come
	// from s.base, which is fixed for the life of the process.
	k, _ := json.Marshal(struct {
		C s3store.Config
		F string
	}{cfg, feature})
	key := string(k)
	for {
		s.mu.Lock()
		e, ok := s.cache[key]
		if !ok {
			e = &storeEntry{ready: make(chan struct{})}
			s.cache[key] = e
		}
		s.mu.Unlock()
		if !ok {
			return s.build(ctx, key, e, cfg)
		}
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err == nil || !(errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded)) {
			return e.c, e.err
		}
	}
}

// build makes the client of entry e, which clientFor just added under key.
func (s *stores) build(ctx context.Context, key string, e *storeEntry, cfg s3store.Config) (*s3store.Client, error) {
	e.c, e.err = s3store.New(ctx, cfg, s.log)
	if e.err != nil {
		s.mu.Lock()
		delete(s.cache, key)
		s.mu.Unlock()
	}
	close(e.ready)
	return e.c, e.err
}

// exportConfig is the configuration of an export's client.
func (s *stores) exportConfig(set s3bridge.Settings) s3store.Config {
	cfg := s.config(set, "EXPORT")
	cfg.Concurrency = exportConcurrency
	return cfg
}

// warm gets ready, in the background, what a task will ask of S3 first,
// so that a short task's runner finds it done: the client (building one
// reads the SDK's configuration and parses AWS_CA_BUNDLE when set) and,
// for a load or an export on an instance without a policy of its own to
// check first, the bucket's region and, for an export, whether the bucket
// is public: the requests the runner's first steps send, now sent while
// the database enqueues the task. The runner's own calls wait for them
// (s3store shares a question asked twice at once). The returned function
// waits for the work to end.
func (s *stores) warm(ctx context.Context, set s3bridge.Settings, instanceName string, t s3bridge.Task) (wait func()) {
	var open func(context.Context) (*s3store.Client, error)
	switch t.Type {
	case s3bridge.TaskLoadFromS3:
		open = func(ctx context.Context) (*s3store.Client, error) { return s.loadStore(ctx, set) }
	case s3bridge.TaskExportToS3:
		open = func(ctx context.Context) (*s3store.Client, error) {
			return s.clientFor(ctx, s.exportConfig(set), "EXPORT")
		}
	case s3bridge.TaskUpload, s3bridge.TaskDownload:
		open = func(ctx context.Context) (*s3store.Client, error) { return s.client(ctx, set, "S3_INTEGRATION") }
	default:
		return func() {}
	}
	bucket := ""
	if g, err := guard(set, instanceName); err == nil && g == nil && t.Type != s3bridge.TaskUpload && t.Type != s3bridge.TaskDownload {
		if loc, err := s3bridge.ParseURI(t.S3ObjectARN); err == nil {
			bucket = loc.Bucket
		}
	}
	var wg sync.WaitGroup
	// Failures are the runner's to report: its own calls ask again.
	wg.Go(func() {
		c, err := open(ctx)
		if err != nil || bucket == "" {
			return
		}
		if _, err := c.BucketRegion(ctx, bucket); err != nil {
			return
		}
		if t.Type == s3bridge.TaskExportToS3 && !set.AllowPublicBuckets {
			_, _ = c.PublicReason(ctx, bucket)
		}
	})
	return wg.Wait
}

// runners returns the task runners an agent or the CLI runs.
func (s *stores) runners() map[s3bridge.TaskType]agent.Runner {
	tr := &transfer.Runner{Deps: deps(s, func(ctx context.Context, set s3bridge.Settings) (transfer.ObjectStore, error) {
		return s.client(ctx, set, "S3_INTEGRATION")
	})}
	lr := &load.Runner{Deps: deps(s, func(ctx context.Context, set s3bridge.Settings) (load.ObjectStore, error) {
		return s.loadStore(ctx, set)
	})}
	return map[s3bridge.TaskType]agent.Runner{
		s3bridge.TaskLoadFromS3:   lr,
		s3bridge.TaskExportToS3:   exportRunner(s),
		s3bridge.TaskImportFromS3: connectorRunner(s.getenv),
		s3bridge.TaskUpload:       tr,
		s3bridge.TaskDownload:     tr,
		s3bridge.TaskListFiles:    tr,
		s3bridge.TaskDeleteFiles:  tr,
	}
}

// deps is how every capability is wired: its store, built by open from
// the instance's settings, under the instance's own policy (guard).
func deps[S any](s *stores, open func(ctx context.Context, set s3bridge.Settings) (S, error)) s3bridge.Deps[S] {
	return s3bridge.Deps[S]{Store: open, Guard: guard, Now: time.Now}
}

// loadStore is how every load reads S3: the instance's LOAD store (its
// LOAD role, if it has one), under the instance's own policy (guard). The
// agent's load runner and s3-cat, which PostgreSQL's table_import_from_s3
// runs on the database host, both use them, so a load is allowed or
// refused the same way whichever path it takes.
func (s *stores) loadStore(ctx context.Context, set s3bridge.Settings) (*s3store.Client, error) {
	return s.client(ctx, set, "LOAD")
}

// guard is the instance's own policy check; nil when it has no policy.
func guard(set s3bridge.Settings, instance string) (s3bridge.Guard, error) {
	secure := set.Endpoint == "" || strings.HasPrefix(strings.ToLower(set.Endpoint), "https://")
	g, err := policy.NewGuard(set, instance, secure)
	if g == nil || err != nil {
		return nil, err
	}
	return g, nil
}

// The capabilities name what they need from S3 in small interfaces of
// their own, free of the SDK; the S3 client has all of it.
var (
	_ transfer.ObjectStore = (*s3store.Client)(nil)
	_ load.ObjectStore     = (*s3store.Client)(nil)
	_ export.ObjectStore   = (*s3store.Client)(nil)
)

// redactURL is an instance URL fit to print: without its password.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an instance URL that does not parse)"
	}
	return u.Redacted()
}
