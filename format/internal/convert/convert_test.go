package convert

import (
	"testing"

	"github.com/s3bridge/s3bridge/tuple"
)

func TestUnscaled(t *testing.T) {
	for in, want := range map[string]string{"1.5": "150", "-0.01": "-1", "42": "4200", "0.10": "10", "-123456789012345678901234.5": "-12345678901234567890123450"} {
		n, err := Unscaled(tuple.StringValue(in), 2)
		if err != nil || n.String() != want {
			t.Errorf("Unscaled(%q, 2) = %v, %v; want %s", in, n, err, want)
		}
		if n.IsInt64() {
			if m, err := Unscaled64(tuple.StringValue(in), 2); err != nil || m != n.Int64() {
				t.Errorf("Unscaled64(%q, 2) = %d, %v; want %s", in, m, err, want)
			}
		}
	}
	for _, bad := range []string{"1.234", "", "-", "1.2.3", "1e5", "abc"} {
		if _, err := Unscaled64(tuple.StringValue(bad), 2); err == nil {
			t.Errorf("Unscaled64(%q, 2) accepted it", bad)
		}
	}
	if m, err := Unscaled64(tuple.StringValue("12.3400"), 2); err != nil || m != 1234 {
		t.Errorf("Unscaled64(12.3400, 2) = %d, %v", m, err)
	}
	if _, err := Unscaled(tuple.StringValue("1.234"), 2); err == nil {
		t.Error("1.234 fit scale 2")
	}
}
