// Command s3bridge gives self-managed PostgreSQL, MariaDB/MySQL and SQLite
// the S3 integration managed clouds give theirs: file transfer tasks, bulk
// load and export, run by an agent or in-process. This package only wires
// the other packages together; only main exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/s3bridge/s3bridge"
)

// command is one verb: its usage line (flags and positional arguments
// after the name), what it does, each positional argument, one example
// and the function that runs it.
type command struct {
	name, usage, help string
	args              []arg
	example           string
	run               func(ctx context.Context, e *env, args []string) error
}

// arg is a positional argument and what it is.
type arg struct{ name, help string }

// env is what every command gets: its outputs and the process environment,
// passed in rather than read from globals so commands are testable.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// json is set by the flag parser when the command line asks for
	// --json: runCommand then prints an error document for a command that
	// fails before printing its own.
	json bool
}

const exampleDB = "sqlite:///var/lib/app/app.db"

var (
	argTaskID = arg{"TASK_ID", "the task's id, as the task commands and status print it"}
	argS3URI  = arg{"S3_URI", "s3://bucket/key (arn:aws:s3:::bucket/key and s3-REGION://bucket/key too)"}
)

func commands() []command {
	return append([]command{
		{"quickstart", "[--dir DIR]", "run the main job end to end on an embedded S3 endpoint and a SQLite file: no servers needed", nil,
			"s3bridge quickstart", runQuickstart},
		{"attach", "--db URL [--area DIR [--create-area]] [--dir NAME=PATH]… [--endpoint URL] [--region R] [flags]", "install or upgrade the s3bridge schema and settings in a database", nil,
			"s3bridge attach --db " + exampleDB + " --area /var/lib/app/s3 --create-area --endpoint http://127.0.0.1:9000", runAttach},
		{"detach", "--db URL", "remove the SQL interface, keep tasks and files", nil,
			"s3bridge detach --db " + exampleDB, runDetach},
		{"agent", "--db URL [--db URL]…", "run tasks for one or more instances until SIGTERM", nil,
			"s3bridge agent --db postgres://s3bridge@db1/app --db mysql://s3bridge:pw@db2:3306/app", runAgent},
		{"upload", "--db URL --bucket B [--directory D] [--prefix P] [--s3-prefix SP]", "Oracle upload_to_s3: files of a directory object to S3", nil,
			"s3bridge upload --db " + exampleDB + " --bucket mybucket --s3-prefix backups/", runUploadDir},
		{"download", "--db URL --bucket B [--directory D] [--s3-prefix SP]", "Oracle download_from_s3: objects under a prefix to a directory object", nil,
			"s3bridge download --db " + exampleDB + " --bucket mybucket --s3-prefix backups/", runDownloadDir},
		{"upload-file", "--db URL [--overwrite] FILE_PATH S3_ARN", "SQL Server rds_upload_to_s3: one file of the area to S3",
			[]arg{{"FILE_PATH", "the file, relative to the file area"}, {"S3_ARN", "where to put it: arn:aws:s3:::bucket/key or s3://bucket/key"}},
			"s3bridge upload-file --db " + exampleDB + " data/sales.csv s3://mybucket/in/sales.csv", runUploadFile},
		{"download-file", "--db URL [--overwrite] S3_ARN [FILE_PATH]", "SQL Server rds_download_from_s3: one object into the area",
			[]arg{{"S3_ARN", "the object: arn:aws:s3:::bucket/key or s3://bucket/key"}, {"FILE_PATH", "where to put it in the area (default: the key's name; a path ending in / is a folder)"}},
			"s3bridge download-file --db " + exampleDB + " s3://mybucket/in/sales.csv copies/", runDownloadFile},
		{"list-files", "--db URL", "gather and list the files in the file area", nil,
			"s3bridge list-files --db " + exampleDB + " --json", runListFiles},
		{"list-file-details", "--db URL TASK_ID", "list what a gather task found", []arg{argTaskID},
			"s3bridge list-file-details --db " + exampleDB + " 7", runListFileDetails},
		{"delete-file", "--db URL [--force] FILE_PATH", "SQL Server rds_delete_from_filesystem",
			[]arg{{"FILE_PATH", "the file, or with --force the folder (ending in /), relative to the file area"}},
			"s3bridge delete-file --db " + exampleDB + " --force copies/", runDeleteFile},
		{"load", "--db URL --table T [--prefix|--manifest] [--format F] [options] S3_URI", "bulk-load objects into a table (LOAD DATA FROM S3)",
			[]arg{{"S3_URI", "the object, the key prefix (--prefix) or the manifest (--manifest)"}},
			"s3bridge load --db " + exampleDB + " --table sales --header s3://mybucket/sales/2024.csv.gz", runLoad},
		exportCommand(),
		proxyCommand(),
		{"sql", "--db URL STATEMENT", "run an Aurora S3 statement",
			[]arg{{"STATEMENT", `"LOAD DATA FROM S3 …", "LOAD XML FROM S3 …" or "SELECT … INTO OUTFILE S3 …"`}},
			`s3bridge sql --db ` + exampleDB + ` "LOAD DATA FROM S3 's3://mybucket/sales.csv' INTO TABLE sales FIELDS TERMINATED BY ',' IGNORE 1 LINES"`, runSQL},
		{"s3-cat", "[--region R] [--size] S3_URI (instance settings in S3BRIDGE_SETTINGS)", "write an object, decompressed, to stdout, as the instance's loads read it (run by table_import_from_s3)",
			[]arg{argS3URI}, "S3BRIDGE_SETTINGS=… S3BRIDGE_INSTANCE=app s3bridge s3-cat s3://mybucket/sales.csv", runS3Cat},
		{"policy", "--feature F --bucket B [--prefix P]… [--trust-principal ARN] | --db URL", "print the least-privilege IAM policy and trust policy", nil,
			"s3bridge policy --feature LOAD --bucket mybucket --prefix sales/ --only policy > load-policy.json", runPolicy},
		{"policy simulate", "--policy FILE --action A --resource ARN [--context K=V]…", "evaluate a request: allowed (exit 0), explicitDeny or implicitDeny (exit 1)", nil,
			"s3bridge policy simulate --policy load-policy.json --action s3:GetObject --resource arn:aws:s3:::mybucket/sales/a.csv", runSimulate},
		{"check", "--db URL [--bucket B]", "probe the buckets with the agent's credentials: missing permissions, public access, region", nil,
			"s3bridge check --db " + exampleDB, runCheck},
		{"status", "--db URL [TASK_ID]", "task_status: all tasks, or one", []arg{{"TASK_ID", "one task (default: all)"}},
			"s3bridge status --db " + exampleDB + " --json", runStatus},
		{"log", "--db URL TASK_ID", "read_task_log: a task's log lines", []arg{argTaskID},
			"s3bridge log --db " + exampleDB + " 42", runLog},
		{"cancel", "--db URL TASK_ID", "cancel_task", []arg{argTaskID},
			"s3bridge cancel --db " + exampleDB + " 42", runCancel},
		serveCommand(),
		tokenCreateCommand(),
		tokenListCommand(),
		tokenRevokeCommand(),
		{"version", "", "print the version, the Go version and the VCS revision", nil,
			"s3bridge version", runVersion},
		{"help", "[COMMAND]", "print the usage, or a command's help", []arg{{"COMMAND", "the command, such as log or \"policy simulate\""}},
			"s3bridge help load", nil},
	}, append(connectorCommands(), pipelineCommands()...)...)
}

