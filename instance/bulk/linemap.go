package bulk

import "sync"

// maxRuns bounds a lineMap: 16,384 runs of a few words each.
const maxRuns = 1 << 14

// lineMap remembers, for the rows a Pipe re-encoded, the source line of
// the row on each line of the stream as the database counts it, so that
// the database's errors name the file's line. A run of one-line rows whose
// source lines advance by a constant step is one entry (a jsonl or csv file
// without line breaks in its values is a single run); the entries are a
// ring, so memory stays bounded and only rows far behind the newest one,
// long since accepted, are forgotten.
type lineMap struct {
	mu   sync.Mutex
	runs []lineRun // a ring once full: the oldest is at head
	head int
	next int // the stream line of the next row, 1-based
}

// lineRun is n rows from stream line stream on, the k-th from source line
// src+k*step; a row spanning several stream lines (span > 1) is a run of
// its own.
type lineRun struct {
	stream, src, n, step, span int
}

// add records the next row: it started at source line src and takes span
// lines of the stream.
func (m *lineMap) add(src, span int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.next == 0 {
		m.next = 1
	}
	if last := m.last(); last != nil && span == 1 && last.span == 1 {
		switch {
		case last.n == 1 && src > last.src:
			last.step = src - last.src
			last.n++
			m.next++
			return
		case last.n > 1 && src == last.src+last.n*last.step:
			last.n++
			m.next++
			return
		}
	}
	r := lineRun{stream: m.next, src: src, n: 1, span: span}
	if len(m.runs) < maxRuns {
		m.runs = append(m.runs, r)
	} else {
		m.runs[m.head] = r
		m.head = (m.head + 1) % maxRuns
	}
	m.next += span
}

func (m *lineMap) last() *lineRun {
	switch {
	case len(m.runs) == 0:
		return nil
	case len(m.runs) < maxRuns:
		return &m.runs[len(m.runs)-1]
	default:
		return &m.runs[(m.head+maxRuns-1)%maxRuns]
	}
}

// source returns the source line of the row on stream line n, if it is
// still remembered.
func (m *lineMap) source(n int) (int, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := len(m.runs) - 1; k >= 0; k-- {
		r := m.runs[(m.head+k)%len(m.runs)]
		if r.stream > n {
			continue
		}
		if r.span > 1 {
			return r.src, n < r.stream+r.span
		}
		if i := n - r.stream; i < r.n {
			return r.src + i*r.step, true
		}
		return 0, false
	}
	return 0, false
}
