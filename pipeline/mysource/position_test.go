package mysource

import (
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/pipeline"
	"github.com/s3bridge/s3bridge/pipeline/binlog"
)

func TestToken(t *testing.T) {
	for _, tc := range []struct {
		token string
		want  binlog.Position
	}{
		{"", binlog.Position{}},
		{"0-1-100", binlog.Position{GTIDs: binlog.GTIDSet{{Domain: 0, Server: 1, Seq: 100}}}},
		{"mariadb-bin.000003:1234", binlog.Position{File: "mariadb-bin.000003", Pos: 1234}},
		{"0-1-100,1-2-7 mariadb-bin.000003:1234", binlog.Position{
			GTIDs: binlog.GTIDSet{{Domain: 0, Server: 1, Seq: 100}, {Domain: 1, Server: 2, Seq: 7}}, File: "mariadb-bin.000003", Pos: 1234}},
	} {
		got, err := ParseToken(tc.token)
		if err != nil {
			t.Errorf("ParseToken(%q): %v", tc.token, err)
			continue
		}
		if got.String() != tc.want.String() {
			t.Errorf("ParseToken(%q) = %s, want %s", tc.token, got, tc.want)
		}
		if back := Token(got); back != tc.token {
			t.Errorf("Token(ParseToken(%q)) = %q", tc.token, back)
		}
	}
	for _, bad := range []string{"a.1:x", ":4", "0-1", "f.1:4 g.2:5", "0-1-1 0-1-2", "0-1-1,0-2-2"} {
		if p, err := ParseToken(bad); err == nil {
			t.Errorf("ParseToken(%q) = %s, want an error", bad, p)
		}
	}
	p, _ := ParseToken("0-1-5 mariadb-bin.000007:256")
	if got, want := lsnOf(p), pipeline.LSN(7<<32|256); got != want {
		t.Errorf("LSN %s, want %s", got, want)
	}
}

func TestParseValues(t *testing.T) {
	day := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want any
	}{
		{"2024-02-29", day},
		{"2024-02-29 13:14:15", day.Add(13*time.Hour + 14*time.Minute + 15*time.Second)},
		{"2024-02-29 13:14:15.5", day.Add(13*time.Hour + 14*time.Minute + 15*time.Second + 500*time.Millisecond)},
		{"2024-02-29 00:00:00.000001", day.Add(time.Microsecond)},
		{"0000-00-00", nil},
		{"0000-00-00 00:00:00.000", nil},
		{"2024-00-15", nil},
		{"2024-02-00 01:02:03", nil},
	} {
		got, err := parseDateTime(tc.in)
		if err != nil || !sameValue(got, tc.want) && !(got == nil && tc.want == nil) {
			t.Errorf("parseDateTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"12:34:56", 12*time.Hour + 34*time.Minute + 56*time.Second},
		{"-838:59:59", -(838*time.Hour + 59*time.Minute + 59*time.Second)},
		{"-00:00:00.500", -500 * time.Millisecond},
		{"838:59:59.999000", 838*time.Hour + 59*time.Minute + 59*time.Second + 999*time.Millisecond},
		{"00:00:00.000001", time.Microsecond},
	} {
		got, err := parseTime(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"12:34", "1:2:3.1234567", "x:00:00"} {
		if _, err := parseTime(bad); err == nil {
			t.Errorf("parseTime(%q): no error", bad)
		}
	}
}

func TestColumnType(t *testing.T) {
	for _, tc := range []struct {
		c    infoColumn
		want pipeline.Type
	}{
		{infoColumn{dataType: "int", columnType: "int(10) unsigned"}, pipeline.Type{Kind: pipeline.KindInt64, Name: "int unsigned"}},
		{infoColumn{dataType: "bigint", columnType: "bigint(20) unsigned"}, pipeline.Type{Kind: pipeline.KindDecimal, Precision: 20, Name: "bigint unsigned"}},
		{infoColumn{dataType: "decimal", columnType: "decimal(10,2) unsigned", precision: 10, scale: 2},
			pipeline.Type{Kind: pipeline.KindDecimal, Precision: 10, Scale: 2, Name: "decimal(10,2) unsigned"}},
		{infoColumn{dataType: "time", columnType: "time(3)", fsp: 3}, pipeline.Type{Kind: pipeline.KindTime, Name: "time(3)"}},
		{infoColumn{dataType: "datetime", columnType: "datetime(6) /* mariadb-5.3 */", fsp: 6}, pipeline.Type{Kind: pipeline.KindTimestamp, Name: "datetime"}},
		{infoColumn{dataType: "bit", columnType: "bit(1)", precision: 1}, pipeline.Type{Kind: pipeline.KindBool, Name: "bit(1)"}},
		{infoColumn{dataType: "varchar", columnType: "varchar(10)", charset: "armscii8"}, pipeline.Type{Kind: pipeline.KindBytes, Name: "varbinary"}},
		{infoColumn{dataType: "mediumtext", columnType: "mediumtext", charset: "latin1"}, pipeline.Type{Kind: pipeline.KindString, Name: "mediumtext"}},
		{infoColumn{dataType: "set", columnType: "set('a')", charset: "utf8mb4"}, pipeline.Type{Kind: pipeline.KindText, Name: "set"}},
	} {
		got, err := columnType(tc.c)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("columnType(%+v) = %+v, %v; want %+v", tc.c, got, err, tc.want)
		}
	}
	for _, c := range []infoColumn{
		{dataType: "uuid", columnType: "uuid"},
		{dataType: "inet6", columnType: "inet6"},
		// The stream refuses compressed columns: so does a snapshot.
		{dataType: "varchar", columnType: "varchar(10) /*m!100301 compressed*/", charset: "utf8mb4"},
		{dataType: "blob", columnType: "blob /*m!100301 compressed*/"},
	} {
		if got, err := columnType(c); err == nil {
			t.Errorf("columnType(%+v) = %+v, want an error", c, got)
		}
	}
	// A label that merely says so is no compressed column.
	c := infoColumn{dataType: "enum", columnType: "enum('compressed*/')", charset: "utf8mb4"}
	if got, err := columnType(c); err != nil || got.Kind != pipeline.KindEnum {
		t.Errorf("columnType(%+v) = %+v, %v", c, got, err)
	}
}
func TestFileNamed(t *testing.T) {
	for _, tt := range []struct {
		file string
		seq  uint32
		want string
	}{
		{"mariadb-bin.000041", 41, "mariadb-bin.000041"},
		{"mariadb-bin.000041", 42, "mariadb-bin.000042"},
		{"mariadb-bin.999999", 1000000, "mariadb-bin.1000000"},
		{"a.b.000001", 7, "a.b.000007"},
		{"", 1, ""},
		{"nodot", 1, ""},
		{"trailing.", 1, ""},
	} {
		if got := fileNamed(tt.file, tt.seq); got != tt.want {
			t.Errorf("fileNamed(%q, %d) = %q, want %q", tt.file, tt.seq, got, tt.want)
		}
	}
}
