package console

import (
	"encoding/json"
	"io"
	"net/http"
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

// TestOpenAPICoversRoutes: the OpenAPI document has every API route of
// the table, with its method and role, and nothing else.
func TestOpenAPICoversRoutes(t *testing.T) {
	f := newFixture(t, Config{})
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if status := f.getJSON("/api/openapi.json", &doc); status != 200 || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi.json: %d, version %q", status, doc.OpenAPI)
	}
	want := map[string]bool{}
	for _, rt := range f.srv.Routes() {
		if !rt.API && rt.Pattern != "/metrics" {
			continue
		}
		key := strings.ToLower(rt.Method) + " " + rt.Pattern
		want[key] = true
		raw, ok := doc.Paths[rt.Pattern][strings.ToLower(rt.Method)]
		if !ok {
			t.Errorf("%s %s is not in openapi.json", rt.Method, rt.Pattern)
			continue
		}
		var op struct {
			Role string `json:"x-s3bridge-role"`
		}
		json.Unmarshal(raw, &op)
		if op.Role != string(rt.Role) {
			t.Errorf("%s %s: openapi.json says role %q, the route needs %q", rt.Method, rt.Pattern, op.Role, rt.Role)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if !want[method+" "+path] {
				t.Errorf("openapi.json has %s %s, which no route serves", method, path)
			}
		}
	}
}

// TestTaskPaging: the task list pages newest first across instances by
// cursor, every task once, and filters by instance, type, lifecycle and
// since.
func TestTaskPaging(t *testing.T) {
	f := newFixture(t, Config{}, "app", "other")
	var ids []int64
	for i := range 7 {
		typ := s3bridge.TaskUpload
		if i%2 == 1 {
			typ = s3bridge.TaskDownload
		}
		ids = append(ids, enqueue(t, f.ins[0], typ))
		time.Sleep(2 * time.Millisecond) // distinct creation times order the list
	}
	for range 3 {
		enqueue(t, f.ins[1], s3bridge.TaskExportToS3)
		time.Sleep(2 * time.Millisecond)
	}
	if _, err := f.ins[0].Cancel(t.Context(), ids[0]); err != nil {
		t.Fatal(err)
	}
	type key struct {
		inst string
		id   int64
	}
	var got []key
	var created []time.Time
	next := "/api/tasks?limit=4"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		var page taskPage
		if status := f.getJSON(next, &page); status != 200 {
			t.Fatalf("%s: %d", next, status)
		}
		if len(page.Tasks) > 4 {
			t.Fatalf("page of %d tasks, limit 4", len(page.Tasks))
		}
		for _, tk := range page.Tasks {
			got = append(got, key{tk.Instance, tk.TaskID})
			created = append(created, tk.CreatedAt)
		}
		next = ""
		if page.NextCursor != "" {
			next = "/api/tasks?limit=4&cursor=" + page.NextCursor
		}
	}
	if len(got) != 10 {
		t.Fatalf("paged through %d tasks, want 10: %v", len(got), got)
	}
	seen := map[key]bool{}
	for i, k := range got {
		if seen[k] {
			t.Errorf("task %v twice", k)
		}
		seen[k] = true
		if i > 0 && created[i].After(created[i-1]) {
			t.Errorf("task %v is newer than the one before it", k)
		}
	}
	if got[0] != (key{"other", 3}) || got[9] != (key{"app", ids[0]}) {
		t.Errorf("order: %v", got)
	}
	filters := []struct {
		query string
		want  int
	}{
		{"instance=app", 7},
		{"instance=other", 3},
		{"type=download_from_s3", 3},
		{"type=UPLOAD_TO_S3,EXPORT_TO_S3", 7},
		{"lifecycle=CANCELLED", 1},
		{"lifecycle=CREATED&instance=app", 6},
		{"since=1h", 10},
		{"since=" + time.Now().Add(time.Hour).UTC().Format(time.RFC3339), 0},
	}
	for _, ft := range filters {
		var page taskPage
		if status := f.getJSON("/api/tasks?"+ft.query, &page); status != 200 || len(page.Tasks) != ft.want {
			t.Errorf("%s: %d, %d tasks, want %d", ft.query, status, len(page.Tasks), ft.want)
		}
	}
	for _, bad := range []string{"cursor=xyz", "since=yesterday", "limit=501", "instance=nope"} {
		res := f.do("GET", "/api/tasks?"+bad, f.tokens[token.Viewer], nil)
		res.Body.Close()
		if res.StatusCode != 400 && res.StatusCode != 404 {
			t.Errorf("%s: %d, want 400 or 404", bad, res.StatusCode)
		}
	}
}

