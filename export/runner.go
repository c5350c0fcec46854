// Package export runs EXPORT_TO_S3 tasks: a query's result streamed to S3
// as CSV, TEXT, JSON Lines or Parquet, optionally compressed, in parts of a
// maximum size that never split a row, with Aurora's manifest written last
// (SELECT … INTO OUTFILE S3) or aws_s3's file naming
// (query_export_to_s3). Each part streams into its own multipart upload,
// which is completed only once the whole result is written (see parts):
// on any failure or cancel before that the uploads are aborted, so nothing
// appears and files an OVERWRITE would replace stay whole, unless the task
// keeps partial output. A successful OVERWRITE then deletes the earlier
// export's files it did not replace (parts past its last, a manifest it
// did not write), so a reader of the prefix sees only the new export.
//
// The database side is a Source, implemented by each instance package:
// the query runs there in a read-only transaction with the caller's
// privileges.
package export

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/s3bridge/s3bridge/instance/bulk"
	"github.com/s3bridge/s3bridge/tuple"
	"io"
	"sync/atomic"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format"
	"github.com/s3bridge/s3bridge/format/compress"
	"github.com/s3bridge/s3bridge/format/delimited"
	"github.com/s3bridge/s3bridge/format/jsonl"
	"github.com/s3bridge/s3bridge/format/parquet"
	"github.com/s3bridge/s3bridge/instance"
)

// ObjectStore is what exports need from S3; *s3store.Client has it.
type ObjectStore interface {
	// List returns the objects under prefix.
	List(ctx context.Context, bucket, prefix, delimiter string) ([]s3bridge.Object, []string, error)
	// Stage streams r into an upload of the key that S3 holds but does not
	// show until its Commit; on failure it leaves nothing.
	Stage(ctx context.Context, bucket, key string, r io.Reader, opts s3bridge.PutOptions) (s3bridge.StagedObject, error)
	// Delete removes an object; a missing one is not an error.
	Delete(ctx context.Context, bucket, key string) error
}

// Runner runs EXPORT_TO_S3 tasks.
type Runner struct {
	// Deps are the object store and the instance's policy (see
	// s3bridge.Deps), wired by cmd/s3bridge as for every capability.
	Deps s3bridge.Deps[ObjectStore]
	// WaiterTimeout is how long the SQL call waiting for an export may go
	// without a heartbeat before the export stops (default 5s).
	WaiterTimeout time.Duration
	// LogEvery is how often a running export logs its row count (default
	// 30s); each finished part is logged too.
	LogEvery time.Duration

	// killAt, set by tests, runs once the commits are recorded and once
	// they are done (point "recorded", "committed"): an error ends the run
	// there, as when the agent is killed before recording SUCCESS.
	killAt func(point string) error
	// failRange, set by tests, runs as each range of a parallel export
	// (viaRanges) has been read: an error fails that range's worker.
	failRange func(i int) error
	// rangePages, set by tests, replaces rangePages so that small tables
	// make many ranges.
	rangePages int64
}

// rangeDone runs the test hook failRange.
func (r *Runner) rangeDone(i int) error {
	if r.failRange == nil {
		return nil
	}
	return r.failRange(i)
}

// Run runs a task claimed from in (agent.Runner): its query runs there, so
// in must be a bulk.Source, as every instance package's Instance is. The
// Result counts the rows, the parts and their bytes; task_info says the
// same as "exported N rows in F files (B bytes) to URI".
func (r *Runner) Run(ctx context.Context, in instance.Instance, t s3bridge.Task, set s3bridge.Settings, rep s3bridge.Reporter) (s3bridge.Result, error) {
	var none s3bridge.Result
	src, ok := in.(bulk.Source)
	if !ok {
		return none, fmt.Errorf("task %d: instance %s can't run queries for an export", t.ID, in.Name())
	}
	if t.Type != s3bridge.TaskExportToS3 {
		return none, fmt.Errorf("task %d: export can't run a %s task", t.ID, t.Type)
	}
	var p Params
	if err := t.Params(&p); err != nil {
		return none, fmt.Errorf("task %d parameters: %w", t.ID, err)
	}
	pl, err := p.resolve()
	if err != nil {
		return none, fmt.Errorf("task %d: %w", t.ID, err)
	}
	store, guard, err := r.Deps.Open(ctx, set, t.DatabaseName)
	if err != nil {
		return none, err
	}
	j := &job{r: r, t: t, set: set, pl: pl, in: in, src: src, store: store, rep: rep, guard: guard, now: r.Deps.Clock()}
	return j.run(ctx)
}

