package e2e

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/internal/testenv"

	_ "modernc.org/sqlite" // runnable-sqlite blocks
)

// The documentation's examples are run so they cannot rot. A fenced block
// whose info string says runnable is run; one page's blocks run in order,
// in one environment of their own, so a later block may use what an
// earlier one made:
//
//	```sh runnable              bash -euo pipefail, in the page's working
//	                            directory, with the built s3bridge on PATH
//	```sql runnable-postgres    each statement (ending in ; at the end of a
//	```sql runnable-mariadb     line) on one connection to $PG, $MARIADB
//	```sql runnable-sqlite      or $SQLITE
//
// The environment: $BUCKET (a fresh bucket), $S3_ENDPOINT and the AWS_*
// keys of the test MinIO, $PG, $MARIADB and $SQLITE (fresh, unattached
// databases, created when the page uses them). In MariaDB blocks
// "s3bridge." names the instance's s3bridge schema, which each test gets
// its own of; in SQL blocks $BUCKET is replaced by the bucket's name.
// What a sh block exports is exported in the page's next sh blocks too, as
// in one shell session. Agents a block starts in the background are
// stopped when the page ends.

// docBlock is one runnable block: where it is and what it holds.
type docBlock struct {
	file string // relative to the repository root
	line int    // of the opening fence, 1-based
	kind string // "sh", "postgres", "mariadb" or "sqlite"
	body string
}

func (b docBlock) String() string { return fmt.Sprintf("%s:%d", b.file, b.line) }

var fenceRE = regexp.MustCompile("^( {0,3})(```+|~~~+)\\s*(.*)$")

// docPages are the pages whose examples run: README.md and docs/*.md.
func docPages(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"../README.md"}, pages...)
}

// docBlocks extracts the runnable blocks of a page. A runnable marker it
// doesn't know, or on a block of the wrong language, is an error: a typo
// must not silently turn an example off.
func docBlocks(path string) ([]docBlock, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	file := strings.TrimPrefix(filepath.ToSlash(path), "../")
	var (
		out   []docBlock
		open  *docBlock
		fence string
		body  []string
		errs  []error
	)
	for i, line := range strings.Split(string(data), "\n") {
		m := fenceRE.FindStringSubmatch(line)
		if open == nil && fence == "" {
			if m == nil {
				continue
			}
			fence = m[2]
			info := strings.Fields(m[3])
			kind, err := blockKind(info)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: %w", file, i+1, err))
			}
			if kind != "" {
				open = &docBlock{file: file, line: i + 1, kind: kind}
				body = nil
			}
			continue
		}
		if m != nil && strings.HasPrefix(m[2], fence) && strings.TrimSpace(m[3]) == "" {
			if open != nil {
				open.body = strings.Join(body, "\n") + "\n"
				out = append(out, *open)
			}
			open, fence = nil, ""
			continue
		}
		if open != nil {
			body = append(body, line)
		}
	}
	if fence != "" {
		errs = append(errs, fmt.Errorf("%s: a fenced block is never closed", file))
	}
	return out, errors.Join(errs...)
}

// blockKind reads a fence's info string: "" for a block that isn't run.
func blockKind(info []string) (string, error) {
	if len(info) < 2 {
		return "", nil
	}
	lang := info[0]
	for _, w := range info[1:] {
		switch {
		case w == "runnable" && (lang == "sh" || lang == "bash"):
			return "sh", nil
		case (w == "runnable-postgres" || w == "runnable-mariadb" || w == "runnable-sqlite") && lang == "sql":
			return strings.TrimPrefix(w, "runnable-"), nil
		case strings.HasPrefix(w, "runnable"):
			return "", fmt.Errorf("fence %q: want ```sh runnable or ```sql runnable-postgres, runnable-mariadb or runnable-sqlite", strings.Join(info, " "))
		}
	}
	return "", nil
}

