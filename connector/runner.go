package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/bulk"
	"github.com/s3bridge/s3bridge/load"
	"golang.org/x/sync/errgroup"
)

// Params is an IMPORT_FROM_S3 task's metadata: one run of a connector.
type Params struct {
	// Name is the connector's: its ledger's key.
	Name string `json:"name"`
	// Config holds secrets only as references: ${env:…}, ${file:…}, or
	// ${held:…} for a literal only the issuing process holds.
	Config Config `json:"config"`
	Schema string `json:"schema,omitempty"`
	Table  string `json:"table"`
	// Scheduled is the fire a scheduled run belongs to; Late says it ran
	// late (no agent ran at its time, or later fires passed meanwhile).
	Scheduled *time.Time `json:"scheduled,omitempty"`
	Late      bool       `json:"late,omitempty"`
}

// Validate reports parameters that can't work.
func (p Params) Validate() error {
	if p.Name == "" {
		return errors.New("connector: a name is required")
	}
	if p.Table == "" {
		return errors.New("connector: a table is required")
	}
	if err := p.Config.Validate(); err != nil {
		return err
	}
	for key, s := range p.Config.secrets() {
		if key != "access_key_id" && s.Literal() {
			return fmt.Errorf("connector: %s: %w in a task's parameters", secretName(key), ErrLiteralSecret)
		}
	}
	return nil
}

// Task builds the IMPORT_FROM_S3 task of one run.
func Task(p Params) (s3bridge.Task, error) {
	if err := p.Validate(); err != nil {
		return s3bridge.Task{}, err
	}
	meta, err := json.Marshal(p)
	if err != nil {
		return s3bridge.Task{}, fmt.Errorf("encode connector parameters: %w", err)
	}
	return s3bridge.Task{Type: s3bridge.TaskImportFromS3, S3ObjectARN: p.Config.where(), Metadata: meta}, nil
}

// Ledger is what a run needs of the instance besides its bulk path;
// every instance package's Instance has it (sqlstore.Store).
type Ledger interface {
	// Ledger returns the newest LastModified of the connector's ledger and
	// its rows within window of it.
	Ledger(ctx context.Context, connector string, window time.Duration) ([]bulk.LedgerEntry, time.Time, error)
	// DialectName is postgres, mysql or sqlite.
	DialectName() string
}

// Runner runs IMPORT_FROM_S3 tasks (agent.Runner).
type Runner struct {
	// Open makes the S3 client of a config's in: section.
	Open Opener
	// Env resolves secret references where the run happens.
	Env Env
	// Now is the clock of history rows; nil means time.Now.
	Now func() time.Time
	// LateAfter is how far behind its time a scheduled run is recorded
	// late (default DefaultLateAfter).
	LateAfter time.Duration
	// Guard returns the instance's own S3 policy, which a run asks before
	// it lists and before any byte of an object is read, as loads do; nil
	// (or a nil Guard) means S3's own policies alone decide.
	Guard func(set s3bridge.Settings, instance string) (s3bridge.Guard, error)
}

// guard returns the instance's policy for a run reaching S3 at endpoint
// (the config's own, which decides aws:SecureTransport).
func (r *Runner) guard(set s3bridge.Settings, instance, endpoint string) (s3bridge.Guard, error) {
	if r.Guard == nil {
		return s3bridge.AllowAll{}, nil
	}
	if endpoint != "" {
		set.Endpoint = endpoint
	}
	g, err := r.Guard(set, instance)
	if err != nil {
		return nil, fmt.Errorf("instance policy: %w", err)
	}
	if g == nil {
		return s3bridge.AllowAll{}, nil
	}
	return g, nil
}

// Run runs one import through the load capability's bulk path, in
// attempts: a run that failed on a Retryable error is run again whole
// after a backoff (the config's in.maximum_retries and intervals), each
// failed attempt logged in the task log.
func (r *Runner) Run(ctx context.Context, in instance.Instance, t s3bridge.Task, set s3bridge.Settings, rep s3bridge.Reporter) (s3bridge.Result, error) {
	var none s3bridge.Result
	var p Params
	if err := t.Params(&p); err != nil {
		return none, fmt.Errorf("task %d parameters: %w", t.ID, err)
	}
	if err := p.Validate(); err != nil {
		return none, err
	}
	// A CLI may hand over the instance wrapped (connector run's queue
	// records the run's connector); the bulk path is the instance's own.
	if w, ok := in.(interface{ Unwrap() instance.Instance }); ok {
		in = w.Unwrap()
	}
	sink, ok := in.(bulk.Sink)
	led, ok2 := in.(Ledger)
	if !ok || !ok2 {
		return none, fmt.Errorf("task %d: instance %s can't take imports (it has no bulk path or ledger)", t.ID, in.Name())
	}
	retries, backoff := p.Config.In.Retry.retries()
	for n := 1; ; n++ {
		// Each attempt resolves the credentials again: a retry after
		// expired keys reads the rotated ${file:…} or ${env:…} ones.
		s3cfg, err := p.Config.S3(r.Env)
		if err != nil {
			return none, err
		}
		g, err := r.guard(set, in.Name(), s3cfg.Endpoint)
		if err != nil {
			return none, err
		}
		store, err := r.Open(ctx, s3cfg)
		if err != nil {
			return none, err
		}
		res, err := r.attempt(ctx, sink, store, g, led, t, p, rep)
		if err == nil || n > retries || !Retryable(err) || ctx.Err() != nil {
			if err != nil && n > 1 {
				return res, fmt.Errorf("connector %s: attempt %d of %d: %w", p.Name, n, retries+1, err)
			}
			return res, err
		}
		d := backoff(n)
		rep.Logf(s3bridge.LevelWarn, "connector %s: attempt %d of %d failed: %v; retrying the run in %s",
			p.Name, n, retries+1, err, d)
		if err := wait(ctx, d); err != nil {
			return none, err
		}
	}
}