// job is one running export.
type job struct {
	r     *Runner
	t     s3bridge.Task
	set   s3bridge.Settings
	pl    *plan
	in    instance.Instance
	src   bulk.Source
	store ObjectStore
	guard s3bridge.Guard
	rep   s3bridge.Reporter
	now   func() time.Time
	ps    *parts
	rows  atomic.Int64
}

var errCallerGone = errors.New("the SQL call waiting for this export ended (cancelled, timed out or disconnected)")

func (j *job) run(ctx context.Context) (s3bridge.Result, error) {
	var none s3bridge.Result
	n := names{naming: j.pl.Naming, base: j.pl.loc.Key}
	if j.pl.Compression != "" && j.pl.Format != FormatParquet && n.naming == NamingAurora {
		n.ext = map[string]string{CompressGzip: ".gz", CompressZstd: ".zst"}[j.pl.Compression]
	}
	j.ps = &parts{store: j.store, guard: j.guard, loc: j.pl.loc, names: n, overwrite: j.pl.Overwrite,
		content: contentType(j.pl.Format, j.pl.Compression), meta: s3bridge.WriterMetadata(j.t),
		progress: func(done int64) { j.rep.Progress(done, 0) }}
	if j.pl.Format != FormatParquet {
		j.ps.compress = j.pl.Compression
	}
	claimed := j.now()
	rec, err := recorded(j.t)
	if err != nil {
		return none, err
	}
	if rec != nil {
		return j.resume(ctx, rec, claimed)
	}
	if err := j.preflight(ctx); err != nil {
		return none, err
	}
	j.abortLeftovers(ctx, claimed)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// watch is joined before run returns: it reads the runner's settings
	// and reports through rep, neither of which outlives the task.
	watched := make(chan struct{})
	go func() { defer close(watched); j.watch(ctx, cancel) }()
	defer func() { cancel(nil); <-watched }()
	start := j.now()
	err = j.export(ctx)
	if err == nil {
		err = j.stageManifest(ctx)
	}
	res := j.result()
	if err == nil {
		err = j.record(ctx, res)
	}
	if err == nil {
		if err := j.killed("recorded"); err != nil {
			return none, err
		}
		err = j.ps.commit(ctx)
	}
	if err == nil {
		if err := j.killed("committed"); err != nil {
			return none, err
		}
	}
	if err != nil {
		if cause := context.Cause(ctx); errors.Is(err, context.Canceled) && cause != nil {
			err = cause
		}
		return none, j.fail(ctx, err)
	}
	if j.pl.Overwrite {
		if err := j.removeStale(ctx); err != nil {
			return none, err
		}
	}
	j.rep.Progress(res.Bytes, res.Bytes)
	j.rep.Logf(s3bridge.LevelInfo, "%s in %s", res.Info, j.now().Sub(start).Round(time.Millisecond))
	return res, nil
}

// killed runs the test hook Runner.killAt.
func (j *job) killed(point string) error {
	if j.r.killAt == nil {
		return nil
	}
	return j.r.killAt(point)
}