// TestDocs runs every runnable block of README.md and docs/*.md, page by
// page, each page in parallel with the others.
func TestDocs(t *testing.T) {
	total := 0
	for _, page := range docPages(t) {
		blocks, err := docBlocks(page)
		if err != nil {
			t.Error(err)
		}
		if len(blocks) == 0 {
			continue
		}
		total += len(blocks)
		t.Run(filepath.Base(page), func(t *testing.T) {
			t.Parallel()
			runDocPage(t, blocks)
		})
	}
	t.Logf("%d runnable blocks", total)
}

// docEnv is one page's environment.
type docEnv struct {
	t       *testing.T
	work    string
	bucket  string
	env     []string
	pg      *sql.DB
	maria   *sql.DB
	sqlite  *sql.DB
	schema  string // the MariaDB instance's s3bridge schema
	started []int  // process groups of the shell blocks
}

func runDocPage(t *testing.T, blocks []docBlock) {
	d := newDocEnv(t, blocks)
	for _, b := range blocks {
		switch b.kind {
		case "sh":
			d.shell(b)
		case "postgres":
			d.sql(b, d.pg, func(s string) string { return s })
		case "mariadb":
			d.sql(b, d.maria, func(s string) string {
				return mariaSchemaRE.ReplaceAllString(s, "${1}"+d.schema+".")
			})
		case "sqlite":
			d.sql(b, d.sqlite, func(s string) string { return s })
		}
	}
}

var (
	usesPG        = regexp.MustCompile(`\$\{?PG\b`)
	usesMariaDB   = regexp.MustCompile(`\$\{?MARIADB\b`)
	mariaSchemaRE = regexp.MustCompile("(^|[^A-Za-z0-9_.`])s3bridge\\.")
)

func newDocEnv(t *testing.T, blocks []docBlock) *docEnv {
	m := testenv.S3(t)
	d := &docEnv{t: t, bucket: m.Bucket(t)}
	// The database server's own user reads the credentials file a page
	// writes here (table_import_from_s3): the directory must be open.
	work, err := os.MkdirTemp("", "s3bridge-docs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	if err := os.Chmod(work, 0o755); err != nil {
		t.Fatal(err)
	}
	d.work = work
	var pg, maria string
	for _, b := range blocks {
		if pg == "" && (b.kind == "postgres" || usesPG.MatchString(b.body)) {
			pg = testenv.Postgres(t)
			d.pg = openDB(t, "pgx", pg)
		}
		if maria == "" && (b.kind == "mariadb" || usesMariaDB.MatchString(b.body)) {
			maria = testenv.MariaDB(t)
			var dbName string
			dbName, d.schema = mariaNames(t, maria)
			u, _ := url.Parse(maria)
			pass, _ := u.User.Password()
			d.maria = openDB(t, "mysql", fmt.Sprintf("%s:%s@tcp(%s)/%s", u.User.Username(), pass, u.Host, dbName))
		}
	}
	d.sqlite = openDB(t, "sqlite", "file:"+filepath.Join(work, "app.db")+"?_pragma=busy_timeout(10000)")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "S3BRIDGE_") && !strings.HasPrefix(kv, "PATH=") {
			d.env = append(d.env, kv)
		}
	}
	d.env = append(d.env,
		"PATH="+filepath.Dir(binary)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"BUCKET="+d.bucket, "S3_ENDPOINT="+m.Endpoint,
		"AWS_ACCESS_KEY_ID="+m.AccessKey, "AWS_SECRET_ACCESS_KEY="+m.SecretKey, "AWS_REGION="+m.Region,
		"AWS_EC2_METADATA_DISABLED=true",
		"PG="+pg, "MARIADB="+maria, "SQLITE=sqlite://"+filepath.Join(work, "app.db"),
		"DOCS_ENV_FILE="+filepath.Join(t.TempDir(), "env"))
	// Registered after the databases: it runs before they are dropped.
	t.Cleanup(d.stopAll)
	return d
}

