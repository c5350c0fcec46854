package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/control"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/mysource"
	"github.com/s3bridge/s3bridge/pipeline/pgsource"
)

// pipelineCommands are the streaming pipelines' commands (issue 10).
func pipelineCommands() []command {
	name := []arg{{"NAME", "the pipeline"}}
	return []command{
		{"pipeline create", "--db URL --source URL (--tables S.T[,…] | --all-tables) --bucket B [--prefix P] [--format avro|parquet|jsonl] [--codec C] [--snapshot MODE] [--flush-interval D] [--flush-rows N] [--max-file-size SIZE] [--replica-identity-full] [--json] NAME",
			"store a pipeline from a PostgreSQL database to S3 after checking the source's prerequisites; agents serving --db run it",
			[]arg{{"NAME", "the pipeline's name: a-z, 0-9 and _ (its replication slot and publication are s3bridge_NAME)"}},
			"s3bridge pipeline create orders --db " + exampleDB + " --source postgres://repl@db/shop --tables public.orders --bucket cdc --prefix shop/", runPipelineCreate},
		{"pipeline list", "--db URL [--json]", "list the stored pipelines: state, tables, checkpoint, agent", nil,
			"s3bridge pipeline list --db " + exampleDB, runPipelineList},
		{"pipeline show", "--db URL [--json] NAME", "show a pipeline: state and reason, tables, checkpoint, lag, retained WAL, last file",
			name, "s3bridge pipeline show --db " + exampleDB + " orders", runPipelineShow},
		{"pipeline pause", "--db URL [--json] NAME", "pause a pipeline: its agent stops at a durable point; the slot keeps the changes",
			name, "s3bridge pipeline pause --db " + exampleDB + " orders", runPipelinePause},
		{"pipeline resume", "--db URL [--json] NAME", "resume a paused or failed pipeline at its checkpoint",
			name, "s3bridge pipeline resume --db " + exampleDB + " orders", runPipelineResume},
		{"pipeline snapshot", "--db URL [--tables S.T[,…]] [--json] NAME", "take a new snapshot of some or all of a pipeline's tables while it streams",
			name, "s3bridge pipeline snapshot --db " + exampleDB + " --tables public.orders orders", runPipelineSnapshot},
		{"pipeline add-table", "--db URL [--json] NAME S.T", "capture one more table: its changes from now on, after a snapshot of it (unless --snapshot never)",
			[]arg{{"NAME", "the pipeline"}, {"S.T", "the table, schema.table"}}, "s3bridge pipeline add-table --db " + exampleDB + " orders public.refunds", runPipelineAddTable},
		{"pipeline drop", "--db URL [--keep-slot] [--json] NAME", "delete a pipeline, its replication slot and its publication (its files stay)",
			name, "s3bridge pipeline drop --db " + exampleDB + " orders", runPipelineDrop},
	}
}

// storedPipelines is what the pipeline commands need of an instance
// (sqlstore.Store has it).
type storedPipelines interface {
	CreatePipeline(ctx context.Context, p sqlstore.Pipeline) error
	Pipeline(ctx context.Context, name string) (sqlstore.Pipeline, error)
	Pipelines(ctx context.Context) ([]sqlstore.Pipeline, error)
	PausePipeline(ctx context.Context, name, reason string) error
	UpdatePipelineConfig(ctx context.Context, name, old, config string) error
	ResumePipeline(ctx context.Context, name string) error
	DeletePipeline(ctx context.Context, name string) error
}

func withPipelines(ctx context.Context, c *common, fn func(ps storedPipelines) error) error {
	return withInstance(ctx, c, func(in instance.Instance) error {
		ps, ok := in.(storedPipelines)
		if !ok {
			return fmt.Errorf("instance %s can't store pipelines", in.Name())
		}
		return fn(ps)
	})
}

