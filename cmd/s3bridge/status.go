package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/control"
	"github.com/s3bridge/s3bridge/instance"
)

// row is task_status's row for t, as status --json and a task's command
// --json print it.
func row(t s3bridge.Task) control.Task { return control.ViewTask(t, time.Now()) }

func runStatus(ctx context.Context, e *env, args []string) error {
	var c common
	fs := newFlags("status", e, &c, withJSON)
	pos, err := fs.parse(args, 0, 1)
	if err != nil {
		return err
	}
	var id int64
	if len(pos) == 1 {
		if id, err = taskID(pos[0]); err != nil {
			return usageErrorf("status", "%v", err)
		}
	}
	return withInstance(ctx, &c, func(in instance.Instance) error {
		var tasks []s3bridge.Task
		if id != 0 {
			t, err := in.Task(ctx, id)
			if err != nil {
				return err
			}
			tasks = append(tasks, t)
		} else if tasks, err = in.Tasks(ctx); err != nil {
			return err
		}
		return printTasks(e, &c, tasks)
	})
}

func printTasks(e *env, c *common, tasks []s3bridge.Task) error {
	rows := make([]control.Task, 0, len(tasks))
	for _, t := range tasks {
		rows = append(rows, row(t))
	}
	if c.json {
		return writeJSON(e.stdout, rows)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TASK_ID\tTASK_TYPE\tLIFECYCLE\t%\tMINS\tCREATED_AT\tROWS\tFILES\tBYTES\tERROR_CODE\tTASK_INFO")
	for _, r := range rows {
		fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%.2f\t%s\t%d\t%d\t%d\t%s\t%s\n", r.TaskID, r.TaskType, r.Lifecycle, r.PercentComplete,
			r.DurationMins, r.CreatedAt.Format("2006-01-02 15:04:05"), r.RowsProcessed, r.FilesProcessed, r.BytesProcessed,
			cmp.Or(r.ErrorCode, "-"), r.TaskInfo)
	}
	return w.Flush()
}

// onTask runs fn on the instance for a command whose one argument is a
// task id.
func onTask(ctx context.Context, e *env, name string, args []string, fn func(c *common, in instance.Instance, id int64) error) error {
	var c common
	fs := newFlags(name, e, &c, withJSON)
	pos, err := fs.parse(args, 1, 1)
	if err != nil {
		return err
	}
	id, err := taskID(pos[0])
	if err != nil {
		return usageErrorf(name, "%v", err)
	}
	return withInstance(ctx, &c, func(in instance.Instance) error { return fn(&c, in, id) })
}

func runLog(ctx context.Context, e *env, args []string) error {
	return onTask(ctx, e, "log", args, func(c *common, in instance.Instance, id int64) error {
		// A task without lines and no task at all read the same from
		// the log table: ask for the task, which says not found.
		if _, err := in.Task(ctx, id); err != nil {
			return err
		}
		lines, err := in.TaskLog(ctx, id)
		if err != nil {
			return err
		}
		if c.json {
			return writeJSON(e.stdout, control.ViewLog(lines))
		}
		for _, l := range lines {
			fmt.Fprintln(e.stdout, l.String())
		}
		return nil
	})
}

func runCancel(ctx context.Context, e *env, args []string) error {
	return onTask(ctx, e, "cancel", args, func(c *common, in instance.Instance, id int64) error {
		lc, err := in.Cancel(ctx, id)
		if err != nil {
			return err
		}
		if c.json {
			return writeJSON(e.stdout, struct {
				TaskID    int64  `json:"task_id"`
				Lifecycle string `json:"lifecycle"`
			}{id, string(lc)})
		}
		fmt.Fprintf(e.stdout, "task %d %s\n", id, lc)
		return nil
	})
}

func runListFileDetails(ctx context.Context, e *env, args []string) error {
	return onTask(ctx, e, "list-file-details", args, func(c *common, in instance.Instance, id int64) error {
		return printFileDetails(ctx, e, c, in, id)
	})
}

func printFileDetails(ctx context.Context, e *env, c *common, in instance.Instance, id int64) error {
	files, err := in.FileDetails(ctx, id)
	if err != nil {
		return err
	}
	if c.json {
		type fileRow struct {
			FilePath        string    `json:"filepath"`
			SizeInBytes     int64     `json:"size_in_bytes"`
			LastModifiedUTC time.Time `json:"last_modified_utc"`
			IsDirectory     bool      `json:"is_directory"`
		}
		rows := make([]fileRow, 0, len(files))
		for _, f := range files {
			rows = append(rows, fileRow(f))
		}
		return writeJSON(e.stdout, rows)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "FILEPATH\tSIZE_IN_BYTES\tLAST_MODIFIED_UTC\tIS_DIRECTORY")
	for _, f := range files {
		fmt.Fprintf(w, "%s\t%d\t%s\t%t\n", f.FilePath, f.SizeInBytes, f.LastModifiedUTC.Format("2006-01-02 15:04:05"), f.IsDirectory)
	}
	return w.Flush()
}

// writeJSON writes v as the one JSON document of a command's --json
// output, on one line.
func writeJSON(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}
