package binlog

import (
	"testing"

	"github.com/s3bridge/s3bridge/pipeline"
)

func TestGTIDSet(t *testing.T) {
	s, err := ParseGTIDSet(" 1-2-7, 0-1-100 ")
	if err != nil || s.String() != "0-1-100,1-2-7" {
		t.Fatalf("parse: %s, %v", s, err)
	}
	if got := s.With(GTID{Domain: 1, Server: 3, Seq: 8}).With(GTID{Domain: 5, Server: 1, Seq: 1}).String(); got != "0-1-100,1-3-8,5-1-1" {
		t.Errorf("With: %s", got)
	}
	if got := s.With(GTID{Domain: 0, Server: 1, Seq: 101}).String(); got != "0-1-101,1-2-7" || s.String() != "0-1-100,1-2-7" {
		t.Errorf("With changed its receiver or missed: %s, %s", got, s)
	}
	if got := (GTIDSet{}).With(GTID{Domain: 3, Seq: 1}).String(); got != "3-0-1" {
		t.Errorf("With on the empty set: %s", got)
	}
	for _, bad := range []string{"1-2", "a-b-c", "0-1-1,0-2-2", "-1-2-3", "0-1-99999999999999999999999"} {
		if _, err := ParseGTIDSet(bad); err == nil {
			t.Errorf("%q parses", bad)
		}
	}
	if s, err := ParseGTIDSet(""); err != nil || len(s) != 0 {
		t.Errorf("empty set: %v %v", s, err)
	}
}

func TestPositionLSN(t *testing.T) {
	tests := []struct {
		p    Position
		want pipeline.LSN
	}{
		{Position{File: "mariadb-bin.000001", Pos: 4}, 1<<32 | 4},
		{Position{File: "/var/log/mysql/bin.4294967295", Pos: 0xffffffff}, 0xffffffffffffffff},
		{Position{File: "x.000010", Pos: 256}, 10<<32 | 256},
	}
	for _, tt := range tests {
		if got, err := tt.p.LSN(); err != nil || got != tt.want {
			t.Errorf("%s: %s, %v; want %s", tt.p, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "nodot", "bin.", "bin.x1", "bin.4294967296"} {
		if _, err := (Position{File: bad}).LSN(); err == nil {
			t.Errorf("file %q maps", bad)
		}
	}
	p := Position{GTIDs: GTIDSet{{0, 1, 5}}, File: "b.000002", Pos: 9}
	if p.String() != "0-1-5 b.000002:9" || p.IsZero() || !(Position{}).IsZero() {
		t.Errorf("String %q", p)
	}
}

func TestParseURL(t *testing.T) {
	cfg, err := ParseURL("mysql://rep:p%40ss@db.example:3307/app?server_id=77&tls=skip-verify")
	if err != nil || cfg.Addr != "db.example:3307" || cfg.User != "rep" || cfg.Password != "p@ss" || cfg.Database != "app" ||
		cfg.ServerID != 77 || cfg.TLS == nil || !cfg.TLS.InsecureSkipVerify {
		t.Errorf("%+v, %v", cfg, err)
	}
	if cfg, err := ParseURL("mariadb://h"); err != nil || cfg.Addr != "h:3306" || cfg.TLS != nil {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
	for _, bad := range []string{"postgres://h", "mysql://h?server_id=0", "mysql://h?tls=maybe", "mysql://h?server_id=x"} {
		if _, err := ParseURL(bad); err == nil {
			t.Errorf("%s parses", bad)
		}
	}
	a, b := NewFromConfig(Config{}, "one"), NewFromConfig(Config{}, "two")
	if a.ServerID() == b.ServerID() || a.ServerID() < 1<<31 || NewFromConfig(Config{}, "one").ServerID() != a.ServerID() {
		t.Errorf("server ids %d %d", a.ServerID(), b.ServerID())
	}
}
