package connector

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/format"
)

// filterCase parses a csv config with the given parser columns (YAML
// flow entries) and filters, binds it to run, and filters rows.
func filterCase(t *testing.T, columns, filters string, run FilterRun, rows ...[]any) (cols string, out []string, err error) {
	t.Helper()
	text := base + "  auth_method: anonymous\n  parser:\n    type: csv\n    columns:\n"
	for _, c := range strings.Split(columns, ";") {
		text += "    - " + c + "\n"
	}
	text += "filters:\n" + filters
	c, err := Parse([]byte(text))
	if err == nil {
		err = c.Validate()
	}
	if err != nil {
		return "", nil, err
	}
	l, err := c.filteredFor(run)
	if err != nil {
		return "", nil, err
	}
	var names []string
	for _, col := range l.columns() {
		names = append(names, col.Name+":"+col.Type)
	}
	rc := &rowContext{key: "k/a.csv"}
	for i, r := range rows {
		rc.line = i + 2
		o := make([]any, len(l))
		if err := l.row(o, r, rc); err != nil {
			return strings.Join(names, " "), out, err
		}
		var vals []string
		for _, v := range o {
			vals = append(vals, Display(v))
		}
		out = append(out, strings.Join(vals, " | "))
	}
	return strings.Join(names, " "), out, nil
}

const doc = `{"user":{"id":7,"name":"ann","tags":["a","b"],"big":1e3},"score":1.5,"ok":true,"at":"2024-01-02 03:04:05","n":null,"html":"<b>&"}`

