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
	"syscall"
)

type command struct {
	name, args, help string
	run              func(ctx context.Context, env *env, args []string) error
}

// env is what every command gets: its outputs and the process environment,
// passed in rather than read from globals so commands are testable.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

func commands() []command {
	return []command{
		{"quickstart", "", "run the main job end to end on an embedded S3 endpoint and a SQLite file: no servers needed", runQuickstart},
		{"attach", "--db URL [--area DIR] [--dir NAME=PATH]…", "install or upgrade the s3bridge schema and settings in a database", runAttach},
		{"detach", "--db URL", "remove the SQL interface, keep tasks and files", runDetach},
		{"agent", "--db URL [--db URL]…", "run tasks for one or more instances until SIGTERM", runAgent},
		{"upload", "--db URL --bucket B --directory D [--prefix P] [--s3-prefix SP]", "Oracle upload_to_s3: files of a directory object to S3", runUploadDir},
		{"download", "--db URL --bucket B --directory D [--s3-prefix SP]", "Oracle download_from_s3: objects under a prefix to a directory object", runDownloadDir},
		{"upload-file", "--db URL [--overwrite] FILE_PATH S3_ARN", "SQL Server rds_upload_to_s3: one file of the area to S3", runUploadFile},
		{"download-file", "--db URL [--overwrite] S3_ARN [FILE_PATH]", "SQL Server rds_download_from_s3: one object into the area", runDownloadFile},
		{"list-files", "--db URL", "gather and list the files in the file area", runListFiles},
		{"list-file-details", "--db URL TASK_ID", "list what a gather task found", runListFileDetails},
		{"delete-file", "--db URL [--force] FILE_PATH", "SQL Server rds_delete_from_filesystem", runDeleteFile},
		{"load", "--db URL --table T [--prefix|--manifest] [--format F] [options] S3_URI", "bulk-load objects into a table (LOAD DATA FROM S3)", runLoad},
		exportCommand(),
		{"sql", "--db URL \"LOAD DATA FROM S3 …\" | \"SELECT … INTO OUTFILE S3 …\"", "run an Aurora S3 statement", runSQL},
		{"s3-cat", "[--region R] [--size] S3_URI (instance settings in S3BRIDGE_SETTINGS)", "write an object, decompressed, to stdout, as the instance's loads read it (run by table_import_from_s3)", runS3Cat},
		{"policy", "--feature F --bucket B [--prefix P]… | --db URL", "print the least-privilege IAM policy and trust policy", runPolicy},
		{"policy simulate", "--policy FILE --action A --resource ARN [--context K=V]…", "evaluate a request: allowed, explicitDeny or implicitDeny", nil},
		{"check", "--db URL [--bucket B]", "probe the buckets with the agent's credentials: missing permissions, public access, region", runCheck},
		{"status", "--db URL [TASK_ID]", "task_status: all tasks, or one", runStatus},
		{"log", "--db URL TASK_ID", "read_task_log: a task's log lines", runLog},
		{"cancel", "--db URL TASK_ID", "cancel_task", runCancel},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	if err := run(ctx, e, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "s3bridge:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] && c.run != nil {
			return c.run(ctx, e, args[1:])
		}
	}
	usage(e.stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: s3bridge COMMAND [flags] [args]")
	fmt.Fprintln(w, "\nInstances are named by URL: postgres://user@host:5432/db, mysql://user:pass@host:3306/db, sqlite:///path/file.db")
	fmt.Fprintln(w, "(--db, or the S3BRIDGE_DB variable). Credentials for S3 come from the standard AWS_* variables and profiles.")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-18s %s\n  %-18s   %s\n", c.name, c.help, "", c.args)
	}
}