// result is the export's Result once its parts are staged: the figures
// its commits will make true, recorded before them (see record).
func (j *job) result() s3bridge.Result {
	var size int64
	for _, st := range j.ps.staged {
		size += st.Size()
	}
	files := int64(len(j.ps.staged))
	if files == 0 {
		return s3bridge.Result{}
	}
	first := j.pl.loc.At(j.ps.staged[0].Key())
	info := fmt.Sprintf("exported %d rows in %d files (%d bytes) to %s", j.rows.Load(), files, size, first)
	if j.pl.Manifest {
		info += fmt.Sprintf(" with manifest %s", j.pl.loc.At(j.ps.names.manifest()))
	}
	return s3bridge.Result{Info: info, Rows: j.rows.Load(), Files: files, Bytes: size}
}

// preflight runs the checks that must pass before any byte moves: the
// instance's policy, a public bucket, and files that already exist, which
// without OVERWRITE fail the export and with it must be deletable, since
// the export deletes those it does not replace.
func (j *job) preflight(ctx context.Context) error {
	b, at := j.pl.loc.Bucket, j.pl.loc
	// The listing below sends this prefix: S3 sees it as s3:prefix, and so
	// must the instance's policy, or a grant scoped to a prefix denies it.
	if err := j.guard.Allow("s3:ListBucket", at.At("").ARN(), map[string][]string{"s3:prefix": {j.ps.names.listPrefix()}}); err != nil {
		return err
	}
	if err := j.guard.Allow("s3:PutObject", at.At(j.ps.names.part(0)).ARN(), nil); err != nil {
		return err
	}
	if j.pl.Manifest {
		if err := j.guard.Allow("s3:PutObject", at.At(j.ps.names.manifest()).ARN(), nil); err != nil {
			return err
		}
	}
	if pc, ok := j.store.(interface {
		PublicReason(ctx context.Context, bucket string) (string, error)
	}); ok && !j.set.AllowPublicBuckets {
		why, err := pc.PublicReason(ctx, b)
		if err != nil {
			return err
		}
		if why != "" {
			return fmt.Errorf("bucket %s is open to the public: %s; s3bridge refuses to export there, as RDS refuses file transfers: %w", b, why, s3bridge.ErrAccessDenied)
		}
	}
	objs, _, err := j.store.List(ctx, b, j.ps.names.listPrefix(), "")
	if err != nil {
		return s3bridge.ByServer("s3:ListBucket", at.At(""), err)
	}
	if !j.pl.Overwrite {
		own, err := j.ownOutput(ctx, objs)
		if err != nil || !own {
			return err
		}
		// A killed attempt of this task committed them: replace them as
		// OVERWRITE ON would, deleting what this run doesn't rewrite.
		j.rep.Logf(s3bridge.LevelInfo, "the files under %s are an earlier attempt's of this task: replacing them", at.At(j.ps.names.listPrefix()))
		j.pl.Overwrite, j.ps.overwrite = true, true
	}
	for _, o := range objs {
		// The first part, and the manifest if asked for, are always
		// replaced; any other file of an earlier export may be deleted.
		replaced := o.Key == j.ps.names.part(0) || (j.pl.Manifest && o.Key == j.ps.names.manifest())
		if replaced || !j.ps.names.earlier(o.Key) {
			continue
		}
		if err := j.guard.Allow("s3:DeleteObject", at.At(o.Key).ARN(), nil); err != nil {
			return fmt.Errorf("overwrite deletes the files of the earlier export it does not replace: %w", err)
		}
	}
	return nil
}

// ownOutput reports whether objs hold files this export would write, all
// of them written by this very task (s3bridge.Object.WrittenBy): an earlier
// attempt's, killed after it committed them. A file of anyone else, or one
// it can't read the metadata of, fails the export with ErrExists.
func (j *job) ownOutput(ctx context.Context, objs []s3bridge.Object) (bool, error) {
	st, canStat := j.store.(interface {
		Stat(ctx context.Context, bucket, key string) (s3bridge.Object, error)
	})
	found := false
	for _, o := range objs {
		if !j.ps.names.ours(o.Key) {
			continue
		}
		found = true
		at := j.pl.loc.At(o.Key)
		mine := false
		if canStat && j.guard.Allow("s3:GetObject", at.ARN(), nil) == nil {
			obj, err := st.Stat(ctx, j.pl.loc.Bucket, o.Key)
			mine = err == nil && obj.WrittenBy(j.t)
		}
		if !mine {
			return false, fmt.Errorf("%s: %w (the export would overwrite it; ask for OVERWRITE ON)", at, s3bridge.ErrExists)
		}
	}
	return found, nil
}

