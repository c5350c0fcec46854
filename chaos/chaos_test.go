package chaos_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	fp "github.com/s3bridge/s3bridge/internal/faultproxy"
	"github.com/s3bridge/s3bridge/internal/tasktest"
)

// Fault kinds, the first column of the figures.
const (
	kindStatus500  = "500 InternalError ×2"
	kindStatus503  = "503 SlowDown ×2"
	kindError200   = "200 `<Error>` on Complete ×2"
	kindError200Up = "200 `<Error>` on Complete, always"
	kindResetGET   = "reset mid GET body ×2"
	kindCutGET     = "GET body short of Content-Length ×2"
	kindResetPart  = "reset mid UploadPart body ×2"
	kindLatency    = "2 s latency, every request"
	kindPersistOp  = "503 always, one operation"
	kindPersistAll = "503 always, every request"
)

// budget bounds how long a task may take to fail on a persistent fault,
// from the first request the fault refused: three attempts per request
// with the SDK's backoff (at most 2 s, then 4 s), plus the cleanup. The
// work before the fault (rows exported, parts uploaded) is not counted:
// it depends on the machine's load, not on the retries.
const budget = 10 * time.Second

// fault is one fault to run a path with.
type fault struct {
	kind  string
	op    fp.Op // the operation it targets; Any for every request
	rules []fp.Rule
	fail  bool // the task must end in ERROR (else SUCCESS)
}

func (f fault) String() string {
	if f.op == fp.Any {
		return f.kind
	}
	return f.kind + " on " + string(f.op)
}

// full is S3BRIDGE_CHAOS=full: every status on every operation, and the
// persistent failure on each.
func full() bool { return os.Getenv("S3BRIDGE_CHAOS") == "full" }

// faultsFor lists the faults path p runs with.
func faultsFor(p path) []fault {
	var fs []fault
	has := func(op fp.Op) bool {
		for _, o := range p.ops {
			if o == op {
				return true
			}
		}
		return false
	}
	for i, op := range p.ops {
		statuses := []struct {
			kind string
			a    fp.Action
		}{{kindStatus500, fp.InternalError()}, {kindStatus503, fp.SlowDown()}}
		if !full() {
			statuses = statuses[i%2 : i%2+1] // the short run alternates them
		}
		for _, s := range statuses {
			fs = append(fs, fault{kind: s.kind, op: op, rules: []fp.Rule{{Op: op, Key: p.prefix, Times: 2, Action: s.a}}})
		}
	}
	if has(fp.CompleteMultipartUpload) {
		op := fp.CompleteMultipartUpload
		fs = append(fs,
			fault{kind: kindError200, op: op, rules: []fp.Rule{{Op: op, Key: p.prefix, Times: 2, Action: fp.Error200("InternalError")}}},
			fault{kind: kindError200Up, op: op, rules: []fp.Rule{{Op: op, Key: p.prefix, Action: fp.Error200("InternalError")}}, fail: true})
	}
	if has(fp.GetObject) {
		op := fp.GetObject
		fs = append(fs,
			fault{kind: kindResetGET, op: op, rules: []fp.Rule{{Op: op, Key: p.prefix, Times: 2, Action: fp.ResetResponse(100 << 10)}}},
			fault{kind: kindCutGET, op: op, rules: []fp.Rule{{Op: op, Key: p.prefix, Times: 2, Action: fp.CutResponse(100 << 10)}}})
	}
	if has(fp.UploadPart) {
		op := fp.UploadPart
		fs = append(fs, fault{kind: kindResetPart, op: op, rules: []fp.Rule{{Op: op, Key: p.prefix, Times: 2, Action: fp.ResetRequest(1 << 20)}}})
	}
	fs = append(fs, fault{kind: kindLatency, op: fp.Any, rules: []fp.Rule{{Action: fp.Delay(2 * time.Second)}}})
	persist := p.ops[len(p.ops)-1:] // the short run: the last operation, the one that commits or reads
	if full() {
		persist = p.ops
	}
	for _, op := range persist {
		fs = append(fs, fault{kind: kindPersistOp, op: op, rules: []fp.Rule{{Op: op, Key: p.prefix, Action: fp.SlowDown()}}, fail: true})
	}
	fs = append(fs, fault{kind: kindPersistAll, op: fp.Any, rules: []fp.Rule{{Action: fp.SlowDown()}}, fail: true})
	return fs
}