func TestExpandJSON(t *testing.T) {
	tests := []struct {
		name, cols, filters string
		row                 []any
		wantCols, wantRow   string
		wantErr             string
	}{
		{"typed paths", "{name: id, type: long};{name: payload, type: string}",
			"- type: expand_json\n  json_column_name: payload\n  expanded_columns:\n" +
				"  - {name: user.id, type: long}\n  - {name: user.name, type: string}\n  - {name: score, type: double}\n" +
				"  - {name: ok, type: boolean}\n  - {name: at, type: timestamp, format: '%Y-%m-%d %H:%M:%S', timezone: Asia/Tokyo}\n" +
				"  - {name: user.big, type: long}\n",
			[]any{number("1"), doc}, "id:long user.id:long user.name:string score:double ok:boolean at:timestamp user.big:long",
			"1 | 7 | ann | 1.5 | true | 2024-01-01 18:04:05 UTC | 1000", ""},
		{"nested, arrays and objects", "{name: payload, type: json};{name: id, type: long}",
			"- type: expand_json\n  json_column_name: payload\n  keep_expanding_json_column: true\n  expanded_columns:\n" +
				"  - {name: 'user.tags[1]', type: string}\n  - {name: user.tags, type: json}\n  - {name: user.tags, type: string}\n" +
				"  - {name: 'user.tags[*]', type: json}\n  - {name: \"['user']['name']\", type: string}\n  - {name: html, type: json}\n",
			[]any{[]byte(nil), number("2")}, "", "", `"user.tags" appears twice`},
		{"arrays as JSON", "{name: payload, type: json};{name: id, type: long}",
			"- type: expand_json\n  json_column_name: payload\n  keep_expanding_json_column: true\n  expanded_columns:\n" +
				"  - {name: 'user.tags[1]', type: string}\n  - {name: user.tags, type: json}\n  - {name: user, type: string}\n" +
				"  - {name: 'user.tags[*]', type: json}\n  - {name: \"['user']['name']\", type: string}\n  - {name: html, type: json}\n",
			[]any{jsonOf(doc), number("2")},
			"payload:json user.tags[1]:string user.tags:json user:string user.tags[*]:json ['user']['name']:string html:json id:long",
			doc + ` | b | ["a","b"] | {"big":1e3,"id":7,"name":"ann","tags":["a","b"]} | ["a","b"] | ann | "<b>&" | 2`, ""},
		{"missing and null are NULL", "{name: payload, type: string}",
			"- type: expand_json\n  json_column_name: payload\n  root: '$.user.'\n  expanded_columns:\n" +
				"  - {name: nope, type: string}\n  - {name: 'tags[9]', type: long}\n  - {name: 'nope[*]', type: json}\n  - {name: id, type: long}\n",
			[]any{doc}, "nope:string tags[9]:long nope[*]:json id:long", "NULL | NULL | NULL | 7", ""},
		{"NULL column", "{name: payload, type: string}",
			"- {type: expand_json, json_column_name: payload, expanded_columns: [{name: a, type: long}]}\n",
			[]any{nil}, "a:long", "NULL", ""},
		{"bad value", "{name: payload, type: string}",
			"- {type: expand_json, json_column_name: payload, expanded_columns: [{name: user.name, type: long}]}\n",
			[]any{doc}, "", "", `line 2 (field "user.name"): expand_json of "payload" at $.user.name: "ann" is not a long`},
		{"array under long", "{name: payload, type: string}",
			"- {type: expand_json, json_column_name: payload, expanded_columns: [{name: user.tags, type: long}]}\n",
			[]any{doc}, "", "", `"[\"a\",\"b\"]" is not a long`},
		{"fraction under long", "{name: payload, type: string}",
			"- {type: expand_json, json_column_name: payload, expanded_columns: [{name: score, type: long}]}\n",
			[]any{doc}, "", "", `1.5 is not a long`},
		{"not JSON", "{name: payload, type: string}",
			"- {type: expand_json, json_column_name: payload, expanded_columns: [{name: a, type: long}]}\n",
			[]any{`{"a":`}, "", "", `line 2 (field "payload"): expand_json: "{\"a\":" is not JSON`},
		{"no column", "{name: payload, type: string}",
			"- {type: expand_json, json_column_name: nope, expanded_columns: [{name: a, type: long}]}\n",
			nil, "", "", `json_column_name: "nope" is not a column`},
		{"not a string", "{name: payload, type: long}",
			"- {type: expand_json, json_column_name: payload, expanded_columns: [{name: a, type: long}]}\n",
			nil, "", "", "not a string or json column"},
		{"bad path", "{name: payload, type: string}",
			"- {type: expand_json, json_column_name: payload, expanded_columns: [{name: 'a[', type: long}]}\n",
			nil, "", "", `"a[": JSONPath $.a[`},
		{"bad type", "{name: payload, type: string}",
			"- {type: expand_json, json_column_name: payload, expanded_columns: [{name: a, type: int}]}\n",
			nil, "", "", `type "int"`},
		{"name taken", "{name: a, type: string};{name: payload, type: string}",
			"- {type: expand_json, json_column_name: payload, expanded_columns: [{name: a, type: long}]}\n",
			nil, "", "", `"a" is a column already`},
		{"no columns", "{name: payload, type: string}",
			"- {type: expand_json, json_column_name: payload}\n", nil, "", "", "expanded_columns is required"},
		{"column keys", "{name: payload, type: string}",
			"- {type: expand_json, json_column_name: payload, expanded_columns: [{name: a, type: long, default: '1'}]}\n",
			nil, "", "", `unknown key "default"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rows [][]any
			if tt.row != nil {
				rows = append(rows, tt.row)
			}
			cols, out, err := filterCase(t, tt.cols, tt.filters, FilterRun{}, rows...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cols != tt.wantCols {
				t.Errorf("columns %q, want %q", cols, tt.wantCols)
			}
			if len(out) != 1 || out[0] != tt.wantRow {
				t.Errorf("row %q, want %q", out, tt.wantRow)
			}
		})
	}
}

func jsonOf(s string) any {
	v, err := (&converter{cols: []Column{{Name: "j", Type: TypeJSON}}}).value(0, format.Value{S: s})
	if err != nil {
		panic(err)
	}
	return v
}

func TestDigest(t *testing.T) {
	env := FilterRun{Env: Env{Getenv: func(k string) string { return map[string]string{"PII_KEY": "Jefe"}[k] }}}
	mac := hmac.New(sha512.New, []byte("Jefe"))
	mac.Write([]byte("true"))
	tests := []struct {
		name, cols, filters string
		row                 []any
		wantCols, wantRow   string
		wantErr             string
	}{
		{"sha256 by default, NULL stays", "{name: a, type: string};{name: b, type: string};{name: c, type: long}",
			"- type: digest\n  columns: [{name: a}, {name: b}]\n", []any{"abc", nil, number("3")}, "a:string b:string c:long",
			"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad | NULL | 3", ""},
		{"HMAC with an env key, renamed", "{name: msg, type: string};{name: ok, type: boolean}",
			"- type: digest\n  columns:\n  - {name: msg, algorithm: hmac-sha256, key: '${env:PII_KEY}', new_name: msg_hash}\n" +
				"  - {name: ok, algorithm: hmac-sha512, key: '${env:PII_KEY}'}\n",
			[]any{"what do ya want for nothing?", true}, "msg_hash:string ok:string",
			"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843 | " + hex.EncodeToString(mac.Sum(nil)), ""},
		{"text forms", "{name: n, type: double};{name: at, type: timestamp}",
			"- {type: digest, columns: [{name: n, algorithm: sha512}, {name: at}]}\n- {type: column, columns: [{name: n}]}\n",
			[]any{number("1.5"), time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}, "n:string", sha512hex("1.5"), ""},
		{"unset env", "{name: a, type: string}",
			"- {type: digest, columns: [{name: a, algorithm: hmac-sha256, key: '${env:NOPE}'}]}\n",
			nil, "", "", `digest of column "a": key: secret ${env:NOPE}: the variable is not set`},
		{"HMAC without key", "{name: a, type: string}", "- {type: digest, columns: [{name: a, algorithm: hmac-sha256}]}\n",
			nil, "", "", "hmac-sha256 needs a key"},
		{"key without HMAC", "{name: a, type: string}", "- {type: digest, columns: [{name: a, key: '${env:K}'}]}\n",
			nil, "", "", "sha256 takes no key"},
		{"bad algorithm", "{name: a, type: string}", "- {type: digest, columns: [{name: a, algorithm: md5}]}\n",
			nil, "", "", `algorithm "md5"`},
		{"bad reference", "{name: a, type: string}", "- {type: digest, columns: [{name: a, algorithm: hmac-sha256, key: '${vault:x}'}]}\n",
			nil, "", "", "want ${env:NAME} or ${file:/path}"},
		{"missing column", "{name: a, type: string}", "- {type: digest, columns: [{name: b}]}\n",
			nil, "", "", `"b" is not a column`},
		{"new name taken", "{name: a, type: string};{name: b, type: string}", "- {type: digest, columns: [{name: a, new_name: b}]}\n",
			nil, "", "", `new_name "b" is the name of another column`},
		{"default on digest", "{name: a, type: string}", "- {type: digest, columns: [{name: a, default: x}]}\n",
			nil, "", "", `unknown key "default"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rows [][]any
			if tt.row != nil {
				rows = append(rows, tt.row)
			}
			cols, out, err := filterCase(t, tt.cols, tt.filters, env, rows...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "Jefe") {
					t.Errorf("the error shows the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cols != tt.wantCols || len(out) != 1 || out[0] != tt.wantRow {
				t.Errorf("got %q %q, want %q %q", cols, out, tt.wantCols, tt.wantRow)
			}
		})
	}
}

