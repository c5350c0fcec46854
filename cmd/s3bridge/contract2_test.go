package main

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge"
)

// TestExitStatus (issue 19 item 2): 0 success, 1 failure, 2 usage; policy
// simulate 0 allowed, 1 denied, 2 any error; a task that doesn't exist is
// not found, non-zero, for status, log and cancel alike.
func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite://" + filepath.Join(dir, "app.db")
	w := &cliWorld{t: t, vars: map[string]string{}}
	w.must("attach", "--db", db, "--area", dir)
	pol := filepath.Join(dir, "p.json")
	if err := os.WriteFile(pol, []byte(`{"Version": "2012-10-17", "Statement": [
  {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::b/*"},
  {"Sid": "NoPut", "Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	sim := func(action, resource string, more ...string) []string {
		return append([]string{"policy", "simulate", "--policy", pol, "--action", action, "--resource", resource}, more...)
	}
	tests := []struct {
		args   []string
		status int
		stdout string // its first word
		err    string
	}{
		{[]string{"status", "--db", db}, 0, "TASK_ID", ""},
		{[]string{"status", "--db", db, "42"}, 1, "", "task 42 on app: not found"},
		{[]string{"log", "--db", db, "42"}, 1, "", "task 42 on app: not found"},
		{[]string{"cancel", "--db", db, "42"}, 1, "", "task 42: not found"},
		{sim("s3:GetObject", "arn:aws:s3:::b/x"), 0, "allowed", ""},
		{sim("s3:PutObject", "arn:aws:s3:::b/x"), 1, "explicitDeny", ""},
		{sim("s3:GetObject", "arn:aws:s3:::other/x"), 1, "implicitDeny", ""},
		{sim("s3:GetObject", "arn:aws:s3:::b/x", "--json"), 0, `{"decision":"allowed"`, ""},
		{[]string{"policy", "simulate", "--policy", filepath.Join(dir, "none.json"), "--action", "s3:GetObject", "--resource", "arn:aws:s3:::b/x"}, 2, "", "no such file"},
		{[]string{"policy", "simulate", "--policy", pol, "--resource", "arn:aws:s3:::b/x"}, 2, "", "--action"},
		{sim("s3:GetObject", "not-an-arn"), 2, "", ""},
		{[]string{"version", "--bogus"}, 2, "", "flag provided but not defined: -bogus"},
		{[]string{"status", "--help"}, 0, "usage:", ""},
	}
	for _, tt := range tests {
		out, _, err := w.run(tt.args...)
		if got := exitCode(err); got != tt.status {
			t.Errorf("%v: exit %d (%v), want %d", tt.args, got, err, tt.status)
		}
		if !strings.HasPrefix(out, tt.stdout) {
			t.Errorf("%v: stdout %q, want it to start with %q", tt.args, out, tt.stdout)
		}
		if tt.err != "" && !strings.Contains(errorText(err), tt.err) {
			t.Errorf("%v: error %q, want %q in it", tt.args, errorText(err), tt.err)
		}
	}
}

// TestNotAttached (issue 19 item 6): every command given a database
// s3bridge is not attached to says so, in the same words; none creates a
// SQLite file that isn't there, and none changes one that is: an
// application's rollback-journal database keeps its bytes and its journal
// mode (not WAL), and an empty file stays empty.
func TestNotAttached(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app.db")
	appDB, err := sql.Open("sqlite", "file:"+app) // an application's database: read-write, no WAL
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT)", "INSERT INTO orders VALUES (1, 'pear')"} {
		if _, err := appDB.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	if err := appDB.Close(); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{app: mustRead(t, app), empty: nil}
	if h := want[app]; len(h) < 20 || h[18] != 1 || h[19] != 1 {
		t.Fatalf("%s is not a rollback-journal database to begin with", app)
	}
	args := map[string][]string{
		"detach": nil, "agent": nil, "upload": {"--bucket", "bkt"}, "download": {"--bucket", "bkt"},
		"upload-file": {"a.csv", "s3://bkt/a.csv"}, "download-file": {"s3://bkt/a.csv"}, "list-files": nil,
		"list-file-details": {"1"}, "delete-file": {"a.csv"}, "load": {"--table", "t", "s3://bkt/a.csv"},
		"export": {"--query", "SELECT 1", "s3://bkt/x"}, "sql": {"LOAD DATA FROM S3 's3://bkt/a.csv' INTO TABLE t"},
		"policy": nil, "check": nil, "status": nil, "log": {"1"}, "cancel": {"1"},
		"connector issue":  {"--table", "t", "load.yml"},
		"connector create": {"--table", "t", "n", "@hourly", "load.yml"}, "connector list": nil, "connector show": {"n"},
		"connector history": {"n"}, "connector update": {"n"}, "connector run": {"n"}, "connector delete": {"n"},
		"pipeline create": {"--source", "postgres://u@127.0.0.1:1/db", "--tables", "public.t", "--bucket", "b", "p"},
		"proxy":           {"--listen", "127.0.0.1:0", "--upstream", "mysql://127.0.0.1:3306"},
		"pipeline list":   nil, "pipeline show": {"p"}, "pipeline pause": {"p"}, "pipeline resume": {"p"}, "pipeline drop": {"p"},
		"pipeline snapshot": {"p"}, "pipeline add-table": {"p", "public.t"},
		"serve": {"--listen", "127.0.0.1:0"}, "token create": {"--name", "n", "--role", "viewer"}, "token list": nil, "token revoke": {"n"},
	}
	w := &cliWorld{t: t, vars: map[string]string{}}
	for _, c := range commands() {
		if c.run == nil || c.name == "attach" || !strings.Contains(c.usage, "--db") {
			continue
		}
		a, ok := args[c.name]
		if !ok {
			t.Errorf("%s takes --db but is not in this test", c.name)
			continue
		}
		for _, file := range []string{app, empty, filepath.Join(dir, c.name+".db")} {
			_, _, err := w.run(append([]string{c.name, "--db", "sqlite://" + file}, a...)...)
			if !errors.Is(err, s3bridge.ErrNotAttached) || !strings.Contains(errorText(err), "s3bridge is not attached to this database (run: s3bridge attach --db …)") {
				t.Errorf("%s on %s: %v, want the not-attached message", c.name, filepath.Base(file), errorText(err))
			}
		}
		if _, err := os.Stat(filepath.Join(dir, c.name+".db")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s created the SQLite file it was given (%v)", c.name, err)
		}
		for file, body := range want {
			if got := mustRead(t, file); !bytes.Equal(got, body) {
				t.Fatalf("%s changed %s: %d bytes (%s), was %d (%s)", c.name, filepath.Base(file), len(got), journal(got), len(body), journal(body))
			}
			for _, side := range []string{"-wal", "-shm", "-journal"} {
				if _, err := os.Stat(file + side); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("%s left %s%s (%v)", c.name, filepath.Base(file), side, err)
				}
			}
		}
	}
}

// journal is the journal mode a SQLite file's header says: bytes 18 and
// 19 are 1 for a rollback journal, 2 for WAL.
func journal(header []byte) string {
	switch {
	case len(header) < 20:
		return "no header"
	case header[18] == 2:
		return "WAL"
	case header[18] == 1:
		return "rollback journal"
	}
	return fmt.Sprintf("version byte %d", header[18])
}

func mustRead(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAttachValidates (issue 19 items 3 and 7): attach refuses what can't
// work, naming the flag, before it creates or changes anything; creates
// the area when asked; and prints the settings as a table or JSON.
func TestAttachValidates(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite://" + filepath.Join(dir, "app.db")
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	w := &cliWorld{t: t, vars: map[string]string{}}
	bad := []struct {
		args []string
		want string
	}{
		{[]string{"--area", filepath.Join(dir, "nope")}, "no such directory (create it, or pass --create-area"},
		{[]string{"--area", file}, "not a directory"},
		{[]string{"--create-area"}, "--create-area needs --area DIR"},
		{[]string{"--area", dir, "--endpoint", "not-a-url"}, `--endpoint "not-a-url": want an http(s) URL`},
		{[]string{"--area", dir, "--endpoint", "ftp://host"}, `--endpoint "ftp://host"`},
		{[]string{"--area", dir, "--region", "mars 1"}, `--region "mars 1": want a region name`},
		{[]string{"--area", dir, "--auth", "password"}, `--auth "password"`},
		{[]string{"--area", dir, "--max-upload-size", "5XB"}, `invalid value "5XB" for flag -max-upload-size`},
		{[]string{"--area", dir, "--max-upload-size", "1,5GB"}, `invalid value "1,5GB" for flag -max-upload-size`},
		{[]string{"--area", dir, "--dir", "NOPATH"}, `--dir "NOPATH": want NAME=PATH`},
	}
	for _, tt := range bad {
		_, _, err := w.run(append([]string{"attach", "--db", db}, tt.args...)...)
		if err == nil || !strings.Contains(errorText(err), tt.want) {
			t.Errorf("attach %v: %v, want %q", tt.args, errorText(err), tt.want)
		}
		if got := exitCode(err); got != exitUsage {
			t.Errorf("attach %v: exit %d, want %d (a bad flag value)", tt.args, got, exitUsage)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "app.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused attach created the database file (%v)", err)
	}
	area := filepath.Join(dir, "new", "area")
	out := w.must("attach", "--db", db, "--area", area, "--create-area", "--max-upload-size", "1.5GB", "--region", "eu-west-3")
	if fi, err := os.Stat(area); err != nil || !fi.IsDir() {
		t.Errorf("--create-area: %v", err)
	}
	for _, want := range []string{"attached app:", "  area                ", area, "max upload size     1.4 GiB", "region              eu-west-3"} {
		if !strings.Contains(out, want) {
			t.Errorf("attach printed\n%s\nwant %q in it", out, want)
		}
	}
	if strings.Contains(out, "map[") {
		t.Errorf("attach printed a Go map:\n%s", out)
	}
	v := oneJSON(t, "attach --json", w.must("attach", "--db", db, "--json", "--max-files", "7"))
	set := v.(map[string]any)["settings"].(map[string]any)
	if set["max_upload_bytes"] != 1.5e9 || set["max_files"] != 7.0 || set["area"] != area {
		t.Errorf("attach --json settings: %v", set)
	}
}

// TestExportValidatesFirst (issue 19 item 3): a bad export or load fails
// before a task exists, as a command line that can't run: exit 2.
func TestExportValidatesFirst(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite://" + filepath.Join(dir, "app.db")
	w := &cliWorld{t: t, vars: map[string]string{}}
	w.must("attach", "--db", db, "--area", dir)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "xml"}, `format "xml"`},
		{[]string{"--compress", "brotli"}, `compression "brotli"`},
		{[]string{"--naming", "rds"}, `naming "rds"`},
		{[]string{"--format", "parquet", "--header"}, "header"},
		{[]string{"--max-file-size", "10XB"}, `invalid value "10XB" for flag -max-file-size`},
		{[]string{"--max-file-size", "1.5.2GB"}, `invalid value "1.5.2GB" for flag -max-file-size`},
		{[]string{"--query", "DELETE FROM t"}, "query"},
	} {
		_, _, err := w.run(append([]string{"export", "--db", db, "--query", "SELECT 1"}, append(tt.args, "s3://bkt/x")...)...)
		if err == nil || !strings.Contains(errorText(err), tt.want) {
			t.Errorf("export %v: %v, want %q", tt.args, errorText(err), tt.want)
		}
		if got := exitCode(err); got != exitUsage {
			t.Errorf("export %v: exit %d, want %d", tt.args, got, exitUsage)
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "yaml"}, `"yaml"`},
		{[]string{"--prefix", "--manifest"}, "--prefix and --manifest exclude each other"},
	} {
		_, _, err := w.run(append([]string{"load", "--db", db, "--table", "t"}, append(tt.args, "s3://bkt/x")...)...)
		if err == nil || !strings.Contains(errorText(err), tt.want) || exitCode(err) != exitUsage {
			t.Errorf("load %v: %v (exit %d), want %q and exit %d", tt.args, errorText(err), exitCode(err), tt.want, exitUsage)
		}
	}
	if out := w.must("status", "--db", db, "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("refused exports left tasks: %s", out)
	}
}

// TestVersion (issue 16 item 3): version and --version print the version,
// the Go version and, when the build has it, the VCS revision.
func TestVersion(t *testing.T) {
	w := &cliWorld{t: t, vars: map[string]string{}}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out := w.must(args...)
		if !strings.HasPrefix(out, "s3bridge ") || !strings.Contains(out, runtime.Version()) {
			t.Errorf("%v printed %q", args, out)
		}
	}
	v := oneJSON(t, "version --json", w.must("version", "--json")).(map[string]any)
	if v["go"] != runtime.Version() || v["version"] == "" {
		t.Errorf("version --json: %v", v)
	}
	if versionString() == "" {
		t.Error("versionString is empty: the agent records it")
	}
}
