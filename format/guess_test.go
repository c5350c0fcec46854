package format

import (
	"reflect"
	"testing"
)

func TestGuess(t *testing.T) {
	tests := []struct {
		name, sample, file string
		want               Options
		wantErr            string
	}{
		{name: "csv with header", sample: "id,name,price\n1,alice,2.50\n2,bob,3\n", file: "data.csv",
			want: Options{Format: "csv", Header: true}},
		{name: "csv without header", sample: "1,alice\n2,bob\n", file: "data.csv.gz", want: Options{Format: "csv"}},
		{name: "quoted csv", sample: "\"a,b\",c\n\"d,e\",f\n", want: Options{Format: "csv"}},
		{name: "tsv", sample: "1\talice\n2\tbob\n", file: "x.txt", want: Options{Format: "tsv"}},
		{name: "tab with quotes is csv", sample: "\"a b\"\t1\n\"c\"\t2\n", want: Options{Format: "csv", FieldsTerminatedBy: "\t"}},
		{name: "semicolon", sample: "a;b;c\n1;2;3\n", want: Options{Format: "csv", FieldsTerminatedBy: ";", Header: true}},
		{name: "pipe", sample: "x|y\n1|2\n", want: Options{Format: "csv", FieldsTerminatedBy: "|", Header: true}},
		{name: "commas in a tab file", sample: "a\tb\n1,2\t3\n4\t5,6\n", want: Options{Format: "tsv", Header: true}},
		{name: "last line cut", sample: "a,b\n1,2\n3", want: Options{Format: "csv", Header: true}},
		{name: "one column", sample: "alice\nbob\n", want: Options{Format: "csv"}},
		{name: "jsonl", sample: "{\"a\":1}\n{\"a\":2}\n", file: "x.json", want: Options{Format: "jsonl"}},
		{name: "jsonl cut", sample: "{\"a\":1}\n{\"a\":", want: Options{Format: "jsonl"}},
		{name: "json array", sample: " [{\"a\":1}]", want: Options{Format: "json"}},
		{name: "pretty json objects", sample: "{\n  \"a\": 1\n}\n", want: Options{Format: "json"}},
		{name: "xml", sample: `<?xml version="1.0"?><items><item id="1"/><item id="2"/></items>`, want: Options{Format: "xml", RowsIdentifiedBy: "<item>"}},
		{name: "mysqldump xml", sample: "<?xml version=\"1.0\"?>\n<resultset statement=\"s\">\n  <row>\n", want: Options{Format: "xml", RowsIdentifiedBy: "<row>"}},
		{name: "latin1", sample: "name,city\ncaf\xe9,x1\n", want: Options{Format: "csv", Header: true, Charset: "latin1"}},
		{name: "byte order mark", sample: "\xef\xbb\xbfid,n\n1,2\n", want: Options{Format: "csv", Header: true}},
		{name: "empty", sample: " \n", wantErr: "guess: the sample is empty"},
		{name: "binary", sample: "\x1f\x8b\x08\x00\x00", wantErr: "guess: the sample is binary (compressed or not text)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Guess([]byte(tc.sample), tc.file)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