// abortLeftovers aborts, when this attempt took the task over from a
// killed one, the multipart uploads of this export's files initiated before
// claimed: the killed attempt's staged parts, which it could not abort and
// which would stay billed and invisible. Failing to only costs a warning.
func (j *job) abortLeftovers(ctx context.Context, claimed time.Time) {
	a, ok := j.store.(s3bridge.UploadAborter)
	if !ok || j.t.Attempt <= 1 {
		return
	}
	at := j.pl.loc.At(j.ps.names.listPrefix())
	n, err := j.abortStaged(ctx, a, claimed)
	if n > 0 {
		j.rep.Logf(s3bridge.LevelInfo, "aborted %d multipart uploads under %s left by an earlier attempt", n, at)
	}
	if err != nil {
		j.rep.Logf(s3bridge.LevelWarn, "abort the multipart uploads an earlier attempt left under %s: %v", at, err)
	}
}

// abortStaged aborts the uploads of the manifest and of the parts in
// order, asking key by key (MinIO lists uploads only for an exact key), up
// to the first part with neither an upload nor an object: a killed attempt
// staged its parts in order and may have committed the first ones.
func (j *job) abortStaged(ctx context.Context, a s3bridge.UploadAborter, claimed time.Time) (int, error) {
	b := j.pl.loc.Bucket
	if err := j.guard.Allow("s3:AbortMultipartUpload", j.pl.loc.At(j.ps.names.listPrefix()).ARN(), nil); err != nil {
		return 0, err
	}
	objs, _, err := j.store.List(ctx, b, j.ps.names.listPrefix(), "")
	if err != nil {
		return 0, err
	}
	committed := map[string]bool{}
	for _, o := range objs {
		committed[o.Key] = true
	}
	abort := func(key string) (int, error) {
		return a.AbortUploads(ctx, b, key, claimed, func(k string) bool { return k == key })
	}
	total, err := abort(j.ps.names.manifest())
	for i := 0; err == nil && i < maxParts; i++ {
		key := j.ps.names.part(i)
		var n int
		n, err = abort(key)
		total += n
		if n == 0 && !committed[key] {
			break
		}
	}
	return total, err
}

// maxParts bounds abortStaged's walk, far above the part count of any
// export.
const maxParts = 100000

// removeStale deletes, once an overwrite is in place, the earlier export's
// files it did not replace, which readers of the prefix would otherwise
// take for part of it. Failing to is the task's failure, though the new
// files stay: they are whole, and the message says what is left over.
func (j *job) removeStale(ctx context.Context) error {
	n, err := j.ps.removeStale(ctx, j.pl.Manifest)
	if n > 0 {
		j.rep.Logf(s3bridge.LevelInfo, "deleted %d files of the earlier export that this one did not replace", n)
	}
	if err != nil {
		return fmt.Errorf("export to %s is written, but files of the earlier export it did not replace are left over: %w", j.pl.loc, err)
	}
	return nil
}

// export streams the query's rows into parts, through COPY where the
// source has it and it writes exactly the requested format.
func (j *job) export(ctx context.Context) error {
	copier, isCopier := j.src.(bulk.Copier)
	delimited := j.pl.Format == FormatCSV || j.pl.Format == FormatText
	switch {
	case j.pl.copy != nil && delimited:
		if !isCopier {
			return fmt.Errorf("COPY options need a PostgreSQL instance")
		}
		return j.copyRows(ctx, copier, j.pl.copy)
	case isCopier && delimited:
		if opts, ok := copyOptionsFor(j.pl.Format, j.pl.delim, j.pl.Header); ok {
			return j.copyRows(ctx, copier, opts)
		}
	}
	return j.viaRows(ctx)
}