// shell runs a sh block with bash in the page's working directory. The
// block's output goes to a file, not a pipe, so a process it leaves in
// the background (an agent) doesn't hold the block open.
func (d *docEnv) shell(b docBlock) {
	t := d.t
	out, err := os.CreateTemp(t.TempDir(), "block-*.out")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(out.Name())
	defer out.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	// Exported variables carry over to the page's next blocks.
	prelude := `if [ -f "$DOCS_ENV_FILE" ]; then source "$DOCS_ENV_FILE"; fi; trap '{ set +x; } 2>/dev/null; export -p > "$DOCS_ENV_FILE"' EXIT; set -x` + "\n"
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", prelude+b.body)
	cmd.Dir, cmd.Env = d.work, d.env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: start bash: %v", b, err)
	}
	d.started = append(d.started, cmd.Process.Pid)
	err = cmd.Wait()
	printed, _ := os.ReadFile(out.Name())
	if err != nil {
		t.Fatalf("%s: the sh block failed: %v\n%s", b, err, printed)
	}
	t.Logf("%s: ok\n%s", b, printed)
}

// sql runs a SQL block's statements in order on one connection, reading
// every result set (MariaDB's CALLs return theirs), and fails naming the
// statement's line.
func (d *docEnv) sql(b docBlock, db *sql.DB, rewrite func(string) string) {
	t := d.t
	if db == nil {
		t.Fatalf("%s: no database for a %s block", b, b.kind)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatalf("%s: connect: %v", b, err)
	}
	defer conn.Close()
	for _, st := range splitStatements(b.body) {
		q := strings.ReplaceAll(rewrite(st.text), "$BUCKET", d.bucket)
		res, err := runStatement(ctx, conn, q)
		if err != nil {
			t.Fatalf("%s:%d: %s\n%v", b.file, b.line+st.line, st.text, err)
		}
		t.Logf("%s:%d: %s\n%s", b.file, b.line+st.line, st.text, res)
	}
}

type docStatement struct {
	text string
	line int // within the block, 1-based
}

// splitStatements splits a block at each line ending in ";", dropping
// statements that are only comments.
func splitStatements(body string) []docStatement {
	var out []docStatement
	var cur []string
	start := 0
	for i, line := range strings.Split(body, "\n") {
		if len(cur) == 0 {
			start = i + 1
		}
		cur = append(cur, line)
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			out = appendStatement(out, cur, start)
			cur = nil
		}
	}
	return appendStatement(out, cur, start)
}

func appendStatement(out []docStatement, lines []string, start int) []docStatement {
	code := false
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "--") {
			code = true
		}
	}
	if !code {
		return out
	}
	text := strings.TrimSuffix(strings.TrimSpace(strings.Join(lines, "\n")), ";")
	return append(out, docStatement{text: text, line: start})
}

// runStatement runs one statement and returns its result sets as text.
func runStatement(ctx context.Context, conn *sql.Conn, q string) (string, error) {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var sb strings.Builder
	for {
		cols, err := rows.Columns()
		if err != nil {
			return sb.String(), err
		}
		if len(cols) > 0 {
			sb.WriteString(strings.Join(cols, " | ") + "\n")
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return sb.String(), err
			}
			cells := make([]string, len(vals))
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				cells[i] = fmt.Sprint(v)
			}
			sb.WriteString(strings.Join(cells, " | ") + "\n")
		}
		if !rows.NextResultSet() {
			break
		}
	}
	return sb.String(), rows.Err()
}