func runPipelineCreate(ctx context.Context, e *env, args []string) error {
	var (
		c      common
		source string
		tables string
		spec   pipeline.Spec
		size   sizeFlag
	)
	fs := newFlags("pipeline create", e, &c, withJSON)
	fs.StringVar(&source, "source", "", "the database to capture, as a `URL` without password: postgres://user@host:5432/db (PGPASSWORD) or mysql://user@host:3306/db (MYSQL_PWD)")
	fs.StringVar(&tables, "tables", "", "the tables to capture, `S.T[,…]` (schema.table)")
	fs.BoolVar(&spec.AllTables, "all-tables", false, "capture every table of the database, including tables created later")
	fs.StringVar(&spec.Bucket, "bucket", "", "the `BUCKET` the files go to")
	fs.StringVar(&spec.Prefix, "prefix", "", "the key `PREFIX` of every file (ends in /)")
	fs.StringVar(&spec.Format, "format", "avro", "the files' `FORMAT`: avro, parquet or jsonl")
	fs.StringVar(&spec.Codec, "codec", "", "the files' `CODEC`: snappy, zstd, deflate or null (default snappy; null for jsonl, which has no snappy)")
	fs.StringVar(&spec.Snapshot, "snapshot", "initial", "`MODE`: initial (copy the tables, then stream), never (stream only), initial_only (copy only)")
	interval := fs.Duration("flush-interval", pipeline.DefaultFlushInterval, "close a change file after it has been open this `DURATION`")
	fs.Int64Var(&spec.FlushRows, "flush-rows", pipeline.DefaultFlushRows, "close a change file at `N` rows")
	fs.Var(&size, "max-file-size", "close a change file at this `SIZE` (default 128MiB)")
	fs.BoolVar(&spec.ReplicaIdentityFull, "replica-identity-full", false, "set REPLICA IDENTITY FULL on captured tables that lack a full before image")
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	name := pos[0]
	if err := pipeline.CheckName(name); err != nil {
		return usageErrorf("pipeline create", "%v", err)
	}
	if err := pipeline.CheckSourceURL(source); err != nil {
		return usageErrorf("pipeline create", "%v", err)
	}
	if tables != "" {
		spec.Tables = strings.Split(tables, ",")
	}
	spec.FlushInterval, spec.MaxFileSize = pipeline.Duration(*interval), int64(size)
	spec = spec.WithDefaults()
	if err := spec.Validate(); err != nil {
		return usageErrorf("pipeline create", "%v", err)
	}
	// The instance first: a database s3bridge is not attached to is
	// said so before the source is looked at.
	return withPipelines(ctx, &c, func(ps storedPipelines) error {
		if _, err := ps.Pipeline(ctx, name); err == nil {
			return fmt.Errorf("pipeline %s: %w", name, s3bridge.ErrExists)
		}
		if err := checkSource(ctx, e, name, source, &spec); err != nil {
			return err
		}
		cfg, err := json.Marshal(spec)
		if err != nil {
			return err
		}
		if err := ps.CreatePipeline(ctx, sqlstore.Pipeline{Name: name, Source: source, Config: string(cfg)}); err != nil {
			return err
		}
		return printPipeline(ctx, e, &c, ps, name, "created")
	})
}

// checkSource checks the source's prerequisites, prints each problem with
// its fix, sets REPLICA IDENTITY FULL where asked, and fails when one
// blocks the pipeline.
func checkSource(ctx context.Context, e *env, name, source string, spec *pipeline.Spec) error {
	pub := spec.Publication()
	checkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var problems []pipeline.Problem
	var err error
	if pipeline.SourceKind(source) == pipeline.MariaDB {
		problems, err = checkMariaDB(checkCtx, name, source, pub)
	} else {
		problems, err = checkPostgres(checkCtx, name, source, pub, spec.ReplicaIdentityFull)
	}
	if err != nil {
		return err
	}
	blocking := 0
	for _, p := range problems {
		level := "warning"
		if p.Blocking {
			level, blocking = "error", blocking+1
		}
		fmt.Fprintf(e.stderr, "%s: %s\n  fix: %s\n", level, p.What, p.Fix)
	}
	if blocking > 0 {
		return fmt.Errorf("pipeline %s: the source is not ready (%d problem(s) above); nothing was stored", name, blocking)
	}
	return nil
}

// checkPostgres checks a PostgreSQL source, setting REPLICA IDENTITY FULL
// where the problems ask for it when identityFull.
func checkPostgres(ctx context.Context, name, source string, pub pipeline.Publication, identityFull bool) ([]pipeline.Problem, error) {
	src, err := pgsource.New(source, name)
	if err != nil {
		return nil, err
	}
	problems, err := src.Check(ctx, pub)
	if err != nil {
		return nil, fmt.Errorf("pipeline %s: check the source: %w", name, err)
	}
	var fix []pgsource.Table
	var out []pipeline.Problem
	for _, p := range problems {
		if identityFull && p.Table != nil && strings.Contains(p.Fix, "REPLICA IDENTITY FULL") {
			fix = append(fix, *p.Table)
			continue
		}
		out = append(out, p)
	}
	if identityFull {
		if err := src.SetReplicaIdentityFull(ctx, fix); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkMariaDB checks a MariaDB source (binary log format and row image,
// privileges, the tables' keys and engines: mysource.Check).
func checkMariaDB(ctx context.Context, name, source string, pub pipeline.Publication) ([]pipeline.Problem, error) {
	src, err := mysource.New(source, name, pub)
	if err != nil {
		return nil, err
	}
	problems, err := src.Check(ctx, pub)
	if err != nil {
		return nil, fmt.Errorf("pipeline %s: check the source: %w", name, err)
	}
	return problems, nil
}

// pipelineView is a stored pipeline as the commands print it: the
// console's view (control.Pipeline), printed.
type pipelineView struct{ control.Pipeline }

func viewPipeline(p sqlstore.Pipeline) pipelineView { return pipelineView{control.ViewPipeline(p)} }

func (v pipelineView) tables() string {
	if v.Spec.AllTables {
		return "(all)"
	}
	return strings.Join(v.Spec.Tables, ",")
}

func (v pipelineView) write(w io.Writer) error {
	fmt.Fprintf(w, "Name       : %s\nState      : %s\n", v.Name, v.State)
	if v.Reason != "" {
		fmt.Fprintf(w, "Reason     : %s\n", v.Reason)
	}
	fmt.Fprintf(w, "Source     : %s\nTables     : %s\nTarget     : s3://%s/%s (%s, %s)\n", v.Source, v.tables(), v.Spec.Bucket, v.Spec.Prefix, v.Spec.Format, v.Spec.Codec)
	fmt.Fprintf(w, "Snapshot   : %s\nFlush      : every %s, %d rows or %d bytes\n", v.Spec.Snapshot, time.Duration(v.Spec.FlushInterval), v.Spec.FlushRows, v.Spec.MaxFileSize)
	fmt.Fprintf(w, "Agent      : %s\nCheckpoint : %s\n", cmp.Or(v.Agent, "-"), cmp.Or(v.CheckpointLSN, "-"))
	for _, r := range v.PendingSnapshots {
		tables := "all tables"
		if len(r.Tables) > 0 {
			tables = strings.Join(r.Tables, ",")
		}
		fmt.Fprintf(w, "Pending    : snapshot request %d (%s)\n", r.Seq, tables)
	}
	if v.CheckpointPosition != "" {
		fmt.Fprintf(w, "Position   : %s\n", v.CheckpointPosition)
	}
	switch {
	case v.RetainedWALBytes == nil:
	case pipeline.SourceKind(v.Source) == pipeline.MariaDB:
		fmt.Fprintf(w, "Binary log : %d bytes from the checkpoint to the log's end\n", *v.LagBytes)
	default:
		fmt.Fprintf(w, "WAL        : %d bytes retained by the slot, %d bytes not yet confirmed\n", *v.RetainedWALBytes, *v.LagBytes)
	}
	// The figures the agent running it last reported.
	if r, ok := v.Stats["rows_per_second"].(float64); ok {
		fmt.Fprintf(w, "Throughput : %.0f rows/s\n", r)
	}
	if l, ok := v.Stats["lag_seconds"].(float64); ok {
		fmt.Fprintf(w, "Lag        : %.1f s (commit to durable file, at the last checkpoint)\n", l)
	}
	if f, ok := v.Stats["last_file"].(string); ok {
		fmt.Fprintf(w, "Last file  : %s\n", f)
	}
	if e, ok := v.Stats["last_error"].(string); ok {
		fmt.Fprintf(w, "Last error : %s\n", e)
	}
	return nil
}

func printPipeline(ctx context.Context, e *env, c *common, ps storedPipelines, name, what string) error {
	p, err := ps.Pipeline(ctx, name)
	if err != nil {
		return err
	}
	v := viewPipeline(p)
	if c.json {
		return writeJSON(e.stdout, v)
	}
	if what != "" {
		fmt.Fprintf(e.stdout, "pipeline %s %s\n", name, what)
	}
	return v.write(e.stdout)
}

func runPipelineList(ctx context.Context, e *env, args []string) error {
	var c common
	fs := newFlags("pipeline list", e, &c, withJSON)
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	return withPipelines(ctx, &c, func(ps storedPipelines) error {
		list, err := control.ListPipelines(ctx, ps)
		if err != nil {
			return err
		}
		views := []pipelineView{}
		for _, p := range list {
			views = append(views, pipelineView{p})
		}
		if c.json {
			return writeJSON(e.stdout, views)
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "Name\tState\tTables\tTarget\tCheckpoint\tAgent")
		for _, v := range views {
			fmt.Fprintf(w, "%s\t%s\t%s\ts3://%s/%s\t%s\t%s\n", v.Name, v.State, v.tables(), v.Spec.Bucket, v.Spec.Prefix, cmp.Or(v.CheckpointLSN, "-"), cmp.Or(v.Agent, "-"))
		}
		return w.Flush()
	})
}

func runPipelineShow(ctx context.Context, e *env, args []string) error {
	var c common
	fs := newFlags("pipeline show", e, &c, withJSON)
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	return withPipelines(ctx, &c, func(ps storedPipelines) error {
		p, err := ps.Pipeline(ctx, pos[0])
		if err != nil {
			return err
		}
		v := viewPipeline(p)
		// The slot's figures, when the source answers within a bound.
		if err := control.ReadSlot(ctx, &v.Pipeline, 5*time.Second); err != nil {
			fmt.Fprintf(e.stderr, "warning: %v\n", err)
		}
		if c.json {
			return writeJSON(e.stdout, v)
		}
		return v.write(e.stdout)
	})
}

func runPipelinePause(ctx context.Context, e *env, args []string) error {
	var c common
	fs := newFlags("pipeline pause", e, &c, withJSON)
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	return withPipelines(ctx, &c, func(ps storedPipelines) error {
		if err := ps.PausePipeline(ctx, pos[0], "paused by pipeline pause"); err != nil {
			return err
		}
		return printPipeline(ctx, e, &c, ps, pos[0], "paused")
	})
}

func runPipelineResume(ctx context.Context, e *env, args []string) error {
	var c common
	fs := newFlags("pipeline resume", e, &c, withJSON)
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	return withPipelines(ctx, &c, func(ps storedPipelines) error {
		if err := ps.ResumePipeline(ctx, pos[0]); err != nil {
			return err
		}
		return printPipeline(ctx, e, &c, ps, pos[0], "resumed")
	})
}

// dropWait bounds how long drop waits for the agent running a pipeline
// to let it go, or for the lease of one that died to run out.
const dropWait = 30 * time.Second

func runPipelineDrop(ctx context.Context, e *env, args []string) error {
	var (
		c    common
		keep bool
	)
	fs := newFlags("pipeline drop", e, &c, withJSON)
	fs.BoolVar(&keep, "keep-slot", false, "keep the replication slot and publication (the server keeps WAL for the slot until it is dropped)")
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	name := pos[0]
	return withPipelines(ctx, &c, func(ps storedPipelines) error {
		p, err := ps.Pipeline(ctx, name)
		if err != nil {
			return err
		}
		// The agent running it stops first, at a durable point.
		if p.Agent != "" {
			if err := ps.PausePipeline(ctx, name, "being dropped"); err != nil {
				return err
			}
			deadline := time.Now().Add(dropWait)
			// A hold whose lease ran out is nobody's: its agent died.
			for p.Agent != "" && (p.LeaseUntil == nil || time.Now().Before(*p.LeaseUntil)) {
				if time.Now().After(deadline) {
					return fmt.Errorf("pipeline %s: agent %s did not let it go within %s; it stays paused: drop it again once the agent stopped", name, p.Agent, dropWait)
				}
				time.Sleep(200 * time.Millisecond)
				if p, err = ps.Pipeline(ctx, name); err != nil {
					return err
				}
			}
		}
		// A MariaDB source holds nothing on the server for the pipeline.
		if !keep && pipeline.SourceKind(p.Source) != pipeline.MariaDB {
			src, err := pgsource.New(p.Source, name)
			if err != nil {
				return err
			}
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := src.Drop(dctx); err != nil {
				return fmt.Errorf("pipeline %s: %w (the pipeline is kept; drop it again, or with --keep-slot)", name, err)
			}
		}
		if err := ps.DeletePipeline(ctx, name); err != nil {
			return err
		}
		if c.json {
			return writeJSON(e.stdout, map[string]any{"name": name, "dropped": true, "slot_kept": keep})
		}
		fmt.Fprintf(e.stdout, "pipeline %s dropped", name)
		if keep && pipeline.SourceKind(p.Source) != pipeline.MariaDB {
			fmt.Fprintf(e.stdout, "; slot and publication s3bridge_%s kept (the server retains WAL for it until: SELECT pg_drop_replication_slot('s3bridge_%s'))", name, name)
		}
		fmt.Fprintln(e.stdout)
		return nil
	})
}

func runPipelineSnapshot(ctx context.Context, e *env, args []string) error {
	var (
		c      common
		tables string
	)
	fs := newFlags("pipeline snapshot", e, &c, withJSON)
	fs.StringVar(&tables, "tables", "", "the tables to snapshot, `S.T[,…]` (default: every captured table)")
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	var list []string
	if tables != "" {
		list = strings.Split(tables, ",")
	}
	for _, t := range list {
		if err := pipeline.CheckTable(t); err != nil {
			return usageErrorf("pipeline snapshot", "--tables: %v", err)
		}
	}
	name := pos[0]
	return withPipelines(ctx, &c, func(ps storedPipelines) error {
		req, err := control.RequestSnapshot(ctx, ps, name, list)
		if err != nil {
			return err
		}
		return printPipeline(ctx, e, &c, ps, name, fmt.Sprintf("snapshot requested (request %d): the agent running it takes it while it streams", req.Seq))
	})
}

func runPipelineAddTable(ctx context.Context, e *env, args []string) error {
	var c common
	fs := newFlags("pipeline add-table", e, &c, withJSON)
	pos, err := fs.parse(args, 2, 2)
	if err != nil {
		return err
	}
	name, table := pos[0], pos[1]
	if err := pipeline.CheckTable(table); err != nil {
		return usageErrorf("pipeline add-table", "%v", err)
	}
	return withPipelines(ctx, &c, func(ps storedPipelines) error {
		var req *pipeline.SnapshotRequest
		err := control.UpdateSpec(ctx, ps, name, func(p sqlstore.Pipeline, spec *pipeline.Spec) error {
			r, err := spec.AddTable(table)
			if err != nil {
				return err
			}
			req = r
			// The new table must be ready, as create checks its tables.
			check := *spec
			check.Tables = []string{table}
			return checkSource(ctx, e, name, p.Source, &check)
		})
		if err != nil {
			return err
		}
		what := "now captures " + table
		if req != nil {
			what += fmt.Sprintf(" (its snapshot is request %d)", req.Seq)
		}
		return printPipeline(ctx, e, &c, ps, name, what)
	})
}
