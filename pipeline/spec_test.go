package pipeline

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSpec(t *testing.T) {
	base := Spec{Tables: []string{"public.t"}, Bucket: "b"}.WithDefaults()
	for _, tc := range []struct {
		name string
		edit func(*Spec)
		err  string
	}{
		{"defaults", func(*Spec) {}, ""},
		{"both", func(s *Spec) { s.AllTables = true }, "not both"},
		{"neither", func(s *Spec) { s.Tables = nil }, "--tables schema.table"},
		{"bare table", func(s *Spec) { s.Tables = []string{"t"} }, `"t": want schema.table`},
		{"prefix", func(s *Spec) { s.Prefix = "cdc" }, "ending in /"},
		{"prefix dots", func(s *Spec) { s.Prefix = "../x/" }, "without .."},
		{"format", func(s *Spec) { s.Format = "orc" }, "want avro, parquet or jsonl"},
		{"parquet", func(s *Spec) { s.Format = "parquet" }, ""},
		{"parquet deflate", func(s *Spec) { s.Format, s.Codec = "parquet", "deflate" }, ""},
		{"jsonl zstd", func(s *Spec) { s.Format, s.Codec = "jsonl", "zstd" }, ""},
		{"jsonl null", func(s *Spec) { s.Format, s.Codec = "jsonl", "null" }, ""},
		{"jsonl snappy", func(s *Spec) { s.Format = "jsonl" }, "give --codec zstd (.jsonl.zst), deflate (gzip, .jsonl.gz) or null"},
		{"codec", func(s *Spec) { s.Codec = "lz4" }, "--codec"},
		{"snapshot", func(s *Spec) { s.Snapshot = "always" }, "--snapshot"},
		{"interval", func(s *Spec) { s.FlushInterval = Duration(time.Millisecond) }, "--flush-interval"},
	} {
		s := base
		s.Tables = append([]string(nil), base.Tables...)
		tc.edit(&s)
		err := s.Validate()
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
	for format, want := range map[string]string{"": "snappy", "avro": "snappy", "parquet": "snappy", "jsonl": "null"} {
		if got := (Spec{Format: format}).WithDefaults().Codec; got != want {
			t.Errorf("default codec of --format %q: %s, want %s", format, got, want)
		}
	}
	b, err := json.Marshal(base)
	if err != nil || !strings.Contains(string(b), `"flush_interval":"5s"`) {
		t.Fatalf("JSON %s, %v", b, err)
	}
	var back Spec
	if err := json.Unmarshal(b, &back); err != nil || back.FlushInterval != base.FlushInterval || back.MaxFileSize != DefaultMaxFileSize {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}

func TestCheckSourceURL(t *testing.T) {
	for url, want := range map[string]string{
		"postgres://app@db:5432/shop":            "",
		"postgres://app:secret@db:5432/shop":     "holds a password",
		"postgres://app@db:5432/shop?password=x": "holds a password",
		"postgres://app@db:5432/":                "must name the database",
		"mysql://app@db:3306/shop":               "",
		"mariadb://app@db/shop?server_id=9":      "",
		"mysql://app:secret@db/shop":             "MYSQL_PWD",
		"mysql://app@db:3306/":                   "must name the database",
		"mongodb://app@db/shop":                  "postgres:// or mysql:// URL",
	} {
		err := CheckSourceURL(url)
		if (err == nil) != (want == "") || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: %v, want %q", url, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error shows the password: %v", url, err)
		}
	}
	if CheckName("orders_cdc") != nil || CheckName("Orders") == nil || CheckName(strings.Repeat("a", 55)) == nil {
		t.Error("CheckName")
	}
}
