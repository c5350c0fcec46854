package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// common are the flags most commands share.
type common struct {
	db       string
	async    bool
	json     bool
	logLevel string
}

func newFlags(name string, e *env, c *common, taskVerb bool) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&c.db, "db", e.getenv("S3BRIDGE_DB"), "instance URL (default $S3BRIDGE_DB)")
	fs.StringVar(&c.logLevel, "log-level", "warn", "debug, info, warn or error")
	if taskVerb {
		fs.BoolVar(&c.async, "async", false, "only enqueue the task and print its id, for an agent to run")
	}
	fs.BoolVar(&c.json, "json", false, "print JSON")
	return fs
}

func (c *common) logger(w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		level = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// parse parses args, allowing flags after positional arguments too.
func parse(fs *flag.FlagSet, args []string, wantArgs ...int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(wantArgs) == 2 && (len(pos) < wantArgs[0] || len(pos) > wantArgs[1]) {
		return nil, fmt.Errorf("%s takes %d to %d arguments, got %d (%s)", fs.Name(), wantArgs[0], wantArgs[1], len(pos), strings.Join(pos, " "))
	}
	return pos, nil
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }
