package format

import (
	"slices"
	"testing"
)

// fuzzOptions derives options from a fuzzed byte, so one fuzz target covers
// the option combinations that change the parser's paths.
func fuzzOptions(format string, mode uint8) Options {
	o := Options{Format: format, MaxRecordBytes: 1 << 16}
	bit := func(i uint) bool { return mode&(1<<i) != 0 }
	switch format {
	case "csv":
		o.LazyQuotes = bit(0)
		if bit(1) {
			o.FieldsEscapedBy = `\`
		}
		if bit(2) {
			o.FieldsTerminatedBy = "::"
		}
		if bit(3) {
			o.LinesTerminatedBy = "\r\n"
		}
		if bit(4) {
			o.NullString = `\N`
		}
		o.NullEmpty = bit(5)
		o.Header = bit(6)
	case "text":
		if bit(0) {
			o.FieldsEnclosedBy = `"`
		}
		if bit(1) {
			o.LinesStartingBy = "xx"
		}
		if bit(2) {
			o.FieldsTerminatedBy = "||"
		}
		if bit(3) {
			o.LinesTerminatedBy = "\r\n"
		}
		o.NoEscape = bit(4)
		o.Header = bit(5)
		if bit(6) {
			o.Format = "tsv"
			o.FieldsEnclosedBy, o.LinesStartingBy = "", ""
		}
		o.IgnoreLines = int(mode>>7) * 2
	}
	return o
}

// fuzzDecode checks the decoder's invariants on any input: no panic, every
// error a *Error, no more records than bytes (decode checks those), and the
// same records whatever the read sizes, which exercises every place a record
// can be cut.
func fuzzDecode(t *testing.T, data []byte, o Options) {
	whole := decode(t, string(data), o)
	// Small reads re-parse a record once per read: keep that linear-ish
	// so the fuzzer's minimiser stays fast on long inputs.
	o.chunk = 1 + len(data)%4 + len(data)/64
	if cut := decode(t, string(data), o); !slices.Equal(whole, cut) {
		t.Fatalf("reads of %d bytes change the result:\nwhole %q\ncut   %q", o.chunk, whole, cut)
	}
}

func addSeeds(f *testing.F, cases []decodeCase) {
	for i, c := range cases {
		f.Add([]byte(c.in), uint8(i*37))
	}
}

func FuzzCSV(f *testing.F) {
	addSeeds(f, csvCases())
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) { fuzzDecode(t, data, fuzzOptions("csv", mode)) })
}

func FuzzText(f *testing.F) {
	addSeeds(f, textCases())
	addSeeds(f, tsvCases())
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) { fuzzDecode(t, data, fuzzOptions("text", mode)) })
}

func FuzzJSONLines(f *testing.F) {
	addSeeds(f, jsonLinesCases())
	f.Fuzz(func(t *testing.T, data []byte, _ uint8) { fuzzDecode(t, data, Options{Format: "jsonl"}) })
}

func FuzzJSON(f *testing.F) {
	addSeeds(f, jsonCases())
	f.Fuzz(func(t *testing.T, data []byte, _ uint8) { fuzzDecode(t, data, Options{Format: "json"}) })
}

func FuzzXML(f *testing.F) {
	addSeeds(f, xmlCases())
	f.Fuzz(func(t *testing.T, data []byte, _ uint8) { decode(t, string(data), Options{Format: "xml"}) })
}
