package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"syscall"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format/compress"
	"github.com/s3bridge/s3bridge/load"
	"github.com/s3bridge/s3bridge/s3store"
)

// The variables through which table_import_from_s3 hands s3-cat its
// instance: the SQL function, SECURITY DEFINER, reads both from the
// instance's settings table, never from its caller. The settings hold no
// secret.
const (
	envSettings = "S3BRIDGE_SETTINGS" // base64 of the settings JSON
	envInstance = "S3BRIDGE_INSTANCE" // the instance's name, for aws:SourceArn
)

// runS3Cat writes an object, decompressed, to stdout: what PostgreSQL's
// table_import_from_s3 runs through COPY … FROM PROGRAM, with every
// argument single-quoted so the shell interpolates nothing. It reads as
// the agent's loads do (loadStore, guard): the instance's LOAD role
// and endpoint, under the instance's policy.
//
// Failures must reach the SQL caller, who sees neither stderr nor the
// exit status beyond "program failed". So --size, which the function runs
// first, prints its answer as one JSON line, {"size": N} or {"error": …,
// "detail": …, "sqlstate": …}, and exits 0 either way; and a failure of
// the streaming call is recorded under its --error-file token, which
// --error-of prints the same way (and removes) once COPY has failed.
func runS3Cat(ctx context.Context, e *env, args []string) error {
	var (
		region, token, errorOf string
		size                   bool
		maxDecompressed        int64
	)
	fs := newFlagSet("s3-cat", e)
	fs.StringVar(&region, "region", "", "the bucket's region (table_import_from_s3's region argument)")
	fs.BoolVar(&size, "size", false, `check the object may be read and print {"size": N}, or {"error": …} when not`)
	fs.StringVar(&token, "error-file", "", "on failure also record the error under this token, for --error-of")
	fs.StringVar(&errorOf, "error-of", "", "print the error recorded under this token as JSON, and remove it")
	fs.Int64Var(&maxDecompressed, "max-decompressed", load.DefaultMaxDecompressed, "cap on the decompressed size")
	pos, err := fs.parse(args, 0, 1)
	if err != nil {
		return err
	}
	if errorOf != "" {
		return printRecorded(e, errorOf)
	}
	if len(pos) != 1 {
		return fmt.Errorf("s3-cat takes an S3 URI")
	}
	if size {
		n, err := catSize(ctx, e, pos[0], region)
		return writeJSONLine(e.stdout, catResult(pos[0], n, err))
	}
	err = catStream(ctx, e, pos[0], region, maxDecompressed)
	// PostgreSQL closing the pipe (it stopped reading, on bad input) is
	// not this program's failure to report: the COPY's own error is.
	if err != nil && token != "" && !errors.Is(err, syscall.EPIPE) {
		if rerr := record(e, token, catResult(pos[0], 0, err)); rerr != nil {
			fmt.Fprintln(e.stderr, "s3-cat:", rerr)
		}
	}
	return err
}

// cat is one object read the way the agent's loads read.
type cat struct {
	store *s3store.Client
	guard s3bridge.Guard
	loc   s3bridge.Location
}

// openCat builds the reader from the instance settings in the
// environment. region, the caller's, only tells the client where the
// bucket is: the policy sees the instance's own settings.
func openCat(ctx context.Context, e *env, uri, region string) (*cat, error) {
	set, instance, err := catSettings(e.getenv)
	if err != nil {
		return nil, err
	}
	loc, err := s3bridge.ParseURI(uri)
	if err != nil {
		return nil, badRequest{err}
	}
	g, err := guard(set, instance)
	if err != nil {
		return nil, fmt.Errorf("instance policy: %w", err)
	}
	if g == nil {
		g = s3bridge.AllowAll{}
	}
	storeSet := set
	if region != "" {
		storeSet.Region = region
	}
	store, err := newStores(e.getenv, nil).loadStore(ctx, storeSet)
	if err != nil {
		return nil, err
	}
	return &cat{store: store, guard: g, loc: loc}, nil
}