// lookup finds the command args start with, a two-word one ("policy
// simulate") first, and returns the arguments after its name.
func lookup(args []string) (command, []string, bool) {
	cmds := commands()
	if len(args) > 1 {
		for _, c := range cmds {
			if c.name == args[0]+" "+args[1] {
				return c, args[2:], true
			}
		}
	}
	for _, c := range cmds {
		if len(args) > 0 && c.name == args[0] {
			return c, args[1:], true
		}
	}
	return command{}, nil, false
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	err := run(ctx, e, os.Args[1:])
	if msg := errorText(err); msg != "" {
		fmt.Fprintln(os.Stderr, "s3bridge:", msg)
	}
	stop()
	os.Exit(exitCode(err))
}

func run(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		usage(e.stdout)
		return nil
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(e.stdout)
		return nil
	case "-version", "--version":
		return runVersion(ctx, e, args[1:])
	case "help":
		return runHelp(e, args[1:])
	}
	c, rest, ok := lookup(args)
	if !ok || c.run == nil {
		return &usageError{cmd: "", err: fmt.Errorf("unknown command %q", args[0])}
	}
	return runCommand(ctx, e, c, rest)
}

// runCommand runs c. With --json stdout holds one document also when the
// command fails: one that fails before it has its own (a task that doesn't
// exist, a database s3bridge is not attached to, a bad flag value) prints
// an errorDocument instead; the exit status is the error's, as without
// --json.
func runCommand(ctx context.Context, e *env, c command, args []string) error {
	out := &watchedWriter{w: e.stdout}
	ce := &env{stdout: out, stderr: e.stderr, getenv: e.getenv}
	err := c.run(ctx, ce, args)
	if !ce.json || out.wrote || errorText(err) == "" {
		return err
	}
	if werr := writeJSON(e.stdout, newErrorDocument(err)); werr != nil {
		return errors.Join(err, fmt.Errorf("write the error document: %w", werr))
	}
	return err
}

// errorDocument is --json's document of a command that failed before it
// printed one: the error, without the usage line main adds on stderr, and
// its class as a task's error_code has it (s3bridge.ErrorCode).
type errorDocument struct {
	Error     string `json:"error"`
	ErrorCode string `json:"error_code"`
}

func newErrorDocument(err error) errorDocument {
	msg := err.Error()
	var u *usageError
	if errors.As(err, &u) {
		msg = u.err.Error()
		if u.cmd != "" {
			msg = u.cmd + ": " + msg
		}
	}
	return errorDocument{Error: msg, ErrorCode: s3bridge.ErrorCode(err)}
}

