package console

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/s3bridge/s3bridge/control"
)

// lags are the pipelines' lag samples over the last window, kept in this
// server's memory for the pipeline page's chart: a sample is taken every
// Config.LagEvery while Run runs, and whenever a pipeline is read (its
// page, the API, a scrape). A restarted server starts with an empty
// chart; the instance keeps only the latest figures (the pipeline row's
// stats), so the history is the server's.
type lags struct {
	window time.Duration
	mu     sync.Mutex
	series map[lagKey][]lagSample
}

type lagKey struct{ inst, pipeline string }

// lagSample is a pipeline's figures at one time.
type lagSample struct {
	At            time.Time `json:"at"`
	LagSeconds    float64   `json:"lag_seconds"`
	RowsPerSecond float64   `json:"rows_per_second"`
}

// minLagGap keeps pages read often from filling the ring: samples closer
// than this to the last one are not kept.
const minLagGap = 5 * time.Second

func newLags(window time.Duration) *lags {
	return &lags{window: window, series: map[lagKey][]lagSample{}}
}

// record keeps v's lag at now, when the agent running it reported one.
func (l *lags) record(inst string, v control.Pipeline, now time.Time) {
	lag, ok := v.Float("lag_seconds")
	if !ok {
		return
	}
	rps, _ := v.Float("rows_per_second")
	k := lagKey{inst, v.Name}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.series[k]
	if n := len(s); n > 0 && now.Sub(s[n-1].At) < minLagGap {
		return
	}
	s = append(s, lagSample{At: now, LagSeconds: lag, RowsPerSecond: rps})
	l.series[k] = dropBefore(s, now.Add(-l.window))
}

// samples returns the pipeline's samples of the window before now,
// oldest first.
func (l *lags) samples(inst, pipeline string, now time.Time) []lagSample {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := lagKey{inst, pipeline}
	s := dropBefore(l.series[k], now.Add(-l.window))
	if len(s) == 0 {
		delete(l.series, k)
		return []lagSample{}
	}
	l.series[k] = s
	return append([]lagSample(nil), s...)
}

func dropBefore(s []lagSample, from time.Time) []lagSample {
	i := 0
	for i < len(s) && s[i].At.Before(from) {
		i++
	}
	return s[i:]
}

// sampleLags samples every served pipeline's lag every Config.LagEvery
// until ctx ends.
func (s *Server) sampleLags(ctx context.Context) error {
	tick := time.NewTicker(s.cfg.LagEvery)
	defer tick.Stop()
	for {
		for _, sv := range s.instances {
			ps, ok := sv.in.(control.Pipelines)
			if !ok {
				continue
			}
			rctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
			list, err := ps.Pipelines(rctx)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					s.cfg.Log.Warn("lag samples: reading the pipelines failed", "instance", sv.id, "error", err)
				}
				continue
			}
			now := s.cfg.Now()
			for _, p := range list {
				s.lags.record(sv.id, control.ViewPipeline(p), now)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// lagChart is the pipeline page's chart of lag over the window: an SVG
// polyline in a 600 × 100 box, time left to right.
type lagChart struct {
	Points  string
	Max     float64
	Samples int
	Window  time.Duration
}

func chartLag(samples []lagSample, now time.Time, window time.Duration) lagChart {
	c := lagChart{Samples: len(samples), Window: window}
	for _, x := range samples {
		c.Max = max(c.Max, x.LagSeconds)
	}
	top := c.Max
	if top == 0 {
		top = 1
	}
	from := now.Add(-window)
	var pts []string
	for _, x := range samples {
		px := 600 * float64(x.At.Sub(from)) / float64(window)
		py := 100 - 95*x.LagSeconds/top
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", px, py))
	}
	c.Points = strings.Join(pts, " ")
	return c
}