// attempt is one try of a run: it lists the objects, leaves out those
// the ledger says were loaded, and loads the rest in one transaction with
// their ledger rows, so a failed attempt leaves nothing to undo.
func (r *Runner) attempt(ctx context.Context, sink bulk.Sink, store ObjectStore, guard s3bridge.Guard, led Ledger, t s3bridge.Task, p Params, rep s3bridge.Reporter) (s3bridge.Result, error) {
	var none s3bridge.Result
	cfg := p.Config
	// The listing and the ledger are read at once: on a large prefix
	// both take a while. Reading the ledger first is as safe as after: a
	// file another run commits meanwhile makes this run's ledger insert
	// fail, never load it twice.
	view := ledgerView{}
	var objs []s3bridge.Object
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		objs, err = cfg.candidates(gctx, store, guard)
		return err
	})
	if cfg.In.incremental() {
		g.Go(func() error {
			var err error
			if view.window, err = cfg.In.lookback(); err != nil {
				return err
			}
			var entries []bulk.LedgerEntry
			if entries, view.newest, err = led.Ledger(gctx, p.Name, view.window); err != nil {
				return err
			}
			view.entries = make(map[string]bulk.LedgerEntry, len(entries))
			for _, e := range entries {
				view.entries[e.Key] = e
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return none, err
	}
	objs, before, err := cfg.In.afterStart(objs)
	if err != nil {
		return none, err
	}
	c, err := choose(objs, view, cfg.In.incremental(), cfg.In.onChanged(), cfg.In.TotalFileCountLimit)
	if err != nil {
		return none, err
	}
	var frozen []string
	if c.load, frozen, err = cfg.In.readable(c.load); err != nil {
		return none, err
	}
	// Every object of the run is allowed before any is read: a denial
	// loads nothing.
	for _, o := range c.load {
		if err := guard.Allow("s3:GetObject", s3bridge.Location{Bucket: cfg.In.Bucket, Key: o.Key}.ARN(), nil); err != nil {
			return none, fmt.Errorf("connector %s: %w", p.Name, err)
		}
	}
	for _, key := range frozen {
		rep.Logf(s3bridge.LevelWarn, "connector %s: skipped s3://%s/%s: it is archived (skip_glacier_objects); it is not in the ledger, so a later run loads it once it is back in a readable storage class",
			p.Name, cfg.In.Bucket, key)
	}
	rep.Logf(s3bridge.LevelInfo, "connector %s: %d object(s) at %s; %d before the starting point, %d already loaded, %d changed (reloaded), %d changed (kept), %d older than the look-back window, %d archived (skipped), %d to load, %d left for the next run (total_file_count_limit)",
		p.Name, len(objs)+before, cfg.where(), before, c.loaded, c.changed, c.kept, c.old, len(frozen), len(c.load), c.deferred)
	mode := cfg.mode()
	if len(c.load) == 0 && mode != ModeReplace {
		info := fmt.Sprintf("connector %s: no new data at %s; table %q unchanged", p.Name, cfg.where(), p.Table)
		return s3bridge.Result{Info: info}, nil
	}
	return r.load(ctx, sink, store, led.DialectName(), t, p, c, rep)
}

func (r *Runner) load(ctx context.Context, sink bulk.Sink, store ObjectStore, dialect string, t s3bridge.Task, p Params, c choice, rep s3bridge.Reporter) (s3bridge.Result, error) {
	cfg := p.Config
	parser := cfg.In.Parser
	skip := parser.StopOnInvalidRecord != nil && !*parser.StopOnInvalidRecord
	bad := 0
	onBad := func(file string, err error) {
		if bad++; bad <= 1000 {
			rep.Logf(s3bridge.LevelWarn, "skipped a bad row of %s: %v", file, err)
		}
	}
	// add_time's upload_time is the run's start: one value for every
	// row of every file and attempt of the run.
	start := time.Now()
	if t.StartedAt != nil {
		start = *t.StartedAt
	}
	l, err := cfg.filteredFor(FilterRun{Env: r.Env, Start: start})
	if err != nil {
		return s3bridge.Result{}, err
	}
	cols := make([]string, len(l))
	for i, col := range l {
		cols[i] = col.Name
	}
	files := make([]load.Object, len(c.load))
	for i, o := range c.load {
		files[i] = load.Object{At: s3bridge.Location{Bucket: cfg.In.Bucket, Key: o.Key}, ETag: o.ETag, Size: o.Size,
			LastModified: o.LastModified, LedgerETag: c.replaces[o.Key]}
	}
	ledger := ""
	if cfg.In.incremental() {
		ledger = p.Name
	}
	return load.LoadObjects(ctx, sink, t.Claim(), load.Objects{
		Store: store,
		Params: load.Params{URI: cfg.where(), Schema: p.Schema, Table: p.Table, Columns: cols, Options: textOptions(),
			Replace: cfg.mode() != ModeAppend, SkipBadRows: skip},
		Files:  files,
		Ledger: ledger,
		Decode: decoderFor(parser, l, dialect, cfg.Out.TimeColumn, skip, onBad),
		Now:    r.Now,
	}, rep)
}
