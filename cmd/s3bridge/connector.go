package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/connector"
	"github.com/s3bridge/s3bridge/control"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
	"github.com/s3bridge/s3bridge/s3store"
)

// connectorCommands are the S3 import connector's commands (issue 9).
func connectorCommands() []command {
	return []command{
		{"connector guess", "SEED.yml [-o LOAD.yml]", "fill a connector config's parser (format, columns, types) from a sample of its objects",
			[]arg{{"SEED.yml", "a config with in: (type s3, bucket, path_prefix, auth) and out: (mode)"}},
			"s3bridge connector guess seed.yml -o load.yml", runConnectorGuess},
		{"connector preview", "[--json] [--rows N] LOAD.yml", "show the first rows of a connector config's objects, parsed and typed",
			[]arg{{"LOAD.yml", "a config with its parser (connector guess writes one)"}},
			"s3bridge connector preview load.yml", runConnectorPreview},
		{"connector issue", "--db URL --table T [--name N] [--auto-create-table] [--time-column C] [--async] [--json] LOAD.yml", "run a connector once now: load the objects its ledger lacks, exactly once",
			[]arg{{"LOAD.yml", "the connector config; the connector's name (its ledger) is the file's name without extension unless --name"}},
			"s3bridge connector issue load.yml --db " + exampleDB + " --table events --auto-create-table", runConnectorIssue},
		{"connector create", "--db URL --table T [--timezone TZ] [--delay SECONDS] [--auto-create-table] [--time-column C] [--json] NAME CRON LOAD.yml",
			"store a connector with its schedule; agents run it at each fire",
			[]arg{{"NAME", "the connector's name (its ledger's key)"}, {"CRON", `five fields, @hourly, @daily, @weekly, @monthly, @yearly, @every DURATION, or "" for no schedule`},
				{"LOAD.yml", "the connector config; secrets only as ${env:NAME} or ${file:/path}"}},
			`s3bridge connector create events "@hourly" load.yml --db ` + exampleDB + ` --table events --timezone Asia/Tokyo`, runConnectorCreate},
		{"connector list", "--db URL [--json]", "list the stored connectors: schedule, table, next run, last status", nil,
			"s3bridge connector list --db " + exampleDB, runConnectorList},
		{"connector show", "--db URL [--json] NAME", "show a stored connector: its config (secrets masked) and its incremental state",
			[]arg{{"NAME", "the connector"}}, "s3bridge connector show --db " + exampleDB + " events", runConnectorShow},
		{"connector history", "--db URL [--json] NAME", "list a stored connector's runs, newest first",
			[]arg{{"NAME", "the connector"}}, "s3bridge connector history --db " + exampleDB + " events", runConnectorHistory},
		{"connector update", "--db URL [--cron CRON] [--timezone TZ] [--delay SECONDS] [--config FILE] [--time-column C] [--reset-state] [--json] NAME",
			"change a stored connector's schedule or config, or forget what it loaded",
			[]arg{{"NAME", "the connector"}}, `s3bridge connector update --db ` + exampleDB + ` events --cron "0 3 * * *"`, runConnectorUpdate},
		{"connector run", "--db URL [--async] [--json] NAME", "run a stored connector now, outside its schedule",
			[]arg{{"NAME", "the connector"}}, "s3bridge connector run --db " + exampleDB + " events", runConnectorRun},
		{"connector delete", "--db URL [--json] NAME", "delete a stored connector and its ledger (its past runs stay in the task list)",
			[]arg{{"NAME", "the connector"}}, "s3bridge connector delete --db " + exampleDB + " events", runConnectorDelete},
	}
}

// readConfig reads and parses a connector config file.
func readConfig(path string) (connector.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return connector.Config{}, err
	}
	c, err := connector.Parse(data)
	if err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// connectorEnv resolves secret references in this process.
func connectorEnv(getenv func(string) string) connector.Env {
	return connector.Env{Getenv: getenv, ReadFile: os.ReadFile}
}

