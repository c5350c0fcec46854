package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/agent"
	"github.com/s3bridge/s3bridge/control"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/transfer"
)

// submit enqueues a task and, unless async, runs it in this process with a
// progress bar, failing when the task does not succeed.
func submit(ctx context.Context, e *env, c *common, in instance.Instance, t s3bridge.Task) error {
	_, err := submitID(ctx, e, c, in, t)
	return err
}

// submitID is submit returning the task id. It prints the task: its id
// (--async) or "task N LIFECYCLE: info" on stdout, or with --json the task
// as status --json shows it, and nothing else there; the progress bar and
// logs go to stderr.
func submitID(ctx context.Context, e *env, c *common, in instance.Instance, t s3bridge.Task) (int64, error) {
	if c.async {
		id, err := in.Enqueue(ctx, t)
		if err != nil {
			return 0, err
		}
		if !c.json {
			fmt.Fprintln(e.stdout, id)
			return id, nil
		}
		queued, err := in.Task(ctx, id)
		if err != nil {
			return id, err
		}
		return id, writeJSON(e.stdout, row(queued))
	}
	log := c.logger(e.stderr)
	bar := newProgressBar(e.stderr)
	st := newStores(e.getenv, log)
	a := agent.New(agent.Config{Log: log, Version: versionString(), Lease: taskLease, Progress: func(_, done, total int64) { bar.update(done, total) }}, st.runners())
	if c.settings != nil {
		// What the task asks of S3 first is made ready while the database
		// enqueues it (stores.warm).
		defer st.warm(ctx, *c.settings, in.Name(), t)()
	}
	id, task, err := enqueueClaim(ctx, in, t, a.ID())
	if err != nil {
		return 0, err
	}
	// Ctrl-C cancels the task, as cancel_task would, instead of leaving it
	// to an agent: the user asked it to stop.
	stopWatch := context.AfterFunc(ctx, func() { in.Cancel(context.WithoutCancel(ctx), id) })
	defer stopWatch()
	var done s3bridge.Task
	for !done.Lifecycle.Final() {
		if task == nil {
			var final s3bridge.Task
			if task, final, err = claimOrFollow(ctx, e, in, id, a.ID(), bar); err != nil {
				return id, err
			}
			if done = final; task == nil {
				break
			}
		}
		// Run here; should this process lose the task (its lease, to an
		// agent), the loop follows it to its end.
		a.Execute(context.WithoutCancel(ctx), in, task)
		task = nil
		if done, err = in.Task(context.WithoutCancel(ctx), id); err != nil {
			return id, err
		}
	}
	bar.finish()
	lc := done.Lifecycle
	if c.json {
		if err := writeJSON(e.stdout, row(done)); err != nil {
			return id, err
		}
	}
	if lc != s3bridge.Success {
		return id, fmt.Errorf("task %d %s: %s", id, done.Lifecycle, done.TaskInfo)
	}
	if !c.json {
		fmt.Fprintf(e.stdout, "task %d %s: %s\n", id, done.Lifecycle, done.TaskInfo)
	}
	return id, nil
}

// enqueueClaim enqueues t claimed by agentID where the instance can do
// both in one transaction: an agent woken by the new task can't take it
// first and leave this command to follow it, and a short task costs one
// commit before it runs. Elsewhere (a wrapper that records the task its
// own way) it only enqueues, and claimOrFollow claims.
func enqueueClaim(ctx context.Context, in instance.Instance, t s3bridge.Task, agentID string) (int64, *s3bridge.Task, error) {
	if ec, ok := in.(instance.EnqueueClaimer); ok {
		return ec.EnqueueClaim(ctx, t, agentID, taskLease)
	}
	id, err := in.Enqueue(ctx, t)
	return id, nil, err
}

// taskLease is the lease of a task this process runs, as an agent's
// (agent.Config.Lease's default): another agent takes the task over when
// this process dies and stops heartbeating.
const taskLease = 15 * time.Second

// Following an agent's task polls its row, first often, so that a short
// task's outcome shows at once, then every followMax.
const (
	followMin = 5 * time.Millisecond
	followMax = 200 * time.Millisecond
)

// claimOrFollow runs task id in this process when it can claim it
// (waiting while the instance runs its limit of that kind), and otherwise
// follows it while an agent runs it, feeding the progress bar from the
// task row, until it ends: whoever runs the task, the command reports its
// real outcome. It returns the claimed task, or the final row of a task an
// agent ran. A task whose agent dies is taken over here after its lease.
// Ctrl-C has asked for a cancel (the caller's AfterFunc); the command then
// returns at once.
func claimOrFollow(ctx context.Context, e *env, in instance.Instance, id int64, agentID string, bar *progressBar) (*s3bridge.Task, s3bridge.Task, error) {
	following := ""
	wait := followMin
	for {
		task, err := in.ClaimTask(ctx, id, agentID, taskLease)
		if err != nil || task != nil {
			return task, s3bridge.Task{}, err
		}
		t, err := in.Task(ctx, id)
		if err != nil {
			return nil, t, err
		}
		if t.Lifecycle.Final() {
			return nil, t, nil
		}
		if t.Lifecycle != s3bridge.Created {
			if t.Agent != following {
				following = t.Agent
				fmt.Fprintf(e.stderr, "task %d is run by agent %s; following it\n", id, t.Agent)
			}
			bar.update(int64(t.PercentComplete), 100)
		}
		select {
		case <-ctx.Done():
			return nil, t, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, followMax)
	}
}

// withInstance runs fn on the attached instance c.db names. A database
// s3bridge is not attached to is refused with errNotAttached before fn
// runs, and a SQLite file that doesn't exist is not created.
func withInstance(ctx context.Context, c *common, fn func(in instance.Instance) error) error {
	in, set, err := openAttachedSettings(ctx, c.db)
	if err != nil {
		return err
	}
	defer in.Close()
	c.settings = &set
	return explainQuery(fn(in))
}

