package load

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format"
)

// everyOption is format.Options with every exported field set, found by
// reflection so that a field added to format.Options and not to options
// fails TestParamsJSON instead of vanishing from task metadata.
func everyOption(t *testing.T) format.Options {
	t.Helper()
	var o format.Options
	v := reflect.ValueOf(&o).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() {
			continue
		}
		switch f.Kind() {
		case reflect.String:
			f.SetString(v.Type().Field(i).Name[:2])
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int:
			f.SetInt(int64(i + 1))
		default:
			t.Fatalf("format.Options.%s is a %s: teach everyOption and options about it", v.Type().Field(i).Name, f.Kind())
		}
	}
	return o
}

// TestParamsJSON: a load's metadata stores its options under snake_case
// keys, as the rest of the metadata, and reads back every option; the
// metadata of a task queued by an earlier version, with format.Options' Go
// field names, still reads.
func TestParamsJSON(t *testing.T) {
	p := Params{Source: SourceFile, URI: "s3://bkt/a.csv", Table: "t", Columns: []string{"a"}, Options: everyOption(t), SkipBadRows: true}
	p.Options.Format = "csv"
	task, err := Task(p)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct{ Options map[string]any }
	if err := json.Unmarshal(task.Metadata, &raw); err != nil {
		t.Fatal(err)
	}
	for k := range raw.Options {
		if strings.ToLower(k) != k {
			t.Errorf("options key %q: want snake_case (%s)", k, task.Metadata)
		}
	}
	for _, k := range []string{"format", "fields_terminated_by", "ignore_lines", "rows_identified_by", "null_string", "max_record_bytes"} {
		if _, ok := raw.Options[k]; !ok {
			t.Errorf("options lack %q: %s", k, task.Metadata)
		}
	}
	var got Params
	if err := task.Params(&got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, p)
	}

	// Only what was given is stored.
	small, err := Task(Params{Source: SourceFile, URI: "s3://bkt/a.csv", Table: "t", Options: format.Options{Format: "csv", FieldsTerminatedBy: ";"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `"options":{"format":"csv","fields_terminated_by":";"}`; !strings.Contains(string(small.Metadata), want) {
		t.Errorf("metadata %s, want %s in it", small.Metadata, want)
	}

	tests := []struct {
		name, meta string
		want       Params
	}{
		{"earlier version", `{"source":"prefix","uri":"s3://bkt/in/","table":"t","options":{"Format":"text","FieldsTerminatedBy":";",` +
			`"FieldsEnclosedBy":"","FieldsOptionallyEnclosed":false,"FieldsEscapedBy":"\\","NoEscape":false,"LinesStartingBy":"",` +
			`"LinesTerminatedBy":"\n","IgnoreLines":1,"Header":true,"NullString":"NA","NullEmpty":false,"LazyQuotes":true,` +
			`"RowsIdentifiedBy":"","Charset":"latin1","MaxRecordBytes":0},"skip_bad_rows":true}`,
			Params{Source: SourcePrefix, URI: "s3://bkt/in/", Table: "t", SkipBadRows: true, Options: format.Options{Format: "text",
				FieldsTerminatedBy: ";", FieldsEscapedBy: `\`, LinesTerminatedBy: "\n", IgnoreLines: 1, Header: true, NullString: "NA",
				LazyQuotes: true, Charset: "latin1"}}},
		{"MariaDB's procedure: a statement, no options", `{"statement":"LOAD DATA FROM S3 's3://bkt/a.csv' INTO TABLE t","caller":"app@%"}`,
			Params{Statement: "LOAD DATA FROM S3 's3://bkt/a.csv' INTO TABLE t", Caller: "app@%"}},
		{"single-word options only", `{"source":"file","uri":"s3://bkt/a.csv","table":"t","options":{"format":"csv","header":true}}`,
			Params{Source: SourceFile, URI: "s3://bkt/a.csv", Table: "t", Options: format.Options{Format: "csv", Header: true}}},
	}
	for _, tt := range tests {
		var got Params
		task := s3bridge.Task{Metadata: json.RawMessage(tt.meta)}
		if err := task.Params(&got); err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: read\n%+v\nwant\n%+v", tt.name, got, tt.want)
		}
	}
}

// TestValidateURI: a load's URI is parsed before it becomes a task; only a
// prefix load may name a whole bucket.
func TestValidateURI(t *testing.T) {
	tests := []struct {
		source, uri string
		ok          bool
	}{
		{SourceFile, "s3://bkt/a.csv", true},
		{SourceFile, "arn:aws:s3:::bkt/a.csv", true},
		{SourceFile, "s3-eu-west-3://bkt/a.csv", true},
		{SourcePrefix, "s3://bkt", true},
		{SourcePrefix, "s3://bkt/in/", true},
		{SourceManifest, "s3://bkt/m.json", true},
		{SourceFile, "s3://bkt", false},
		{SourceManifest, "s3://bkt/", false},
		{SourceFile, "s3://B_ad/a.csv", false},
		{SourcePrefix, "http://bkt/in/", false},
		{SourceFile, "bkt/a.csv", false},
	}
	for _, tt := range tests {
		err := Params{Source: tt.source, URI: tt.uri, Table: "t", Options: format.Options{Format: "csv"}}.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%s %s: %v, want ok %v", tt.source, tt.uri, err, tt.ok)
		}
	}
}