// TestFaults runs every path with every fault, checks each task's outcome
// and what it left, and adds it to the figures.
func TestFaults(t *testing.T) {
	type tc struct {
		p path
		f fault
	}
	var cases []tc
	for _, p := range paths {
		for _, f := range faultsFor(p) {
			cases = append(cases, tc{p, f})
		}
	}
	// The latency cases are the longest: start them first, so the rest run
	// alongside.
	slices.SortStableFunc(cases, func(a, b tc) int {
		return boolRank(a.f.kind != kindLatency) - boolRank(b.f.kind != kindLatency)
	})
	concurrently(t, len(cases), func(i int) (string, func(t *testing.T)) {
		c := cases[i]
		return c.p.name + "/" + c.f.String(), func(t *testing.T) { runCase(t, c.p, c.f) }
	})
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// concurrently runs n subtests, several at a time: most of a case is spent
// in retry backoff and injected latency, so more run at once than
// -parallel (GOMAXPROCS by default) would allow.
func concurrently(t *testing.T, n int, sub func(i int) (string, func(t *testing.T))) {
	width := 12
	if v, err := strconv.Atoi(os.Getenv("S3BRIDGE_CHAOS_PARALLEL")); err == nil && v > 0 {
		width = v
	}
	slots := make(chan struct{}, width)
	var wg sync.WaitGroup
	for i := range n {
		name, body := sub(i)
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			t.Run(name, body)
		})
	}
	wg.Wait()
}

func runCase(t *testing.T, p path, f fault) {
	e := newEnv(t, p.versioned)
	j := p.setup(e)
	var added []*fp.Fault
	for _, r := range f.rules {
		added = append(added, e.proxy.Add(r))
	}
	start := time.Now()
	done := tasktest.Run(t, j.in, j.agent, j.task)
	end := time.Now()
	elapsed := end.Sub(start)
	firstFault := end
	for _, r := range e.proxy.Requests() {
		if r.Fault != "" && r.Start.Before(firstFault) {
			firstFault = r.Start
		}
	}
	e.proxy.Clear()
	ok := done.Lifecycle == s3bridge.Success
	out := j.check(ok)
	t.Logf("%s in %v: %s", done.Lifecycle, elapsed.Round(time.Millisecond), done.TaskInfo)

	for i, a := range added {
		if a.Hits() == 0 {
			t.Errorf("fault %d (%s) never acted: the path sent no matching request", i, f)
		}
	}
	switch {
	case f.fail && done.Lifecycle != s3bridge.Failed:
		t.Errorf("got %s, want ERROR: %s", done.Lifecycle, done.TaskInfo)
	case !f.fail && !ok:
		t.Errorf("got %s, want SUCCESS: %s", done.Lifecycle, done.TaskInfo)
	}
	if f.fail {
		if d := end.Sub(firstFault); d > budget {
			t.Errorf("failing took %v after the first refused request (%v in all), over the %v retry budget", d, elapsed, budget)
		}
		names := j.names
		if f.op == fp.ListObjectsV2 {
			names = append(names, "s3://"+e.bucket+"/"+p.prefix) // the listing failed, of the prefix
		}
		if f.op == fp.Any {
			// Failing on every request, a task fails at its first one,
			// which may be about the bucket (its region, its policy).
			names = append(names, "s3://"+e.bucket)
		}
		checkNames(t, done.TaskInfo, f.op, names)
	}
	falseSuccess := ok && out.lost > 0
	if falseSuccess {
		t.Errorf("FALSE SUCCESS: the task reported SUCCESS but %d rows or bytes are missing or wrong", out.lost)
	} else if out.lost > 0 {
		t.Errorf("%d rows or bytes changed although the task failed", out.lost)
	}
	for _, l := range out.leftovers {
		t.Errorf("left behind: %s", l)
	}
	record(f.kind, p.name, done.Lifecycle, falseSuccess, out.lost, len(out.leftovers))
}

