package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/s3bridge/s3bridge/control"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/mysql"
	"github.com/s3bridge/s3bridge/load"
	"github.com/s3bridge/s3bridge/statement"
)

func runLoad(ctx context.Context, e *env, args []string) error {
	var (
		c       common
		r       control.LoadRequest
		columns string
	)
	fs := newFlags("load", e, &c, withAsync|withJSON)
	fs.StringVar(&r.Table, "table", "", "the table to load (schema.table allowed)")
	fs.BoolVar(&r.Prefix, "prefix", false, "load every object whose key starts with the URI's key, in key order")
	fs.BoolVar(&r.Manifest, "manifest", false, "the URI is an Aurora manifest listing the objects")
	fs.StringVar(&r.Format, "format", "csv", "text, csv, tsv, jsonl, json or xml")
	fs.StringVar(&columns, "columns", "", "target columns in input order, comma-separated (default: the table's)")
	fs.StringVar(&r.Delimiter, "delimiter", "", "field delimiter (default: , for csv, tab for text/tsv)")
	fs.StringVar(&r.Quote, "quote", "", `quote character (csv default ")`)
	fs.StringVar(&r.Escape, "escape", "", `escape character (text default \)`)
	fs.StringVar(&r.Null, "null", "", "text of a NULL field")
	fs.BoolVar(&r.Header, "header", false, "the first line holds column names: columns are matched to the table's by name (case-insensitive when unambiguous; --columns wins)")
	fs.IntVar(&r.IgnoreLines, "ignore-lines", 0, "leading lines to skip")
	fs.StringVar(&r.Charset, "charset", "", "input character set: utf8 (default), latin1, windows-1252, iso-8859-1")
	fs.StringVar(&r.RowsIdentifiedBy, "rows-identified-by", "", "xml: the row element, e.g. <row>")
	fs.BoolVar(&r.Replace, "replace", false, "replace the table's rows atomically (old rows visible until the new ones commit)")
	fs.BoolVar(&r.SkipBadRows, "skip-bad-rows", false, "skip rows that fail to parse or that the database rejects (bad value, NULL, too long, duplicate key), each reported in the task log with object, line, column and reason, instead of failing")
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	if r.Prefix && r.Manifest {
		return usageErrorf("load", "--prefix and --manifest exclude each other")
	}
	r.URI, r.Columns = pos[0], strings.Split(columns, ",")
	// A bad format, URI or option is refused before a task exists, as a
	// command line that can't run (exit 2). The task is built as the
	// API builds it (package control).
	t, err := r.Task()
	if err != nil {
		return usageErrorf("load", "%w", err)
	}
	return withInstance(ctx, &c, func(in instance.Instance) error { return submit(ctx, e, &c, in, t) })
}

// runSQL takes Aurora's statements as text: LOAD DATA|XML FROM S3 and
// SELECT … INTO OUTFILE S3.
func runSQL(ctx context.Context, e *env, args []string) error {
	var c common
	fs := newFlags("sql", e, &c, withAsync|withJSON)
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	st, err := statement.Parse(pos[0])
	if err != nil {
		return usageErrorf("sql", "%w", err)
	}
	return withInstance(ctx, &c, func(in instance.Instance) error {
		switch st := st.(type) {
		case *statement.Load:
			p, err := load.FromStatement(st, pos[0], isMariaDB(in))
			if err != nil {
				return usageErrorf("sql", "%w", err)
			}
			t, err := load.Task(p)
			if err != nil {
				return usageErrorf("sql", "%w", err)
			}
			return submit(ctx, e, &c, in, t)
		case *statement.Export:
			return exportSQL(ctx, e, &c, in, st)
		}
		return fmt.Errorf("sql: unsupported statement")
	})
}

func isMariaDB(in instance.Instance) bool {
	_, ok := in.(*mysql.Instance)
	return ok
}

// exportSQL runs SELECT … INTO OUTFILE S3.
func exportSQL(ctx context.Context, e *env, c *common, in instance.Instance, st *statement.Export) error {
	return runExportStatement(ctx, e, c, in, st)
}
