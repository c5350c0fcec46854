package main

import "testing"

func TestUpstreamAddr(t *testing.T) {
	tests := []struct {
		raw, want string
		ok        bool
	}{
		{"mysql://db:3306", "db:3306", true},
		{"mariadb://db", "db:3306", true},
		{"mysql://[::1]:3307", "[::1]:3307", true},
		{"mysql://u:pw@db:3306", "", false},
		{"postgres://db:5432", "", false},
		{"mysql://db:3306?tls=true", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := upstreamAddr(tt.raw)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("upstreamAddr(%q) = %q, %v; want %q, ok=%v", tt.raw, got, err, tt.want, tt.ok)
		}
	}
}
