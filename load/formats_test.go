package load_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/instance/mysql"
	"github.com/s3bridge/s3bridge/instance/postgres"
	"github.com/s3bridge/s3bridge/load"
)

// TestFormats loads the same rows in every format and compression into each
// database.
func TestFormats(t *testing.T) {
	want := []string{"1|alpha|10.5", "2|be,ta|20.25"}
	inputs := []struct {
		key  string
		body []byte
		o    format.Options
	}{
		{"a.csv", []byte(sample), csvOpts()},
		{"a.csv.gz", gz([]byte(sample)), csvOpts()},
		{"a.csv.zst", zst([]byte(sample)), csvOpts()},
		{"a.zip", zipped("a.csv", []byte(sample)), csvOpts()},
		{"a.txt", []byte("1\talpha\t10.5\n2\tbe,ta\t20.25\n"), format.Options{Format: "text"}},
		{"a.tsv", []byte("1\talpha\t10.5\n2\tbe,ta\t20.25\n"), format.Options{Format: "tsv"}},
		{"a.jsonl", []byte(`{"id":1,"name":"alpha","amount":10.5}` + "\n" + `{"amount":20.25,"id":2,"name":"be,ta"}` + "\n"), format.Options{Format: "jsonl"}},
		{"a.json", []byte(`[{"id":1,"name":"alpha","amount":10.5},{"id":2,"name":"be,ta","amount":20.25}]`), format.Options{Format: "json"}},
		{"a.xml", []byte(`<rows><row id="1" name="alpha" amount="10.5"/><row><id>2</id><name>be,ta</name><amount>20.25</amount></row></rows>`), format.Options{Format: "xml"}},
		{"latin1.csv", []byte("id,name,amount\n1,alpha,10.5\n2,caf\xe9,20.25\n"), format.Options{Format: "csv", Header: true, Charset: "latin1"}},
	}
	for _, d := range dbs {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			for _, in := range inputs {
				uri := h.put(in.key, in.body)
				h.ok(load.Params{Source: load.SourceFile, URI: uri, Table: "t", Options: in.o, Replace: true})
				w := want
				if in.key == "latin1.csv" {
					w = []string{"1|alpha|10.5", "2|café|20.25"}
				}
				if got := h.rows(); !slices.Equal(got, w) {
					t.Errorf("%s: got %v, want %v", in.key, got, w)
				}
			}
		})
	}
}

// TestSources: a prefix in key order skipping empty objects, a manifest
// with a missing optional entry, a missing mandatory one, the history.
func TestSources(t *testing.T) {
	for _, d := range dbs {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			h.put("p/2.csv", []byte("id,name,amount\n2,b,2\n"))
			h.put("p/1.csv", []byte("id,name,amount\n1,a,1\n"))
			h.put("p/empty.csv", nil)
			h.put("other/3.csv", []byte("id,name,amount\n3,c,3\n"))
			done := h.ok(load.Params{Source: load.SourcePrefix, URI: "s3://" + h.bucket + "/p/", Table: "t", Options: csvOpts()})
			if got := h.rows(); !slices.Equal(got, []string{"1|a|1", "2|b|2"}) {
				t.Errorf("prefix: %v", got)
			}
			if !strings.Contains(done.TaskInfo, "2 rows imported") {
				t.Errorf("task_info %q", done.TaskInfo)
			}
			m := `{"entries":[{"url":"s3://` + h.bucket + `/other/3.csv","mandatory":true},{"url":"s3://` + h.bucket + `/gone.csv","mandatory":false}]}`
			h.ok(load.Params{Source: load.SourceManifest, URI: h.put("m.json", []byte(m)), Table: "t", Options: csvOpts()})
			if got := h.rows(); len(got) != 3 {
				t.Errorf("after manifest: %v", got)
			}
			bad := `{"entries":[{"url":"s3://` + h.bucket + `/gone.csv","mandatory":true}]}`
			h.fails(load.Params{Source: load.SourceManifest, URI: h.put("bad.json", []byte(bad)), Table: "t", Options: csvOpts()}, "mandatory entry", "gone.csv")
			var n int
			must(t, h.db.QueryRowContext(t.Context(), historyCount(h)).Scan(&n))
			if n != 3 {
				t.Errorf("load history has %d rows, want 3 (one per file)", n)
			}
		})
	}
}

