package connector_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/connector"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
)

// filteredTable creates table t with the columns c's filters leave, as
// --auto-create-table does.
func (h *harness) filteredTable(c connector.Config) {
	h.t.Helper()
	must(h.t, c.Validate())
	cols, err := c.Columns()
	must(h.t, err)
	ddl, err := connector.CreateTableSQL(h.in.(connector.Ledger).DialectName(), "", "t", cols)
	must(h.t, err)
	h.exec(ddl)
}

// table returns t's columns cols ordered by id, one row a line, values
// joined by |, NULL as NULL; JSON values compacted so each database's
// spelling compares the same.
func (h *harness) table(cols ...string) []string {
	h.t.Helper()
	q := `"`
	if h.in.(connector.Ledger).DialectName() == "mysql" {
		q = "`"
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = q + strings.TrimPrefix(c, "json:") + q
	}
	rs, err := h.db.QueryContext(h.t.Context(), `SELECT `+strings.Join(quoted, ", ")+` FROM t ORDER BY id`)
	must(h.t, err)
	defer rs.Close()
	var out []string
	for rs.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		must(h.t, rs.Scan(ptrs...))
		cells := make([]string, len(cols))
		for i, v := range vals {
			switch {
			case !v.Valid:
				cells[i] = "NULL"
			case strings.HasPrefix(cols[i], "json:"):
				var doc any
				must(h.t, json.Unmarshal([]byte(v.String), &doc))
				b, _ := json.Marshal(doc)
				cells[i] = string(b)
			default:
				cells[i] = v.String
			}
		}
		out = append(out, strings.Join(cells, "|"))
	}
	must(h.t, rs.Err())
	return out
}

func (h *harness) logOf(task s3bridge.Task) string {
	h.t.Helper()
	lines, err := h.in.TaskLog(h.t.Context(), task.ID)
	must(h.t, err)
	return fmt.Sprint(lines)
}

// TestRunFiltered: add_filename and column filters reach the table: the
// object's file name (and its key, with full_key) in its columns, a column
// dropped, one added with its default; preview shows the same columns.
func TestRunFiltered(t *testing.T) {
	for _, d := range databases {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			h.put("f/a.csv", []byte("id,name,secret\n1,ann,s1\n2,bob,s2\n"))
			h.put("f/b.csv", []byte("id,name,secret\n3,,s3\n"))
			c, err := connector.Guess(t.Context(), h.store, h.seed("f/", ""))
			must(t, err)
			c.Filters = []connector.Filter{
				{Type: connector.FilterTypeAddFilename, ColumnName: "src"},
				{Type: connector.FilterTypeAddFilename, ColumnName: "object_key", FullKey: true},
				{Type: connector.FilterTypeColumn,
					Columns:    []connector.FilterColumn{{Name: "id"}, {Name: "name", Default: ptr("nobody")}, {Name: "src"}, {Name: "object_key"}},
					AddColumns: []connector.FilterColumn{{Name: "origin", Type: connector.TypeString, Default: ptr("s3")}}},
			}
			h.filteredTable(c)
			pv, err := connector.PreviewRows(t.Context(), h.store, c, 0)
			must(t, err)
			if len(pv.Columns) != 5 || len(pv.Rows) != 3 || pv.Rows[0][2] != "a.csv" || pv.Rows[0][3] != "f/a.csv" {
				t.Errorf("preview: %v %v", pv.Columns, pv.Rows)
			}
			h.ok("filtered", "t", c)
			got := strings.Join(h.table("id", "name", "src", "object_key", "origin"), " ")
			if want := "1|ann|a.csv|f/a.csv|s3 2|bob|a.csv|f/a.csv|s3 3|nobody|b.csv|f/b.csv|s3"; got != want {
				t.Errorf("rows %s, want %s", got, want)
			}
		})
	}
}

// expandConfig is a jsonl config of prefix whose payload column is
// expanded: nested paths, an array element, an array as JSON.
func (h *harness) expandConfig(prefix string, stop *bool) connector.Config {
	c := h.seed(prefix, "")
	c.In.Parser = connector.Parser{Type: "jsonl", Columns: []connector.Column{
		{Name: "id", Type: connector.TypeLong}, {Name: "payload", Type: connector.TypeJSON}}}
	c.Filters = []connector.Filter{{Type: connector.FilterTypeExpandJSON, ExpandJSON: connector.ExpandJSON{
		JSONColumnName: "payload", Root: "$.user.", StopOnInvalidRecord: stop,
		ExpandedColumns: []connector.FilterColumn{
			{Name: "uid", Type: connector.TypeLong},
			{Name: "profile.name", Type: connector.TypeString},
			{Name: "tags[1]", Type: connector.TypeString},
			{Name: "tags", Type: connector.TypeJSON},
			{Name: "seen", Type: connector.TypeTimestamp, Format: "%Y-%m-%d %H:%M:%S"},
		}}}}
	return c
}

