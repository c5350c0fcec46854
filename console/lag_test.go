package console

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/control"
	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/writer"
	"github.com/s3bridge/s3bridge/token"
)

// setPipeline writes a pipeline's checkpoint and stats as its agent
// would, straight into the SQLite row.
func setPipeline(t *testing.T, f *fixture, name string, cp writer.Checkpoint, stats map[string]any) {
	t.Helper()
	c, _ := json.Marshal(cp)
	s, _ := json.Marshal(stats)
	if _, err := f.ins[0].DB().ExecContext(t.Context(), `UPDATE "s3bridge_pipelines" SET checkpoint = ?, stats = ? WHERE name = ?`,
		string(c), string(s), name); err != nil {
		t.Fatal(err)
	}
}

// TestPipelineTablesAndLag: a pipeline's page and show answer hold its
// tables as its checkpoint records them (schema version, columns, last
// change file, snapshots) and the lag samples of the last hour, drawn as
// a chart on the page.
func TestPipelineTablesAndLag(t *testing.T) {
	f := newFixture(t, Config{})
	stock(t, f)
	cp := writer.Checkpoint{LSN: 0x16B3748, Tables: map[string]writer.TableMark{
		"public.t": {Schema: &pipeline.TableSchema{Database: "db", Schema: "public", Table: "t", Version: 3,
			Columns: []pipeline.Column{{Name: "id"}, {Name: "note"}}},
			File: "cdc/db/public/t/changes/00000000016B3700.avro", Snapshot: "snap-2", Parts: 4,
			Earlier: []writer.SnapshotMark{{ID: "snap-1", Parts: 2}, {ID: "snap-0", Parts: 1}}},
		"public.a": {Partial: &writer.PartialSnapshot{ID: "snap-9", Chunks: 8, Done: []int{0, 1, 2}}},
	}}
	setPipeline(t, f, "p1", cp, map[string]any{"lag_seconds": 2.5, "rows_per_second": 120.0, "last_file": "x", "rows": 42})
	var d pipelineDetail
	if status := f.getJSON("/api/instances/app/pipelines/p1", &d); status != http.StatusOK {
		t.Fatalf("show: %d", status)
	}
	want := []control.PipelineTable{
		{Table: "public.a", SnapshotInProgress: "3/8"},
		{Table: "public.t", SchemaVersion: 3, Columns: []string{"id", "note"}, LastFile: "cdc/db/public/t/changes/00000000016B3700.avro",
			Snapshot: "snap-2", SnapshotChunks: 4, EarlierSnapshots: 2, EarlierChunks: 3},
	}
	got, _ := json.Marshal(d.Tables)
	wantJSON, _ := json.Marshal(want)
	if string(got) != string(wantJSON) {
		t.Errorf("tables:\n got %s\nwant %s", got, wantJSON)
	}
	if len(d.LagSamples) != 1 || d.LagSamples[0].LagSeconds != 2.5 || d.LagSamples[0].RowsPerSecond != 120 {
		t.Errorf("lag samples: %+v", d.LagSamples)
	}
	res := f.do("GET", "/instances/app/pipelines/p1", f.tokens[token.Viewer], nil)
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, s := range []string{"<polyline", "public.t", "snap-2", "00000000016B3700.avro", "copying: 3/8 chunks"} {
		if !strings.Contains(string(page), s) {
			t.Errorf("the pipeline page lacks %q", s)
		}
	}
}

// TestLags: samples closer than minLagGap are not kept, samples leave
// after the window, a pipeline without a reported lag has none, and the
// chart spans the window with the highest lag at the top.
func TestLags(t *testing.T) {
	l := newLags(time.Hour)
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	p := func(lag float64) control.Pipeline {
		return control.Pipeline{Name: "p", Stats: map[string]any{"lag_seconds": lag}}
	}
	l.record("app", p(1), t0)
	l.record("app", p(9), t0.Add(time.Second)) // too close: dropped
	l.record("app", p(4), t0.Add(30*time.Minute))
	l.record("app", control.Pipeline{Name: "p"}, t0.Add(40*time.Minute)) // no figure
	got := l.samples("app", "p", t0.Add(45*time.Minute))
	if len(got) != 2 || got[0].LagSeconds != 1 || got[1].LagSeconds != 4 {
		t.Errorf("samples: %+v", got)
	}
	if got := l.samples("app", "p", t0.Add(75*time.Minute)); len(got) != 1 || got[0].LagSeconds != 4 {
		t.Errorf("samples an hour later: %+v", got)
	}
	if got := l.samples("app", "other", t0); len(got) != 0 {
		t.Errorf("an unknown pipeline's samples: %+v", got)
	}
	c := chartLag([]lagSample{{At: t0, LagSeconds: 2}, {At: t0.Add(30 * time.Minute), LagSeconds: 4}}, t0.Add(time.Hour), time.Hour)
	if c.Points != "0.0,52.5 300.0,5.0" || c.Max != 4 || c.Samples != 2 {
		t.Errorf("chart: %+v", c)
	}
}

// TestSampleLags: Run's sampler records every served pipeline's lag
// each LagEvery, until its context ends.
func TestSampleLags(t *testing.T) {
	var tick atomic.Int64
	start := time.Now()
	// Each reading of the clock is a minute later: every sample is kept.
	now := func() time.Time { return start.Add(time.Duration(tick.Add(1)) * time.Minute / 8) }
	f := newFixture(t, Config{LagEvery: 5 * time.Millisecond, Now: now})
	stock(t, f)
	setPipeline(t, f, "p1", writer.Checkpoint{}, map[string]any{"lag_seconds": 1.0})
	done := make(chan error, 1)
	ctx, stop := context.WithCancel(t.Context())
	go func() { done <- f.srv.sampleLags(ctx) }()
	waitFor(t, "three samples", func() bool { return len(f.srv.lags.samples("app", "p1", now())) >= 3 })
	stop()
	if err := <-done; err != nil {
		t.Errorf("the sampler ended with %v", err)
	}
}
