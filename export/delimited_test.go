package export

import (
	"testing"

	"github.com/s3bridge/s3bridge/format/delimited"
)

func ptr(s string) *string { return &s }

// TestDialect: the FIELDS and LINES clauses, defaults applied, become the
// writer's dialect (the dialects format/delimited's fuzzer reads back).
func TestDialect(t *testing.T) {
	tests := []struct {
		format string
		fields Fields
		want   delimited.Dialect
	}{
		{FormatCSV, Fields{},
			delimited.Dialect{CSV: true, FieldsTerminatedBy: ",", FieldsEnclosedBy: '"', FieldsEscapedBy: '"', LinesTerminatedBy: "\n"}},
		{FormatCSV, Fields{TerminatedBy: ptr(";"), LinesTerminatedBy: ptr("\r\n")},
			delimited.Dialect{CSV: true, FieldsTerminatedBy: ";", FieldsEnclosedBy: '"', FieldsEscapedBy: '"', LinesTerminatedBy: "\r\n"}},
		{FormatCSV, Fields{EnclosedBy: ptr(`"`)},
			delimited.Dialect{CSV: true, FieldsTerminatedBy: ",", FieldsEnclosedBy: '"', AlwaysEnclosed: true, FieldsEscapedBy: '"', LinesTerminatedBy: "\n"}},
		{FormatCSV, Fields{EnclosedBy: ptr("'"), Optionally: true, EscapedBy: ptr(`\`)},
			delimited.Dialect{CSV: true, FieldsTerminatedBy: ",", FieldsEnclosedBy: '\'', FieldsEscapedBy: '\\', LinesTerminatedBy: "\n"}},
		{FormatText, Fields{},
			delimited.Dialect{FieldsTerminatedBy: "\t", FieldsEscapedBy: '\\', LinesTerminatedBy: "\n"}},
		{FormatText, Fields{TerminatedBy: ptr(","), EnclosedBy: ptr(`"`), Optionally: true, LinesStartingBy: ptr(">")},
			delimited.Dialect{FieldsTerminatedBy: ",", FieldsEnclosedBy: '"', FieldsEscapedBy: '\\', LinesStartingBy: ">", LinesTerminatedBy: "\n"}},
		{FormatText, Fields{TerminatedBy: ptr("||"), LinesTerminatedBy: ptr("<eol>\n")},
			delimited.Dialect{FieldsTerminatedBy: "||", FieldsEscapedBy: '\\', LinesTerminatedBy: "<eol>\n"}},
		{FormatText, Fields{EscapedBy: ptr("")},
			delimited.Dialect{FieldsTerminatedBy: "\t", LinesTerminatedBy: "\n"}},
	}
	for _, tt := range tests {
		d, err := newDelimiter(tt.format, tt.fields)
		if err != nil {
			t.Fatalf("%s %+v: %v", tt.format, tt.fields, err)
		}
		if got := d.dialect(); got != tt.want {
			t.Errorf("%s %+v:\n got %+v\nwant %+v", tt.format, tt.fields, got, tt.want)
		}
	}
}
