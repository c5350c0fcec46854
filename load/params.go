// Package load bulk-loads S3 objects into a table: Aurora MySQL's LOAD
// DATA|XML FROM S3 and aws_s3.table_import_from_s3. Objects are streamed
// (decompressed, transcoded, decoded as needed) into the database's native
// bulk path, all files of one load in one transaction, with a history row
// per file.
package load

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format"
)

// Source kinds, as in Aurora: one object, every object under a prefix, or
// the objects a manifest lists.
const (
	SourceFile     = "file"
	SourcePrefix   = "prefix"
	SourceManifest = "manifest"
)

// Params is a LOAD_FROM_S3 task's metadata.
type Params struct {
	Source string `json:"source"`
	URI    string `json:"uri"`
	Schema string `json:"schema,omitempty"`
	Table  string `json:"table"`
	// Columns are the target columns in input order; empty means the
	// table's columns in order, or the names in the data: JSON/XML keys, or
	// the header of a csv, tsv or text file with Options.Header. A list
	// given here wins over a header, which is then only skipped.
	Columns []string       `json:"columns,omitempty"`
	Options format.Options `json:"options"`
	// Replace swaps the table's rows for the loaded ones atomically: the
	// old rows stay visible until the new ones commit.
	Replace bool `json:"replace,omitempty"`
	// Duplicates is Aurora's REPLACE or IGNORE for rows whose key exists
	// (MariaDB natively; refused elsewhere).
	Duplicates string `json:"duplicates,omitempty"`
	// Statement is the Aurora statement text when the load came from one;
	// MariaDB runs its clauses natively (SET, @vars…).
	Statement string `json:"statement,omitempty"`
	// SkipBadRows reports rows that fail to parse, and rows whose values
	// the database refuses (a type, a length, a constraint), in the task's
	// log with their file, line, column and reason, and loads the others,
	// instead of failing the load.
	SkipBadRows bool `json:"skip_bad_rows,omitempty"`
	// MaxDecompressed caps each object's decompressed size (default 1 TiB).
	MaxDecompressed int64 `json:"max_decompressed,omitempty"`
	// Caller and CallerRole are the account and active role that asked
	// for the load from SQL, recorded by the database's own procedure
	// (which checks them against the session); the load runs with their
	// privileges.
	Caller     string `json:"caller,omitempty"`
	CallerRole string `json:"caller_role,omitempty"`
}

// Task builds the LOAD_FROM_S3 task for p.
func Task(p Params) (s3bridge.Task, error) {
	if err := p.Validate(); err != nil {
		return s3bridge.Task{}, err
	}
	meta, err := json.Marshal(p)
	if err != nil {
		return s3bridge.Task{}, fmt.Errorf("encode load parameters: %w", err)
	}
	return s3bridge.Task{Type: s3bridge.TaskLoadFromS3, S3ObjectARN: p.URI, Metadata: meta}, nil
}

// Validate reports parameters that can't work.
func (p Params) Validate() error {
	switch p.Source {
	case SourceFile, SourcePrefix, SourceManifest:
	default:
		return fmt.Errorf("load source %q: want file, prefix or manifest", p.Source)
	}
	if p.Table == "" {
		return fmt.Errorf("load: a table is required")
	}
	if p.URI == "" {
		return fmt.Errorf("load: an S3 URI is required")
	}
	switch strings.ToLower(p.Options.Format) {
	case "text", "csv", "tsv", "jsonl", "ndjson", "json", "xml":
	default:
		return fmt.Errorf("load format %q: want text, csv, tsv, jsonl, json or xml", p.Options.Format)
	}
	switch strings.ToUpper(p.Duplicates) {
	case "", "REPLACE", "IGNORE":
	default:
		return fmt.Errorf("load: duplicates %q: want REPLACE or IGNORE", p.Duplicates)
	}
	return nil
}
