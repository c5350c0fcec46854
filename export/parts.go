package export

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/format/compress"
	"github.com/s3bridge/s3bridge/partpipe"
)

// writeBuffer batches encoded rows before they go through the compressor,
// so a row costs no more than a copy.
const writeBuffer = 256 << 10

// parts writes an export's files one after the other. Each part streams
// through a partpipe into its own staged upload, which has the encoder
// write straight into the part buffers it sends, so memory stays flat
// whatever the result's size: the encoder blocks while S3 catches up.
//
// Nothing becomes visible until commit: every part, and then the manifest,
// is held by S3 as an incomplete multipart upload until the whole result
// has been written. So a failed export, an overwrite among them, leaves the
// files that were there before whole; only a failure during the commits
// themselves (a few requests, after every byte was sent) can leave some
// parts replaced, which the failure path then deletes.
type parts struct {
	store     ObjectStore
	guard     s3bridge.Guard
	loc       s3bridge.Location // the export's bucket and partition
	names     names
	overwrite bool
	compress  string
	content   string            // Content-Type
	meta      map[string]string // user metadata of every file: the writer's tag
	progress  func(done int64)

	cur    *part
	staged []s3bridge.StagedObject // finished parts not yet committed, in order
	// manifest is the staged manifest, committed after every part.
	manifest s3bridge.StagedObject
	written  int               // parts finished, committed or not
	done     []s3bridge.Object // committed parts, in order
	// unsure are keys whose commit failed: S3 may still have completed one
	// (a response lost to a timeout), so a cleanup deletes them too.
	unsure []string

	mu        sync.Mutex
	confirmed int64 // bytes of finished parts S3 confirmed
}

// part is one file being written.
type part struct {
	key    string
	pw     *partpipe.Writer
	out    io.Writer      // buf when compressing, else bottom
	buf    *bufio.Writer  // nil when not compressing
	comp   io.WriteCloser // nil when not compressing
	top    int64          // bytes the encoder wrote
	bottom countWriter    // bytes that reached the pipe
	result chan stageResult
}

type stageResult struct {
	staged s3bridge.StagedObject
	err    error
}

func (p *part) Write(b []byte) (int, error) {
	n, err := p.out.Write(b)
	p.top += int64(n)
	return n, err
}

// size is the part's size so far: exact for plain output, and what the
// compressor has emitted for compressed output (it holds back at most its
// block).
func (p *part) size() int64 {
	if p.comp != nil {
		return p.bottom.n
	}
	return p.top
}

// open starts part number written, after checking the instance's policy
// allows writing it.
func (ps *parts) open(ctx context.Context) (*part, error) {
	key := ps.names.part(ps.written)
	if err := ps.guard.Allow("s3:PutObject", ps.loc.At(key).ARN(), nil); err != nil {
		return nil, err
	}
	pr, pw := partpipe.New()
	p := &part{key: key, pw: pw, result: make(chan stageResult, 1)}
	p.bottom.w = pw
	p.out = &p.bottom
	if ps.compress != "" {
		c, err := compress.NewWriter(&p.bottom, compress.Codec(ps.compress), 0)
		if err != nil {
			return nil, err
		}
		p.comp = c
		p.buf = bufio.NewWriterSize(c, writeBuffer)
		p.out = p.buf
	}
	base := ps.confirmedBytes()
	go func() {
		st, err := ps.store.Stage(ctx, ps.loc.Bucket, key, pr, s3bridge.PutOptions{
			ContentType: ps.content,
			IfNoneMatch: !ps.overwrite,
			Metadata:    ps.meta,
			Progress:    func(n int64) { ps.progress(base + n) },
		})
		if err == nil {
			err = errUploadEnded // the producer must not write past the end
		} else {
			err = s3bridge.ByServer("s3:PutObject", ps.loc.At(key), err)
		}
		pr.CloseWithError(err)
		if errors.Is(err, errUploadEnded) {
			err = nil
		}
		p.result <- stageResult{st, err}
	}()
	ps.cur = p
	return p, nil
}

var errUploadEnded = errors.New("upload already ended")

// close finishes the current part and waits until S3 holds all of it. A
// failed stage aborts its own upload, so it leaves nothing.
func (ps *parts) close() (s3bridge.Object, error) {
	p := ps.cur
	ps.cur = nil
	var err error
	if p.comp != nil {
		if err = p.buf.Flush(); err == nil {
			err = p.comp.Close()
		}
	}
	if err != nil {
		p.pw.CloseWithError(err)
		res := <-p.result
		if res.staged != nil {
			res.staged.Abort(context.Background())
		}
		return s3bridge.Object{}, cmpErr(res.err, err)
	}
	p.pw.Close()
	res := <-p.result
	if res.err != nil {
		return s3bridge.Object{}, res.err
	}
	ps.staged = append(ps.staged, res.staged)
	ps.written++
	ps.mu.Lock()
	ps.confirmed += res.staged.Size()
	ps.mu.Unlock()
	return s3bridge.Object{Key: res.staged.Key(), Size: res.staged.Size()}, nil
}