// stopAll stops what the page's shell blocks left running, SIGTERM first
// so agents leave the instance as they do in production.
func (d *docEnv) stopAll() {
	for _, pgid := range d.started {
		if syscall.Kill(-pgid, syscall.SIGTERM) != nil {
			continue // the group is gone
		}
		deadline := time.Now().Add(10 * time.Second)
		for syscall.Kill(-pgid, 0) == nil {
			if time.Now().After(deadline) {
				d.t.Logf("process group %d did not stop on SIGTERM: killed", pgid)
				syscall.Kill(-pgid, syscall.SIGKILL)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestReadmeOpensWithTheTwoCommands: README.md opens with the way to try
// s3bridge and the way to test it, the command .ci/run runs.
func TestReadmeOpensWithTheTwoCommands(t *testing.T) {
	readme := readDoc(t, "../README.md")
	lines := strings.SplitN(readme, "\n", 6)
	if len(lines) < 6 || lines[0] != "# s3bridge" || lines[2] != "```sh" ||
		!strings.HasPrefix(lines[3], "go run ./cmd/s3bridge quickstart ") || !strings.HasPrefix(lines[4], "./scripts/test ") {
		t.Errorf("README.md does not open with the quickstart and ./scripts/test block:\n%s", strings.Join(lines[:min(len(lines), 5)], "\n"))
	}
	if ci := readDoc(t, "../.ci/run"); !strings.Contains(ci, "./scripts/test") {
		t.Errorf(".ci/run does not run ./scripts/test:\n%s", ci)
	}
}

// TestDocsLinks checks that every relative link of README.md and
// docs/*.md names a file that exists inside the repository: a user reading
// a clone has nothing else, so a link that works on this machine because
// ../shared/DESIGN.md happens to exist here is still broken.
func TestDocsLinks(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, page := range docPages(t) {
		f, err := os.Open(page)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			for _, m := range link.FindAllStringSubmatch(sc.Text(), -1) {
				if err := checkDocLink("..", strings.TrimPrefix(page, "../"), m[1]); err != nil {
					t.Errorf("%s:%d: %v", strings.TrimPrefix(page, "../"), n, err)
				}
			}
		}
		f.Close()
	}
}

// checkDocLink checks one link of page (a path relative to the repository
// root, root): nil for a web or mail link, or a relative path to a file
// that exists without leaving the repository.
func checkDocLink(root, page, link string) error {
	target, _, _ := strings.Cut(link, "#")
	if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
		return nil
	}
	if strings.HasPrefix(target, "/") || filepath.IsAbs(target) {
		return fmt.Errorf("link %s: an absolute path, which a reader's clone doesn't have; link relative to the page", link)
	}
	rel := filepath.Clean(filepath.Join(filepath.Dir(page), filepath.FromSlash(target)))
	if rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("link %s: leads out of the repository (to %s)", link, filepath.ToSlash(rel))
	}
	if _, err := os.Stat(filepath.Join(root, rel)); err != nil {
		return fmt.Errorf("link %s: %w", link, err)
	}
	return nil
}

// TestDocsLinkTargets pins which links checkDocLink refuses.
func TestDocsLinkTargets(t *testing.T) {
	tests := []struct {
		page, link string
		want       string // in the error; "" for no error
	}{
		{"README.md", "docs/load.md", ""},
		{"README.md", "docs/load.md#options", ""},
		{"docs/load.md", "../README.md", ""},
		{"docs/load.md", "export.md", ""},
		{"docs/load.md", "#options", ""},
		{"README.md", "https://example.com/x.md", ""},
		{"README.md", "mailto:someone@example.com", ""},
		{"README.md", "../shared/DESIGN.md", "leads out of the repository"},
		{"docs/load.md", "../../shared/DESIGN.md", "leads out of the repository"},
		{"docs/load.md", "../docs/../../main/README.md", "leads out of the repository"},
		{"README.md", "..", "leads out of the repository"},
		{"README.md", "/etc/hostname", "an absolute path"},
		{"docs/load.md", "/README.md", "an absolute path"},
		{"README.md", "docs/no-such-page.md", "no such file"},
	}
	for _, tt := range tests {
		err := checkDocLink("..", tt.page, tt.link)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if (tt.want == "") != (err == nil) || !strings.Contains(got, tt.want) {
			t.Errorf("checkDocLink(%s, %s) = %q, want %q", tt.page, tt.link, got, tt.want)
		}
	}
}

// TestDocsCoverCLI checks that docs/cli.md names every command and every
// flag the built binary's help lists.
func TestDocsCoverCLI(t *testing.T) {
	doc := readDoc(t, "../docs/cli.md")
	out, err := exec.Command(binary, "help").Output()
	if err != nil {
		t.Fatal(err)
	}
	cmdLine := regexp.MustCompile(`^  ([a-z0-9-]+(?: [a-z]+)?) {2,}`)
	flagLine := regexp.MustCompile(`^  (--[a-z0-9-]+)`)
	var cmds []string
	for _, l := range strings.Split(string(out), "\n") {
		if m := cmdLine.FindStringSubmatch(l); m != nil {
			cmds = append(cmds, m[1])
		}
	}
	if len(cmds) < 10 {
		t.Fatalf("found %d commands in s3bridge help:\n%s", len(cmds), out)
	}
	for _, c := range cmds {
		if !strings.Contains(doc, "### "+c+"\n") {
			t.Errorf("docs/cli.md has no section \"### %s\"", c)
		}
		if c == "help" {
			continue
		}
		help, err := exec.Command(binary, append([]string{"help"}, strings.Fields(c)...)...).Output()
		if err != nil {
			t.Fatalf("s3bridge help %s: %v", c, err)
		}
		section := docSection(doc, "### "+c+"\n")
		for _, l := range strings.Split(string(help), "\n") {
			if m := flagLine.FindStringSubmatch(l); m != nil && !strings.Contains(section, "`"+m[1]) {
				t.Errorf("docs/cli.md, %s: flag %s is not documented", c, m[1])
			}
		}
	}
}

// TestDocsCoverSQL checks that the docs name every SQL entry point the
// databases get: PostgreSQL's functions and MariaDB's procedures and
// functions, without the internal ones (a leading underscore).
func TestDocsCoverSQL(t *testing.T) {
	docs := allDocs(t)
	def := regexp.MustCompile("CREATE (?:OR REPLACE )?(?:FUNCTION|PROCEDURE) \\{s\\}\\.`?([a-z][a-z0-9_]*)`?\\(")
	files, err := filepath.Glob("../instance/*/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range def.FindAllStringSubmatch(string(data), -1) {
			seen++
			if m[1] == "notify_agents" { // a trigger's function, not called by users
				continue
			}
			if !strings.Contains(docs, m[1]+"(") {
				t.Errorf("%s: %s is not documented (as %s(…))", strings.TrimPrefix(f, "../"), m[1], m[1])
			}
		}
	}
	if seen < 20 {
		t.Fatalf("found %d SQL entry points in instance/*/*.sql", seen)
	}
}

