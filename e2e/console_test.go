package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/s3bridge/s3bridge/internal/faultproxy"
	"github.com/s3bridge/s3bridge/internal/testenv"
)

// servingRE finds the address serve and agent --http print.
var servingRE = regexp.MustCompile(`serving \d+ instance\(s\) on (https?://[0-9.:]+)`)

// startServe runs s3bridge serve with args until the test ends (SIGTERM
// then) and returns its base URL.
func startServe(t *testing.T, w *world, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = w.env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			syncWriter{w, nil}.Write([]byte(sc.Text() + "\n"))
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve did not stop cleanly on SIGTERM: %v", err)
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Error("serve did not stop within 15s of SIGTERM")
		}
	})
	select {
	case base := <-found:
		return base
	case <-time.After(30 * time.Second):
		t.Fatalf("serve printed no address:\n%s", w.printed())
	}
	return ""
}

// TestConsoleServe (issue 12): serve over HTTPS needs a token on every
// route but /healthz (Bearer or Basic), answers JSON, and its login cookie
// is Secure; a revoked token is refused at once.
func TestConsoleServe(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	db := "sqlite://" + filepath.Join(dir, "app.db")
	w.mustCLI("attach", "--db", db, "--area", dir)
	secret := strings.TrimSpace(w.mustCLI("token", "create", "--db", db, "--name", "ci", "--role", "operator"))
	if !strings.HasPrefix(secret, "s3b_") {
		t.Fatalf("token create printed %q", secret)
	}
	if list := w.mustCLI("token", "list", "--db", db); !strings.Contains(list, "ci") || strings.Contains(list, secret) {
		t.Fatalf("token list:\n%s", list)
	}
	ca := testenv.NewCA(t, "s3bridge-e2e")
	cert, key := ca.Issue(t, dir, "127.0.0.1")
	base := startServe(t, w, "--db", db, "--tls-cert", cert, "--tls-key", key)
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("serve with --tls-cert serves %s", base)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, auth func(*http.Request)) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "GET", base+path, nil)
		if auth != nil {
			auth(req)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	bearer := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+secret) }
	basic := func(r *http.Request) { r.SetBasicAuth("curl", secret) }
	if status, body := get("/healthz", nil); status != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", status, body)
	}
	for _, p := range []string{"/api/instances", "/metrics", "/tasks", "/api/openapi.json"} {
		if status, _ := get(p, nil); status != 401 {
			t.Errorf("%s without a token: %d, want 401", p, status)
		}
	}
	status, body := get("/api/instances", bearer)
	var ins []struct{ Name string }
	if status != 200 || json.Unmarshal([]byte(body), &ins) != nil || len(ins) != 1 || ins[0].Name != "app" {
		t.Errorf("/api/instances: %d %s", status, body)
	}
	if status, body := get("/metrics", basic); status != 200 || !strings.Contains(body, `s3bridge_instance_up{database="app"} 1`) {
		t.Errorf("/metrics with Basic auth: %d\n%.500s", status, body)
	}
	res, err := client.PostForm(base+"/login", url.Values{"token": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if c := res.Cookies(); res.StatusCode != 303 || len(c) != 1 || !c[0].Secure || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode {
		t.Errorf("login over TLS: %d, cookies %v", res.StatusCode, c)
	}
	w.mustCLI("token", "revoke", "--db", db, "ci")
	if status, _ := get("/api/instances", bearer); status != 401 {
		t.Errorf("a revoked token: %d, want 401", status)
	}
	if strings.Count(w.printed(), secret) != 1 {
		t.Error("a process printed the token besides token create")
	}
}

// browser starts headless Chromium (Debian's chromium package) for a
// test: under CI=true a missing browser fails the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Unavailable(t, "chromium (apt-get install chromium)", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.WithoutCancel(t.Context()), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first call starts the browser, for as long as ctx lives: it
	// has no timeout of its own (later steps do, in do).
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// do runs browser steps within timeout.
func do(t *testing.T, ctx context.Context, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// screenshot saves the page as NAME.png in the test's artifact directory
// (go test -artifacts keeps it).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// pollText polls the element's text until ok accepts it.
func pollText(t *testing.T, ctx context.Context, what, sel string, timeout time.Duration, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		text, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
		cancel()
		// A page being replaced (a form's redirect) has no node for a
		// moment: try again.
		if err == nil && ok(strings.TrimSpace(text)) {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s is %q (%v)", timeout, what, sel, text, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestConsoleBrowser (issue 12): in a real browser, against agent --http:
// log in with a token; watch a running 1 GiB upload's progress bar
// advance; cancel it from its page and see CANCELLED; open a connector's
// history; see a pipeline's lag. Each page's screenshot is saved.
func TestConsoleBrowser(t *testing.T) {
	ctx := browser(t)
	w := newWorld(t)
	// UploadPart requests of the big file are held, so that the upload
	// is still running when the test cancels it.
	proxy := faultproxy.Start(t, w.minio.Endpoint)
	proxy.Add(faultproxy.Rule{Op: faultproxy.UploadPart, Key: "big.bin", Action: faultproxy.Delay(1500 * time.Millisecond)})
	area := t.TempDir()
	db := "sqlite://" + filepath.Join(t.TempDir(), "app.db")
	w.mustCLI("attach", "--db", db, "--area", area, "--endpoint", proxy.URL, "--allow-ext", "*")
	if err := os.WriteFile(filepath.Join(area, "big.bin"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(area, "big.bin"), 1<<30); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(area, "a.csv"), "id,name\n1,apple\n2,pear\n")
	secret := strings.TrimSpace(w.mustCLI("token", "create", "--db", db, "--name", "ann", "--role", "admin"))

	// A connector with one run.
	w.mustCLI("upload-file", "--db", db, "a.csv", "s3://"+w.bucket+"/in/a.csv")
	cfg := filepath.Join(t.TempDir(), "load.yml")
	writeFile(t, cfg, "in:\n  type: s3\n  bucket: "+w.bucket+"\n  path_prefix: in/\n  endpoint: "+w.minio.Endpoint+"\n  region: "+w.minio.Region+
		"\n  access_key_id: ${env:AWS_ACCESS_KEY_ID}\n  secret_access_key: ${env:AWS_SECRET_ACCESS_KEY}\n"+
		"  parser:\n    type: csv\n    skip_header_lines: 1\n    columns:\n    - {name: id, type: long}\n    - {name: name, type: string}\nout: {mode: append}\n")
	w.mustCLI("connector", "create", "--db", db, "--table", "fruit", "--auto-create-table", "fruit", "", cfg)
	w.mustCLI("connector", "run", "--db", db, "fruit")

	// A pipeline the agent streams.
	src := testenv.Postgres(t)
	pg := openDB(t, "pgx", src)
	if _, err := pg.ExecContext(t.Context(), `CREATE TABLE orders (id int PRIMARY KEY, v text)`); err != nil {
		t.Fatal(err)
	}
	w.mustCLI("pipeline", "create", "--db", db, "--source", src, "--tables", "public.orders", "--bucket", w.bucket,
		"--prefix", "cdc/", "--flush-interval", "500ms", "--snapshot", "never", "console_orders")
	t.Cleanup(func() { w.cli("pipeline", "drop", "--db", db, "console_orders") })

	w.agent("--db", db, "--http", "127.0.0.1:0")
	m := servingRE.FindStringSubmatch(w.printed())
	if m == nil {
		t.Fatalf("agent --http printed no address:\n%s", w.printed())
	}
	base := m[1]
	waitFor(t, "the pipeline to stream", time.Minute, func() bool {
		return strings.Contains(w.mustCLI("pipeline", "show", "--db", db, "--json", "console_orders"), `"state":"STREAMING"`)
	})
	if _, err := pg.ExecContext(t.Context(), `INSERT INTO orders SELECT i, 'v' || i FROM generate_series(1, 1000) i`); err != nil {
		t.Fatal(err)
	}

	// Log in: any page asks for the token first.
	do(t, ctx, 30*time.Second, chromedp.Navigate(base+"/tasks"), chromedp.WaitVisible(chromedp.ID("token")))
	screenshot(t, ctx, "login")
	do(t, ctx, 30*time.Second, chromedp.SendKeys(chromedp.ID("token"), secret), chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.ID("tasks")))
	pollText(t, ctx, "the connector's run in the task list", "#task-rows", 10*time.Second, func(s string) bool { return strings.Contains(s, "IMPORT_FROM_S3") })
	screenshot(t, ctx, "tasks")

	// The 1 GiB upload: its progress bar advances, live.
	out := w.mustCLI("upload-file", "--db", db, "--async", "big.bin", "s3://"+w.bucket+"/big.bin")
	id, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("upload-file --async printed %q", out)
	}
	do(t, ctx, 30*time.Second, chromedp.Navigate(fmt.Sprintf("%s/instances/app/tasks/%d", base, id)), chromedp.WaitVisible(chromedp.ID("progress")))
	var first int
	progress := func() int {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		v, err := chromedp.Run(sctx, chromedp.Evaluate[int](`document.getElementById("progress").value`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	deadline := time.Now().Add(time.Minute)
	for first = progress(); first == 0 || first == 100; first = progress() {
		if time.Now().After(deadline) {
			t.Fatalf("the progress bar stayed at %d", first)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for p := progress(); p <= first; p = progress() {
		if p == 100 || time.Now().After(deadline) {
			t.Fatalf("the progress bar went from %d to %d without advancing in between", first, p)
		}
		time.Sleep(50 * time.Millisecond)
	}
	pollText(t, ctx, "the upload to run", "#lifecycle", 5*time.Second, func(s string) bool { return s == "IN_PROGRESS" })
	screenshot(t, ctx, "task-running")

	// Cancel from its page: the task ends CANCELLED, shown live.
	do(t, ctx, 30*time.Second, chromedp.Click(chromedp.CSS("#cancel button")))
	pollText(t, ctx, "the upload to be cancelled", "#lifecycle", time.Minute, func(s string) bool { return s == "CANCELLED" })
	screenshot(t, ctx, "task-cancelled")
	if out := w.mustCLI("status", "--db", db, "--json", strconv.Itoa(id)); !strings.Contains(out, `"lifecycle":"CANCELLED"`) {
		t.Errorf("status after the console's cancel: %s", out)
	}

	// The connector's history.
	do(t, ctx, 30*time.Second, chromedp.Navigate(base+"/instances/app/connectors/fruit"), chromedp.WaitVisible(chromedp.ID("history")))
	pollText(t, ctx, "the connector's run", "#history tbody", time.Second, func(s string) bool { return strings.Contains(s, "SUCCESS") })
	screenshot(t, ctx, "connector")

	// The pipeline's lag, once the agent reported one.
	waitFor(t, "the pipeline to report its lag", time.Minute, func() bool {
		return strings.Contains(w.mustCLI("pipeline", "show", "--db", db, "--json", "console_orders"), `"lag_seconds"`)
	})
	do(t, ctx, 30*time.Second, chromedp.Navigate(base+"/instances/app/pipelines/console_orders"), chromedp.WaitVisible(chromedp.ID("lag")))
	lag := pollText(t, ctx, "the pipeline's lag", "#lag", time.Second, func(s string) bool { return !strings.HasPrefix(s, "-") })
	if f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(lag), " s"), 64); err != nil || f < 0 || f > 120 {
		t.Errorf("lag shown: %q", lag)
	}
	screenshot(t, ctx, "pipeline")

	do(t, ctx, 30*time.Second, chromedp.Navigate(base+"/instances/app"), chromedp.WaitVisible(chromedp.CSS("main")))
	screenshot(t, ctx, "instance")
	if strings.Count(w.printed(), secret) != 1 {
		t.Error("a process printed the token besides token create")
	}
}