func runUploadDir(ctx context.Context, e *env, args []string) error {
	var c common
	var r control.UploadRequest
	fs := newFlags("upload", e, &c, withAsync|withJSON)
	fs.StringVar(&r.Bucket, "bucket", "", "p_bucket_name: the bucket to upload to")
	fs.StringVar(&r.Directory, "directory", s3bridge.DefaultDirectory, "p_directory_name: the directory object to upload from")
	fs.StringVar(&r.Prefix, "prefix", "", "p_prefix: upload only files whose names start with this")
	fs.StringVar(&r.S3Prefix, "s3-prefix", "", "p_s3_prefix: prepended to each file name to make its key")
	fs.IntVar(&r.CompressionLevel, "compression-level", 0, "p_compression_level: gzip level 1-9, 0 for none")
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	return submitRequest(ctx, e, &c, "upload", r.Task)
}

func runDownloadDir(ctx context.Context, e *env, args []string) error {
	var c common
	var r control.DownloadRequest
	fs := newFlags("download", e, &c, withAsync|withJSON)
	fs.StringVar(&r.Bucket, "bucket", "", "p_bucket_name: the bucket to download from")
	fs.StringVar(&r.Directory, "directory", s3bridge.DefaultDirectory, "p_directory_name: the directory object to download to")
	fs.StringVar(&r.S3Prefix, "s3-prefix", "", "p_s3_prefix: only objects directly under it (Oracle's rules)")
	fs.BoolVar(&r.Gunzip, "gunzip", false, "p_decompression_format GZIP: decompress gzip objects")
	fs.BoolVar(&r.ErrorOnZero, "error-on-zero", false, "p_error_on_zero_downloads TRUE: fail when nothing matches")
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	return submitRequest(ctx, e, &c, "download", r.Task)
}

// submitRequest builds a task the way the HTTP API does (package
// control) and submits it; a request it refuses is a command line that
// can't run (exit 2), before any task exists.
func submitRequest(ctx context.Context, e *env, c *common, cmd string, build func() (s3bridge.Task, error)) error {
	t, err := build()
	var bad *control.Invalid
	if errors.As(err, &bad) {
		return usageErrorf(cmd, "--%w", bad.Err)
	}
	if err != nil {
		return err
	}
	return withInstance(ctx, c, func(in instance.Instance) error { return submit(ctx, e, c, in, t) })
}

func runUploadFile(ctx context.Context, e *env, args []string) error {
	var c common
	var overwrite bool
	fs := newFlags("upload-file", e, &c, withAsync|withJSON)
	fs.BoolVar(&overwrite, "overwrite", false, "overwrite_file: replace an existing object")
	pos, err := fs.parse(args, 2, 2)
	if err != nil {
		return err
	}
	if err := checkObjectURI("upload-file", pos[1]); err != nil {
		return err
	}
	return withInstance(ctx, &c, func(in instance.Instance) error {
		return submit(ctx, e, &c, in, transfer.UploadFileTask(pos[0], pos[1], overwrite))
	})
}

func runDownloadFile(ctx context.Context, e *env, args []string) error {
	var c common
	var overwrite bool
	fs := newFlags("download-file", e, &c, withAsync|withJSON)
	fs.BoolVar(&overwrite, "overwrite", false, "overwrite_file: replace an existing file")
	pos, err := fs.parse(args, 1, 2)
	if err != nil {
		return err
	}
	if err := checkObjectURI("download-file", pos[0]); err != nil {
		return err
	}
	path := ""
	if len(pos) == 2 {
		path = pos[1]
	}
	return withInstance(ctx, &c, func(in instance.Instance) error {
		return submit(ctx, e, &c, in, transfer.DownloadFileTask(pos[0], path, overwrite))
	})
}

func runListFiles(ctx context.Context, e *env, args []string) error {
	var c common
	fs := newFlags("list-files", e, &c, withAsync|withJSON)
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	return withInstance(ctx, &c, func(in instance.Instance) error {
		out := e
		if !c.async {
			out = &env{stdout: discard{}, stderr: e.stderr, getenv: e.getenv}
		}
		id, err := submitID(ctx, out, &c, in, transfer.GatherTask())
		if err != nil || c.async {
			return err
		}
		return printFileDetails(ctx, e, &c, in, id)
	})
}

func runDeleteFile(ctx context.Context, e *env, args []string) error {
	var c common
	var force bool
	fs := newFlags("delete-file", e, &c, withAsync|withJSON)
	fs.BoolVar(&force, "force", false, "force_delete: needed to delete a directory (path ending in /)")
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	return withInstance(ctx, &c, func(in instance.Instance) error {
		return submit(ctx, e, &c, in, transfer.DeleteTask(pos[0], force))
	})
}

// checkBucket refuses a missing or malformed --bucket before a task
// exists, as a command line that can't run (exit 2).
func checkBucket(cmd, bucket string) error {
	if err := control.CheckBucket(bucket); err != nil {
		return usageErrorf(cmd, "--%w", err)
	}
	return nil
}

// checkObjectURI refuses, before a task exists, an S3 URI or ARN that
// can't name one object, by the rules the transfer runner applies: a
// malformed one is a command line that can't run (exit 2), not a task
// that fails.
func checkObjectURI(cmd, uri string) error {
	if err := control.CheckObjectURI(uri); err != nil {
		return usageErrorf(cmd, "%w", err)
	}
	return nil
}

func taskID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 0 {
		return 0, fmt.Errorf("task id %q: want a number", s)
	}
	return id, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
