package token

import (
	"strings"
	"testing"
	"time"
)

func TestAllows(t *testing.T) {
	tests := []struct {
		have, need Role
		want       bool
	}{
		{Viewer, Viewer, true}, {Viewer, Operator, false}, {Viewer, Admin, false},
		{Operator, Viewer, true}, {Operator, Operator, true}, {Operator, Admin, false},
		{Admin, Viewer, true}, {Admin, Operator, true}, {Admin, Admin, true},
		{"", Viewer, false}, {"root", Viewer, false},
	}
	for _, tc := range tests {
		if got := tc.have.Allows(tc.need); got != tc.want {
			t.Errorf("%q.Allows(%q) = %v, want %v", tc.have, tc.need, got, tc.want)
		}
	}
}

func TestParseRole(t *testing.T) {
	for _, s := range []string{"admin", "Operator", " viewer "} {
		if _, err := ParseRole(s); err != nil {
			t.Errorf("ParseRole(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "root", "admins"} {
		if _, err := ParseRole(s); err == nil {
			t.Errorf("ParseRole(%q): no error", s)
		}
	}
}

func TestNewAndHash(t *testing.T) {
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New()
	if a == b || !strings.HasPrefix(a, Prefix) || len(a) != len(Prefix)+43 {
		t.Fatalf("tokens %q and %q", a, b)
	}
	// The hash is SHA-256 of the token, as sha256sum prints it.
	if got, want := Hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf("Hash(abc) = %s, want %s", got, want)
	}
	if !Equal(Hash(a), Hash(a)) || Equal(Hash(a), Hash(b)) {
		t.Error("Equal")
	}
}

func TestParseExpiry(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"", 0, false}, {"0", 0, false}, {"90d", 90 * 24 * time.Hour, false}, {"36h", 36 * time.Hour, false},
		{"-1h", 0, true}, {"0d", 0, true}, {"xd", 0, true}, {"soon", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseExpiry(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseExpiry(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"ci", "ann@example.com", "grafana-1"} {
		if err := CheckName(ok); err != nil {
			t.Errorf("CheckName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-x", "a b", strings.Repeat("a", 101)} {
		if err := CheckName(bad); err == nil {
			t.Errorf("CheckName(%q): no error", bad)
		}
	}
}