// TestRunExpandJSON: expand_json's columns reach each database typed; a
// value that does not convert fails the run naming the object, line and
// column, and loads nothing; with stop_on_invalid_record false the row is
// skipped and reported in the task's log, the others loaded.
func TestRunExpandJSON(t *testing.T) {
	for _, d := range databases {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			h.put("e/a.jsonl", []byte(`{"id":1,"payload":{"user":{"uid":10,"profile":{"name":"ann"},"tags":["x","y"],"seen":"2024-01-02 03:04:05"}}}`+"\n"+
				`{"id":2,"payload":{"user":{"uid":20,"tags":[]}}}`+"\n"))
			h.put("e/b.jsonl", []byte(`{"id":3,"payload":{"user":{"uid":30,"tags":["z"]}}}`+"\n"+
				`{"id":4,"payload":{"user":{"uid":"forty"}}}`+"\n"+`{"id":5,"payload":null}`+"\n"))
			c := h.expandConfig("e/", nil)
			h.filteredTable(c)
			done := h.run("expand", "t", c)
			if done.Lifecycle != s3bridge.Failed || !strings.Contains(done.TaskInfo, "e/b.jsonl") ||
				!strings.Contains(done.TaskInfo, `line 2 (field "uid")`) || !strings.Contains(done.TaskInfo, `"forty" is not a long`) {
				t.Fatalf("run over a bad record: %s %s", done.Lifecycle, done.TaskInfo)
			}
			if n := h.count(`SELECT count(*) FROM t`); n != 0 {
				t.Fatalf("%d rows after the failed run, want 0", n)
			}
			done = h.ok("expand", "t", h.expandConfig("e/", ptr(false)))
			if log := h.logOf(done); !strings.Contains(log, "skipped a bad row of s3://"+h.bucket+`/e/b.jsonl: line 2 (field "uid")`) {
				t.Errorf("log of the run skipping a bad record: %s", log)
			}
			got := strings.Join(h.table("id", "uid", "profile.name", "tags[1]", "json:tags"), " ")
			if want := `1|10|ann|y|["x","y"] 2|20|NULL|NULL|[] 3|30|NULL|NULL|["z"] 5|NULL|NULL|NULL|NULL`; got != want {
				t.Errorf("rows %s\nwant %s", got, want)
			}
			if n := h.count(`SELECT count(*) FROM t WHERE seen >= '2024-01-02' AND seen < '2024-01-03'`); n != 1 {
				t.Errorf("%d rows seen on 2024-01-02, want 1", n)
			}
		})
	}
}

// TestRunDigest: digest replaces columns by their hex SHA-256, or their
// HMAC with a key given as a reference; NULL stays NULL; a stored
// connector refuses a key written in clear.
func TestRunDigest(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "pii.key")
	must(t, os.WriteFile(keyFile, []byte("k3y\n"), 0o600))
	for _, d := range databases {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			h.put("p/a.csv", []byte("id,email,phone\n1,ann@example.com,555\n2,,556\n"))
			c, err := connector.Guess(t.Context(), h.store, h.seed("p/", ""))
			must(t, err)
			c.Filters = []connector.Filter{{Type: connector.FilterTypeDigest, Columns: []connector.FilterColumn{
				{Name: "email"},
				{Name: "phone", Algorithm: connector.DigestHMACSHA256, Key: connector.Secret("${file:" + keyFile + "}"), NewName: "phone_hmac"},
			}}}
			h.filteredTable(c)
			h.ok("digest", "t", c)
			sum := sha256.Sum256([]byte("ann@example.com"))
			mac := func(s string) string {
				m := hmac.New(sha256.New, []byte("k3y"))
				m.Write([]byte(s))
				return hex.EncodeToString(m.Sum(nil))
			}
			got := strings.Join(h.table("id", "email", "phone_hmac"), " ")
			if want := "1|" + hex.EncodeToString(sum[:]) + "|" + mac("555") + " 2|NULL|" + mac("556"); got != want {
				t.Errorf("rows %s\nwant %s", got, want)
			}
			// A stored connector takes the key only as a reference.
			lit := c
			lit.In.SecretAccessKey = "${env:TEST_S3_SECRET}"
			lit.Filters = []connector.Filter{{Type: connector.FilterTypeDigest, Columns: []connector.FilterColumn{
				{Name: "phone", Algorithm: connector.DigestHMACSHA512, Key: "k3y"}}}}
			_, err = connector.Stored(sqlstore.Connector{Name: "pii", Table: "t"}, lit, time.Now())
			if !errors.Is(err, connector.ErrLiteralSecret) || !strings.Contains(err.Error(), "filters[0].columns[0].key") || strings.Contains(err.Error(), "k3y") {
				t.Errorf("stored connector with a literal digest key: %v", err)
			}
		})
	}
}

