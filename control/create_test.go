package control

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/s3bridge/s3bridge/load"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1024", 1024, true},
		{"1.5GB", 1_500_000_000, true},
		{"512MiB", 512 << 20, true},
		{"6 GB", 6_000_000_000, true},
		{"1,5GB", 0, false},
		{"-1", 0, false},
		{"0", 0, false},
		{"", 0, false},
		{"lots", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestSizeJSON(t *testing.T) {
	tests := []struct {
		in   string
		want Size
		ok   bool
	}{
		{`1048576`, 1 << 20, true},
		{`"100MB"`, 100_000_000, true},
		{`0`, 0, false},
		{`-5`, 0, false},
		{`"1,5GB"`, 0, false},
		{`true`, 0, false},
	}
	for _, tt := range tests {
		var got Size
		err := json.Unmarshal([]byte(tt.in), &got)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("Size from %s = %d, %v; want %d (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestLoadRequestParams: the request's fields land where load's flags
// put them.
func TestLoadRequestParams(t *testing.T) {
	tests := []struct {
		name   string
		req    LoadRequest
		source string
		schema string
		table  string
		cols   []string
		format string
	}{
		{"file", LoadRequest{Table: "sales", URI: "s3://b/k.csv"}, load.SourceFile, "", "sales", nil, "csv"},
		{"prefix, schema", LoadRequest{Table: "app.sales", URI: "s3://b/p/", Prefix: true, Format: "jsonl"}, load.SourcePrefix, "app", "sales", nil, "jsonl"},
		{"manifest, columns", LoadRequest{Table: "t", URI: "s3://b/m", Manifest: true, Columns: []string{" a", "", "b "}}, load.SourceManifest, "", "t", []string{"a", "b"}, "csv"},
	}
	for _, tt := range tests {
		p, err := tt.req.Params()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if p.Source != tt.source || p.Schema != tt.schema || p.Table != tt.table || !slices.Equal(p.Columns, tt.cols) || p.Options.Format != tt.format {
			t.Errorf("%s: %+v", tt.name, p)
		}
	}
	_, err := LoadRequest{Table: "t", URI: "s3://b/k", Prefix: true, Manifest: true}.Task()
	var invalid *Invalid
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), "exclude each other") {
		t.Errorf("prefix and manifest: %v", err)
	}
}