// copyRows exports through COPY: a whole table in parallel ranges where
// the source can (viaRanges), else one COPY of the query.
func (j *job) copyRows(ctx context.Context, c bulk.Copier, opts *CopyOptions) error {
	tc, ok := c.(bulk.TableCopier)
	if table, whole := wholeTable(j.pl.Query); ok && whole && j.pl.parallelism() > 1 {
		if done, err := j.viaRanges(ctx, tc, table, opts); done {
			return err
		}
	}
	return j.viaCopy(ctx, c, opts)
}

func (j *job) query(text bool) bulk.Query {
	return bulk.Query{SQL: j.pl.Query, Caller: j.pl.Caller, CallerRole: j.pl.CallerRole, Session: j.pl.Session, Text: text}
}

// viaRows reads typed rows and encodes them.
func (j *job) viaRows(ctx context.Context) error {
	text := j.pl.Format == FormatCSV || j.pl.Format == FormatText
	return j.src.Query(ctx, j.query(text), func(rows tuple.Rows) error {
		if j.pl.numeric != nil {
			rows = withNumericAs(rows, *j.pl.numeric)
		}
		cols := rows.Columns()
		var enc format.RowWriter
		switch j.pl.Format {
		case FormatJSONL:
			enc = jsonl.NewWriter(cols)
		case FormatParquet:
			enc = parquet.NewWriter(cols, compress.Codec(j.pl.Compression))
		default:
			enc = delimited.NewWriter(j.pl.delim.dialect(), cols, j.pl.Header)
		}
		return j.encodeRows(ctx, rows, enc, len(cols))
	})
}

func (j *job) encodeRows(ctx context.Context, rows tuple.Rows, enc format.RowWriter, width int) error {
	row := make([]tuple.Value, width)
	p, err := j.ps.open(ctx)
	if err != nil {
		return err
	}
	if err := enc.Begin(p); err != nil {
		return err
	}
	inPart := 0
	for {
		err := rows.Next(row)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("row %d: %w", j.rows.Load()+1, err)
		}
		if inPart > 0 && j.ps.cur.size()+enc.Buffered() >= j.pl.maxSize {
			if err := j.nextPart(ctx, enc.End, enc.Begin); err != nil {
				return err
			}
			inPart = 0
		}
		if err := enc.Write(row); err != nil {
			return fmt.Errorf("row %d: %w", j.rows.Load()+1, err)
		}
		inPart++
		j.rows.Add(1)
	}
	if err := enc.End(); err != nil {
		return err
	}
	return j.closePart()
}

// nextPart ends the current part and opens the next one.
func (j *job) nextPart(ctx context.Context, end func() error, begin func(io.Writer) error) error {
	if err := end(); err != nil {
		return err
	}
	if err := j.closePart(); err != nil {
		return err
	}
	p, err := j.ps.open(ctx)
	if err != nil {
		return err
	}
	return begin(p)
}

func (j *job) closePart() error {
	obj, err := j.ps.close()
	if err != nil {
		return err
	}
	j.rep.Logf(s3bridge.LevelInfo, "sent %s (%d bytes; it appears when the export completes); %d rows so far",
		s3bridge.Location{Bucket: j.pl.loc.Bucket, Key: obj.Key}, obj.Size, j.rows.Load())
	return nil
}

// viaCopy streams COPY's output into parts. COPY writes one row per Write,
// so parts are cut between writes; its header row is kept and repeated at
// the top of every part.
func (j *job) viaCopy(ctx context.Context, c bulk.Copier, opts *CopyOptions) error {
	if _, err := j.ps.open(ctx); err != nil {
		return err
	}
	w := &copyWriter{ctx: ctx, j: j, wantHeader: opts.Header}
	if err := c.CopyTo(ctx, w, j.query(true), opts.String()); err != nil {
		// The writer's own failure (S3, a policy) is what stopped COPY.
		return cmp.Or(w.err, err)
	}
	return j.closePart()
}