// openConnectorStore is the connector.Opener: an S3 client with the
// config's own endpoint and credentials, not the instance's.
func openConnectorStore(getenv func(string) string) connector.Opener {
	return func(ctx context.Context, s connector.S3) (connector.ObjectStore, error) {
		attempts, _ := strconv.Atoi(getenv("AWS_MAX_ATTEMPTS"))
		return s3store.New(ctx, s3store.Config{Endpoint: s.Endpoint, Region: s.Region, Auth: s.Auth,
			AccessKeyID: s.AccessKeyID, SecretAccessKey: s.SecretAccessKey, SessionToken: s.SessionToken,
			Profile: s.Profile, ProfileFile: s.ProfileFile, RoleARN: s.RoleARN, ExternalID: s.ExternalID, RoleSessionName: s.RoleSessionName,
			RoleDuration:     s.RoleDuration,
			RetryMaxAttempts: max(attempts, 0)}, nil)
	}
}

// connectorRunner runs IMPORT_FROM_S3 tasks with this process's
// environment for secret references.
func connectorRunner(getenv func(string) string) *connector.Runner {
	return &connector.Runner{Open: openConnectorStore(getenv), Env: connectorEnv(getenv), Guard: guard}
}

func connectorStore(ctx context.Context, e *env, c connector.Config) (connector.ObjectStore, error) {
	s, err := c.S3(connectorEnv(e.getenv))
	if err != nil {
		return nil, err
	}
	return openConnectorStore(e.getenv)(ctx, s)
}

