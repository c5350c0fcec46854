package console

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/s3bridge/s3bridge"
	"github.com/s3bridge/s3bridge/instance/sqlstore"
)

// figures are one instance's task figures for /metrics, read at each
// scrape without reading every task again: a task in a final lifecycle
// never changes, so the sums over the final tasks read so far are kept,
// and a scrape reads only the tasks created since and those it last saw
// unfinished. Every task up to upTo has been read; a scrape first checks
// that their number is still count (a task committed after later ones
// were read would change it) and else reads them all again. The figures
// stay the instance's, the same from every server that serves it.
type figures struct {
	mu          sync.Mutex
	upTo, count int64
	final       map[typeLC]*sums
	finalRuns   map[connLC]int64
	lastSuccess map[string]time.Time
	// open are the tasks up to upTo not yet final.
	open map[int64]struct{}
}

type typeLC struct {
	typ s3bridge.TaskType
	lc  s3bridge.Lifecycle
}

type connLC struct {
	conn string
	lc   s3bridge.Lifecycle
}

// sums are the tasks of one type and lifecycle: their number, bytes and
// rows, and the run times of those with a start and a finish, counted
// into durationBuckets.
type sums struct {
	count       int64
	bytes, rows float64
	timed       uint64
	seconds     float64
	within      []uint64
}

func (s *sums) add(f sqlstore.TaskFigure) {
	s.count++
	s.bytes += float64(f.Bytes)
	s.rows += float64(f.Rows)
	if f.StartedAt == nil || f.FinishedAt == nil {
		return
	}
	secs := f.FinishedAt.Sub(*f.StartedAt).Seconds()
	s.timed++
	s.seconds += secs
	if s.within == nil {
		s.within = make([]uint64, len(durationBuckets))
	}
	for i, b := range durationBuckets {
		if secs <= b {
			s.within[i]++
		}
	}
}

// scrape is what one scrape reports of an instance.
type scrape struct {
	tasks       map[typeLC]*sums
	runs        map[connLC]int64
	lastSuccess map[string]time.Time
}

func (f *figures) reset() {
	f.upTo, f.count = 0, 0
	f.final, f.finalRuns, f.lastSuccess = map[typeLC]*sums{}, map[connLC]int64{}, map[string]time.Time{}
	f.open = map[int64]struct{}{}
}

// read brings the figures up to date and returns them.
func (f *figures) read(ctx context.Context, reads taskReads) (scrape, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.final == nil {
		f.reset()
	}
	n, err := reads.CountTasks(ctx, f.upTo)
	if err != nil {
		return scrape{}, err
	}
	if n != f.count {
		f.reset()
	}
	figs, err := reads.TaskFigures(ctx, f.upTo, slices.Collect(maps.Keys(f.open)))
	if err != nil {
		return scrape{}, err
	}
	// Nothing is changed before every read succeeded.
	out := scrape{tasks: map[typeLC]*sums{}, runs: maps.Clone(f.finalRuns), lastSuccess: f.lastSuccess}
	upTo := f.upTo
	for _, t := range figs {
		if t.ID > upTo {
			upTo = t.ID
			f.count++
		}
		if !t.Lifecycle.Final() {
			f.open[t.ID] = struct{}{}
			add(out.tasks, t)
			if t.Connector != "" {
				out.runs[connLC{t.Connector, t.Lifecycle}]++
			}
			continue
		}
		delete(f.open, t.ID)
		add(f.final, t)
		if t.Connector != "" {
			f.finalRuns[connLC{t.Connector, t.Lifecycle}]++
			out.runs[connLC{t.Connector, t.Lifecycle}]++
			if at := t.FinishedAt; t.Lifecycle == s3bridge.Success && at != nil && at.After(f.lastSuccess[t.Connector]) {
				f.lastSuccess[t.Connector] = *at
			}
		}
	}
	f.upTo = upTo
	for k, s := range f.final {
		c := *s
		c.within = slices.Clone(s.within)
		out.tasks[k] = &c
	}
	out.lastSuccess = maps.Clone(f.lastSuccess)
	return out, nil
}

func add(m map[typeLC]*sums, t sqlstore.TaskFigure) {
	k := typeLC{t.Type, t.Lifecycle}
	s := m[k]
	if s == nil {
		s = &sums{}
		m[k] = s
	}
	s.add(t)
}