type copyWriter struct {
	ctx        context.Context
	j          *job
	wantHeader bool
	header     []byte
	inPart     int
	err        error
}

func (w *copyWriter) Write(b []byte) (int, error) {
	n, err := w.write(b)
	if err != nil {
		w.err = err
	}
	return n, err
}

func (w *copyWriter) write(b []byte) (int, error) {
	if w.wantHeader && w.header == nil {
		w.header = bytes.Clone(b)
		return w.j.ps.cur.Write(b)
	}
	if w.inPart > 0 && w.j.ps.cur.size() >= w.j.pl.maxSize {
		begin := func(p io.Writer) error {
			_, err := p.Write(w.header)
			return err
		}
		if err := w.j.nextPart(w.ctx, func() error { return nil }, begin); err != nil {
			return 0, err
		}
		w.inPart = 0
	}
	w.inPart++
	w.j.rows.Add(1)
	return w.j.ps.cur.Write(b)
}

// stageManifest stages Aurora's manifest, committed after every part.
func (j *job) stageManifest(ctx context.Context) error {
	if !j.pl.Manifest {
		return nil
	}
	type entry struct {
		URL string `json:"url"`
	}
	m := struct {
		Entries []entry `json:"entries"`
	}{Entries: []entry{}}
	for _, key := range j.ps.keys() {
		m.Entries = append(m.Entries, entry{URL: s3bridge.Location{Bucket: j.pl.loc.Bucket, Key: key}.String()})
	}
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return j.ps.stageManifest(ctx, body)
}

// fail aborts the part in flight, removes or keeps the finished ones, and
// says how far the export got and why it stopped.
func (j *job) fail(ctx context.Context, cause error) error {
	j.ps.abort(cause)
	rows := j.rows.Load()
	n, err := j.ps.remove(ctx, j.pl.KeepPartial)
	var note string
	switch {
	case j.pl.KeepPartial:
		note = fmt.Sprintf("%d finished parts kept", j.ps.written)
	case j.ps.written == 0:
		note = "no part was finished"
	default:
		note = fmt.Sprintf("%d finished parts deleted", n)
	}
	if err != nil {
		note += fmt.Sprintf("; cleanup incomplete: %v", err)
	}
	j.rep.Logf(s3bridge.LevelWarn, "export stopped after %d rows; %s", rows, note)
	return fmt.Errorf("export to %s stopped after %d rows (%s): %w", j.pl.loc, rows, note, cause)
}

// watch logs progress and, when a SQL call waits for the export, stops it
// once that call has gone.
func (j *job) watch(ctx context.Context, cancel context.CancelCauseFunc) {
	w, waited := j.src.(bulk.Waiters)
	waited = waited && j.pl.Waiting
	timeout := cmp.Or(j.r.WaiterTimeout, 5*time.Second)
	tick := time.NewTicker(min(time.Second, timeout/4))
	defer tick.Stop()
	lastLog := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if time.Since(lastLog) >= cmp.Or(j.r.LogEvery, 30*time.Second) {
			lastLog = time.Now()
			j.rep.Logf(s3bridge.LevelInfo, "%d rows exported so far", j.rows.Load())
		}
		if !waited {
			continue
		}
		age, err := w.WaiterAge(ctx, j.t.ID)
		if errors.Is(err, s3bridge.ErrNotFound) || (err == nil && age > timeout) {
			cancel(errCallerGone)
			return
		}
	}
}

func contentType(format, compression string) string {
	switch {
	case format == FormatParquet:
		return "application/vnd.apache.parquet"
	case compression == CompressGzip:
		return "application/gzip"
	case compression == CompressZstd:
		return "application/zstd"
	case format == FormatCSV:
		return "text/csv"
	case format == FormatJSONL:
		return "application/x-ndjson"
	}
	return "text/plain"
}