func runConnectorGuess(ctx context.Context, e *env, args []string) error {
	var out string
	fs := newFlagSet("connector guess", e)
	fs.StringVar(&out, "o", "", "write the config to `FILE` (default: stdout)")
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	seed, err := readConfig(pos[0])
	if err != nil {
		return err
	}
	store, err := connectorStore(ctx, e, seed)
	if err != nil {
		return err
	}
	guessed, err := connector.Guess(ctx, store, seed)
	if err != nil {
		return err
	}
	text, err := guessed.Marshal()
	if err != nil {
		return err
	}
	if out == "" {
		_, err = e.stdout.Write(text)
		return err
	}
	// The seed may hold literal keys, which the output keeps: owner only.
	if err := os.WriteFile(out, text, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s (%d columns); check it with: s3bridge connector preview %s\n", out, len(guessed.In.Parser.Columns), out)
	return nil
}

func runConnectorPreview(ctx context.Context, e *env, args []string) error {
	var (
		asJSON bool
		rows   int
	)
	fs := newFlagSet("connector preview", e)
	fs.BoolVar(&asJSON, "json", false, "print one JSON document on stdout: {columns, rows}")
	fs.IntVar(&rows, "rows", 15, "rows to show")
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	c, err := readConfig(pos[0])
	if err != nil {
		return err
	}
	store, err := connectorStore(ctx, e, c)
	if err != nil {
		return err
	}
	pv, err := connector.PreviewRowsFor(ctx, store, c, rows, connector.FilterRun{Env: connectorEnv(e.getenv), Start: time.Now()})
	if err != nil {
		return err
	}
	if asJSON {
		if pv.Rows == nil {
			pv.Rows = [][]any{}
		}
		return writeJSON(e.stdout, struct {
			Columns []connector.Column `json:"columns"`
			Rows    [][]any            `json:"rows"`
		}{pv.Columns, pv.Rows})
	}
	return pv.WriteTable(e.stdout)
}

func runConnectorIssue(ctx context.Context, e *env, args []string) error {
	var (
		c          common
		p          connector.Params
		autoCreate bool
	)
	fs := newFlags("connector issue", e, &c, withAsync|withJSON)
	fs.StringVar(&p.Table, "table", "", "the table to load (schema.table allowed)")
	fs.StringVar(&p.Name, "name", "", "the connector's name, which keys its ledger (default: the config file's name)")
	fs.BoolVar(&autoCreate, "auto-create-table", false, "create the table from the config's columns when it does not exist")
	timeColumn := timeColumnFlag(fs)
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	if p.Table == "" {
		return usageErrorf("connector issue", "--table is required")
	}
	if schema, table, ok := strings.Cut(p.Table, "."); ok {
		p.Schema, p.Table = schema, table
	}
	if p.Name == "" {
		p.Name = strings.TrimSuffix(filepath.Base(pos[0]), filepath.Ext(pos[0]))
	}
	return withInstance(ctx, &c, func(in instance.Instance) error {
		cfg, err := readConfig(pos[0])
		if err != nil {
			return err
		}
		if *timeColumn != "" {
			cfg.Out.TimeColumn = *timeColumn
		}
		// Literal secrets stay in this process: the task holds ${held:…}.
		var held map[string]string
		p.Config, held = cfg.Held()
		if len(held) > 0 && c.async {
			return fmt.Errorf("connector issue --async: %s holds secrets in clear, which are never stored in the database, "+
				"so no agent could run it; write them as ${env:NAME} or ${file:/path}", pos[0])
		}
		task, err := connector.Task(p)
		if err != nil {
			return err
		}
		if autoCreate {
			if err := control.CreateTable(ctx, in, p); err != nil {
				return err
			}
		}
		run := *e
		run.getenv = func(k string) string {
			if v, ok := held[k]; ok {
				return v
			}
			return e.getenv(k)
		}
		_, err = submitID(ctx, &run, &c, in, task)
		return err
	})
}

// timeColumnFlag is --time-column, Treasure Data's: written into the
// config's out.time_column.
func timeColumnFlag(fs *flagSet) *string {
	return fs.String("time-column", "", "the long or timestamp `COLUMN` every row must have (out.time_column); --auto-create-table makes it NOT NULL and indexes it")
}

// storedConnectors is what the stored connectors' commands need of an
// instance (sqlstore.Store has it).
type storedConnectors interface {
	CreateConnector(ctx context.Context, c sqlstore.Connector) error
	UpdateConnector(ctx context.Context, c sqlstore.Connector, forget bool) error
	DeleteConnector(ctx context.Context, name string) error
	Connector(ctx context.Context, name string) (sqlstore.Connector, error)
	Connectors(ctx context.Context) ([]sqlstore.Connector, error)
	ConnectorRuns(ctx context.Context, name string, limit int) ([]sqlstore.ConnectorRun, error)
	EnqueueConnector(ctx context.Context, name string, t s3bridge.Task) (int64, error)
	connector.Ledger
}

// withConnectors runs fn with the instance's stored connectors.
func withConnectors(ctx context.Context, c *common, fn func(in instance.Instance, cs storedConnectors) error) error {
	return withInstance(ctx, c, func(in instance.Instance) error {
		cs, ok := in.(storedConnectors)
		if !ok {
			return fmt.Errorf("instance %s can't store connectors", in.Name())
		}
		return fn(in, cs)
	})
}

// connectorView is a stored connector as list, show, create, update and
// delete print it: the console's view (control.Connector), printed.
type connectorView struct{ control.Connector }

func viewConnector(ctx context.Context, cs storedConnectors, c sqlstore.Connector) (connectorView, error) {
	v, err := control.ViewConnector(ctx, cs, c)
	return connectorView{v}, err
}

func (v connectorView) write(w io.Writer) error {
	next := "-"
	if v.NextRun != nil {
		next = v.NextRun.Format(time.RFC3339)
	}
	fmt.Fprintf(w, "Name     : %s\nCron     : %s\nTimezone : %s\nDelay    : %d\nTable    : %s\nNext run : %s\nLast     : %s\n",
		v.Name, v.Cron, v.Timezone, v.Delay, v.Table, next, v.LastStatus)
	if v.State != nil {
		last := "-"
		if v.State.LastModified != nil {
			last = v.State.LastModified.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "State    : %d file(s) in the ledger, newest LastModified %s, last path %s\n", v.State.Files, last, cmp.Or(v.State.LastPath, "-"))
	}
	if v.Config != "" {
		fmt.Fprintf(w, "Config   :\n%s", v.Config)
	}
	return nil
}

func runConnectorCreate(ctx context.Context, e *env, args []string) error {
	var (
		c    common
		spec control.ConnectorSpec
	)
	fs := newFlags("connector create", e, &c, withJSON)
	fs.StringVar(&spec.Table, "table", "", "the table to load (schema.table allowed)")
	fs.StringVar(&spec.Timezone, "timezone", "UTC", "the schedule's IANA time `ZONE` (Asia/Tokyo; abbreviations such as PST are refused)")
	fs.Int64Var(&spec.Delay, "delay", 0, "start each run `SECONDS` after its scheduled time")
	fs.BoolVar(&spec.AutoCreate, "auto-create-table", false, "create the table from the config's columns when it does not exist")
	timeColumn := timeColumnFlag(fs)
	pos, err := fs.parse(args, 3, 3)
	if err != nil {
		return err
	}
	if spec.Table == "" {
		return usageErrorf("connector create", "--table is required")
	}
	spec.Name, spec.Cron, spec.TimeColumn = pos[0], pos[1], *timeColumn
	return withConnectors(ctx, &c, func(in instance.Instance, cs storedConnectors) error {
		cfg, err := readConfig(pos[2])
		if err != nil {
			return err
		}
		st, err := control.CreateConnector(ctx, cs, in, spec, cfg, time.Now())
		if err != nil {
			return err
		}
		return printConnector(ctx, e, &c, cs, st.Name, "created")
	})
}

// printConnector prints the stored connector after a change.
func printConnector(ctx context.Context, e *env, c *common, cs storedConnectors, name, what string) error {
	st, err := cs.Connector(ctx, name)
	if err != nil {
		return err
	}
	v, err := viewConnector(ctx, cs, st)
	if err != nil {
		return err
	}
	if c.json {
		return writeJSON(e.stdout, v)
	}
	fmt.Fprintf(e.stdout, "connector %s %s\n", name, what)
	return v.write(e.stdout)
}

func runConnectorList(ctx context.Context, e *env, args []string) error {
	var c common
	fs := newFlags("connector list", e, &c, withJSON)
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	return withConnectors(ctx, &c, func(_ instance.Instance, cs storedConnectors) error {
		views, err := control.ListConnectors(ctx, cs)
		if err != nil {
			return err
		}
		if c.json {
			return writeJSON(e.stdout, views)
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "Name\tCron\tTimezone\tDelay\tTable\tNext run\tLast status")
		for _, v := range views {
			next := "-"
			if v.NextRun != nil {
				next = v.NextRun.Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", v.Name, cmp.Or(v.Cron, "-"), v.Timezone, v.Delay, v.Table, next, v.LastStatus)
		}
		return w.Flush()
	})
}

func runConnectorShow(ctx context.Context, e *env, args []string) error {
	var c common
	fs := newFlags("connector show", e, &c, withJSON)
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	return withConnectors(ctx, &c, func(_ instance.Instance, cs storedConnectors) error {
		cv, err := control.ShowConnector(ctx, cs, pos[0])
		if err != nil {
			return err
		}
		v := connectorView{cv}
		if c.json {
			return writeJSON(e.stdout, v)
		}
		return v.write(e.stdout)
	})
}

func runConnectorHistory(ctx context.Context, e *env, args []string) error {
	var c common
	fs := newFlags("connector history", e, &c, withJSON)
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	return withConnectors(ctx, &c, func(_ instance.Instance, cs storedConnectors) error {
		views, err := control.History(ctx, cs, pos[0], 0, time.Now())
		if err != nil {
			return err
		}
		if c.json {
			return writeJSON(e.stdout, views)
		}
		stamp := func(t *time.Time) string {
			if t == nil {
				return "-"
			}
			return t.Format(time.RFC3339)
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "JobID\tStatus\tRecords\tFiles\tTable\tScheduled\tStarted\tDuration\tNote")
		for _, v := range views {
			fmt.Fprintf(w, "%d\t%s\t%d\t%d\t%s\t%s\t%s\t%.1fs\t%s\n", v.JobID, v.Status, v.Records, v.Files, v.Table,
				stamp(v.Scheduled), stamp(v.Started), v.Duration, cmp.Or(v.Note, "-"))
		}
		return w.Flush()
	})
}

func runConnectorUpdate(ctx context.Context, e *env, args []string) error {
	var (
		c                   common
		cron, zone, cfgPath string
		delay               int64
		reset               bool
	)
	fs := newFlags("connector update", e, &c, withJSON)
	fs.StringVar(&cron, "cron", "", `the new schedule (five fields, @daily, @every DURATION…; "" removes it)`)
	fs.StringVar(&zone, "timezone", "", "the schedule's new IANA time `ZONE`")
	fs.Int64Var(&delay, "delay", 0, "the new delay, in `SECONDS` after each scheduled time")
	fs.StringVar(&cfgPath, "config", "", "replace the config with the one in `FILE`")
	fs.BoolVar(&reset, "reset-state", false, "forget what the connector loaded (its ledger): the next run loads every matching object")
	timeColumn := timeColumnFlag(fs)
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	var ch control.ConnectorChange
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "cron":
			ch.Cron = &cron
		case "timezone":
			ch.Timezone = &zone
		case "delay":
			ch.Delay = &delay
		case "time-column":
			ch.TimeColumn = timeColumn
		}
	})
	ch.ResetState = reset
	return withConnectors(ctx, &c, func(_ instance.Instance, cs storedConnectors) error {
		if cfgPath != "" {
			cfg, err := readConfig(cfgPath)
			if err != nil {
				return err
			}
			ch.Config = &cfg
		}
		st, err := control.UpdateConnector(ctx, cs, pos[0], ch, time.Now())
		if err != nil {
			return err
		}
		return printConnector(ctx, e, &c, cs, st.Name, "updated")
	})
}