func sha512hex(s string) string {
	h := sha512.Sum512([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestDigestKeySecret: a digest key is a secret like the S3 keys: refused
// in clear in a stored config, held by a one-shot run, masked when shown,
// resolved where the run happens.
func TestDigestKeySecret(t *testing.T) {
	text := base + "  auth_method: anonymous\n  parser:\n    type: csv\n    columns: [{name: a, type: string}]\nfilters:\n" +
		"- type: column\n  drop_columns: []\n- type: digest\n  columns:\n  - {name: a, algorithm: hmac-sha256, key: Jefe}\n"
	c, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	err = c.RefuseLiterals()
	if !errors.Is(err, ErrLiteralSecret) || !strings.Contains(err.Error(), "filters[1].columns[0].key") ||
		!strings.Contains(err.Error(), "key: ${env:NAME}") || strings.Contains(err.Error(), "Jefe") {
		t.Errorf("RefuseLiterals: %v", err)
	}
	stored, held := c.Held()
	if got := stored.Filters[1].Columns[0].Key; got != "${held:filters[1].columns[0].key}" {
		t.Errorf("held key %q", got)
	}
	if c.Filters[1].Columns[0].Key != "Jefe" {
		t.Error("Held changed the original config")
	}
	if err := stored.RefuseLiterals(); err != nil {
		t.Errorf("the held config still has literals: %v", err)
	}
	want := "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
	l, err := stored.filteredFor(FilterRun{Env: Env{Getenv: func(k string) string { return held[k] }}})
	if err != nil {
		t.Fatal(err)
	}
	out := []any{nil}
	if err := l.row(out, []any{"what do ya want for nothing?"}, &rowContext{}); err != nil || out[0] != want {
		t.Errorf("held key digest %v, %v", out[0], err)
	}
	// Another process (an agent) can't resolve it, and says why.
	if _, err := stored.filteredFor(FilterRun{}); err == nil || !strings.Contains(err.Error(), "filters[1].columns[0].key was written in clear") {
		t.Errorf("resolving elsewhere: %v", err)
	}
	m := c.Masked()
	if m.Filters[1].Columns[0].Key != "********" || c.Filters[1].Columns[0].Key != "Jefe" {
		t.Errorf("masked %q, original %q", m.Filters[1].Columns[0].Key, c.Filters[1].Columns[0].Key)
	}
	shown, err := m.Marshal()
	if err != nil || strings.Contains(string(shown), "Jefe") || !strings.Contains(string(shown), "key: '********'") {
		t.Errorf("shown config:\n%s%v", shown, err)
	}
	// A task's parameters refuse it too.
	if _, err := Task(Params{Name: "n", Table: "t", Config: c}); !errors.Is(err, ErrLiteralSecret) {
		t.Errorf("task with a literal key: %v", err)
	}
	// References are stored as they are and resolved where the run is.
	ref := c.withOwnSecrets()
	ref.Filters[1].Columns[0].Key = "${file:/run/pii}"
	if err := ref.RefuseLiterals(); err != nil {
		t.Errorf("reference refused: %v", err)
	}
	l, err = ref.filteredFor(FilterRun{Env: Env{ReadFile: func(string) ([]byte, error) { return []byte("Jefe\n"), nil }}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.row(out, []any{"what do ya want for nothing?"}, &rowContext{}); err != nil || out[0] != want {
		t.Errorf("file key digest %v, %v", out[0], err)
	}
}

func TestAddTime(t *testing.T) {
	start := time.Date(2025, 3, 4, 5, 6, 7, 891011000, time.UTC)
	tests := []struct {
		name, cols, filters string
		rows                [][]any
		wantCols            string
		want                []string
		wantErr             string
	}{
		{"upload_time", "{name: id, type: long}",
			"- {type: add_time, to_column: {name: time, type: timestamp}, from_value: {mode: upload_time}}\n",
			[][]any{{number("1")}, {number("2")}}, "id:long time:timestamp",
			[]string{"1 | 2025-03-04 05:06:07.891011 UTC", "2 | 2025-03-04 05:06:07.891011 UTC"}, ""},
		{"upload_time as unix millis", "{name: id, type: long}",
			"- {type: add_time, to_column: {name: time, type: long, unix_timestamp_unit: milli}, from_value: {mode: upload_time}}\n",
			[][]any{{number("1")}}, "id:long time:long", []string{fmt.Sprintf("1 | %d", start.UnixMilli())}, ""},
		{"fixed_time by default, existing column renamed", "{name: time, type: string};{name: time_, type: string}",
			"- {type: add_time, to_column: {name: time, type: long}, from_value: {value: '2016-01-01 00:00:00 UTC'}}\n",
			[][]any{{"a", "b"}}, "time__:string time_:string time:long", []string{"a | b | 1451606400"}, ""},
		{"fixed_time from an integer", "{name: id, type: long}",
			"- {type: add_time, to_column: {name: t, type: timestamp}, from_value: {mode: fixed_time, value: 1451606400000, unix_timestamp_unit: milli}}\n",
			[][]any{{number("1")}}, "id:long t:timestamp", []string{"1 | 2016-01-01 00:00:00 UTC"}, ""},
		{"incremental_time wraps", "{name: id, type: long}",
			"- type: add_time\n  to_column: {name: t, type: long}\n  from_value: {mode: incremental_time, from: '2016-01-01 00:00:00 +0000', to: '2016-01-01 00:00:01 +0000'}\n",
			[][]any{{number("1")}, {number("2")}, {number("3")}}, "id:long t:long",
			[]string{"1 | 1451606400", "2 | 1451606401", "3 | 1451606400"}, ""},
		{"incremental_time with a format and zone", "{name: id, type: long}",
			"- type: add_time\n  to_column: {name: t, type: timestamp}\n  from_value: {mode: incremental_time, from: '2016/01/01 09:00', to: '2016/01/01 09:01', timestamp_format: '%Y/%m/%d %H:%M', timezone: Asia/Tokyo}\n",
			[][]any{{number("1")}, {number("2")}}, "id:long t:timestamp",
			[]string{"1 | 2016-01-01 00:00:00 UTC", "2 | 2016-01-01 00:00:01 UTC"}, ""},
		{"from a long column", "{name: created, type: long}",
			"- {type: add_time, to_column: {name: t, type: timestamp}, from_column: {name: created, unix_timestamp_unit: milli}}\n",
			[][]any{{number("1451606400123")}, {nil}}, "created:long t:timestamp",
			[]string{"1451606400123 | 2016-01-01 00:00:00.123 UTC", "NULL | NULL"}, ""},
		{"from a string column of the same name", "{name: t, type: string}",
			"- {type: add_time, to_column: {name: t, type: long, unix_timestamp_unit: micro}, from_column: {name: t, timestamp_format: '%Y-%m-%d %H:%M:%S', timezone: Asia/Tokyo}}\n",
			[][]any{{"2016-01-01 09:00:00"}}, "t_:string t:long", []string{"2016-01-01 09:00:00 | 1451606400000000"}, ""},
		{"from a timestamp column", "{name: at, type: timestamp}",
			"- {type: add_time, to_column: {name: t, type: long, unix_timestamp_unit: nano}, from_column: {name: at}}\n",
			[][]any{{time.Unix(1, 5).UTC()}}, "at:timestamp t:long", []string{"1970-01-01 00:00:01 UTC | 1000000005"}, ""},
		{"from a json column", "{name: j, type: json}",
			"- {type: add_time, to_column: {name: t, type: long}, from_column: {name: j, timestamp_format: '%Y-%m-%d'}}\n",
			[][]any{{jsonOf("1451606400")}, {jsonOf(`"2016-01-02"`)}}, "j:json t:long",
			[]string{"1451606400 | 1451606400", `"2016-01-02" | 1451692800`}, ""},
		{"bad column value", "{name: s, type: string}",
			"- {type: add_time, to_column: {name: t, type: long}, from_column: {name: s, timestamp_format: '%Y-%m-%d'}}\n",
			[][]any{{"yesterday"}}, "", nil, `line 2 (field "s"): add_time from_column: "yesterday" is not a timestamp in the format %Y-%m-%d`},
		{"both sources", "{name: s, type: string}",
			"- {type: add_time, to_column: {name: t, type: long}, from_column: {name: s}, from_value: {mode: upload_time}}\n",
			nil, "", nil, "give one of from_value and from_column"},
		{"no source", "{name: s, type: string}", "- {type: add_time, to_column: {name: t, type: long}}\n",
			nil, "", nil, "give one of from_value and from_column"},
		{"bad to type", "{name: s, type: string}",
			"- {type: add_time, to_column: {name: t, type: string}, from_value: {mode: upload_time}}\n", nil, "", nil, `type "string": want timestamp or long`},
		{"bad unit", "{name: s, type: string}",
			"- {type: add_time, to_column: {name: t, type: long, unix_timestamp_unit: hour}, from_value: {mode: upload_time}}\n", nil, "", nil, `"hour"`},
		{"fixed_time without value", "{name: s, type: string}",
			"- {type: add_time, to_column: {name: t, type: long}, from_value: {mode: fixed_time}}\n", nil, "", nil, "fixed_time needs value"},
		{"upload_time with value", "{name: s, type: string}",
			"- {type: add_time, to_column: {name: t, type: long}, from_value: {mode: upload_time, value: 1}}\n", nil, "", nil, "upload_time takes no value"},
		{"to before from", "{name: s, type: string}",
			"- {type: add_time, to_column: {name: t, type: long}, from_value: {mode: incremental_time, from: 10, to: 1}}\n", nil, "", nil, "to is before from"},
		{"bad mode", "{name: s, type: string}",
			"- {type: add_time, to_column: {name: t, type: long}, from_value: {mode: now}}\n", nil, "", nil, `mode "now"`},
		{"from a boolean", "{name: b, type: boolean}",
			"- {type: add_time, to_column: {name: t, type: long}, from_column: {name: b}}\n", nil, "", nil, "is a boolean"},
		{"unknown key", "{name: s, type: string}",
			"- {type: add_time, to_column: {name: t, type: long, format: x}, from_value: {mode: upload_time}}\n", nil, "", nil, `to_column: unknown key "format"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cols, out, err := filterCase(t, tt.cols, tt.filters, FilterRun{Start: start}, tt.rows...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cols != tt.wantCols || strings.Join(out, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got %q\n%q\nwant %q\n%q", cols, out, tt.wantCols, tt.want)
			}
		})
	}
}

// TestStreamFilters: filters in the decoder's stream: a bad record of
// expand_json stops the object with its line and column, or is skipped
// and reported, by the filter's stop_on_invalid_record (default: the
// parser's); upload_time is the run's start in every file.
func TestStreamFilters(t *testing.T) {
	data := `{"id":1,"p":{"n":1}}` + "\n" + `{"id":2,"p":{"n":"x"}}` + "\n" + `{"id":3,"p":{"n":3}}` + "\n"
	tests := []struct {
		name, parserStop, filterStop string
		want, wantBad, wantErr       string
	}{
		{"stop by default", "", "", "", "", `line 2 (field "n"): expand_json of "p" at $.n: "x" is not a long`},
		{"filter skips", "", "stop_on_invalid_record: false\n  ", "1\t1\n3\t3\n", "line 2", ""},
		{"parser skips", "    stop_on_invalid_record: false\n", "", "1\t1\n3\t3\n", "line 2", ""},
		{"filter stops where the parser skips", "    stop_on_invalid_record: false\n", "stop_on_invalid_record: true\n  ", "", "", "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := base + "  auth_method: anonymous\n  parser:\n    type: jsonl\n" + tt.parserStop +
				"    columns: [{name: id, type: long}, {name: p, type: json}]\nfilters:\n- type: expand_json\n  json_column_name: p\n  " +
				tt.filterStop + "expanded_columns: [{name: n, type: long}]\n"
			c, err := Parse([]byte(text))
			if err != nil {
				t.Fatal(err)
			}
			l, err := c.filteredFor(FilterRun{})
			if err != nil {
				t.Fatal(err)
			}
			var bad []string
			dec := decoderFor(c.In.Parser, l, dialectPostgres, "", c.In.Parser.skipBad(), func(file string, err error) {
				bad = append(bad, file+": "+err.Error())
			})
			got, err := io.ReadAll(dec("s3://b/k/a.jsonl", strings.NewReader(data)))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("rows %q, want %q", got, tt.want)
			}
			if len(bad) != 1 || !strings.Contains(bad[0], "s3://b/k/a.jsonl: "+tt.wantBad) {
				t.Errorf("reported %q", bad)
			}
		})
	}
	t.Run("upload_time", func(t *testing.T) {
		text := base + "  auth_method: anonymous\n  parser:\n    type: csv\n    columns: [{name: id, type: long}]\nfilters:\n" +
			"- {type: add_time, to_column: {name: t, type: long, unix_timestamp_unit: nano}, from_value: {mode: upload_time}}\n" +
			"- {type: add_filename}\n"
		c, err := Parse([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
		l, err := c.filteredFor(FilterRun{Start: start})
		if err != nil {
			t.Fatal(err)
		}
		dec := decoderFor(c.In.Parser, l, dialectPostgres, "", false, nil)
		var all string
		for _, f := range []string{"s3://b/k/a.csv", "s3://b/k/b.csv"} {
			got, err := io.ReadAll(dec(f, strings.NewReader("1\n2\n")))
			if err != nil {
				t.Fatal(err)
			}
			all += string(got)
		}
		n := start.UnixNano()
		if want := fmt.Sprintf("1\t%d\ta.csv\n2\t%[1]d\ta.csv\n1\t%[1]d\tb.csv\n2\t%[1]d\tb.csv\n", n); all != want {
			t.Errorf("rows %q, want %q", all, want)
		}
	})
}

// FuzzExpandJSON: any text in the JSON column gives typed values or a bad
// record, never a panic.
func FuzzExpandJSON(f *testing.F) {
	f.Add(doc)
	f.Add(`[1,{"user":{"id":"7"}}]`)
	f.Add(`{"user":{"id":1e400,"tags":[[],{}]}}`)
	f.Add(`"str"`)
	filters := "- type: expand_json\n  json_column_name: payload\n  expanded_columns:\n" +
		"  - {name: user.id, type: long}\n  - {name: 'user.tags[*]', type: string}\n  - {name: score, type: double}\n" +
		"  - {name: ok, type: boolean}\n  - {name: at, type: timestamp}\n  - {name: '..id', type: json}\n"
	f.Fuzz(func(t *testing.T, payload string) {
		_, _, err := filterCase(t, "{name: payload, type: string}", filters, FilterRun{}, []any{payload})
		var bad *badRecord
		if err != nil && !errors.As(err, &bad) {
			t.Fatalf("%q: %v", payload, err)
		}
	})
}