// opWords is how an error names each operation.
var opWords = map[fp.Op][]string{
	fp.CreateMultipartUpload:   {"create multipart upload"},
	fp.UploadPart:              {"upload part"},
	fp.CompleteMultipartUpload: {"complete multipart upload"},
	fp.PutObject:               {"put object"},
	fp.GetObject:               {"get object", "read"},
	fp.ListObjectsV2:           {"list"},
}

// checkNames checks an ERROR's task_info names the failed operation (when
// one was targeted) and one of the objects.
func checkNames(t *testing.T, info string, op fp.Op, names []string) {
	t.Helper()
	if words, ok := opWords[op]; ok && !containsAny(info, words) {
		t.Errorf("task_info %q does not name the operation %s (%s)", info, op, strings.Join(words, " or "))
	}
	if !containsAny(info, names) {
		t.Errorf("task_info %q names none of %v", info, names)
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// figure is one row of the figures: a fault kind on a path.
type figure struct {
	fault, path                               string
	tasks, success, failed, cancelled, falses int
	lost                                      int64
	leftovers                                 int
}

var figures struct {
	sync.Mutex
	rows  []*figure
	notes []string
}

func record(kind, path string, lc s3bridge.Lifecycle, falseSuccess bool, lost int64, leftovers int) {
	figures.Lock()
	defer figures.Unlock()
	var f *figure
	for _, r := range figures.rows {
		if r.fault == kind && r.path == path {
			f = r
		}
	}
	if f == nil {
		f = &figure{fault: kind, path: path}
		figures.rows = append(figures.rows, f)
	}
	f.tasks++
	switch lc {
	case s3bridge.Success:
		f.success++
	case s3bridge.Failed:
		f.failed++
	case s3bridge.Cancelled:
		f.cancelled++
	}
	if falseSuccess {
		f.falses++
	}
	f.lost += lost
	f.leftovers += leftovers
}

func note(format string, args ...any) {
	figures.Lock()
	defer figures.Unlock()
	figures.notes = append(figures.notes, fmt.Sprintf(format, args...))
}

// printFigures writes the table bench/chaos.sh extracts.
func printFigures() {
	figures.Lock()
	defer figures.Unlock()
	if len(figures.rows) == 0 {
		return
	}
	order := map[string]int{}
	for i, k := range []string{kindStatus500, kindStatus503, kindError200, kindError200Up, kindResetGET, kindCutGET, kindResetPart, kindLatency, kindCancel, kindPersistOp, kindPersistAll} {
		order[k] = i
	}
	pathOrder := map[string]int{}
	for i, p := range paths {
		pathOrder[p.name] = i
	}
	rows := append([]*figure(nil), figures.rows...)
	slices.SortFunc(rows, func(a, b *figure) int {
		if d := order[a.fault] - order[b.fault]; d != 0 {
			return d
		}
		return pathOrder[a.path] - pathOrder[b.path]
	})
	matrix := "short matrix (S3BRIDGE_CHAOS=full for every combination)"
	if full() {
		matrix = "full matrix"
	}
	var total figure
	fmt.Printf("=== chaos figures: %s\n", matrix)
	fmt.Println("| fault | path | tasks | SUCCESS | ERROR | CANCELLED | false successes | rows or bytes lost | leftovers |")
	fmt.Println("|---|---|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rows {
		fmt.Printf("| %s | %s | %d | %d | %d | %d | %d | %d | %d |\n", r.fault, r.path, r.tasks, r.success, r.failed, r.cancelled, r.falses, r.lost, r.leftovers)
		total.tasks += r.tasks
		total.success += r.success
		total.failed += r.failed
		total.cancelled += r.cancelled
		total.falses += r.falses
		total.lost += r.lost
		total.leftovers += r.leftovers
	}
	fmt.Printf("| **total** | | %d | %d | %d | %d | %d | %d | %d |\n", total.tasks, total.success, total.failed, total.cancelled, total.falses, total.lost, total.leftovers)
	for _, n := range figures.notes {
		fmt.Println(n)
	}
	fmt.Println("=== end chaos figures")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testing.Verbose() {
		printFigures()
	}
	os.Exit(code)
}