func historyCount(h *harness) string {
	switch in := h.in.(type) {
	case *mysql.Instance:
		return "SELECT count(*) FROM `" + in.Schema() + "`.load_history"
	case *postgres.Instance:
		return `SELECT count(*) FROM s3bridge.load_history`
	}
	return `SELECT count(*) FROM "s3bridge_load_history"`
}

// TestFailuresLoseNothing: a bad row in the second file fails the whole
// load with the file, line and column named, and the table is unchanged —
// in append and in replace mode. Skipping bad rows reports them instead.
func TestFailuresLoseNothing(t *testing.T) {
	for _, d := range dbs {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, d)
			h.ok(load.Params{Source: load.SourceFile, URI: h.put("seed.csv", []byte("id,name,amount\n9,old,9\n")), Table: "t", Options: csvOpts()})
			h.put("two/1.csv", []byte("id,name,amount\n1,a,1\n"))
			h.put("two/2.csv", []byte("id,name,amount\n2,b,2\n3,\"unterminated,3\n"))
			for _, replace := range []bool{false, true} {
				h.fails(load.Params{Source: load.SourcePrefix, URI: "s3://" + h.bucket + "/two/", Table: "t", Options: csvOpts(), Replace: replace}, "two/2.csv")
				if got := h.rows(); !slices.Equal(got, []string{"9|old|9"}) {
					t.Errorf("replace=%v: table changed by a failed load: %v", replace, got)
				}
			}
			h.fails(load.Params{Source: load.SourceFile, URI: h.put("int.csv", []byte("id,name,amount\nx,a,1\n")), Table: "t", Options: csvOpts()}, "int.csv")
			h.fails(load.Params{Source: load.SourceFile, URI: h.put("few.csv", []byte("1,a\n")), Table: "t", Options: format.Options{Format: "csv"}}, "few.csv")
			h.fails(load.Params{Source: load.SourceFile, URI: h.put("trunc.csv.gz", gz([]byte(sample))[:30]), Table: "t", Options: csvOpts()}, "trunc.csv.gz")
			h.fails(load.Params{Source: load.SourceFile, URI: "s3://" + h.bucket + "/missing.csv", Table: "t", Options: csvOpts()}, "missing.csv")
			h.fails(load.Params{Source: load.SourceFile, URI: h.put("ok.csv", []byte(sample)), Table: "nope", Options: csvOpts()}, "nope")
			bomb := gz([]byte("id,name,amount\n" + strings.Repeat("1,a,1\n", 1<<20)))
			h.fails(load.Params{Source: load.SourceFile, URI: h.put("bomb.csv.gz", bomb), Table: "t", Options: csvOpts(), MaxDecompressed: 1 << 20}, "bomb.csv.gz", "exceeds")
			if got := h.rows(); !slices.Equal(got, []string{"9|old|9"}) {
				t.Errorf("table changed by failed loads: %v", got)
			}
			done := h.ok(load.Params{Source: load.SourcePrefix, URI: "s3://" + h.bucket + "/two/", Table: "t", Options: csvOpts(), SkipBadRows: true})
			if !strings.Contains(done.TaskInfo, "1 bad rows skipped") {
				t.Errorf("skip bad rows: task_info %q", done.TaskInfo)
			}
			log, _ := h.in.TaskLog(t.Context(), done.ID)
			found := false
			for _, l := range log {
				found = found || strings.Contains(l.Message, "two/2.csv") && strings.Contains(l.Message, "line 3")
			}
			if !found {
				t.Errorf("the skipped row is not reported with its file and line: %v", log)
			}
		})
	}
}