// TestTaskEvents: a follower gets the log lines already written, each
// new one as it is written, the task as it moves, and an end event with
// the final task; a follower that reconnects with Last-Event-ID gets only
// the lines after it.
func TestTaskEvents(t *testing.T) {
	f := newFixture(t, Config{Poll: 10 * time.Millisecond})
	in := f.ins[0]
	id := enqueue(t, in, s3bridge.TaskUpload)
	task, err := in.ClaimTask(t.Context(), id, "test-agent", time.Minute)
	if err != nil || task == nil {
		t.Fatal(task, err)
	}
	logLine := func(msg string) {
		if err := in.Log(t.Context(), id, s3bridge.LogLine{Time: time.Now(), Level: s3bridge.LevelInfo, Message: msg}); err != nil {
			t.Fatal(err)
		}
	}
	logLine("first")
	res := f.do("GET", "/api/instances/app/tasks/"+itoa(id)+"/events", f.tokens[token.Viewer], nil)
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	events := make(chan event, 100)
	go readEvents(res.Body, events)
	next := func(name string) event {
		t.Helper()
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatalf("the stream ended before a %q event", name)
				}
				if ev.name == name {
					return ev
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no %q event within 10s", name)
			}
		}
	}
	// The claim logged a line of its own before "first".
	if ev := next("log"); ev.id != "1" || !strings.Contains(ev.data, "started by agent test-agent") {
		t.Errorf("first log event: %+v", ev)
	}
	if ev := next("log"); ev.id != "2" || !strings.Contains(ev.data, `"message":"first"`) {
		t.Errorf("second log event: %+v", ev)
	}
	if _, err := in.Heartbeat(t.Context(), task.Claim(), time.Minute, 40); err != nil {
		t.Fatal(err)
	}
	for {
		var v taskView
		json.Unmarshal([]byte(next("task").data), &v)
		if v.PercentComplete == 40 && v.Lifecycle == "IN_PROGRESS" {
			break
		}
	}
	logLine("second")
	if ev := next("log"); ev.id != "3" || !strings.Contains(ev.data, `"message":"second"`) {
		t.Errorf("third log event: %+v", ev)
	}
	if err := in.Finish(t.Context(), task.Claim(), s3bridge.Success, s3bridge.Result{Info: "done", Bytes: 10}); err != nil {
		t.Fatal(err)
	}
	var end taskView
	json.Unmarshal([]byte(next("end").data), &end)
	if end.Lifecycle != "SUCCESS" || end.BytesProcessed != 10 || end.Instance != "app" {
		t.Errorf("end event: %+v", end)
	}
	// A reconnect after line 2 gets the lines after it, then the end.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", f.ts.URL+"/api/instances/app/tasks/"+itoa(id)+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+f.tokens[token.Viewer])
	req.Header.Set("Last-Event-ID", "2")
	again, err := f.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(again.Body)
	again.Body.Close()
	if strings.Contains(string(body), "first") || !strings.Contains(string(body), "second") || !strings.Contains(string(body), "event: end") {
		t.Errorf("reconnect after line 2:\n%s", body)
	}
}

