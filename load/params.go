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
	// The runner parses the URI again; a malformed one is refused here so
	// that it never becomes a task.
	loc, err := s3bridge.ParseURI(p.URI)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if loc.Key == "" && p.Source != SourcePrefix {
		return fmt.Errorf("load %s %s: names no object (a key is needed after the bucket; --prefix loads a whole bucket)", p.Source, p.URI)
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

// options is format.Options as a task's metadata stores it: snake_case
// keys, as the rest of the metadata has, and only the options given.
// Metadata written before it had format.Options' Go field names; Params'
// UnmarshalJSON still reads those (legacyOptions).
type options struct {
	Format                   string `json:"format"`
	FieldsTerminatedBy       string `json:"fields_terminated_by,omitempty"`
	FieldsEnclosedBy         string `json:"fields_enclosed_by,omitempty"`
	FieldsOptionallyEnclosed bool   `json:"fields_optionally_enclosed,omitempty"`
	FieldsEscapedBy          string `json:"fields_escaped_by,omitempty"`
	NoEscape                 bool   `json:"no_escape,omitempty"`
	LinesStartingBy          string `json:"lines_starting_by,omitempty"`
	LinesTerminatedBy        string `json:"lines_terminated_by,omitempty"`
	IgnoreLines              int    `json:"ignore_lines,omitempty"`
	Header                   bool   `json:"header,omitempty"`
	NullString               string `json:"null_string,omitempty"`
	NullEmpty                bool   `json:"null_empty,omitempty"`
	LazyQuotes               bool   `json:"lazy_quotes,omitempty"`
	RowsIdentifiedBy         string `json:"rows_identified_by,omitempty"`
	Charset                  string `json:"charset,omitempty"`
	MaxRecordBytes           int    `json:"max_record_bytes,omitempty"`
}

func optionsOf(o format.Options) options {
	return options{Format: o.Format, FieldsTerminatedBy: o.FieldsTerminatedBy, FieldsEnclosedBy: o.FieldsEnclosedBy,
		FieldsOptionallyEnclosed: o.FieldsOptionallyEnclosed, FieldsEscapedBy: o.FieldsEscapedBy, NoEscape: o.NoEscape,
		LinesStartingBy: o.LinesStartingBy, LinesTerminatedBy: o.LinesTerminatedBy, IgnoreLines: o.IgnoreLines,
		Header: o.Header, NullString: o.NullString, NullEmpty: o.NullEmpty, LazyQuotes: o.LazyQuotes,
		RowsIdentifiedBy: o.RowsIdentifiedBy, Charset: o.Charset, MaxRecordBytes: o.MaxRecordBytes}
}

func (o options) format() format.Options {
	return format.Options{Format: o.Format, FieldsTerminatedBy: o.FieldsTerminatedBy, FieldsEnclosedBy: o.FieldsEnclosedBy,
		FieldsOptionallyEnclosed: o.FieldsOptionallyEnclosed, FieldsEscapedBy: o.FieldsEscapedBy, NoEscape: o.NoEscape,
		LinesStartingBy: o.LinesStartingBy, LinesTerminatedBy: o.LinesTerminatedBy, IgnoreLines: o.IgnoreLines,
		Header: o.Header, NullString: o.NullString, NullEmpty: o.NullEmpty, LazyQuotes: o.LazyQuotes,
		RowsIdentifiedBy: o.RowsIdentifiedBy, Charset: o.Charset, MaxRecordBytes: o.MaxRecordBytes}
}

// paramsFields is Params without its JSON methods.
type paramsFields Params

// paramsJSON is Params as metadata: its Options, at the shallower depth,
// hide paramsFields' in encoding/json.
type paramsJSON struct {
	paramsFields
	Options json.RawMessage `json:"options,omitempty"`
}

// MarshalJSON writes the options with snake_case keys (options).
func (p Params) MarshalJSON() ([]byte, error) {
	o, err := json.Marshal(optionsOf(p.Options))
	if err != nil {
		return nil, err
	}
	return json.Marshal(paramsJSON{paramsFields: paramsFields(p), Options: o})
}

// UnmarshalJSON reads the metadata of a load, including that of a task
// queued by a version that wrote the options under format.Options' Go
// field names (legacyOptions).
func (p *Params) UnmarshalJSON(data []byte) error {
	var w paramsJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*p = Params(w.paramsFields)
	if len(w.Options) == 0 || string(w.Options) == "null" {
		p.Options = format.Options{}
		return nil
	}
	legacy, err := legacyOptions(w.Options)
	if err != nil {
		return fmt.Errorf("load options: %w", err)
	}
	if legacy {
		// Untagged, format.Options takes its Go field names.
		p.Options = format.Options{}
		return json.Unmarshal(w.Options, &p.Options)
	}
	var o options
	if err := json.Unmarshal(w.Options, &o); err != nil {
		return fmt.Errorf("load options: %w", err)
	}
	p.Options = o.format()
	return nil
}

// legacyOptions reports whether the options object has a key in Go's
// CamelCase (FieldsTerminatedBy), as metadata had before options: the old
// encoding wrote every field, single-word ones (Format, Header) too.
func legacyOptions(raw json.RawMessage) (bool, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return false, err
	}
	for k := range keys {
		if strings.ToLower(k) != k {
			return true, nil
		}
	}
	return false, nil
}
