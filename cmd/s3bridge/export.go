package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/agent"
	"github.com/s3bridge/s3bridge/control"
	"github.com/s3bridge/s3bridge/export"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/statement"
)

func exportCommand() command {
	return command{
		name:    "export",
		usage:   "--db URL (--query Q | --table T) [--format csv|text|jsonl|parquet] [--header] [--compress gzip|zstd] [--max-file-size N] [--manifest] [--overwrite] [--keep-partial] [--naming aurora|aws_s3] [--parallel N] S3_URI",
		help:    "export a query's result to S3 in parts (SELECT … INTO OUTFILE S3)",
		args:    []arg{{"S3_URI", "s3://bucket/prefix: the parts are PREFIX.part_00000… (--naming aurora) or PREFIX, PREFIX_part2… (aws_s3)"}},
		example: "s3bridge export --db " + exampleDB + " --query 'SELECT * FROM sales' --format parquet s3://mybucket/exports/sales",
		run:     runExport,
	}
}

func runExport(ctx context.Context, e *env, args []string) error {
	var (
		c       common
		p       export.Params
		table   string
		maxSize sizeFlag = export.DefaultMaxFileSize
	)
	fs := newFlags("export", e, &c, withAsync|withJSON)
	fs.StringVar(&p.Query, "query", "", "the query to export: a single SELECT (or WITH … SELECT)")
	fs.StringVar(&table, "table", "", "export this whole table (schema.table allowed): SELECT * FROM it, names quoted")
	fs.StringVar(&p.Format, "format", export.FormatCSV, "csv, text (MySQL's tab-separated format), jsonl or parquet")
	fs.BoolVar(&p.Header, "header", false, "csv and text: column names at the top of every part")
	fs.StringVar(&p.Compression, "compress", "", "gzip or zstd (parquet: page compression instead of snappy)")
	fs.Var(&maxSize, "max-file-size", "close a part at the first row boundary past this `SIZE`: 6GiB, 100MB (GB = 10^9 bytes, GiB = 2^30)")
	fs.BoolVar(&p.Manifest, "manifest", false, "write PREFIX.manifest listing the parts, after them")
	fs.BoolVar(&p.Overwrite, "overwrite", false, "replace existing files; without it existing ones fail the export before it starts")
	fs.BoolVar(&p.KeepPartial, "keep-partial", false, "keep the parts already written when the export fails")
	fs.StringVar(&p.Naming, "naming", export.NamingAurora, "aurora (PREFIX.part_00000…) or aws_s3 (FILE, FILE_part2…)")
	fs.IntVar(&p.Parallel, "parallel", 0, "PostgreSQL 14+, a query that is exactly SELECT * FROM one table: sessions reading the table's page ranges under one snapshot (default: half the cores, up to 8; 1: one COPY)")
	fs.StringVar(&p.NumericAs, "numeric-as", "", "parquet: write numeric columns without a precision as decimal(P,S), e.g. decimal(38,9), rounding to S places; a value too large fails the export")
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	p.URI, p.MaxFileSize = pos[0], int64(maxSize)
	if table != "" {
		if p.Query != "" {
			return usageErrorf("export", "--query and --table: give one")
		}
		if p.Query, err = wholeTableQuery(c.db, table); err != nil {
			return usageErrorf("export", "%w", err)
		}
	}
	if strings.TrimSpace(p.Query) == "" {
		return usageErrorf("export", "--query or --table is required")
	}
	// Refuse anything but a SELECT, a bad format or destination here,
	// before a task exists, as a command line that can't run (exit 2),
	// as the API does (package control).
	t, err := control.ExportTask(p)
	if err != nil {
		return usageErrorf("export", "%w", err)
	}
	return withInstance(ctx, &c, func(in instance.Instance) error {
		return submit(ctx, e, &c, in, t)
	})
}

// wholeTableQuery is the query of export --table: SELECT * FROM the table,
// each part of its name quoted as the instance's database quotes
// identifiers (MariaDB's backquotes, else double quotes), so that a name
// is never read as SQL. On PostgreSQL this is the query the parallel
// whole-table export recognises.
func wholeTableQuery(dbURL, table string) (string, error) {
	quote := statement.QuoteIdentPG
	if u, err := url.Parse(dbURL); err == nil && (u.Scheme == "mysql" || u.Scheme == "mariadb") {
		quote = statement.QuoteIdentMySQL
	}
	schema, name, qualified := strings.Cut(table, ".")
	if schema == "" || (qualified && name == "") || strings.Contains(name, ".") {
		return "", fmt.Errorf("--table %q: want TABLE or SCHEMA.TABLE", table)
	}
	if !qualified {
		return "SELECT * FROM " + quote(schema), nil
	}
	return "SELECT * FROM " + quote(schema) + "." + quote(name), nil
}

// runExportStatement runs SELECT … INTO OUTFILE S3 given to the sql verb:
// an EXPORT_TO_S3 task with the statement's options, run in this process
// (or, with --async, left to an agent), as the connection's own user.
func runExportStatement(ctx context.Context, e *env, c *common, in instance.Instance, st *statement.Export) error {
	p, err := export.FromStatement(st)
	if err != nil {
		return usageErrorf("sql", "%w", err)
	}
	if err := p.Validate(); err != nil {
		return usageErrorf("sql", "%w", err)
	}
	return submit(ctx, e, c, in, export.Task(p))
}

// exportConcurrency caps the parts of one export's upload in flight.
// Uploads from a stream buffer Concurrency × PartSize bytes when S3 is
// slower than the database: 64 MiB here, against 128 MiB with the
// transfer default, which keeps an export with a Parquet row group under
// 200 MB of memory in the worst case.
const exportConcurrency = 4

// exportRunner runs EXPORT_TO_S3 tasks with the instance's EXPORT role and
// policy, on clients of their own (exportConcurrency).
func exportRunner(st *stores) agent.Runner {
	return &export.Runner{Deps: deps(st, func(ctx context.Context, set s3bridge.Settings) (export.ObjectStore, error) {
		c, err := st.clientFor(ctx, st.exportConfig(set), "EXPORT")
		if err != nil {
			return nil, err
		}
		return c, nil
	})}
}

// quickstartExport is the quickstart's export step: table sales to Parquet
// in the embedded bucket, and the key it was written to.
func quickstartExport(ctx context.Context, e *env, c *common, in instance.Instance, step int, say func(string, ...any)) error {
	say("\n%d. export table sales to Parquet (SELECT * FROM sales INTO OUTFILE S3 … FORMAT PARQUET)", step)
	p := export.Params{Query: "SELECT * FROM sales", URI: "s3://quickstart/exports/sales", Format: export.FormatParquet, Overwrite: true}
	id, err := submitID(ctx, &env{stdout: discard{}, stderr: e.stderr, getenv: e.getenv}, c, in, export.Task(p))
	if err != nil {
		return err
	}
	t, err := in.Task(ctx, id)
	if err != nil {
		return err
	}
	say("%s", t.TaskInfo)
	return nil
}
