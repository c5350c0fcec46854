package e2e

import (
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// soakRow is a task as its instance recorded it, with its log.
type soakRow struct {
	lifecycle, info string
	attempt         int64
	took            time.Duration // from the first claim to the end
	log             []string
}

func (r soakRow) count(s string) int {
	n := 0
	for _, l := range r.log {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

func (r soakRow) countExact(s string) int {
	n := 0
	for _, l := range r.log {
		if l == s {
			n++
		}
	}
	return n
}

// redoneIsKnownGap: a task whose agent was killed after its work was done
// (the object written, the parts committed, the file in place) but before
// its SUCCESS was recorded runs again on another agent. upload-file and
// export recognise their earlier attempt's output by the task's tag in the
// objects' metadata (s3bridge.WriterTag), download-file its file by size
// and modification time, so such a retry succeeds; an ERROR "already
// exists" after a takeover is a failure of the soak.
const redoneIsKnownGap = false

// soakRows reads every task of an instance and its log lines.
func soakRows(t *testing.T, in *soakInstance) map[int64]*soakRow {
	t.Helper()
	rows, _ := query(t, in.db, `SELECT task_id, lifecycle, COALESCE(task_info, ''), attempt, started_at, finished_at FROM `+in.schema+`.tasks`)
	out := map[int64]*soakRow{}
	for rows.Next() {
		var id int64
		var started, finished sql.NullTime
		r := &soakRow{}
		if err := rows.Scan(&id, &r.lifecycle, &r.info, &r.attempt, &started, &finished); err != nil {
			t.Fatal(err)
		}
		if started.Valid && finished.Valid {
			r.took = finished.Time.Sub(started.Time)
		}
		out[id] = r
	}
	rows.Close()
	lines, _ := query(t, in.db, `SELECT task_id, message FROM `+in.schema+`.task_log ORDER BY line_id`)
	defer lines.Close()
	for lines.Next() {
		var id int64
		var msg string
		if err := lines.Scan(&id, &msg); err != nil {
			t.Fatal(err)
		}
		if r := out[id]; r != nil {
			r.log = append(r.log, msg)
		}
	}
	return out
}

// soakTally is a line of the summary: one instance, one kind of task.
type soakTally struct {
	tasks, success, failed, retried, redone, duplicates, rowsLost, leftovers int
	took                                                                     time.Duration
}

// auditSoak checks what every task left behind and prints the summary.
func auditSoak(t *testing.T, w *world, insts []*soakInstance, plan []*soakTask) {
	t.Helper()
	rows := map[*soakInstance]map[int64]*soakRow{}
	for _, in := range insts {
		rows[in] = soakRows(t, in)
	}
	objs := objectVersions(t, w)
	leftovers := soakLeftovers(t, w, plan)
	tally := map[string]*soakTally{}
	for _, s := range plan {
		r := rows[s.in][s.id]
		if r == nil {
			t.Errorf("%s task %d (%s %s): no row", s.in.name, s.id, s.kind, s.key)
			continue
		}
		k := s.in.name + " " + s.kind
		if tally[k] == nil {
			tally[k] = &soakTally{}
		}
		c := tally[k]
		c.tasks++
		c.took += r.took
		c.leftovers += leftovers[s]
		if r.attempt > 1 {
			c.retried++
		}
		what := fmt.Sprintf("%s task %d (%s %s, attempt %d)", s.in.name, s.id, s.kind, s.key, r.attempt)
		switch {
		case r.lifecycle == "SUCCESS":
			c.success++
		case r.lifecycle == "ERROR" && r.attempt > 1 && strings.Contains(r.info, "already exists"):
			// The killed attempt did the work; the next one refused to
			// do it again over its result.
			c.failed++
			c.redone++
			report := t.Errorf
			if redoneIsKnownGap {
				report = t.Logf
			}
			report("%s: ERROR after a takeover, the killed attempt having done the work (known gap, see redoneIsKnownGap): %s\nlog: %q", what, r.info, r.log)
		case r.lifecycle == "ERROR":
			c.failed++
			t.Errorf("%s: ERROR %s\nlog: %q", what, r.info, r.log)
		default:
			t.Errorf("%s: %s at the end, want a final lifecycle", what, r.lifecycle)
		}
		if n := r.countExact(r.info); r.lifecycle == "SUCCESS" && n != 1 {
			t.Errorf("%s: its outcome is in its log %d times, want once: %q", what, n, r.log)
		}
		if n := r.count("lost its lease"); n > 0 {
			t.Logf("%s: a live agent lost its lease %d times (a heartbeat starved past the 2 s lease)", what, n)
		}
		dup, lost := checkSoakOutput(t, w, s, r, objs)
		c.duplicates += dup
		c.rowsLost += lost
	}
	printSoakSummary(t, tally)
}

// checkSoakOutput checks what one task left and returns how many things
// it did twice and how many rows are missing.
func checkSoakOutput(t *testing.T, w *world, s *soakTask, r *soakRow, objs bucketVersions) (dup, lost int) {
	t.Helper()
	ok := r.lifecycle == "SUCCESS"
	versions := objs.versions
	switch s.kind {
	case "upload":
		if v := versions[s.key]; v > 1 || (ok && v != 1) || objs.markers[s.key] > 0 {
			t.Errorf("%s task %d: %s has %d versions and %d delete markers, want one version", s.in.name, s.id, s.key, v, objs.markers[s.key])
			dup += max(0, v-1)
		}
		if size, found := objs.size[s.key]; found && size != s.size {
			t.Errorf("%s task %d: %s is %d bytes, want %d", s.in.name, s.id, s.key, size, s.size)
		}
	case "download":
		fi, err := os.Stat(filepath.Join(s.in.area, s.file))
		if ok && (err != nil || fi.Size() != s.size) {
			t.Errorf("%s task %d: %s after the download: %v, want %d bytes", s.in.name, s.id, s.file, err, s.size)
		}
	case "load":
		n := scalar[int](t, s.in.db, "SELECT count(*) FROM "+s.table())
		want := 0
		if ok {
			want = s.rows
		}
		if n != want {
			t.Errorf("%s task %d (%s): table %s has %d rows, want %d", s.in.name, s.id, r.lifecycle, s.table(), n, want)
		}
		dup, lost = max(0, n-want), max(0, want-n)
	case "export":
		n := 0
		for _, key := range listKeys(t, w, s.key+".") {
			n += strings.Count(getObject(t, w, key), "\n")
			if versions[key] != 1 {
				t.Errorf("%s task %d: part %s has %d versions, want 1", s.in.name, s.id, key, versions[key])
				dup += max(0, versions[key]-1)
			}
		}
		if ok && n != s.rows {
			t.Errorf("%s task %d: the export's parts hold %d rows, want %d", s.in.name, s.id, n, s.rows)
			dup, lost = max(0, n-s.rows), max(0, s.rows-n)
		}
	}
	return dup, lost
}

// bucketVersions is what ListObjectVersions says of every key.
type bucketVersions struct {
	versions, markers map[string]int
	size              map[string]int64 // of the latest version
}

// objectVersions counts the versions and delete markers of every key.
func objectVersions(t *testing.T, w *world) bucketVersions {
	t.Helper()
	b := bucketVersions{versions: map[string]int{}, markers: map[string]int{}, size: map[string]int64{}}
	pages := s3.NewListObjectVersionsPaginator(w.minio.Admin(t), &s3.ListObjectVersionsInput{Bucket: aws.String(w.bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(t.Context())
		if err != nil {
			t.Fatalf("list object versions: %v", err)
		}
		for _, v := range page.Versions {
			b.versions[aws.ToString(v.Key)]++
			if aws.ToBool(v.IsLatest) {
				b.size[aws.ToString(v.Key)] = aws.ToInt64(v.Size)
			}
		}
		for _, m := range page.DeleteMarkers {
			b.markers[aws.ToString(m.Key)]++
		}
	}
	return b
}

// soakLeftovers finds the multipart uploads left in the bucket and the
// partial files left in the areas, and returns them per task. A dead agent
// can't abort its staged upload or remove its partial download, but the
// attempt that takes its task over does: any left is a leak.
func soakLeftovers(t *testing.T, w *world, plan []*soakTask) map[*soakTask]int {
	t.Helper()
	out := map[*soakTask]int{}
	owner := func(key string, match func(s *soakTask) bool) {
		for _, s := range plan {
			if match(s) {
				out[s]++
				// A takeover aborts the uploads and removes the partial
				// files its killed attempt left, so none may remain.
				t.Errorf("%s left by %s task %d", key, s.in.name, s.id)
				return
			}
		}
		t.Errorf("%s left, by no task of the soak", key)
	}
	uploads, err := w.minio.Admin(t).ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(w.bucket)})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range uploads.Uploads {
		key := aws.ToString(u.Key)
		owner("multipart upload of "+key, func(s *soakTask) bool {
			return (s.kind == "upload" && s.key == key) || (s.kind == "export" && strings.HasPrefix(key, s.key+"."))
		})
	}
	for _, in := range soakAreas(plan) {
		filepath.WalkDir(in.area, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.Contains(d.Name(), ".s3bridge-") {
				return err
			}
			rel, _ := filepath.Rel(in.area, path)
			// A download writes DIR/.s3bridge-NAME-RANDOM.part first.
			owner("partial file "+rel, func(s *soakTask) bool {
				return s.in == in && s.kind == "download" && strings.HasPrefix(d.Name(), ".s3bridge-"+filepath.Base(s.file)+"-")
			})
			return nil
		})
	}
	return out
}

func soakAreas(plan []*soakTask) []*soakInstance {
	seen := map[*soakInstance]bool{}
	var out []*soakInstance
	for _, s := range plan {
		if !seen[s.in] {
			seen[s.in] = true
			out = append(out, s.in)
		}
	}
	return out
}

func printSoakSummary(t *testing.T, tally map[string]*soakTally) {
	t.Helper()
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "instance kind\ttasks\tSUCCESS\tERROR\tretried\tredone\tduplicates\trows lost\tleftovers\tmean s\t")
	var all soakTally
	for _, inst := range []string{"postgres", "mariadb"} {
		for _, kind := range []string{"upload", "download", "load", "export"} {
			c := tally[inst+" "+kind]
			if c == nil {
				continue
			}
			fmt.Fprintf(tw, "%s %s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.2f\t\n", inst, kind, c.tasks, c.success, c.failed, c.retried, c.redone,
				c.duplicates, c.rowsLost, c.leftovers, c.took.Seconds()/float64(c.tasks))
			all.tasks, all.success, all.failed, all.retried = all.tasks+c.tasks, all.success+c.success, all.failed+c.failed, all.retried+c.retried
			all.redone, all.duplicates, all.rowsLost, all.leftovers = all.redone+c.redone, all.duplicates+c.duplicates, all.rowsLost+c.rowsLost, all.leftovers+c.leftovers
		}
	}
	all.took = 0
	for _, c := range tally {
		all.took += c.took
	}
	fmt.Fprintf(tw, "all\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.2f\t\n", all.tasks, all.success, all.failed, all.retried, all.redone,
		all.duplicates, all.rowsLost, all.leftovers, all.took.Seconds()/float64(max(1, all.tasks)))
	tw.Flush()
	t.Logf("soak summary (retried: run again after its agent was killed; redone: ERROR because the killed attempt had done the work; leftovers: multipart uploads and partial files of killed attempts):\n%s", b.String())
}