// TestMetrics: the exposition parses (Prometheus's own parser), has the
// issue's names with their labels and the Go runtime's, and counts what
// the instance holds.
func TestMetrics(t *testing.T) {
	f := newFixture(t, Config{})
	in := f.ins[0]
	up := enqueue(t, in, s3bridge.TaskUpload)
	finish(t, in, up, s3bridge.Success, s3bridge.Result{Bytes: 1000, Files: 1})
	load := enqueue(t, in, s3bridge.TaskLoadFromS3)
	finish(t, in, load, s3bridge.Failed, s3bridge.Result{Rows: 7, Bytes: 50})
	enqueue(t, in, s3bridge.TaskUpload)
	res := f.do("GET", "/metrics", f.tokens[token.Viewer], nil)
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("metrics: %d", res.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parse the exposition: %v", err)
	}
	value := func(name string, labels map[string]string) (float64, bool) {
		fam, ok := fams[name]
		if !ok {
			return 0, false
		}
	next:
		for _, m := range fam.GetMetric() {
			for k, v := range labels {
				if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool {
					return l.GetName() == k && l.GetValue() == v
				}) {
					continue next
				}
			}
			switch {
			case m.Gauge != nil:
				return m.GetGauge().GetValue(), true
			case m.Counter != nil:
				return m.GetCounter().GetValue(), true
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
		return 0, false
	}
	db := "app"
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"s3bridge_instance_up", map[string]string{"database": db}, 1},
		{"s3bridge_tasks", map[string]string{"database": db, "type": "UPLOAD_TO_S3", "lifecycle": "SUCCESS"}, 1},
		{"s3bridge_tasks", map[string]string{"database": db, "type": "UPLOAD_TO_S3", "lifecycle": "CREATED"}, 1},
		{"s3bridge_tasks", map[string]string{"database": db, "type": "LOAD_FROM_S3", "lifecycle": "ERROR"}, 1},
		{"s3bridge_bytes_total", map[string]string{"database": db, "direction": "upload"}, 1000},
		{"s3bridge_bytes_total", map[string]string{"database": db, "direction": "load"}, 50},
		{"s3bridge_rows_total", map[string]string{"database": db, "kind": "load"}, 7},
		{"s3bridge_task_duration_seconds", map[string]string{"database": db, "type": "UPLOAD_TO_S3", "outcome": "SUCCESS"}, 1},
	}
	for _, c := range checks {
		if got, ok := value(c.name, c.labels); !ok || got != c.want {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_resident_memory_bytes"} {
		if _, ok := fams[name]; !ok {
			t.Errorf("no %s: the runtime collectors are missing", name)
		}
	}
}

// TestNoSecretInResponses: no response, page or log line shows a token.
func TestNoSecretInResponses(t *testing.T) {
	var logs strings.Builder
	f := newFixture(t, Config{})
	stock(t, f)
	f.srv.cfg.Log = slogTo(&logs)
	for _, rt := range f.srv.Routes() {
		for _, secret := range []string{"", f.tokens[token.Admin]} {
			res := f.do(rt.Method, concrete(f, rt.Pattern), secret, nil)
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			for r, tok := range f.tokens {
				if strings.Contains(string(body), tok) || strings.Contains(strings.Join(res.Header.Values("Set-Cookie"), ";"), tok) {
					t.Errorf("%s %s shows the %s token", rt.Method, rt.Pattern, r)
				}
			}
		}
	}
	for _, tok := range f.tokens {
		if strings.Contains(logs.String(), tok) {
			t.Error("the log shows a token")
		}
	}
}

// TestTaskPagingTies: tasks created at the same instant, in two
// instances, page in the list's order (instance, then id descending)
// each once, whatever the page size.
func TestTaskPagingTies(t *testing.T) {
	f := newFixture(t, Config{}, "app", "other")
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	type key struct {
		inst string
		id   int64
	}
	var want []key
	for i, in := range f.ins {
		var ids []int64
		for range 4 {
			ids = append(ids, enqueue(t, in, s3bridge.TaskUpload))
		}
		if _, err := in.DB().ExecContext(t.Context(), `UPDATE "s3bridge_tasks" SET created_at = ?`, at); err != nil {
			t.Fatal(err)
		}
		for j := len(ids) - 1; j >= 0; j-- {
			want = append(want, key{f.srv.instances[i].id, ids[j]})
		}
	}
	for _, limit := range []int{1, 3, 4, 5, 8} {
		var got []key
		next := "/api/tasks?limit=" + itoa(int64(limit))
		for pages := 0; next != ""; pages++ {
			if pages > 10 {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			var page taskPage
			if status := f.getJSON(next, &page); status != 200 {
				t.Fatalf("%s: %d", next, status)
			}
			for _, tk := range page.Tasks {
				got = append(got, key{tk.Instance, tk.TaskID})
			}
			next = ""
			if page.NextCursor != "" {
				next = "/api/tasks?limit=" + itoa(int64(limit)) + "&cursor=" + page.NextCursor
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: %v, want %v", limit, got, want)
		}
	}
}