// watchedWriter is stdout, remembering whether anything was written to it.
type watchedWriter struct {
	w     io.Writer
	wrote bool
}

func (w *watchedWriter) Write(p []byte) (int, error) {
	w.wrote = w.wrote || len(p) > 0
	return w.w.Write(p)
}

// Exit statuses, as docs/cli.md (Scripting) documents them.
const (
	exitOK     = 0 // success; policy simulate: allowed
	exitFailed = 1 // the command or its task failed; policy simulate: denied
	exitUsage  = 2 // the command line is wrong; policy simulate: any error
)

// exitError sets the exit status of an error; with a nil err nothing is
// printed (policy simulate's denial, already printed on stdout).
type exitError struct {
	code int
	err  error
}

func (x *exitError) Error() string {
	if x.err == nil {
		return fmt.Sprintf("exit status %d", x.code)
	}
	return x.err.Error()
}

func (x *exitError) Unwrap() error { return x.err }

func exitCode(err error) int {
	var x *exitError
	var u *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &x):
		return x.code
	case errors.As(err, &u):
		return exitUsage
	}
	return exitFailed
}

// errorText is what main prints for err on stderr: nothing for help or a
// silent exit status.
func errorText(err error) string {
	var x *exitError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ""
	case errors.As(err, &x) && x.err == nil:
		return ""
	}
	var u *usageError
	if errors.As(err, &u) && u.cmd == "" {
		return u.err.Error() + "\nusage: s3bridge COMMAND [flags] [args] (commands: s3bridge help)"
	}
	return err.Error()
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: s3bridge COMMAND [flags] [args]")
	fmt.Fprintln(w, "\nInstances are named by URL: postgres://user@host:5432/db, mysql://user:pass@host:3306/db, sqlite:///path/file.db")
	fmt.Fprintln(w, "(--db, or the S3BRIDGE_DB variable). Credentials for S3 come from the standard AWS_* variables and profiles.")
	fmt.Fprintln(w, "Flags may come before or after the arguments; -- ends them. Exit status: 0 success, 1 failure (policy simulate: denied), 2 usage.")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-18s %s\n", c.name, c.help)
	}
	fmt.Fprintln(w, "\ns3bridge help COMMAND, or s3bridge COMMAND --help, shows a command's flags, arguments and an example.")
}

// usageLine is a command's usage after its name.
func usageLine(name string) string {
	for _, c := range commands() {
		if c.name == name {
			return c.usage
		}
	}
	return "[flags] [args]"
}

// argNames are a command's positional argument names, in order.
func argNames(name string) []string {
	var out []string
	for _, c := range commands() {
		if c.name == name {
			for _, a := range c.args {
				out = append(out, a.name)
			}
		}
	}
	return out
}

// runHelp is "s3bridge help [COMMAND]": a command's help is what its
// --help prints, so it runs the command with --help.
func runHelp(e *env, args []string) error {
	if len(args) == 0 {
		usage(e.stdout)
		return nil
	}
	c, _, ok := lookup(args)
	if !ok {
		return &usageError{cmd: "", err: fmt.Errorf("help: unknown command %q", strings.Join(args, " "))}
	}
	if c.run == nil {
		printHelp(e.stdout, c.name, nil)
		return nil
	}
	// Nothing runs: --help stops every command at its flags.
	err := c.run(context.Background(), e, []string{"--help"})
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// printHelp prints a command's help: usage, what it does, its arguments,
// its flags and an example.
func printHelp(w io.Writer, name string, fs *flag.FlagSet) {
	var c command
	for _, cc := range commands() {
		if cc.name == name {
			c = cc
		}
	}
	fmt.Fprintf(w, "usage: s3bridge %s %s\n\n%s\n", name, c.usage, c.help)
	if len(c.args) > 0 {
		fmt.Fprintln(w, "\narguments:")
		for _, a := range c.args {
			fmt.Fprintf(w, "  %-12s %s\n", a.name, a.help)
		}
	}
	if fs != nil {
		var flags []string
		fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f.Name) })
		if len(flags) > 0 {
			fmt.Fprintln(w, "\nflags:")
			fs.VisitAll(func(f *flag.Flag) { printFlag(w, f) })
		}
	}
	if c.example != "" {
		fmt.Fprintf(w, "\nexample:\n  %s\n", c.example)
	}
}

func printFlag(w io.Writer, f *flag.Flag) {
	kind, help := flag.UnquoteUsage(f)
	line := "  --" + f.Name
	if kind != "" {
		line += " " + kind
	}
	// A default taken from the environment ($S3BRIDGE_DB) may hold a
	// password: the help names the variable, never its value.
	if def := f.DefValue; def != "" && def != "false" && def != "0" && !strings.Contains(help, "$") {
		help += fmt.Sprintf(" (default %s)", def)
	}
	fmt.Fprintf(w, "%s\n      %s\n", line, help)
}
