package export

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance/bulk"
)

// Tuning of the parallel path (viaRanges).
const (
	// rangePages is the size of a range, in pages: 8 MiB of heap, whose
	// COPY output a range's buffer mostly holds whole, so a worker rarely
	// waits for the writer to reach its range.
	rangePages = 1024
	// chunkSize is the unit workers hand to the writer.
	chunkSize = 256 << 10
	// bufferChunks bounds the chunks queued across all ranges in flight,
	// 48 MiB, whatever the parallelism: each range gets an equal share.
	bufferChunks = 192
	// maxParallel caps the default parallelism (half the cores).
	maxParallel = 8
)

// wholeTableRE matches a query that is exactly SELECT * FROM one table,
// named by plain or quoted identifiers, optionally schema-qualified. It is
// conservative: anything else (a WHERE, a join, a comment, ONLY, a
// function) is not a whole table and takes the single COPY.
var wholeTableRE = regexp.MustCompile(`(?is)^\s*select\s+\*\s+from\s+((?:[a-z_][a-z0-9_$]*|"(?:[^"]|"")+")(?:\.(?:[a-z_][a-z0-9_$]*|"(?:[^"]|"")+"))?)\s*;?\s*$`)

// keywords that can't be a table name after FROM unquoted, which the
// pattern would otherwise take for one (SELECT * FROM LATERAL …).
var notTable = map[string]bool{"lateral": true, "only": true, "rows": true, "select": true, "values": true, "with": true}

