package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestJSONErrorDocument (issue 19 items 1 and 2): with --json a command
// that fails before it has its document still prints one JSON document on
// stdout, the error and its class, and exits as it would without --json.
func TestJSONErrorDocument(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite://" + filepath.Join(dir, "app.db")
	w := &cliWorld{t: t, vars: map[string]string{}}
	w.must("attach", "--db", db, "--area", dir)
	never := "sqlite://" + filepath.Join(dir, "never.db")
	tests := []struct {
		name   string
		args   []string // --json is added
		status int
		code   string // error_code
		msg    string // in error
	}{
		{"status of a task that doesn't exist", []string{"status", "--db", db, "42"}, exitFailed, "not_found", "task 42"},
		{"log of a task that doesn't exist", []string{"log", "--db", db, "42"}, exitFailed, "not_found", "task 42"},
		{"cancel of a task that doesn't exist", []string{"cancel", "--db", db, "42"}, exitFailed, "not_found", "task 42"},
		{"not attached", []string{"status", "--db", never}, exitFailed, "not_attached", "s3bridge is not attached to this database"},
		{"not attached, task command", []string{"upload-file", "--db", never, "a.csv", "s3://bkt/a.csv"}, exitFailed, "not_attached", "not attached"},
		{"check without buckets", []string{"check", "--db", db}, exitFailed, "error", "no buckets granted"},
		{"bad flag value", []string{"export", "--db", db, "--query", "SELECT 1", "--format", "xml", "s3://bkt/x"}, exitUsage, "error", `format "xml"`},
		{"bad load format", []string{"load", "--db", db, "--table", "t", "--format", "yaml", "s3://bkt/x"}, exitUsage, "error", `"yaml"`},
		{"unknown flag", []string{"status", "--db", db, "--no-such-flag"}, exitUsage, "error", "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plainOut, _, plainErr := w.run(tt.args...)
			out, _, err := w.run(append(tt.args, "--json")...)
			if got := exitCode(err); got != tt.status || exitCode(plainErr) != tt.status {
				t.Fatalf("exit %d with --json, %d without (%v), want %d", got, exitCode(plainErr), errorText(err), tt.status)
			}
			if plainOut != "" {
				t.Errorf("without --json stdout holds %q", plainOut)
			}
			checkErrorDocument(t, out, tt.code, tt.msg)
		})
	}
	// --json before a bad value stops the parse, and --json=true.
	out, _, err := w.run("attach", "--db", db, "--json", "--max-upload-size", "5XB")
	if exitCode(err) != exitUsage {
		t.Errorf("attach --max-upload-size 5XB: exit %d", exitCode(err))
	}
	checkErrorDocument(t, out, "error", `invalid value "5XB" for flag -max-upload-size`)
	out, _, _ = w.run("attach", "--db", db, "--max-upload-size", "5XB", "--json=true")
	checkErrorDocument(t, out, "error", `invalid value "5XB" for flag -max-upload-size`)
	if out, _, _ = w.run("attach", "--db", db, "--max-upload-size", "5XB", "--json=false"); out != "" {
		t.Errorf("--json=false printed %q", out)
	}
	// A command that prints its own document when it fails keeps it: one
	// document, never two.
	pol := filepath.Join(dir, "p.json")
	if err := os.WriteFile(pol, []byte(`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt/*"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = w.run("policy", "simulate", "--policy", pol, "--action", "s3:PutObject", "--resource", "arn:aws:s3:::bkt/x", "--json")
	if exitCode(err) != exitFailed {
		t.Errorf("policy simulate of a denied request: exit %d", exitCode(err))
	}
	if doc, _ := oneJSON(t, "policy simulate --json", out).(map[string]any); doc["decision"] != "implicitDeny" {
		t.Errorf("policy simulate --json printed %v, want its own document", doc)
	}
}

// checkErrorDocument checks that out is one JSON document
// {"error", "error_code"}, the error without main's usage line.
func checkErrorDocument(t *testing.T, out, code, msg string) {
	t.Helper()
	doc, ok := oneJSON(t, "error document", out).(map[string]any)
	if !ok {
		t.Fatalf("stdout %q: want a JSON object", out)
	}
	text, _ := doc["error"].(string)
	if doc["error_code"] != code || !strings.Contains(text, msg) || strings.Contains(text, "usage:") || len(doc) != 2 {
		t.Errorf("document %v, want error_code %q and an error with %q, without the usage line", doc, code, msg)
	}
}

// TestMalformedURIRefusedFirst (issue 19 item 4): a malformed S3 URI or
// bucket is a command line that can't run (exit 2), refused before a task
// exists, by every command that takes one.
func TestMalformedURIRefusedFirst(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite://" + filepath.Join(dir, "app.db")
	w := &cliWorld{t: t, vars: map[string]string{}}
	w.must("attach", "--db", db, "--area", dir)
	tests := [][]string{
		{"load", "--table", "t", "s3://B_ad/x.csv"},
		{"load", "--table", "t", "http://bkt/x.csv"},
		{"load", "--table", "t", "s3://bkt"},
		{"load", "--table", "t", "--manifest", "s3://bkt"},
		{"upload-file", "a.csv", "s3://B_ad/a.csv"},
		{"upload-file", "a.csv", "bkt/a.csv"},
		{"upload-file", "a.csv", "s3://bkt/"},
		{"upload-file", "a.csv", "arn:aws:s3:::bkt"},
		{"download-file", "s3://xy/a.csv"},
		{"download-file", "s3:/bkt/a.csv"},
		{"download-file", "s3://bkt/dir/"},
		{"upload", "--bucket", "B_ad"},
		{"upload"},
		{"download", "--bucket", "a..b"},
		{"sql", "LOAD DATA FROM S3 's3://B_ad/x.csv' INTO TABLE t"},
		{"export", "--query", "SELECT 1", "s3://B_ad/x"},
	}
	for _, args := range tests {
		_, _, err := w.run(append(args, "--db", db)...)
		if exitCode(err) != exitUsage {
			t.Errorf("%v: exit %d (%v), want %d", args, exitCode(err), errorText(err), exitUsage)
		}
	}
	v := oneJSON(t, "status --json", w.must("status", "--db", db, "--json"))
	if l, ok := v.([]any); !ok || len(l) != 0 {
		t.Errorf("refused commands left tasks: %v", v)
	}
	// What the refusals must not catch: a prefix load of a whole bucket.
	w.must("load", "--db", db, "--async", "--table", "t", "--prefix", "s3://bkt")
}

// TestLoadMetadataKeys (issue 19): a load's task_metadata.options has
// snake_case keys, as the rest of the metadata, and only the options
// given.
func TestLoadMetadataKeys(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite://" + filepath.Join(dir, "app.db")
	w := &cliWorld{t: t, vars: map[string]string{}}
	w.must("attach", "--db", db, "--area", dir)
	v := oneJSON(t, "load --async --json", w.must("load", "--db", db, "--async", "--json", "--table", "t",
		"--delimiter", ";", "--null", "NA", "--ignore-lines", "2", "s3://bkt/x.csv"))
	opts, _ := v.(map[string]any)["task_metadata"].(map[string]any)["options"].(map[string]any)
	want := map[string]any{"format": "csv", "fields_terminated_by": ";", "null_string": "NA", "ignore_lines": 2.0}
	if len(opts) != len(want) {
		t.Errorf("options %v, want %v", opts, want)
	}
	for k, x := range want {
		if opts[k] != x {
			t.Errorf("options[%q] = %v, want %v (options %v)", k, opts[k], x, opts)
		}
	}
}