func runConnectorRun(ctx context.Context, e *env, args []string) error {
	var c common
	fs := newFlags("connector run", e, &c, withAsync|withJSON)
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	return withConnectors(ctx, &c, func(in instance.Instance, cs storedConnectors) error {
		task, name, err := control.RunTask(ctx, cs, pos[0])
		if err != nil {
			return err
		}
		_, err = submitID(ctx, e, &c, connectorRunQueue{in, cs, name}, task)
		return err
	})
}

// connectorRunQueue is the instance with Enqueue recording the task as a
// run of the connector, so that submitID follows it like any task.
type connectorRunQueue struct {
	instance.Instance
	cs   storedConnectors
	name string
}

// Unwrap is the instance itself, for the runner's bulk path.
func (q connectorRunQueue) Unwrap() instance.Instance { return q.Instance }

func (q connectorRunQueue) Enqueue(ctx context.Context, t s3bridge.Task) (int64, error) {
	return q.cs.EnqueueConnector(ctx, q.name, t)
}

func runConnectorDelete(ctx context.Context, e *env, args []string) error {
	var c common
	fs := newFlags("connector delete", e, &c, withJSON)
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	return withConnectors(ctx, &c, func(_ instance.Instance, cs storedConnectors) error {
		if err := cs.DeleteConnector(ctx, pos[0]); err != nil {
			return err
		}
		if c.json {
			return writeJSON(e.stdout, map[string]string{"deleted": pos[0]})
		}
		fmt.Fprintf(e.stdout, "connector %s deleted (its ledger too; its past runs stay in the task list)\n", pos[0])
		return nil
	})
}
