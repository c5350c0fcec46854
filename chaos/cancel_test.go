package chaos_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/s3bridge/s3bridge"
	fp "github.com/s3bridge/s3bridge/internal/faultproxy"
)

const kindCancel = "cancel under 2 s latency"

// bodyOps move an object's bytes: a cancel must cut them off.
var bodyOps = []fp.Op{fp.UploadPart, fp.PutObject, fp.GetObject}

// cleanupOps are what a cancelled task still sends, deliberately: the
// abort of its multipart uploads and the deletion of what it committed,
// so nothing is left behind.
var cleanupOps = []fp.Op{fp.AbortMultipartUpload, fp.DeleteObject, fp.DeleteObjects}

// TestCancelUnderLatency cancels each path while a transfer request is in
// flight behind 2 s of latency: the transfers stop within a second of the
// cancel, the task ends CANCELLED once its cleanup requests (at 2 s each)
// are done, and nothing is lost or left.
func TestCancelUnderLatency(t *testing.T) {
	var ps []path
	for _, p := range paths {
		if full() || slices.Contains([]string{"upload file", "download prefix", "load postgres", "export csv"}, p.name) {
			ps = append(ps, p)
		}
	}
	// One path at a time: what is measured is how soon a cancel stops
	// one task's transfers, not how four tasks share two cores.
	for _, p := range ps {
		t.Run(p.name, func(t *testing.T) { runCancel(t, p) })
	}
}

func runCancel(t *testing.T, p path) {
	const latency = 2 * time.Second
	e, client := newEnvLogged(t, p.versioned)
	j := p.setup(e)
	e.proxy.Add(fp.Rule{Action: fp.Delay(latency)})
	ctx := t.Context()
	id, err := j.in.Enqueue(ctx, j.task)
	must(t, err)
	claimed, err := j.in.ClaimTask(ctx, id, j.agent.ID(), time.Minute)
	must(t, err)
	ended := make(chan s3bridge.Lifecycle, 1)
	go func() { ended <- j.agent.Execute(ctx, j.in, claimed) }()

	// Cancel while bytes are on their way: a part or a GET of the data (not
	// the public-access check's probe) is held in its delay, well before
	// the proxy lets it through.
	inFlight := func() bool {
		for _, r := range e.proxy.Requests() {
			data := strings.HasPrefix(r.Key, p.prefix)
			if (r.Op == fp.UploadPart || r.Op == fp.GetObject) && data && r.End.IsZero() && time.Since(r.Start) < latency/2 {
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(time.Minute); !inFlight(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no transfer request within a minute")
		}
	}
	cancelAt := time.Now()
	_, err = j.in.Cancel(ctx, id)
	if err != nil {
		// SQLite: a load holds the write lock across its reads, so
		// cancel_task waits for it to commit.
		t.Errorf("cancel_task returned %v after it was asked: %v", time.Since(cancelAt).Round(time.Millisecond), err)
	}
	var lc s3bridge.Lifecycle
	select {
	case lc = <-ended:
	case <-time.After(time.Minute):
		t.Fatal("the task did not end within a minute of the cancel")
	}
	took := time.Since(cancelAt)
	// The proxy sees a client hang up a moment after it does: let every
	// request end (one still held past a delay counts as going on).
	open := func() bool {
		for _, r := range e.proxy.Requests() {
			if r.End.IsZero() {
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(latency + time.Second); open() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}

	// stopped: when the last transfer in flight at the cancel ended, or
	// the last request other than cleanup began, as the product's S3
	// client saw them: the proxy sees an abandoned part end only once it
	// has read the megabytes its socket still held, which on a loaded
	// machine took it a second (CI). cleanup counts the requests the task
	// still waits for on purpose, each worth one delay.
	var stopped time.Duration
	cleanup := 0
	for _, r := range client.Requests() {
		if r.End.IsZero() {
			r.End = time.Now()
		}
		switch {
		case r.Start.Before(cancelAt) && slices.Contains(bodyOps, r.Op):
			stopped = max(stopped, r.End.Sub(cancelAt))
		case r.Start.Before(cancelAt) && r.End.Sub(cancelAt) > time.Second:
			cleanup++ // a create let finish, so its upload can be aborted
		case r.Start.Before(cancelAt):
			stopped = max(stopped, r.End.Sub(cancelAt))
		case slices.Contains(cleanupOps, r.Op):
			cleanup++
		default:
			stopped = max(stopped, r.Start.Sub(cancelAt))
		}
	}
	if lc != s3bridge.Cancelled {
		t.Errorf("got %s, want CANCELLED", lc)
	}
	if stopped > time.Second {
		t.Errorf("transfers went on %v after the cancel, want at most 1s; the requests from the cancel, as the client saw them:\n%s\nand as the proxy did:\n%s",
			stopped, timeline(client.Requests(), cancelAt), timeline(e.proxy.Requests(), cancelAt))
	}
	if limit := time.Second + time.Duration(cleanup)*latency; took > limit {
		t.Errorf("ended %v after the cancel, want at most %v (1s and %d cleanup requests at %v)", took, limit, cleanup, latency)
	}
	out := j.check(lc == s3bridge.Success) // a cancel that came too late is judged as a success
	if out.lost > 0 {
		t.Errorf("%d rows or bytes lost or changed (%s)", out.lost, lc)
	}
	for _, l := range out.leftovers {
		t.Errorf("left behind: %s", l)
	}
	t.Logf("%s: transfers stopped %v after the cancel; %s %v after it, %d cleanup requests", p.name,
		stopped.Round(time.Millisecond), lc, took.Round(time.Millisecond), cleanup)
	record(kindCancel, p.name, lc, false, out.lost, len(out.leftovers))
	note("- cancel under 2 s latency, %s: transfers stopped %v after the cancel; %s after %v (%d cleanup requests, 2 s each)",
		p.name, stopped.Round(time.Millisecond), lc, took.Round(time.Millisecond), cleanup)
}

// timeline lists requests with their start and end from t0, for a failure
// to show which request went on.
func timeline(rs []fp.Request, t0 time.Time) string {
	var b strings.Builder
	for _, r := range rs {
		end := "open"
		if !r.End.IsZero() {
			end = r.End.Sub(t0).Round(time.Millisecond).String()
		}
		fmt.Fprintf(&b, "  %-24s %-40s start %8v end %8v %s\n", r.Op, r.Key, r.Start.Sub(t0).Round(time.Millisecond), end, r.Fault)
	}
	return b.String()
}