// TestPreviewDigestEnvKey: an HMAC key given as ${env:…} is resolved in
// the environment the preview is given.
func TestPreviewDigestEnvKey(t *testing.T) {
	h := newBucket(t)
	h.put("p/a.csv", []byte("id,email\n1,ann@example.com\n"))
	c, err := connector.Guess(t.Context(), h.store, h.seed("p/", ""))
	must(t, err)
	c.Filters = []connector.Filter{{Type: connector.FilterTypeDigest, Columns: []connector.FilterColumn{
		{Name: "email", Algorithm: connector.DigestHMACSHA256, Key: "${env:PII_KEY}"}}}}
	run := connector.FilterRun{Env: connector.Env{Getenv: func(k string) string { return map[string]string{"PII_KEY": "k3y"}[k] }}}
	pv, err := connector.PreviewRowsFor(t.Context(), h.store, c, 0, run)
	must(t, err)
	m := hmac.New(sha256.New, []byte("k3y"))
	m.Write([]byte("ann@example.com"))
	if len(pv.Rows) != 1 || pv.Rows[0][1] != hex.EncodeToString(m.Sum(nil)) {
		t.Errorf("preview %v", pv.Rows)
	}
	if _, err := connector.PreviewRowsFor(t.Context(), h.store, c, 0, connector.FilterRun{}); err == nil ||
		!strings.Contains(err.Error(), "${env:PII_KEY}") {
		t.Errorf("preview without the variable: %v", err)
	}
}

// TestRunAddTime: upload_time is one value for every row of every file
// of a run, within the run; from_column converts another column.
func TestRunAddTime(t *testing.T) {
	for _, d := range databases {
		t.Run(d.Name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			h.put("t/a.csv", []byte("id,time,created\n1,x,1451606400\n2,y,1451606401\n"))
			h.put("t/b.csv", []byte("id,time,created\n3,z,\n"))
			c, err := connector.Guess(t.Context(), h.store, h.seed("t/", ""))
			must(t, err)
			c.Filters = []connector.Filter{
				{Type: connector.FilterTypeAddTime, AddTime: connector.AddTime{
					ToColumn:  &connector.TimeColumn{Name: "time", Type: connector.TypeLong, UnixTimestampUnit: "milli"},
					FromValue: &connector.TimeValue{Mode: connector.TimeUpload}}},
				{Type: connector.FilterTypeAddTime, AddTime: connector.AddTime{
					ToColumn:   &connector.TimeColumn{Name: "created_at", Type: connector.TypeTimestamp},
					FromColumn: &connector.TimeColumn{Name: "created"}}},
			}
			h.filteredTable(c)
			done := h.ok("times", "t", c)
			rows := h.table("id", "time_", "created_at", "time")
			if len(rows) != 3 {
				t.Fatalf("rows %v", rows)
			}
			var first string
			for i, r := range rows {
				cells := strings.Split(r, "|")
				if i == 0 {
					first = cells[3]
				}
				if cells[3] != first {
					t.Errorf("upload_time differs between rows: %v", rows)
				}
			}
			ms, err := strconv.ParseInt(first, 10, 64)
			must(t, err)
			at := time.UnixMilli(ms)
			if done.StartedAt == nil || done.FinishedAt == nil || at.Before(done.StartedAt.Truncate(time.Millisecond)) || at.After(*done.FinishedAt) {
				t.Errorf("upload_time %v, not within the run %v – %v", at, done.StartedAt, done.FinishedAt)
			}
			if got := strings.Split(rows[0], "|")[1] + strings.Split(rows[2], "|")[2]; got != "xNULL" {
				t.Errorf("renamed column and NULL source: %v", rows)
			}
			if n := h.count(`SELECT count(*) FROM t WHERE created_at >= '2016-01-01' AND created_at < '2016-01-02'`); n != 2 {
				t.Errorf("%d rows created on 2016-01-01, want 2 (%v)", n, rows)
			}
		})
	}
}
