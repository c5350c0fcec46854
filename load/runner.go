package load

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/s3bridge/s3bridge/instance/bulk"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format/compress"
	"github.com/s3bridge/s3bridge/instance"
)

// ObjectStore is what a load needs from S3; *s3store.Client has it.
type ObjectStore interface {
	List(ctx context.Context, bucket, prefix, delimiter string) ([]s3bridge.Object, []string, error)
	Stat(ctx context.Context, bucket, key string) (s3bridge.Object, error)
	Open(ctx context.Context, bucket, key string) (io.ReadCloser, s3bridge.Object, error)
}

// DefaultMaxDecompressed caps each object's decompressed size unless the
// load says otherwise: large enough for any real file, small enough that a
// decompression bomb stops.
const DefaultMaxDecompressed = 1 << 40

// Runner runs LOAD_FROM_S3 tasks into the instance they came from, which
// must be a bulk.Sink (every instance package's Instance is).
type Runner struct {
	// Deps are the object store and the instance's policy (see
	// s3bridge.Deps), wired by cmd/s3bridge as for every capability.
	Deps s3bridge.Deps[ObjectStore]
}

// Run runs one load (agent.Runner): every file in one transaction, or none.
func (r *Runner) Run(ctx context.Context, in instance.Instance, t s3bridge.Task, set s3bridge.Settings, rep s3bridge.Reporter) (s3bridge.Result, error) {
	var none s3bridge.Result
	sink, ok := in.(bulk.Sink)
	if !ok {
		return none, fmt.Errorf("task %d: instance %s can't take loads (it has no bulk path)", t.ID, in.Name())
	}
	var p Params
	if err := t.Params(&p); err != nil {
		return none, fmt.Errorf("task %d parameters: %w", t.ID, err)
	}
	if p.Table == "" && p.Statement != "" {
		if err := p.fromStatementText(); err != nil {
			return none, err
		}
	}
	if err := p.Validate(); err != nil {
		return none, err
	}
	store, guard, err := r.Deps.Open(ctx, set, t.DatabaseName)
	if err != nil {
		return none, err
	}
	files, err := resolve(ctx, store, guard, p, rep)
	if err != nil {
		return none, err
	}
	l := &loader{store: store, p: p, rep: rep, now: r.Deps.Clock()}
	for _, f := range files {
		l.total += f.Size
	}
	return l.run(ctx, sink, t.Claim(), files)
}

type loader struct {
	store ObjectStore
	p     Params
	rep   s3bridge.Reporter
	now   func() time.Time
	total int64
	read  atomic.Int64
	bad   atomic.Int64
	// ledger and decode are set for a connector's run (LoadObjects).
	ledger string
	decode Decoder
}

func (l *loader) run(ctx context.Context, sink bulk.Sink, claim s3bridge.Claim, files []file) (s3bridge.Result, error) {
	var none s3bridge.Result
	taskID := claim.TaskID
	target := bulk.Target{TaskID: taskID, Claim: claim, Caller: l.p.Caller, CallerRole: l.p.CallerRole, Schema: l.p.Schema, Table: l.p.Table, Columns: l.p.Columns, Replace: l.p.Replace,
		Duplicates: strings.ToUpper(l.p.Duplicates), Statement: l.p.Statement, Options: l.p.Options, SkipBadRows: l.p.SkipBadRows,
		OnBadRow: func(file string, err error) {
			if l.bad.Add(1) <= 1000 {
				l.rep.Logf(s3bridge.LevelWarn, "skipped a bad row of %s: %v", file, err)
			}
		}}
	tx, err := sink.Begin(ctx, target)
	if err != nil {
		return none, err
	}
	var rows int64
	var next <-chan opened
	if len(files) > 0 {
		next = l.prefetch(ctx, files[0])
	}
	// drop closes a prefetched object nobody will read.
	drop := func(ch <-chan opened) {
		if ch != nil {
			if o := <-ch; o.body != nil {
				o.body.Close()
			}
		}
	}
	for i, f := range files {
		cur := next
		next = nil
		// Small objects' GETs overlap the load of the one before: with
		// many small files the request latency, not the bytes, is what
		// a run waits for. A large file is not prefetched past: S3 may
		// drop a response nobody reads for long.
		if i+1 < len(files) && f.Size <= prefetchBelow {
			next = l.prefetch(ctx, files[i+1])
		}
		n, opened, err := l.loadFile(ctx, tx, f, cur)
		if err == nil {
			err = tx.Record(ctx, bulk.History{TaskID: taskID, LoadPrefix: l.p.URI, FileName: f.URI, ETag: f.ETag, Bytes: f.Size, Rows: n, At: l.now().UTC(),
				Ledger: l.ledgerEntry(taskID, f, opened)})
		}
		if err != nil {
			drop(next)
			if rerr := tx.Rollback(context.WithoutCancel(ctx)); rerr != nil {
				l.rep.Logf(s3bridge.LevelError, "rollback: %v", rerr)
			}
			return none, fmt.Errorf("%w (nothing was loaded: the load is one transaction)", err)
		}
		if next == nil && i+1 < len(files) {
			next = l.prefetch(ctx, files[i+1])
		}
		rows += n
		l.rep.Logf(s3bridge.LevelInfo, "loaded %d rows from %s (%d bytes)", n, f.URI, f.Size)
	}
	info := fmt.Sprintf("%d rows imported into relation %q from %d file(s) of %d bytes", rows, l.p.Table, len(files), l.total)
	if n := l.bad.Load(); n > 0 {
		info += fmt.Sprintf("; %d bad rows skipped (see the task log)", n)
	}
	res := s3bridge.Result{Info: info, Rows: rows, Files: int64(len(files)), Bytes: l.total}
	if err := tx.Commit(ctx, res); err != nil {
		if errors.Is(err, s3bridge.ErrLeaseLost) {
			return none, fmt.Errorf("load into %s rolled back, another attempt holds the task now: %w", l.p.Table, err)
		}
		return none, fmt.Errorf("commit load into %s: %w", l.p.Table, err)
	}
	return res, nil
}

