package main

import (
	"bytes"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"
)

// TestHelp: every command's --help, and s3bridge help CMD, print its
// usage, its positional arguments and an example on stdout and exit 0;
// parsing every command's flags also finds flag clashes here rather than
// in a user's terminal.
func TestHelp(t *testing.T) {
	for _, c := range commands() {
		if c.run == nil {
			continue // help itself
		}
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			e := &env{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
			err := run(t.Context(), e, append(strings.Fields(c.name), "--help"))
			if !errors.Is(err, flag.ErrHelp) || exitCode(err) != 0 || errorText(err) != "" {
				t.Errorf("%s --help: got %v (exit %d), want flag.ErrHelp and exit 0", c.name, err, exitCode(err))
			}
			help := out.String()
			want := []string{"usage: s3bridge " + c.name + " " + c.usage, c.help, "example:\n  ", "s3bridge " + c.name}
			for _, a := range c.args {
				want = append(want, "  "+a.name)
			}
			for _, w := range want {
				if !strings.Contains(help, w) {
					t.Errorf("%s --help lacks %q:\n%s", c.name, w, help)
				}
			}
			if errOut.Len() > 0 {
				t.Errorf("%s --help wrote on stderr: %s", c.name, errOut.String())
			}
			out.Reset()
			if err := run(t.Context(), e, append([]string{"help"}, strings.Fields(c.name)...)); err != nil || out.String() != help {
				t.Errorf("help %s: %v, printed\n%s\nwant what --help prints", c.name, err, out.String())
			}
		})
	}
}

// TestUsageErrors: a command line that can't run is reported once, with the
// command's usage line, and exits 2.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"log"}, []string{"log: missing TASK_ID", "usage: s3bridge log --db URL TASK_ID"}},
		{[]string{"log", "1", "2"}, []string{`log: unexpected argument "2"`}},
		{[]string{"log", "x"}, []string{`task id "x": want a number`, "usage: s3bridge log --db URL TASK_ID"}},
		{[]string{"upload-file", "a.csv"}, []string{"upload-file: missing S3_ARN"}},
		{[]string{"status", "--no-such-flag"}, []string{"status: flag provided but not defined: -no-such-flag", "usage: s3bridge status --db URL [TASK_ID]"}},
		{[]string{"status", "--log-level", "foo"}, []string{`invalid value "foo" for flag -log-level: want debug, info, warn or error`}},
		{[]string{"frobnicate"}, []string{`unknown command "frobnicate"`, "s3bridge help"}},
		{[]string{"help", "frobnicate"}, []string{`unknown command "frobnicate"`}},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		e := &env{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
		err := run(t.Context(), e, tt.args)
		if exitCode(err) != exitUsage {
			t.Errorf("%v: exit %d (%v), want %d", tt.args, exitCode(err), err, exitUsage)
			continue
		}
		msg := errorText(err)
		for _, w := range tt.want {
			if strings.Count(msg, w) != 1 {
				t.Errorf("%v: error %q, want %q once", tt.args, msg, w)
			}
		}
		if out.Len()+errOut.Len() > 0 {
			t.Errorf("%v printed %q %q besides the error: main prints it, once", tt.args, out.String(), errOut.String())
		}
	}
}

// TestReorder: flags may follow the positional arguments, as the next
// issues' "connector create NAME CRON FILE --db URL" do; "--" ends them.
func TestReorder(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.String("db", "", "")
	fs.Bool("force", false, "")
	tests := []struct{ in, want []string }{
		{[]string{"a", "b", "--db", "u"}, []string{"--db", "u", "--", "a", "b"}},
		{[]string{"--db=u", "a", "--force", "b"}, []string{"--db=u", "--force", "--", "a", "b"}},
		{[]string{"a", "--", "--force", "-x"}, []string{"--", "a", "--force", "-x"}},
		{[]string{"--force", "a", "--unknown", "b"}, []string{"--force", "--unknown", "--", "a", "b"}},
		{[]string{"-", "a"}, []string{"--", "-", "a"}},
	}
	for _, tt := range tests {
		if got := reorder(fs, tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("reorder(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestParseSize: sizes as S3 and AWS write them, and nothing else.
func TestParseSize(t *testing.T) {
	tests := map[string]int64{"50GiB": 50 << 30, "512MiB": 512 << 20, "1024": 1024, "1.5GB": 1_500_000_000, "6 GB": 6_000_000_000,
		"100MB": 100_000_000, "20B": 20, "2 TiB": 2 << 40, "1.5 KiB": 1536}
	for in, want := range tests {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1GB", "lots", "0", "10XB", "5XB", "1,5GB", "GB", "1.5.2GB", "0.1B", "99999999999EB"} {
		if n, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) = %d: want an error", bad, n)
		}
	}
}
