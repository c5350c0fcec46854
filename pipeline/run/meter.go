package run

import (
	"sync"
	"time"
)

// Meter keeps a running pipeline's figures for `pipeline show` and the
// pipeline_status view: its throughput, its lag and its last file. The
// pipeline updates it at each checkpoint; the agent reads it at each lease
// renewal. It is safe for concurrent use, and outlives the runs of one
// hold (a run after an error goes on counting).
type Meter struct {
	mu      sync.Mutex
	samples []sample // (time, rows) at checkpoints, the last minute's
	rows    int64
	lag     time.Duration
	at      time.Time // of the last checkpoint that made changes durable
	last    string
}

type sample struct {
	t    time.Time
	rows int64
}

// Stats are a Meter's figures.
type Stats struct {
	// RowsPerSecond is the rate of changes made durable over the last
	// 10 seconds or more (up to a minute).
	RowsPerSecond float64 `json:"rows_per_second"`
	// LagSeconds is, at the last checkpoint that made changes durable, how
	// long before it the newest of them had committed at the source.
	LagSeconds float64 `json:"lag_seconds"`
	// LastFile is the key of the last change file made durable.
	LastFile string `json:"last_file,omitempty"`
	// Rows counts the changes made durable since the agent took the
	// pipeline.
	Rows int64 `json:"rows"`
}

// durable records a checkpoint at now that made rows more changes durable,
// the newest committed at commit, the last file last ("" when none).
func (m *Meter) durable(now time.Time, rows int64, commit time.Time, last string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rows += rows
	m.samples = append(m.samples, sample{now, m.rows})
	for len(m.samples) > 1 && now.Sub(m.samples[0].t) > time.Minute {
		m.samples = m.samples[1:]
	}
	if rows > 0 && !commit.IsZero() {
		m.lag, m.at = max(now.Sub(commit), 0), now
	}
	if last != "" {
		m.last = last
	}
}

// Stats returns the figures as of now.
func (m *Meter) Stats(now time.Time) Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := Stats{LagSeconds: m.lag.Seconds(), LastFile: m.last, Rows: m.rows}
	// The rate since the oldest sample at least 10s old (or the oldest),
	// to now: a pipeline gone idle drops to 0 as its samples age.
	var from *sample
	for i := range m.samples {
		if now.Sub(m.samples[i].t) >= 10*time.Second || from == nil {
			from = &m.samples[i]
		}
	}
	if from != nil {
		if d := now.Sub(from.t).Seconds(); d >= 1 {
			s.RowsPerSecond = float64(m.rows-from.rows) / d
		}
	}
	return s
}