// ledgerEntry is the connector ledger's row for a file, nil outside a
// connector's run. It records the object as it was opened, which is what
// was loaded: one rewritten since it was listed has a newer ETag.
func (l *loader) ledgerEntry(taskID int64, f file, opened s3bridge.Object) *bulk.LedgerEntry {
	if l.ledger == "" {
		return nil
	}
	e := &bulk.LedgerEntry{Connector: l.ledger, Key: f.at.Key, ETag: cmp.Or(opened.ETag, f.ETag), Size: f.Size,
		LastModified: f.lastModified, TaskID: taskID, Replaces: f.replaces}
	if !opened.LastModified.IsZero() {
		e.Size, e.LastModified = opened.Size, opened.LastModified.UTC()
	}
	return e
}

// prefetchBelow is the size under which a file's load overlaps the GET of
// the next one.
const prefetchBelow = 8 << 20

// opened is an object's GET, done ahead.
type opened struct {
	body io.ReadCloser
	obj  s3bridge.Object
	err  error
}

// prefetch starts the GET of f in the background.
func (l *loader) prefetch(ctx context.Context, f file) <-chan opened {
	ch := make(chan opened, 1)
	go func() {
		body, obj, err := l.store.Open(ctx, f.at.Bucket, f.at.Key)
		ch <- opened{body, obj, err}
	}()
	return ch
}

// loadFile streams one object through decompression (and, for a
// connector, its decoder) into the sink, and returns what Open said of the
// object. pre is the object's GET when it was started ahead (prefetch).
func (l *loader) loadFile(ctx context.Context, tx bulk.Tx, f file, pre <-chan opened) (int64, s3bridge.Object, error) {
	var o opened
	if pre != nil {
		o = <-pre
	} else {
		o.body, o.obj, o.err = l.store.Open(ctx, f.at.Bucket, f.at.Key)
	}
	body, obj, err := o.body, o.obj, o.err
	if err != nil {
		return 0, obj, fmt.Errorf("load %s: %w", f.URI, s3bridge.ByServer("s3:GetObject", f.at, err))
	}
	defer body.Close()
	if f.ETag == "" {
		f.ETag = obj.ETag
	}
	counted := &counting{r: body, add: func(n int64) { l.rep.Progress(l.read.Add(n), l.total) }}
	limit := cmp.Or(l.p.MaxDecompressed, DefaultMaxDecompressed)
	data, _, err := compress.Decompress(counted, f.Key, "", limit)
	if errors.Is(err, compress.ErrNeedsReaderAt) {
		// Detection read the head of the stream: start the object over.
		body.Close()
		if body, _, err = l.store.Open(ctx, f.at.Bucket, f.at.Key); err != nil {
			return 0, obj, fmt.Errorf("load %s: %w", f.URI, err)
		}
		defer body.Close()
		data, err = spoolZip(body, limit)
	}
	if err != nil {
		return 0, obj, fmt.Errorf("load %s: %w", f.URI, err)
	}
	defer data.Close()
	var in io.Reader = data
	if l.decode != nil {
		in = l.decode(f.URI, data)
	}
	n, err := tx.Load(ctx, f.File, in)
	if err != nil {
		return n, obj, fmt.Errorf("load %s: %w", f.URI, err)
	}
	return n, obj, nil
}

// spoolZip copies a zip archive to a temporary file (its directory is at
// the end, so it needs random access) and opens its entries in order. The
// copy is on disk, never in memory, and removed when the reader closes.
func spoolZip(r io.Reader, limit int64) (io.ReadCloser, error) {
	tmp, err := os.CreateTemp("", "s3bridge-zip-*")
	if err != nil {
		return nil, err
	}
	os.Remove(tmp.Name()) // unlinked now; the open file stays until Close
	size, err := io.Copy(tmp, r)
	if err != nil {
		tmp.Close()
		return nil, err
	}
	zr, err := compress.OpenZip(tmp, size, limit)
	if err != nil {
		tmp.Close()
		return nil, err
	}
	return &closeBoth{ReadCloser: zr, also: tmp}, nil
}

type closeBoth struct {
	io.ReadCloser
	also io.Closer
}

func (c *closeBoth) Close() error {
	err := c.ReadCloser.Close()
	c.also.Close()
	return err
}

type counting struct {
	r   io.Reader
	add func(int64)
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.add(int64(n))
	return n, err
}

// manifest is Aurora's manifest format.
type manifest struct {
	Entries []struct {
		URL       string `json:"url"`
		Mandatory bool   `json:"mandatory"`
	} `json:"entries"`
}

func decodeManifest(r io.Reader, uri string) (manifest, error) {
	var m manifest
	dec := json.NewDecoder(io.LimitReader(r, 64<<20))
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("manifest %s: %w", uri, err)
	}
	return m, nil
}