// TestDocsCoverSettings checks that the docs name every stored setting.
func TestDocsCoverSettings(t *testing.T) {
	docs := allDocs(t)
	typ := reflect.TypeOf(s3bridge.Settings{})
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" && !strings.Contains(docs, "`"+name+"`") {
			t.Errorf("setting %s (Settings.%s) is not documented", name, typ.Field(i).Name)
		}
	}
}

func readDoc(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func allDocs(t *testing.T) string {
	t.Helper()
	var sb strings.Builder
	for _, p := range docPages(t) {
		sb.WriteString(readDoc(t, p))
	}
	return sb.String()
}

// docSection is the text from heading to the next heading of the same or
// a higher level, fenced blocks (whose lines may start with #) skipped.
func docSection(doc, heading string) string {
	i := strings.Index(doc, heading)
	if i < 0 {
		return ""
	}
	level := strings.Index(heading, " ")
	var out []string
	fence := ""
	for _, line := range strings.Split(doc[i+len(heading):], "\n") {
		if m := fenceRE.FindStringSubmatch(line); m != nil {
			switch {
			case fence == "":
				fence = m[2]
			case strings.HasPrefix(m[2], fence) && strings.TrimSpace(m[3]) == "":
				fence = ""
			}
		}
		if fence == "" {
			if n := len(line) - len(strings.TrimLeft(line, "#")); n > 0 && n <= level && strings.HasPrefix(line[n:], " ") {
				break
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
