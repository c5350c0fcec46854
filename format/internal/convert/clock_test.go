package convert

import (
	"testing"
	"time"

	"github.com/s3bridge/s3bridge/tuple"
)

func TestTimeOfDay(t *testing.T) {
	for _, tt := range []struct {
		in   tuple.Value
		want int64 // -1 for an error
	}{
		{tuple.StringValue("12:34:56"), 45296_000000},
		{tuple.StringValue("12:34:56.5"), 45296_500000},
		{tuple.StringValue("00:00:00.000001"), 1},
		{tuple.StringValue("23:59:59.9999999"), 86399_999999}, // truncated
		{tuple.StringValue("24:00:00"), 86400_000000},
		{tuple.StringValue("-00:00:00"), 0},
		{tuple.StringValue("24:00:00.000001"), -1},
		{tuple.StringValue("-01:00:00"), -1},
		{tuple.StringValue("838:59:59"), -1},
		{tuple.StringValue("12:60:00"), -1},
		{tuple.StringValue("12:34"), -1},
		{tuple.StringValue("12:34:56."), -1},
		{tuple.StringValue("1:2:3"), -1},
		{tuple.IntValue(86400_000000), 86400_000000},
		{tuple.IntValue(-1), -1},
		{tuple.TimeValue(time.Date(1970, 1, 1, 1, 2, 3, 4000, time.UTC)), 3723_000004},
		{tuple.FloatValue(1), -1},
	} {
		got, err := TimeOfDay(tt.in)
		if (err != nil) != (tt.want < 0) || (err == nil && got != tt.want) {
			t.Errorf("TimeOfDay(%s) = %d, %v; want %d", Describe(tt.in), got, err, tt.want)
		}
	}
}

func TestAppendClock(t *testing.T) {
	for us, want := range map[int64]string{0: "00:00:00", 45296_789000: "12:34:56.789", 1: "00:00:00.000001", 86400_000000: "24:00:00",
		86399_999999: "23:59:59.999999", 36000_100000: "10:00:00.1"} {
		if got := string(AppendClock(nil, us)); got != want {
			t.Errorf("AppendClock(%d) = %s, want %s", us, got, want)
		}
		if back, err := TimeOfDay(tuple.StringValue(want)); err != nil || back != us {
			t.Errorf("TimeOfDay(%s) = %d, %v; want %d", want, back, err, us)
		}
	}
}

func TestUUID(t *testing.T) {
	const s = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
	b := make([]byte, 16)
	for _, in := range []tuple.Value{tuple.StringValue(s), tuple.StringValue("A0EEBC999C0B4EF8BB6D6BB9BD380A11")} {
		if err := UUID(b, in); err != nil || string(AppendUUID(nil, b)) != s {
			t.Errorf("UUID(%s) = %x, %v", Describe(in), b, err)
		}
	}
	if err := UUID(make([]byte, 16), tuple.BytesValue(b)); err != nil {
		t.Errorf("UUID of 16 bytes: %v", err)
	}
	for _, bad := range []tuple.Value{tuple.StringValue(s + "0"), tuple.StringValue(s[1:]), tuple.StringValue("g" + s[1:]), tuple.BytesValue(b[1:]), tuple.IntValue(1)} {
		if err := UUID(make([]byte, 16), bad); err == nil {
			t.Errorf("UUID(%s) accepted it", Describe(bad))
		}
	}
}

// TestAppendTextList: a list prints as PostgreSQL's array literal.
func TestAppendTextList(t *testing.T) {
	l := func(v ...tuple.Value) tuple.Value { return tuple.ListValue(v) }
	s := tuple.StringValue
	ints := tuple.ListOf("a", tuple.Column{Type: tuple.TypeInt32}, 2)
	if got := string(AppendText(nil, l(l(tuple.IntValue(1), tuple.NullValue()), l(tuple.IntValue(-3), tuple.IntValue(4))), ints)); got != "{{1,NULL},{-3,4}}" {
		t.Errorf("ints: %s", got)
	}
	texts := tuple.ListOf("a", tuple.Column{Type: tuple.TypeText}, 1)
	got := string(AppendText(nil, l(s("x"), s("y z"), s(""), s("null"), s(`a"b\c`), s("{}"), tuple.NullValue()), texts))
	if want := `{x,"y z","","null","a\"b\\c","{}",NULL}`; got != want {
		t.Errorf("texts: %s, want %s", got, want)
	}
	if got := string(AppendText(nil, l(), texts)); got != "{}" {
		t.Errorf("empty: %s", got)
	}
	if got := string(AppendText(nil, tuple.IntValue(45296_500000), tuple.Column{Type: tuple.TypeTime})); got != "12:34:56.5" {
		t.Errorf("time: %s", got)
	}
}