// abort stops the current part, if any: its stage fails with cause, which
// makes s3store abort the multipart upload, and abort returns once it has.
func (ps *parts) abort(cause error) {
	if p := ps.cur; p != nil {
		ps.cur = nil
		p.pw.CloseWithError(cause)
		if res := <-p.result; res.staged != nil {
			res.staged.Abort(context.Background())
		}
	}
}

func (ps *parts) confirmedBytes() int64 {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.confirmed
}

// keys are the keys of the finished parts, committed or not, in order.
func (ps *parts) keys() []string {
	var keys []string
	for _, o := range ps.done {
		keys = append(keys, o.Key)
	}
	for _, s := range ps.staged {
		keys = append(keys, s.Key())
	}
	return keys
}

// stageManifest stages the manifest, committed after the parts.
func (ps *parts) stageManifest(ctx context.Context, body []byte) error {
	key := ps.names.manifest()
	st, err := ps.store.Stage(ctx, ps.loc.Bucket, key, bytes.NewReader(body),
		s3bridge.PutOptions{ContentType: "application/json", IfNoneMatch: !ps.overwrite, Metadata: ps.meta})
	if err != nil {
		return s3bridge.ByServer("s3:PutObject", ps.loc.At(key), err)
	}
	ps.manifest = st
	return nil
}

// commit makes the staged parts visible in order, then the manifest. It
// runs to the end even when ctx is cancelled: the commits are a few short
// requests, and stopping halfway would leave old and new files mixed.
func (ps *parts) commit(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	for len(ps.staged) > 0 {
		st := ps.staged[0]
		obj, err := st.Commit(ctx)
		if err != nil {
			ps.staged = ps.staged[1:]
			ps.unsure = append(ps.unsure, st.Key())
			return s3bridge.ByServer("s3:PutObject", ps.loc.At(st.Key()), err)
		}
		ps.staged = ps.staged[1:]
		ps.done = append(ps.done, obj)
	}
	if m := ps.manifest; m != nil {
		ps.manifest = nil
		if _, err := m.Commit(ctx); err != nil {
			ps.unsure = append(ps.unsure, m.Key())
			return s3bridge.ByServer("s3:PutObject", ps.loc.At(m.Key()), err)
		}
	}
	return nil
}

// remove cleans up after a failure, even when ctx is cancelled: a
// cancelled export must not leave anything behind. Unless keepDone it
// discards the staged parts and manifest and deletes the parts already
// committed and the unsure ones; with keepDone (the task keeps partial
// output) it commits the finished parts instead, and never the manifest.
// It returns how many finished parts it discarded or deleted and the
// first error.
func (ps *parts) remove(ctx context.Context, keepDone bool) (int, error) {
	ctx = context.WithoutCancel(ctx)
	if ps.manifest != nil {
		ps.manifest.Abort(ctx)
		ps.manifest = nil
	}
	if keepDone {
		err := ps.commit(ctx)
		if err != nil {
			err = fmt.Errorf("keep %s: %w", ps.loc.At(ps.unsure[len(ps.unsure)-1]), err)
		}
		for _, st := range ps.staged {
			st.Abort(ctx)
		}
		ps.staged = nil
		return 0, err
	}
	n := len(ps.staged)
	for _, st := range ps.staged {
		st.Abort(ctx)
	}
	ps.staged = nil
	var first error
	keys := slices.Clone(ps.unsure)
	for _, o := range ps.done {
		keys = append(keys, o.Key)
	}
	for i, key := range keys {
		err := ps.delete(ctx, key)
		if err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		if i >= len(ps.unsure) {
			n++
		}
	}
	return n, first
}

// delete removes one object through the instance's policy.
func (ps *parts) delete(ctx context.Context, key string) error {
	err := ps.guard.Allow("s3:DeleteObject", ps.loc.At(key).ARN(), nil)
	if err == nil {
		err = ps.store.Delete(ctx, ps.loc.Bucket, key)
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", ps.loc.At(key), s3bridge.ByServer("s3:DeleteObject", ps.loc.At(key), err))
	}
	return nil
}

// removeStale deletes, after an overwrite succeeded, the files of an
// earlier export under the same name that this one did not write: parts
// past its last (and of another compression) and a manifest it did not
// ask for. Only keys of the export's own naming pattern are touched. It
// returns how many it deleted and the first error; it goes on past errors.
func (ps *parts) removeStale(ctx context.Context, wroteManifest bool) (int, error) {
	ctx = context.WithoutCancel(ctx)
	objs, _, err := ps.store.List(ctx, ps.loc.Bucket, ps.names.listPrefix(), "")
	if err != nil {
		return 0, s3bridge.ByServer("s3:ListBucket", ps.loc.At(""), err)
	}
	written := map[string]bool{}
	for _, o := range ps.done {
		written[o.Key] = true
	}
	if wroteManifest {
		written[ps.names.manifest()] = true
	}
	n := 0
	var first error
	for _, o := range objs {
		if written[o.Key] || !ps.names.earlier(o.Key) {
			continue
		}
		if err := ps.delete(ctx, o.Key); err != nil {
			first = cmp.Or(first, err)
			continue
		}
		n++
	}
	return n, first
}

// cmpErr prefers the upload's error, which says what S3 answered, over the
// producer's.
func cmpErr(upload, local error) error {
	if upload != nil && !errors.Is(upload, local) {
		return upload
	}
	return local
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
