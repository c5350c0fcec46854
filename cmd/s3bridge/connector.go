package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/s3bridge/s3bridge/connector"
	"github.com/s3bridge/s3bridge/instance"
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
		{"connector issue", "--db URL --table T [--name N] [--auto-create-table] [--async] [--json] LOAD.yml", "run a connector once now: load the objects its ledger lacks, exactly once",
			[]arg{{"LOAD.yml", "the connector config; the connector's name (its ledger) is the file's name without extension unless --name"}},
			"s3bridge connector issue load.yml --db " + exampleDB + " --table events --auto-create-table", runConnectorIssue},
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
			Profile: s.Profile, RoleARN: s.RoleARN, ExternalID: s.ExternalID, RoleSessionName: s.RoleSessionName,
			RetryMaxAttempts: max(attempts, 0)}, nil)
	}
}

// connectorRunner runs IMPORT_FROM_S3 tasks with this process's
// environment for secret references.
func connectorRunner(getenv func(string) string) *connector.Runner {
	return &connector.Runner{Open: openConnectorStore(getenv), Env: connectorEnv(getenv)}
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
	pv, err := connector.PreviewRows(ctx, store, c, rows)
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
			if err := createTable(ctx, in, p); err != nil {
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

// createTable is --auto-create-table: the config's columns, each of its
// database's natural type.
func createTable(ctx context.Context, in instance.Instance, p connector.Params) error {
	withDB, ok := in.(interface {
		DB() *sql.DB
		DialectName() string
	})
	if !ok {
		return fmt.Errorf("auto-create table: instance %s has no SQL connection", in.Name())
	}
	ddl, err := connector.CreateTableSQL(withDB.DialectName(), p.Schema, p.Table, p.Config.In.Parser.Columns)
	if err != nil {
		return err
	}
	if _, err := withDB.DB().ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("auto-create table %s: %w", p.Table, err)
	}
	return nil
}
