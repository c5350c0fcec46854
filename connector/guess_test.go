package connector_test

import (
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/connector"
)

// columns writes guessed columns as "name:type[:format]" joined by spaces.
func columns(c connector.Config) string {
	var out []string
	for _, col := range c.In.Parser.Columns {
		s := col.Name + ":" + col.Type
		if col.Format != "" {
			s += ":" + col.Format
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestGuess(t *testing.T) {
	h := newBucket(t)
	h.put("csv/a.csv", []byte("id,name,score,active,created_at,payload\n1,alice,1.5,true,2024-01-02 03:04:05,\"{\"\"a\"\":1}\"\n2,bob,2,false,2024-01-03 04:05:06,[1]\n"))
	h.put("csv/b.csv", []byte("id,name,score,active,created_at,payload\n3,carol,7,true,2024-02-02 00:00:00,{}\n"))
	h.put("tsvgz/a.tsv.gz", gz([]byte("1\talice\t2024-01-02T03:04:05Z\n2\tbob\t2024-01-03T00:00:00Z\n")))
	h.put("jsonl/a.jsonl", []byte(`{"id":1,"name":"a","ok":true,"at":"2024-01-02T03:04:05+09:00","tags":["x"]}`+"\n"+`{"id":2,"name":"b","ok":false,"at":"2024-01-02T03:04:06+09:00","tags":[],"extra":1.5}`+"\n"))
	h.put("json/a.json", []byte(`[{"id":1,"v":2.5},{"id":2,"v":3}]`))
	h.put("one/a.csv", []byte("7,seven,05/06/2024\n"))
	h.put("dm/a.csv", []byte("day,n\n13/01/2024,1\n02/03/2024,2\n"))
	h.put("pipe/a.txt", []byte("k|v|n\nx|NULL|1\ny|z|\\N\nw|NULL|3\n"))
	h.put("empty/zero.csv", nil)
	h.put("empty/one.csv", []byte("a,b\n1,2\n"))
	tests := []struct {
		prefix, want, typ string
		skip              int
		decoder           string
	}{
		{"csv/", "id:long name:string score:double active:boolean created_at:timestamp:%Y-%m-%d %H:%M:%S payload:json", "csv", 1, ""},
		{"tsvgz/", "c0:long c1:string c2:timestamp:%Y-%m-%dT%H:%M:%S%z", "tsv", 0, "gzip"},
		{"jsonl/", "id:long name:string ok:boolean at:timestamp:%Y-%m-%dT%H:%M:%S%:z tags:json extra:double", "jsonl", 0, ""},
		{"json/", "id:long v:double", "json", 0, ""},
		{"one/", "c0:long c1:string c2:timestamp:%m/%d/%Y", "csv", 0, ""},
		{"dm/", "day:timestamp:%d/%m/%Y n:long", "csv", 1, ""},
		{"pipe/", "k:string v:string n:string", "csv", 1, ""},
		{"empty/", "a:long b:long", "csv", 1, ""},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.prefix, "/"), func(t *testing.T) {
			got, err := connector.Guess(t.Context(), h.store, h.seed(tt.prefix, ""))
			must(t, err)
			if c := columns(got); c != tt.want {
				t.Errorf("columns:\n got %s\nwant %s", c, tt.want)
			}
			p := got.In.Parser
			if p.Type != tt.typ || p.SkipHeaderLines != tt.skip {
				t.Errorf("type %s skip %d, want %s %d", p.Type, p.SkipHeaderLines, tt.typ, tt.skip)
			}
			dec := ""
			if len(got.In.Decoders) > 0 {
				dec = got.In.Decoders[0].Type
			}
			if dec != tt.decoder {
				t.Errorf("decoder %q, want %q", dec, tt.decoder)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("the guessed config does not validate: %v", err)
			}
			// What guess writes reads back the same.
			text, err := got.Marshal()
			must(t, err)
			again, err := connector.Parse(text)
			must(t, err)
			if columns(again) != columns(got) {
				t.Errorf("after a round trip through YAML: %s", columns(again))
			}
		})
	}
	t.Run("null_string", func(t *testing.T) {
		got, err := connector.Guess(t.Context(), h.store, h.seed("pipe/", ""))
		must(t, err)
		if p := got.In.Parser; p.NullString == nil || *p.NullString != "NULL" || p.Delimiter != "|" {
			t.Errorf("null_string %v delimiter %q, want NULL and |", p.NullString, p.Delimiter)
		}
	})
	t.Run("no objects", func(t *testing.T) {
		_, err := connector.Guess(t.Context(), h.store, h.seed("nothing/", ""))
		if err == nil || !strings.Contains(err.Error(), "no object") {
			t.Errorf("got %v, want no object to sample", err)
		}
	})
}

// TestGuessReadsAHead: a large gzip object is sampled, not read whole.
func TestGuessReadsAHead(t *testing.T) {
	h := newBucket(t)
	var b strings.Builder
	b.WriteString("id,v\n")
	for i := 0; b.Len() < 40<<20; i++ {
		b.WriteString("123456,abcdefghijabcdefghij\n")
	}
	h.put("big/a.csv.gz", gz([]byte(b.String())))
	got, err := connector.Guess(t.Context(), h.store, h.seed("big/", ""))
	must(t, err)
	if c := columns(got); c != "id:long v:string" {
		t.Errorf("columns %s", c)
	}
}

func TestPreview(t *testing.T) {
	h := newBucket(t)
	h.put("p/a.csv", []byte("id,ok,at\n1,yes,2024-01-02 03:04:05\n2,no,\n"))
	h.put("p/b.csv", []byte("id,ok,at\n3,true,2024-01-03 00:00:00\n"))
	c, err := connector.Guess(t.Context(), h.store, h.seed("p/", ""))
	must(t, err)
	pv, err := connector.PreviewRows(t.Context(), h.store, c, 0)
	must(t, err)
	if len(pv.Rows) != 3 {
		t.Fatalf("%d rows, want 3", len(pv.Rows))
	}
	var out strings.Builder
	must(t, pv.WriteTable(&out))
	for _, want := range []string{"| id   | ok      | at", "| long | boolean | timestamp (%Y-%m-%d %H:%M:%S) |", "| 2    | false   | NULL", "2024-01-02 03:04:05 UTC"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	// A value that does not parse names the object, line and column.
	h.put("p/c.csv", []byte("id,ok,at\nx,true,2024-01-03 00:00:00\n"))
	_, err = connector.PreviewRows(t.Context(), h.store, c, 0)
	if err == nil || !strings.Contains(err.Error(), "p/c.csv") || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), `"id"`) {
		t.Errorf("got %v, want an error naming p/c.csv, line 2 and id", err)
	}
}
