package instancetest

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
)

// operatorReads are the reads the console and its metrics make of an
// instance (issue 12): one statement each, whatever the task count.
type operatorReads interface {
	TaskPage(ctx context.Context, q sqlstore.TaskQuery) ([]s3bridge.Task, error)
	TasksByID(ctx context.Context, ids []int64) ([]s3bridge.Task, error)
	TaskLogAfter(ctx context.Context, ids []int64, after int64) ([]sqlstore.TaskLogLine, error)
	TaskFigures(ctx context.Context, after int64, ids []int64) ([]sqlstore.TaskFigure, error)
	CountTasks(ctx context.Context, upTo int64) (int64, error)
	EnqueueConnector(ctx context.Context, name string, t s3bridge.Task) (int64, error)
}

// testTaskList: pages of the task list, newest first, hold every task
// once in the order Tasks gives when sorted by (created_at, id)
// descending, and the filters keep what they say; the totals by type and
// lifecycle, the connector totals, the tasks by id and the log lines
// after a line agree with the tasks one by one.
func testTaskList(t *testing.T, in instance.Instance) {
	ctx := t.Context()
	ops, ok := in.(operatorReads)
	if !ok {
		t.Fatalf("%T lacks the console's reads (TaskPage, TaskTotals…)", in)
	}
	types := []s3bridge.TaskType{s3bridge.TaskUpload, s3bridge.TaskDownload, s3bridge.TaskUpload, s3bridge.TaskLoadFromS3,
		s3bridge.TaskUpload, s3bridge.TaskDownload, s3bridge.TaskExportToS3, s3bridge.TaskUpload, s3bridge.TaskLoadFromS3, s3bridge.TaskUpload}
	var ids []int64
	for _, typ := range types {
		ids = append(ids, enqueue(t, in, typ))
	}
	if _, err := in.Cancel(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	done, err := in.ClaimTask(ctx, ids[3], "agent-1", time.Minute)
	if err != nil || done == nil {
		t.Fatalf("claim task %d: %v, %v", ids[3], done, err)
	}
	if err := in.Finish(ctx, done.Claim(), s3bridge.Success, s3bridge.Result{Info: "loaded", Rows: 70, Bytes: 7000, Files: 1}); err != nil {
		t.Fatal(err)
	}
	all, err := in.Tasks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	newest := slices.Clone(all)
	slices.SortFunc(newest, func(a, b s3bridge.Task) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	idsOf := func(ts []s3bridge.Task) []int64 {
		out := []int64{}
		for _, t := range ts {
			out = append(out, t.ID)
		}
		return out
	}

	// Paging by the last task's key, 3 at a time.
	var paged []s3bridge.Task
	q := sqlstore.TaskQuery{Limit: 3}
	for range len(all) {
		page, err := ops.TaskPage(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 3 {
			t.Fatalf("a page of %d tasks, limit 3", len(page))
		}
		paged = append(paged, page...)
		if len(page) < 3 {
			break
		}
		last := page[len(page)-1]
		q.Before = &sqlstore.TaskKey{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	if got, want := idsOf(paged), idsOf(newest); !slices.Equal(got, want) {
		t.Errorf("paged ids %v, want %v", got, want)
	}
	if len(paged) == len(newest) && paged[0].Lifecycle != newest[0].Lifecycle {
		t.Errorf("a paged task differs from Tasks': %+v vs %+v", paged[0], newest[0])
	}

	// Filters, each against the same filter applied to Tasks.
	keep := func(f func(s3bridge.Task) bool) []int64 {
		var out []s3bridge.Task
		for _, t := range newest {
			if f(t) {
				out = append(out, t)
			}
		}
		return idsOf(out)
	}
	mid := newest[len(newest)/2].CreatedAt
	filters := []struct {
		name string
		q    sqlstore.TaskQuery
		want []int64
	}{
		{"types", sqlstore.TaskQuery{Types: []s3bridge.TaskType{s3bridge.TaskDownload, s3bridge.TaskExportToS3}, Limit: 100},
			keep(func(t s3bridge.Task) bool {
				return t.Type == s3bridge.TaskDownload || t.Type == s3bridge.TaskExportToS3
			})},
		{"lifecycles", sqlstore.TaskQuery{Lifecycles: []s3bridge.Lifecycle{s3bridge.Cancelled, s3bridge.Success}, Limit: 100},
			[]int64{ids[3], ids[1]}},
		{"type and lifecycle", sqlstore.TaskQuery{Types: []s3bridge.TaskType{s3bridge.TaskUpload}, Lifecycles: []s3bridge.Lifecycle{s3bridge.Created}, Limit: 100},
			keep(func(t s3bridge.Task) bool { return t.Type == s3bridge.TaskUpload && t.Lifecycle == s3bridge.Created })},
		{"since", sqlstore.TaskQuery{Since: mid, Limit: 100}, keep(func(t s3bridge.Task) bool { return !t.CreatedAt.Before(mid) })},
		{"since later", sqlstore.TaskQuery{Since: time.Now().Add(time.Hour)}, []int64{}},
		{"limit", sqlstore.TaskQuery{Limit: 2}, idsOf(newest[:2])},
	}
	for _, f := range filters {
		got, err := ops.TaskPage(ctx, f.q)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if !slices.Equal(idsOf(got), f.want) {
			t.Errorf("%s: ids %v, want %v", f.name, idsOf(got), f.want)
		}
	}

	// Figures: after an id, plus the ids asked for at or below it, in id
	// order, each with what Tasks shows of it.
	asRead := map[int64]s3bridge.Task{}
	for _, t := range all {
		asRead[t.ID] = t
	}
	figs, err := ops.TaskFigures(ctx, ids[5], []int64{ids[1], ids[3], ids[7], 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	var figIDs []int64
	for _, f := range figs {
		figIDs = append(figIDs, f.ID)
		want := asRead[f.ID]
		if f.Type != want.Type || f.Lifecycle != want.Lifecycle || f.Bytes != want.Bytes || f.Rows != want.Rows || f.Connector != "" ||
			(f.FinishedAt == nil) != (want.FinishedAt == nil) || (f.StartedAt == nil) != (want.StartedAt == nil) {
			t.Errorf("figures of task %d: %+v, want those of %+v", f.ID, f, want)
		}
	}
	if want := append([]int64{ids[1], ids[3]}, ids[6:]...); !slices.Equal(figIDs, want) {
		t.Errorf("figures after task %d and of %d, %d, %d: ids %v, want %v", ids[5], ids[1], ids[3], ids[7], figIDs, want)
	}
	for _, upTo := range []int64{0, ids[4], ids[9], 1 << 40} {
		want := int64(0)
		for _, t := range all {
			if t.ID <= upTo {
				want++
			}
		}
		if n, err := ops.CountTasks(ctx, upTo); err != nil || n != want {
			t.Errorf("tasks up to %d: %d, %v; want %d", upTo, n, err, want)
		}
	}

	// Tasks by id: the ones that exist, in id order.
	byID, err := ops.TasksByID(ctx, []int64{ids[4], ids[0], 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	if got := idsOf(byID); !slices.Equal(got, []int64{ids[0], ids[4]}) {
		t.Errorf("tasks by id: %v, want %v", got, []int64{ids[0], ids[4]})
	}

	// Log lines after a line: those of the tasks asked for, in order.
	line := func(id int64, msg string) {
		if err := in.Log(ctx, id, s3bridge.LogLine{Time: time.Now(), Level: s3bridge.LevelInfo, Message: msg}); err != nil {
			t.Fatal(err)
		}
	}
	before, err := ops.TaskLogAfter(ctx, []int64{ids[5], ids[6]}, 0)
	if err != nil || len(before) != 0 {
		t.Fatalf("log of tasks that logged nothing: %v, %v", before, err)
	}
	line(ids[5], "a1")
	line(ids[6], "b1")
	line(ids[7], "c1")
	line(ids[5], "a2")
	lines, err := ops.TaskLogAfter(ctx, []int64{ids[5], ids[6]}, 0)
	if err != nil {
		t.Fatal(err)
	}
	msgs := func(ls []sqlstore.TaskLogLine) (out []string) {
		for _, l := range ls {
			out = append(out, l.Message)
		}
		return out
	}
	if got := msgs(lines); !slices.Equal(got, []string{"a1", "b1", "a2"}) || lines[0].TaskID != ids[5] || lines[1].TaskID != ids[6] {
		t.Fatalf("log after 0: %v", lines)
	}
	later, err := ops.TaskLogAfter(ctx, []int64{ids[5], ids[6]}, lines[0].LineID)
	if err != nil || !slices.Equal(msgs(later), []string{"b1", "a2"}) {
		t.Errorf("log after the first line: %v, %v", msgs(later), err)
	}

	// A connector's runs carry its name.
	run := s3bridge.Task{Type: s3bridge.TaskImportFromS3, S3ObjectARN: "arn:aws:s3:::b/in/", Metadata: []byte(`{}`)}
	runID, err := ops.EnqueueConnector(ctx, "events", run)
	if err != nil {
		t.Fatal(err)
	}
	figs, err = ops.TaskFigures(ctx, runID-1, nil)
	if err != nil || len(figs) != 1 || figs[0].ID != runID || figs[0].Connector != "events" || figs[0].Lifecycle != s3bridge.Created {
		t.Errorf("figures of connector run %d: %+v, %v", runID, figs, err)
	}
}
