package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/dustin/go-humanize"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/control"
)

// common are the flags most commands share.
type common struct {
	db       string
	async    bool
	json     bool
	logLevel logLevel
	// settings are the instance's, as withInstance read them to tell it
	// is attached; nil before.
	settings *s3bridge.Settings
}

// flagSet is a command's flags: the standard flag package, with flags
// allowed anywhere among the arguments ("--" ends them), help on stdout,
// and errors left to main to report once, with the command's usage.
type flagSet struct {
	*flag.FlagSet
	e    *env
	name string
}

func newFlagSet(name string, e *env) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// The flag package would print each error and the usage itself, then
	// main again: errors are returned and printed once, by main.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, e: e, name: name}
}

// Flags newFlags adds besides --db and --log-level.
const (
	withAsync = 1 << iota // --async: enqueue only
	withJSON              // --json: one JSON document on stdout
)

func newFlags(name string, e *env, c *common, with int) *flagSet {
	fs := newFlagSet(name, e)
	fs.StringVar(&c.db, "db", e.getenv("S3BRIDGE_DB"), "instance `URL` (default $S3BRIDGE_DB)")
	c.logLevel = logLevel(slog.LevelWarn)
	fs.Var(&c.logLevel, "log-level", "log `LEVEL`: debug, info, warn or error")
	if with&withAsync != 0 {
		fs.BoolVar(&c.async, "async", false, "only enqueue the task and print its id, for an agent to run")
	}
	if with&withJSON != 0 {
		fs.BoolVar(&c.json, "json", false, "print one JSON document on stdout (shapes: docs/cli.md, Scripting)")
	}
	return fs
}

func (c *common) logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.Level(c.logLevel)}))
}

// parse parses args, with flags before, between or after the positional
// arguments, and checks there are between minArgs and maxArgs of those.
// -h and --help print the command's help on stdout and return
// flag.ErrHelp, which main turns into exit status 0.
func (fs *flagSet) parse(args []string, minArgs, maxArgs int) ([]string, error) {
	err := fs.Parse(reorder(fs.FlagSet, args))
	fs.e.json = wantsJSON(fs.FlagSet, args, err == nil)
	if errors.Is(err, flag.ErrHelp) {
		printHelp(fs.e.stdout, fs.name, fs.FlagSet)
		return nil, err
	}
	if err != nil {
		return nil, usageErrorf(fs.name, "%v", err)
	}
	pos := fs.Args()
	names := argNames(fs.name)
	switch {
	case len(pos) < minArgs:
		missing := "an argument"
		if len(names) >= minArgs {
			missing = strings.Join(names[len(pos):minArgs], " and ")
		}
		return nil, usageErrorf(fs.name, "missing %s", missing)
	case len(pos) > maxArgs:
		return nil, usageErrorf(fs.name, "unexpected argument %q", pos[maxArgs])
	}
	return pos, nil
}

// wantsJSON reports whether the command line asks for --json, so that a
// failure is a JSON document too (runCommand). A parse that stopped at a
// bad flag may not have reached --json: the arguments are read instead.
func wantsJSON(fs *flag.FlagSet, args []string, parsed bool) bool {
	f := fs.Lookup("json")
	switch {
	case f == nil:
		return false
	case parsed:
		return f.Value.String() == "true"
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		name, v, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "json" {
			continue
		}
		b, err := strconv.ParseBool(v)
		return !hasValue || (err == nil && b)
	}
	return false
}

// reorder moves the flags in args before the positional arguments, which
// the flag package stops at: "connector create NAME CRON FILE --db URL"
// reads as the user meant. "--" ends the flags; what follows is
// positional even when it starts with a dash.
func reorder(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // unknown: Parse reports it
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return append(append(flags, "--"), pos...)
}

// usageError is a command line that can't be run as written: main prints
// it with the command's usage line and exits 2.
type usageError struct {
	cmd string
	err error
}

func usageErrorf(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, err: fmt.Errorf(format, args...)}
}

func (u *usageError) Error() string {
	return fmt.Sprintf("%s: %v\nusage: s3bridge %s %s (more: s3bridge help %s)", u.cmd, u.err, u.cmd, usageLine(u.cmd), u.cmd)
}

func (u *usageError) Unwrap() error { return u.err }

// logLevel is --log-level: a slog level name, refused when unknown.
type logLevel slog.Level

func (l *logLevel) String() string { return strings.ToLower(slog.Level(*l).String()) }

func (l *logLevel) Set(s string) error {
	var lv slog.Level
	switch strings.ToLower(s) {
	case "debug", "info", "warn", "error":
		if err := lv.UnmarshalText([]byte(s)); err != nil {
			return err
		}
	default:
		return fmt.Errorf("want debug, info, warn or error")
	}
	*l = logLevel(lv)
	return nil
}

// sizeFlag is a flag holding a byte count, written as S3 and AWS documents
// write sizes: 1.5GB, 512MiB, 6 GB, 1024. GB, MB, KB are powers of 1000,
// GiB, MiB, KiB powers of 1024. Anything else is refused.
type sizeFlag int64

func (s *sizeFlag) String() string { return humanize.IBytes(uint64(*s)) }

func (s *sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = sizeFlag(n)
	return nil
}

// parseSize reads a positive byte count with an optional unit
// (control.ParseSize, which the API shares).
func parseSize(v string) (int64, error) { return control.ParseSize(v) }

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }
