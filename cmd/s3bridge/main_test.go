package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

// TestHelp parses every command's flags, so a flag clash fails here rather
// than in a user's terminal.
func TestHelp(t *testing.T) {
	for _, c := range commands() {
		if c.run == nil {
			continue // a sub-command, listed for usage
		}
		var out bytes.Buffer
		e := &env{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
		err := run(t.Context(), e, []string{c.name, "-h"})
		if !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s -h: got %v, want flag.ErrHelp", c.name, err)
		}
		if !strings.Contains(out.String(), "Usage of "+c.name) {
			t.Errorf("%s -h printed %q", c.name, out.String())
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := map[string]int64{"50GB": 50 << 30, "512MiB": 512 << 20, "1024": 1024, "2 t": 2 << 40}
	for in, want := range tests {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1GB", "lots", "0"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q): want an error", bad)
		}
	}
}