// catSettings decodes the instance settings and name table_import_from_s3
// passes. Without them s3-cat refuses: it would read with no policy.
func catSettings(getenv func(string) string) (s3bridge.Settings, string, error) {
	var set s3bridge.Settings
	raw, instance := getenv(envSettings), getenv(envInstance)
	if raw == "" || instance == "" {
		return set, "", badRequest{fmt.Errorf("s3-cat: no instance settings in %s and %s (table_import_from_s3 passes them; re-run s3bridge attach if this database's functions predate them)", envSettings, envInstance)}
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err == nil {
		err = json.Unmarshal(b, &set)
	}
	if err != nil {
		return set, "", badRequest{fmt.Errorf("s3-cat: instance settings in %s: %w", envSettings, err)}
	}
	return set, instance, nil
}

// allow asks the instance's policy, as load/resolve.go does for a file.
func (c *cat) allow() error {
	return c.guard.Allow("s3:GetObject", c.loc.ARN(), nil)
}

// byServer words the S3 server's own denial as the agent's loads do.
func (c *cat) byServer(err error) error {
	return s3bridge.ByServer("s3:GetObject", c.loc, err)
}

func catSize(ctx context.Context, e *env, uri, region string) (int64, error) {
	c, err := openCat(ctx, e, uri, region)
	if err != nil {
		return 0, err
	}
	if err := c.allow(); err != nil {
		return 0, err
	}
	obj, err := c.store.Stat(ctx, c.loc.Bucket, c.loc.Key)
	if err != nil {
		return 0, c.byServer(err)
	}
	return obj.Size, nil
}

func catStream(ctx context.Context, e *env, uri, region string, maxDecompressed int64) error {
	c, err := openCat(ctx, e, uri, region)
	if err != nil {
		return err
	}
	if err := c.allow(); err != nil {
		return err
	}
	body, _, err := c.store.Open(ctx, c.loc.Bucket, c.loc.Key)
	if err != nil {
		return c.byServer(err)
	}
	defer body.Close()
	data, _, err := compress.Decompress(body, c.loc.Key, "", maxDecompressed)
	if errors.Is(err, compress.ErrNeedsReaderAt) {
		return unsupported{fmt.Errorf("s3-cat %s: zip archives are loaded with s3bridge load, not table_import_from_s3", uri)}
	}
	if err != nil {
		return fmt.Errorf("s3-cat %s: %w", uri, err)
	}
	defer data.Close()
	w := bufio.NewWriterSize(e.stdout, 1<<20)
	if _, err := io.Copy(w, data); err != nil {
		return fmt.Errorf("s3-cat %s: %w", uri, err)
	}
	return w.Flush()
}

// badRequest and unsupported mark errors by what SQLSTATE they map to.
type badRequest struct{ error }

func (b badRequest) Unwrap() error { return b.error }

type unsupported struct{ error }

func (u unsupported) Unwrap() error { return u.error }

// catLine is --size's and --error-of's answer, one JSON line that the SQL
// function reads back and raises: message, detail and SQLSTATE.
type catLine struct {
	Size     *int64 `json:"size,omitempty"`
	Error    string `json:"error,omitempty"`
	Detail   string `json:"detail,omitempty"`
	SQLState string `json:"sqlstate,omitempty"`
}

func catResult(uri string, size int64, err error) catLine {
	if err == nil {
		return catLine{Size: &size}
	}
	return catLine{Error: err.Error(), SQLState: sqlState(err),
		Detail: fmt.Sprintf("table_import_from_s3 reads %s with the s3bridge binary on the database host, under the instance's policy and LOAD role, as the agent's loads do", uri)}
}

// sqlState picks the SQLSTATE a failure is raised with.
func sqlState(err error) string {
	var bad badRequest
	var unsup unsupported
	switch {
	case errors.Is(err, s3bridge.ErrAccessDenied):
		return "42501" // insufficient_privilege
	case errors.Is(err, s3bridge.ErrNotFound):
		return "58P01" // undefined_file
	case errors.Is(err, compress.ErrTooLarge):
		return "54000" // program_limit_exceeded
	case errors.As(err, &bad):
		return "22023" // invalid_parameter_value
	case errors.As(err, &unsup):
		return "0A000" // feature_not_supported
	}
	return "58030" // io_error
}

// writeJSONLine writes l as one line: encoding/json escapes every control
// character, so COPY reads it as one field of one row.
func writeJSONLine(w io.Writer, l catLine) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// A token names a recorded error; the SQL function makes it from
// gen_random_uuid(), so no other user of the host can guess the file.
var tokenRE = regexp.MustCompile(`^[0-9a-f][0-9a-f-]{7,63}$`)

func recordPath(e *env, token string) (string, error) {
	if !tokenRE.MatchString(token) {
		return "", badRequest{fmt.Errorf("error token %q: want lower-case hex digits and dashes", token)}
	}
	dir := e.getenv("TMPDIR")
	if dir == "" {
		dir = "/tmp"
	}
	return filepath.Join(dir, "s3bridge-import-"+token+".err"), nil
}

// record writes the failure for --error-of, in a file only this user can
// read, created afresh (never through a planted file or link).
func record(e *env, token string, l catLine) error {
	p, err := recordPath(e, token)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("record the error: %w", err)
	}
	if err := writeJSONLine(f, l); err != nil {
		f.Close()
		return fmt.Errorf("record the error in %s: %w", p, err)
	}
	return f.Close()
}

// printRecorded prints and removes what record wrote; nothing when no
// error was recorded (the program was killed before it could say why).
func printRecorded(e *env, token string) error {
	p, err := recordPath(e, token)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the recorded error: %w", err)
	}
	defer os.Remove(p)
	defer f.Close()
	var l catLine
	if err := json.NewDecoder(io.LimitReader(f, 1<<20)).Decode(&l); err != nil {
		return fmt.Errorf("read the recorded error %s: %w", p, err)
	}
	return writeJSONLine(e.stdout, l)
}