// wholeTable returns the table a query reads whole, if it is one.
func wholeTable(query string) (string, bool) {
	m := wholeTableRE.FindStringSubmatch(query)
	if m == nil || notTable[lower(m[1])] {
		return "", false
	}
	return m[1], true
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// parallelism is how many sessions read a whole-table export: Parallel,
// or half the cores up to maxParallel. Half: each range's COPY keeps a
// server backend busy on a core, and the export's own work (merging,
// cutting parts, hashing and sending them) needs about as much again; on
// 2 cores a second session only took CPU from the rest and made the
// export slower (bench/export.sh: 1.03× the wire floor with 2 sessions,
// 0.98× with one COPY).
func (pl *plan) parallelism() int {
	if pl.Parallel > 0 {
		return pl.Parallel
	}
	return max(1, min(runtime.GOMAXPROCS(0)/2, maxParallel))
}

// viaRanges exports a whole table through ranges of its pages read in
// parallel under one snapshot (bulk.TableCopier), merged back in range
// order: the rows reach copyWriter as one COPY in physical order would
// send them, so parts are cut exactly as they would be by viaCopy over
// the same row order, with the header once at the top of each. Each range
// in flight has a bounded queue, and workers take ranges in order, so the
// range the writer drains always has a worker and memory stays bounded.
// It reports false, having done nothing, when the table can't be read in
// ranges.
func (j *job) viaRanges(ctx context.Context, tc bulk.TableCopier, table string, opts *CopyOptions) (bool, error) {
	scan, err := tc.ScanTable(ctx, j.query(true), table, cmp.Or(j.r.rangePages, rangePages))
	if errors.Is(err, bulk.ErrNoRanges) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	defer scan.Close()
	n := scan.Ranges()
	workers := min(j.pl.parallelism(), n)
	j.rep.Logf(s3bridge.LevelInfo, "reading table %s in %d ranges of its pages, on %d sessions sharing one snapshot", table, n, workers)
	if _, err := j.ps.open(ctx); err != nil {
		return true, err
	}
	rest := *opts
	rest.Header = false
	first, others := opts.String(), rest.String()
	queues := make([]chan *chunk, n)
	for i := range queues {
		queues[i] = make(chan *chunk, max(bufferChunks/workers, 2))
	}
	pool := &sync.Pool{New: func() any { return &chunk{buf: make([]byte, 0, chunkSize+chunkSize/4)} }}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	g, gctx := errgroup.WithContext(wctx)
	// A worker takes a range only while fewer than workers ranges are
	// taken and not yet drained: ranges read ahead of a slow writer wait,
	// queued, and bounded in number.
	window := make(chan struct{}, workers)
	for range workers {
		window <- struct{}{}
	}
	var next atomic.Int64
	for range workers {
		g.Go(func() error {
			for {
				select {
				case <-window:
				case <-gctx.Done():
					return context.Cause(gctx)
				}
				i := int(next.Add(1) - 1)
				if i >= n {
					return nil
				}
				o := others
				if i == 0 {
					o = first
				}
				rw := &rangeWriter{ctx: gctx, out: queues[i], pool: pool}
				if err := scan.CopyRange(gctx, i, rw, o); err != nil {
					return cmp.Or(rw.err, fmt.Errorf("range %d of %d of %s: %w", i+1, n, table, err))
				}
				if err := j.r.rangeDone(i); err != nil {
					return err
				}
				if err := rw.flush(); err != nil {
					return err
				}
				close(queues[i])
			}
		})
	}
	w := &copyWriter{ctx: ctx, j: j, wantHeader: opts.Header}
	err = j.drain(gctx, queues, window, pool, w)
	if err != nil {
		stop()
	}
	if gerr := g.Wait(); gerr != nil && (err == nil || errors.Is(err, context.Canceled)) {
		err = gerr
	}
	if err != nil {
		return true, cmp.Or(w.err, err)
	}
	return true, j.closePart()
}

// drain writes the ranges' rows in range order, giving back a place in
// window as each range is drained.
func (j *job) drain(ctx context.Context, queues []chan *chunk, window chan<- struct{}, pool *sync.Pool, w *copyWriter) error {
	for _, q := range queues {
		for {
			var c *chunk
			var ok bool
			select {
			case c, ok = <-q:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			if !ok {
				break
			}
			if err := w.writeRows(c.buf, c.ends); err != nil {
				return err
			}
			c.buf, c.ends = c.buf[:0], c.ends[:0]
			pool.Put(c)
		}
		window <- struct{}{}
	}
	return nil
}

// chunk is rows of a range: their bytes and where each ends.
type chunk struct {
	buf  []byte
	ends []int
}

// rangeWriter queues the rows COPY writes, one per Write, in chunks.
type rangeWriter struct {
	ctx  context.Context
	out  chan<- *chunk
	pool *sync.Pool
	cur  *chunk
	err  error
}

func (w *rangeWriter) Write(b []byte) (int, error) {
	if w.cur == nil {
		w.cur = w.pool.Get().(*chunk)
	}
	w.cur.buf = append(w.cur.buf, b...)
	w.cur.ends = append(w.cur.ends, len(w.cur.buf))
	if len(w.cur.buf) >= chunkSize {
		if err := w.flush(); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

func (w *rangeWriter) flush() error {
	if w.cur == nil || len(w.cur.ends) == 0 {
		return nil
	}
	select {
	case w.out <- w.cur:
		w.cur = nil
		return nil
	case <-w.ctx.Done():
		w.err = context.Cause(w.ctx)
		return w.err
	}
}

// writeRows writes rows, buf cut at ends, as that many Writes would, but
// in one when no part can end among them: plain output whose part stays
// under the size limit with all of them (a compressed part's size is what
// the compressor emitted, which doesn't grow with each row).
func (w *copyWriter) writeRows(buf []byte, ends []int) error {
	start := 0
	if w.wantHeader && w.header == nil && len(ends) > 0 {
		if _, err := w.Write(buf[:ends[0]]); err != nil {
			return err
		}
		start, ends = ends[0], ends[1:]
	}
	if p := w.j.ps.cur; p.comp == nil && p.size()+int64(len(buf)-start) < w.j.pl.maxSize && len(ends) > 0 {
		if _, err := p.Write(buf[start:]); err != nil {
			w.err = err
			return err
		}
		w.inPart += len(ends)
		w.j.rows.Add(int64(len(ends)))
		return nil
	}
	for _, end := range ends {
		if _, err := w.Write(buf[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}
