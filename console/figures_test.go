package console

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/token"
)

// TestFiguresFollowTheInstance: the metrics' sums, kept between scrapes,
// equal at every scrape the sums over every task of the instance read
// afresh: after tasks are created, finish, and after a task appears
// below the last one read (a transaction that committed late).
func TestFiguresFollowTheInstance(t *testing.T) {
	f := newFixture(t, Config{})
	in := f.ins[0]
	sv := f.srv.instances[0]
	ctx := t.Context()
	check := func(when string) {
		t.Helper()
		got, err := sv.figures.read(ctx, sv.reads)
		if err != nil {
			t.Fatal(err)
		}
		all, err := in.Tasks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[typeLC]string{}
		counts := map[typeLC][4]float64{}
		for _, task := range all {
			k := typeLC{task.Type, task.Lifecycle}
			c := counts[k]
			c[0]++
			c[1] += float64(task.Bytes)
			c[2] += float64(task.Rows)
			if task.StartedAt != nil && task.FinishedAt != nil {
				c[3]++
			}
			counts[k] = c
		}
		for k, c := range counts {
			want[k] = fmt.Sprintf("%g %g %g %g", c[0], c[1], c[2], c[3])
		}
		have := map[typeLC]string{}
		for k, s := range got.tasks {
			have[k] = fmt.Sprintf("%d %g %g %d", s.count, s.bytes, s.rows, s.timed)
		}
		if fmt.Sprint(have) != fmt.Sprint(want) {
			t.Errorf("%s: figures %v, want %v", when, have, want)
		}
	}
	check("empty")
	a := enqueue(t, in, s3bridge.TaskUpload)
	b := enqueue(t, in, s3bridge.TaskLoadFromS3)
	enqueue(t, in, s3bridge.TaskExportToS3)
	check("three created")
	finish(t, in, a, s3bridge.Success, s3bridge.Result{Bytes: 100, Files: 1})
	check("one finished")
	task, err := in.ClaimTask(ctx, b, "agent-1", time.Minute)
	if err != nil || task == nil {
		t.Fatal(task, err)
	}
	check("one running")
	if err := in.Finish(ctx, task.Claim(), s3bridge.Failed, s3bridge.Result{Rows: 5, Bytes: 9}); err != nil {
		t.Fatal(err)
	}
	enqueue(t, in, s3bridge.TaskUpload)
	check("two finished, one more created")
	// Tasks committed out of id order: 100 is read, then 50 appears.
	insert := func(id int64, lc s3bridge.Lifecycle, bytes int64) {
		now := time.Now().UTC()
		if _, err := in.DB().ExecContext(ctx, `INSERT INTO "s3bridge_tasks" (task_id, task_type, lifecycle, created_at, last_updated,
			started_at, finished_at, task_metadata, bytes_processed) VALUES (?, 'UPLOAD_TO_S3', ?, ?, ?, ?, ?, '{}', ?)`,
			id, string(lc), now, now, now.Add(-10*time.Second), now, bytes); err != nil {
			t.Fatal(err)
		}
	}
	insert(100, s3bridge.Success, 1000)
	check("a task far ahead")
	insert(50, s3bridge.Success, 7)
	check("a task committed late, below the last read")
	if sv.figures.upTo != 100 || sv.figures.count != 6 {
		t.Errorf("read up to %d, %d tasks; want 100, 6", sv.figures.upTo, sv.figures.count)
	}
}

// TestMetricsHistogramAndConnectors: a finished task's run time falls in
// its buckets, and a stored connector's runs are counted by status with
// the time of its last success; a deleted connector's are left out.
func TestMetricsHistogramAndConnectors(t *testing.T) {
	f := newFixture(t, Config{})
	stock(t, f) // connector c1
	in := f.ins[0]
	ctx := t.Context()
	id := enqueue(t, in, s3bridge.TaskExportToS3)
	finish(t, in, id, s3bridge.Success, s3bridge.Result{Rows: 3})
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	if _, err := in.DB().ExecContext(ctx, `UPDATE "s3bridge_tasks" SET started_at = ?, finished_at = ? WHERE task_id = ?`,
		start, start.Add(10*time.Second), id); err != nil {
		t.Fatal(err)
	}
	run := s3bridge.Task{Type: s3bridge.TaskImportFromS3, S3ObjectARN: "arn:aws:s3:::bkt/in/", Metadata: []byte(`{}`)}
	var last time.Time
	for _, lc := range []s3bridge.Lifecycle{s3bridge.Success, s3bridge.Failed, s3bridge.Success} {
		rid, err := in.EnqueueConnector(ctx, "c1", run)
		if err != nil {
			t.Fatal(err)
		}
		finish(t, in, rid, lc, s3bridge.Result{Rows: 2})
		done, _ := in.Task(ctx, rid)
		if lc == s3bridge.Success {
			last = *done.FinishedAt
		}
	}
	if _, err := in.EnqueueConnector(ctx, "gone", run); err != nil {
		t.Fatal(err)
	}
	res := f.do("GET", "/metrics", f.tokens[token.Viewer], nil)
	defer res.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	labels := func(m *dto.Metric) string {
		var out []string
		for _, l := range m.GetLabel() {
			out = append(out, l.GetName()+"="+l.GetValue())
		}
		return strings.Join(out, ",")
	}
	var hist *dto.Histogram
	for _, m := range fams["s3bridge_task_duration_seconds"].GetMetric() {
		if labels(m) == "database=app,outcome=SUCCESS,type=EXPORT_TO_S3" {
			hist = m.GetHistogram()
		}
	}
	if hist == nil || hist.GetSampleCount() != 1 || hist.GetSampleSum() != 10 {
		t.Fatalf("histogram of the export: %v", hist)
	}
	for _, b := range hist.GetBucket() {
		want := uint64(0)
		if b.GetUpperBound() >= 10 {
			want = 1
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("bucket le=%g: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
	var runs []string
	for _, m := range fams["s3bridge_connector_runs_total"].GetMetric() {
		runs = append(runs, fmt.Sprintf("%s=%g", labels(m), m.GetCounter().GetValue()))
	}
	slices.Sort(runs)
	if want := []string{"connector=c1,database=app,status=ERROR=1", "connector=c1,database=app,status=SUCCESS=2"}; !slices.Equal(runs, want) {
		t.Errorf("connector runs: %v, want %v", runs, want)
	}
	ms := fams["s3bridge_connector_last_success_timestamp_seconds"].GetMetric()
	if len(ms) != 1 || ms[0].GetGauge().GetValue() != float64(last.UnixMilli())/1000 {
		t.Errorf("last success: %v, want %v", ms, float64(last.UnixMilli())/1000)
	}
	for _, m := range fams["s3bridge_rows_total"].GetMetric() {
		if labels(m) == "database=app,kind=load" && m.GetCounter().GetValue() != 6 {
			t.Errorf("rows loaded: %g, want 6 (the connector runs')", m.GetCounter().GetValue())
		}
	}
}
